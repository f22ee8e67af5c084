// Opening the store and finding a session by id or prefix, with the messages users see.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "tokencast/store/store.hpp"

namespace tokencast::app {

constexpr const char* kDefaultDb = "./tokencast.db";

// Prints why on stderr (prefixed with `command`) and returns nullptr on failure.
std::unique_ptr<EventStore> open_store(const std::string& command, const std::string& path,
                                       bool must_exist);

// Resolves a full id or a unique prefix of at least 4 hex digits; prints why on failure.
std::optional<SessionId> find_session(const std::string& command, EventStore& store,
                                      const std::string& id_or_prefix);

std::string format_time(int64_t unix_ms);

}  // namespace tokencast::app
