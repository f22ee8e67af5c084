#include "event_rows.hpp"

#include <type_traits>

namespace tokencast::store {
namespace {

// Stored kinds are part of the file format: never renumber them.
enum Kind : int64_t {
  kTurnStarted = 1,
  kTextDelta = 2,
  kTurnEnded = 3,
  kPeerJoined = 4,
  kPeerLeft = 5,
  kSessionMeta = 6,
  kThinkingDelta = 7,  // added with thinking: stores written before it simply have none
};

template <class Enum>
std::optional<Enum> enum_from(int64_t value, Enum last) {
  if (value < 0 || value > static_cast<int64_t>(last)) return std::nullopt;
  return static_cast<Enum>(value);
}

}  // namespace

EventRow to_row(const Event& event) {
  EventRow row;
  row.seq = static_cast<int64_t>(event.seq);
  std::visit(
      [&row](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, TurnStarted>) {
          row.kind = kTurnStarted;
          row.num = static_cast<int64_t>(body.turn);
          row.code = static_cast<int64_t>(body.role);
          row.text = body.author;
          row.at_ms = body.at_ms;
        } else if constexpr (std::is_same_v<T, TextDelta>) {
          row.kind = kTextDelta;
          row.num = static_cast<int64_t>(body.turn);
          row.text = body.bytes;
        } else if constexpr (std::is_same_v<T, ThinkingDelta>) {
          row.kind = kThinkingDelta;
          row.num = static_cast<int64_t>(body.turn);
          row.text = body.bytes;
        } else if constexpr (std::is_same_v<T, TurnEnded>) {
          row.kind = kTurnEnded;
          row.num = static_cast<int64_t>(body.turn);
          row.code = static_cast<int64_t>(body.end);
          row.text = body.reason;
          row.count = static_cast<int64_t>(body.token_count);
          row.at_ms = body.at_ms;
        } else if constexpr (std::is_same_v<T, PeerJoined>) {
          row.kind = kPeerJoined;
          row.num = static_cast<int64_t>(body.peer);
          row.code = static_cast<int64_t>(body.role);
          row.text = body.name;
        } else if constexpr (std::is_same_v<T, PeerLeft>) {
          row.kind = kPeerLeft;
          row.num = static_cast<int64_t>(body.peer);
        } else if constexpr (std::is_same_v<T, SessionMeta>) {
          row.kind = kSessionMeta;
          row.text = body.title;
          row.extra = body.model;
        }
      },
      event.body);
  return row;
}

std::optional<Event> from_row(const EventRow& row) {
  if (row.seq <= 0 || row.num < 0 || row.count < 0) return std::nullopt;
  Event event;
  event.seq = static_cast<Seq>(row.seq);
  auto num = static_cast<uint64_t>(row.num);
  switch (row.kind) {
    case kTurnStarted: {
      auto role = enum_from(row.code, TurnRole::kSystem);
      if (!role) return std::nullopt;
      event.body = TurnStarted{num, *role, row.text, row.at_ms};
      return event;
    }
    case kTextDelta:
      event.body = TextDelta{num, row.text};
      return event;
    case kThinkingDelta:
      event.body = ThinkingDelta{num, row.text};
      return event;
    case kTurnEnded: {
      auto end = enum_from(row.code, TurnEnd::kError);
      if (!end) return std::nullopt;
      event.body = TurnEnded{num, *end, row.text, static_cast<uint64_t>(row.count), row.at_ms};
      return event;
    }
    case kPeerJoined: {
      auto role = enum_from(row.code, PeerRole::kHost);
      if (!role) return std::nullopt;
      event.body = PeerJoined{num, *role, row.text};
      return event;
    }
    case kPeerLeft:
      event.body = PeerLeft{num};
      return event;
    case kSessionMeta:
      event.body = SessionMeta{row.text, row.extra};
      return event;
    default:
      return std::nullopt;
  }
}

}  // namespace tokencast::store
