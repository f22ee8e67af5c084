// Value checks and turn rules shared by the codec and the session log.
#include <type_traits>
#include <variant>

#include "tokencast/core/text.hpp"
#include "wire/frame_internal.hpp"

namespace tokencast::codec {
namespace {

template <class E>
bool enum_at_most(E value, E max) {
  using U = std::underlying_type_t<E>;
  return static_cast<U>(value) <= static_cast<U>(max);
}

ValueDefect first_defect(std::initializer_list<ValueDefect> defects) {
  for (ValueDefect d : defects) {
    if (d != ValueDefect::kNone) return d;
  }
  return ValueDefect::kNone;
}

}  // namespace

ValueDefect check_label(std::string_view text) {
  if (text.size() > kMaxLabelBytes) return ValueDefect::kStringTooLong;
  if (!tokencast::is_valid_utf8(text)) return ValueDefect::kInvalidUtf8;
  return ValueDefect::kNone;
}

ValueDefect check_event_values(const EventBody& body) {
  struct Visitor {
    ValueDefect operator()(const TurnStarted& e) const {
      if (!enum_at_most(e.role, TurnRole::kSystem)) return ValueDefect::kBadEnum;
      return check_label(e.author);
    }
    ValueDefect operator()(const TextDelta&) const { return ValueDefect::kNone; }
    ValueDefect operator()(const ThinkingDelta&) const { return ValueDefect::kNone; }
    ValueDefect operator()(const TurnEnded& e) const {
      if (!enum_at_most(e.end, TurnEnd::kError)) return ValueDefect::kBadEnum;
      return check_label(e.reason);
    }
    ValueDefect operator()(const PeerJoined& e) const {
      if (!enum_at_most(e.role, PeerRole::kHost)) return ValueDefect::kBadEnum;
      return check_label(e.name);
    }
    ValueDefect operator()(const PeerLeft&) const { return ValueDefect::kNone; }
    ValueDefect operator()(const SessionMeta& e) const {
      return first_defect({check_label(e.title), check_label(e.model)});
    }
  };
  return std::visit(Visitor{}, body);
}

namespace {
bool printable_ascii(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}
}  // namespace

ValueDefect check_relay_sdp(std::string_view sdp) {
  if (sdp.empty() || sdp.size() > kMaxRelaySdpBytes) return ValueDefect::kStringTooLong;
  if (sdp.find('\0') != std::string_view::npos || !is_valid_utf8(sdp)) {
    return ValueDefect::kInvalidUtf8;
  }
  return ValueDefect::kNone;
}

ValueDefect check_relay_mid(std::string_view mid) {
  if (mid.size() > kMaxRelayMidBytes) return ValueDefect::kStringTooLong;
  return printable_ascii(mid) ? ValueDefect::kNone : ValueDefect::kInvalidUtf8;
}

ValueDefect check_relay_candidate(std::string_view candidate) {
  if (candidate.empty() || candidate.size() > kMaxRelayCandidateBytes) {
    return ValueDefect::kStringTooLong;
  }
  return printable_ascii(candidate) ? ValueDefect::kNone : ValueDefect::kInvalidUtf8;
}

FrameError to_frame_error(ValueDefect defect) {
  switch (defect) {
    case ValueDefect::kStringTooLong:
      return FrameError::kStringTooLong;
    case ValueDefect::kInvalidUtf8:
      return FrameError::kInvalidUtf8;
    case ValueDefect::kBadEnum:
    case ValueDefect::kNone:
      break;
  }
  return FrameError::kBadEnum;
}

TurnRule check_turn_rule(const std::optional<TurnId>& open, const EventBody& body) {
  TurnId turn = 0;
  if (std::holds_alternative<TurnStarted>(body)) {
    return open ? TurnRule::kAlreadyOpen : TurnRule::kOk;
  } else if (const auto delta = delta_ref(body)) {
    turn = delta->turn;
  } else if (const auto* ended = std::get_if<TurnEnded>(&body)) {
    turn = ended->turn;
  } else {
    return TurnRule::kOk;  // peer and session events may come at any time
  }
  if (!open) return TurnRule::kNoOpenTurn;
  return *open == turn ? TurnRule::kOk : TurnRule::kMismatch;
}

void apply_turn_rule(std::optional<TurnId>& open, const EventBody& body) {
  if (const auto* started = std::get_if<TurnStarted>(&body)) {
    open = started->turn;
  } else if (std::holds_alternative<TurnEnded>(body)) {
    open.reset();
  }
}

}  // namespace tokencast::codec
