#include "tokencast/core/session_log.hpp"

#include <string>
#include <variant>

#include "wire/frame_internal.hpp"

namespace tokencast {
namespace {

class LogCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tokencast.log"; }
  std::string message(int value) const override {
    switch (static_cast<LogError>(value)) {
      case LogError::kTurnAlreadyOpen:
        return "a turn is already open";
      case LogError::kNoOpenTurn:
        return "no turn is open";
      case LogError::kTurnMismatch:
        return "event for a turn that is not the open one";
      case LogError::kStaleTurnId:
        return "turn id not above every earlier turn id";
      case LogError::kSequenceGap:
        return "stored events are not numbered 1, 2, 3, ...";
      case LogError::kBadSpan:
        return "stored event with span other than 1";
      case LogError::kDeltaTooLarge:
        return "text delta larger than the log accepts";
      case LogError::kStringTooLong:
        return "label longer than 1024 bytes";
      case LogError::kInvalidUtf8:
        return "label is not valid UTF-8";
      case LogError::kBadEnum:
        return "enum value out of range";
      case LogError::kBeyondHead:
        return "sequence is after the log's head";
    }
    return "unknown log error";
  }
};

LogError to_log_error(codec::ValueDefect defect) {
  switch (defect) {
    case codec::ValueDefect::kStringTooLong:
      return LogError::kStringTooLong;
    case codec::ValueDefect::kInvalidUtf8:
      return LogError::kInvalidUtf8;
    case codec::ValueDefect::kBadEnum:
    case codec::ValueDefect::kNone:
      break;
  }
  return LogError::kBadEnum;
}

LogError to_log_error(codec::TurnRule rule) {
  switch (rule) {
    case codec::TurnRule::kAlreadyOpen:
      return LogError::kTurnAlreadyOpen;
    case codec::TurnRule::kNoOpenTurn:
      return LogError::kNoOpenTurn;
    case codec::TurnRule::kMismatch:
    case codec::TurnRule::kOk:
      break;
  }
  return LogError::kTurnMismatch;
}

}  // namespace

const std::error_category& log_category() {
  static const LogCategory category;
  return category;
}

std::error_code make_error_code(LogError e) { return {static_cast<int>(e), log_category()}; }

std::error_code SessionLog::check(const EventBody& body) const {
  const auto rule = codec::check_turn_rule(open_turn_, body);
  if (rule != codec::TurnRule::kOk) return to_log_error(rule);
  // Turn ids only grow, so an id names one turn for the whole session (clients key text by it).
  if (const auto* started = std::get_if<TurnStarted>(&body);
      started && started->turn <= last_turn_) {
    return LogError::kStaleTurnId;
  }
  if (const auto delta = delta_ref(body); delta && delta->bytes->size() > kMaxDeltaBytes) {
    return LogError::kDeltaTooLarge;
  }
  const auto defect = codec::check_event_values(body);
  if (defect != codec::ValueDefect::kNone) return to_log_error(defect);
  return {};
}

void SessionLog::apply(const EventBody& body) {
  codec::apply_turn_rule(open_turn_, body);
  if (const auto* started = std::get_if<TurnStarted>(&body)) last_turn_ = started->turn;
}

Expected<Seq, std::error_code> SessionLog::append(EventBody body) {
  if (auto ec = check(body)) return unexpected(ec);
  apply(body);
  const Seq seq = head() + 1;
  events_.push_back(Event{seq, std::move(body)});
  return seq;
}

Expected<SessionLog, std::error_code> SessionLog::from_events(std::vector<Event> events) {
  SessionLog log;
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& event = events[i];
    if (event.seq != i + 1) return unexpected(make_error_code(LogError::kSequenceGap));
    if (event.span != 1) return unexpected(make_error_code(LogError::kBadSpan));
    if (auto ec = log.check(event.body)) return unexpected(ec);
    log.apply(event.body);
  }
  log.events_ = std::move(events);
  return log;
}

std::span<const Event> SessionLog::range(Seq first, Seq last) const {
  if (first == 0) first = 1;
  if (last > head()) last = head();
  if (first > last) return {};
  return std::span<const Event>(events_).subspan(first - 1, last - first + 1);
}

StreamPosition SessionLog::position_at(Seq seq) const {
  // Walk back to the nearest turn boundary: a TurnStarted means that turn is open at seq, a
  // TurnEnded (or the start of the log) means none is.
  for (Seq s = seq; s >= 1; --s) {
    const EventBody& body = at(s).body;
    if (const auto* started = std::get_if<TurnStarted>(&body)) return {seq, started->turn};
    if (std::holds_alternative<TurnEnded>(body)) break;
  }
  return {seq, std::nullopt};
}

}  // namespace tokencast
