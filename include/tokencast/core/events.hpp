// The session log's events. The host is the only writer: it assigns every event a sequence
// number (u64, starting at 1, no gaps). Clients hold a prefix of the log and resume from the
// last sequence they hold. See docs/PROTOCOL.md for the wire encoding.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace tokencast {

using Seq = uint64_t;
using TurnId = uint64_t;
using PeerId = uint64_t;

enum class TurnRole : uint8_t { kUser = 0, kAssistant = 1, kSystem = 2 };
enum class TurnEnd : uint8_t { kDone = 0, kCancelled = 1, kError = 2 };
enum class PeerRole : uint8_t { kViewer = 0, kParticipant = 1, kHost = 2 };

// "user", "assistant", "system": the names the OpenAI API, exports and the web client use.
constexpr const char* turn_role_name(TurnRole role) {
  switch (role) {
    case TurnRole::kUser:
      return "user";
    case TurnRole::kAssistant:
      return "assistant";
    case TurnRole::kSystem:
      return "system";
  }
  return "user";
}

// "done", "cancelled", "error".
constexpr const char* turn_end_name(TurnEnd end) {
  switch (end) {
    case TurnEnd::kDone:
      return "done";
    case TurnEnd::kCancelled:
      return "cancelled";
    case TurnEnd::kError:
      return "error";
  }
  return "error";
}

// A turn opens; at most one turn is open at a time (the host serialises turns).
struct TurnStarted {
  TurnId turn = 0;
  TurnRole role = TurnRole::kAssistant;
  std::string author;  // display name of who asked, or the model's name
  int64_t at_ms = 0;   // unix time in milliseconds, host clock
  bool operator==(const TurnStarted&) const = default;
};

// Bytes of the open turn's text. UTF-8 overall, but one delta may end or begin in the middle
// of a character: clients reassemble before decoding.
struct TextDelta {
  TurnId turn = 0;
  std::string bytes;
  bool operator==(const TextDelta&) const = default;
};

// Bytes of the open turn's reasoning (a reasoning model's thinking before it answers), shown
// apart from its text and never sent back to the model. Same byte rules as TextDelta. The host
// appends a turn's thinking before its text (protocol version 3; older peers get these
// sequences as empty text deltas).
struct ThinkingDelta {
  TurnId turn = 0;
  std::string bytes;
  bool operator==(const ThinkingDelta&) const = default;
};

struct TurnEnded {
  TurnId turn = 0;
  TurnEnd end = TurnEnd::kDone;
  std::string reason;        // empty when done; why it was cancelled or failed otherwise
  uint64_t token_count = 0;  // tokens (deltas) the source produced for this turn
  int64_t at_ms = 0;
  bool operator==(const TurnEnded&) const = default;
};

struct PeerJoined {
  PeerId peer = 0;
  PeerRole role = PeerRole::kViewer;
  std::string name;
  bool operator==(const PeerJoined&) const = default;
};

struct PeerLeft {
  PeerId peer = 0;
  bool operator==(const PeerLeft&) const = default;
};

struct SessionMeta {
  std::string title;
  std::string model;
  bool operator==(const SessionMeta&) const = default;
};

using EventBody = std::variant<TurnStarted, TextDelta, TurnEnded, PeerJoined, PeerLeft, SessionMeta,
                               ThinkingDelta>;

// A turn's streamed bytes, of either kind: what merging, sizes and turn rules treat alike.
struct DeltaRef {
  TurnId turn = 0;
  const std::string* bytes = nullptr;
  bool thinking = false;
};
inline std::optional<DeltaRef> delta_ref(const EventBody& body) {
  if (const auto* t = std::get_if<TextDelta>(&body)) return DeltaRef{t->turn, &t->bytes, false};
  if (const auto* t = std::get_if<ThinkingDelta>(&body)) return DeltaRef{t->turn, &t->bytes, true};
  return std::nullopt;
}
// The bytes of a TextDelta or ThinkingDelta, to append to when merging; null otherwise.
inline std::string* delta_bytes(EventBody& body) {
  if (auto* t = std::get_if<TextDelta>(&body)) return &t->bytes;
  if (auto* t = std::get_if<ThinkingDelta>(&body)) return &t->bytes;
  return nullptr;
}
inline EventBody make_delta(bool thinking, TurnId turn, std::string bytes) {
  if (thinking) return ThinkingDelta{turn, std::move(bytes)};
  return TextDelta{turn, std::move(bytes)};
}

// One entry of the log, or of a frame. In the log every event stands for exactly one sequence
// (span 1). On the wire, consecutive deltas of one kind (TextDelta, or ThinkingDelta) may be
// merged into one (catch-up, slow peers);
// the merged event keeps the first sequence it stands for and a span = how many log sequences
// it covers, so a client's cursor still lands on the exact log sequence: last_seq().
struct Event {
  Seq seq = 0;
  EventBody body;
  Seq span = 1;  // > 1 only for a merged TextDelta or ThinkingDelta
  Seq last_seq() const { return seq + span - 1; }
  bool operator==(const Event&) const = default;
};

}  // namespace tokencast
