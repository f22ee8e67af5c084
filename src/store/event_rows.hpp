// The mapping between events and rows of the `events` table. Kept apart from the SQL so the
// decoding of stored rows (external input after a crash or a hand edit) is strict and testable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tokencast/core/events.hpp"

namespace tokencast::store {

// One row; the meaning of the generic columns depends on `kind` (see event_rows.cpp).
struct EventRow {
  int64_t seq = 0;
  int64_t kind = 0;
  int64_t num = 0;    // turn id or peer id
  int64_t code = 0;   // role, end reason or peer role
  std::string text;   // author, delta (text or thinking) bytes, reason, name or title
  std::string extra;  // model
  int64_t count = 0;
  int64_t at_ms = 0;
};

EventRow to_row(const Event& event);
// nullopt when the row is not a valid event (unknown kind or enum value, negative ids).
std::optional<Event> from_row(const EventRow& row);

}  // namespace tokencast::store
