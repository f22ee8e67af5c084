// The session log: the host's append-only, sequenced record of a session. The host is its only
// writer; sequences start at 1 and have no gaps. Peers hold a prefix of it and resume from the
// last sequence they hold. It is pure memory: the SQLite store persists what append() accepted
// and rebuilds the log with from_events() on restart.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

#include "tokencast/core/events.hpp"
#include "tokencast/core/expected.hpp"
#include "tokencast/core/frame.hpp"

namespace tokencast {

// Largest TextDelta the log accepts: any single event must fit in one frame on its own
// (an events frame spends at most 35 bytes around one delta), and the catch-up planner splits
// merged text only between deltas, never inside one (see docs/PROTOCOL.md, "Catch-up").
inline constexpr size_t kMaxDeltaBytes = kMaxFrameBytes - 64;

enum class LogError {
  kTurnAlreadyOpen = 1,  // TurnStarted while another turn is open
  kNoOpenTurn = 2,       // TextDelta or TurnEnded while no turn is open
  kTurnMismatch = 3,     // TextDelta or TurnEnded for a turn other than the open one
  kStaleTurnId = 4,      // TurnStarted whose id is not above every earlier turn id (ids >= 1)
  kSequenceGap = 5,      // stored events not numbered 1, 2, 3, ...
  kBadSpan = 6,          // stored event with span != 1
  kDeltaTooLarge = 7,    // TextDelta longer than kMaxDeltaBytes
  kStringTooLong = 8,    // a label longer than kMaxLabelBytes
  kInvalidUtf8 = 9,      // a label that is not valid UTF-8 (delta bytes are not checked)
  kBadEnum = 10,         // role or end value outside its enum
  kBeyondHead = 11,      // a peer's last sequence is after the head (catch-up, queue)
};

const std::error_category& log_category();
std::error_code make_error_code(LogError e);

class SessionLog {
 public:
  SessionLog() = default;

  // Rebuilds a log from stored events, checking everything append() checks plus that
  // event i (0-based) has seq i + 1 (kSequenceGap) and span 1 (kBadSpan). A log may end with
  // a turn still open (the host stopped mid-answer); the host should then end that turn.
  static Expected<SessionLog, std::error_code> from_events(std::vector<Event> events);

  // Appends one event and returns its sequence (head() + 1). Errors (LogError), with nothing
  // appended: kTurnAlreadyOpen, kNoOpenTurn, kTurnMismatch, kStaleTurnId, kDeltaTooLarge,
  // kStringTooLong, kInvalidUtf8, kBadEnum.
  Expected<Seq, std::error_code> append(EventBody body);

  // Last sequence appended; 0 when empty.
  Seq head() const { return events_.size(); }
  bool empty() const { return events_.empty(); }
  // Turn open at the head, if any.
  std::optional<TurnId> open_turn() const { return open_turn_; }
  // Highest turn id started so far; 0 when none.
  TurnId last_turn() const { return last_turn_; }

  // Event with sequence seq. Precondition: 1 <= seq <= head().
  const Event& at(Seq seq) const { return events_[seq - 1]; }
  std::span<const Event> events() const { return events_; }
  // Events with first <= seq <= last, clamped to [1, head()]; empty if none.
  std::span<const Event> range(Seq first, Seq last) const;
  // Events after last_seq (what a peer holding last_seq lacks).
  std::span<const Event> after(Seq last_seq) const { return range(last_seq + 1, head()); }

  // The position of a peer that holds exactly [1, seq]: seq and the turn open after it.
  // Precondition: seq <= head(). Costs O(length of that turn).
  StreamPosition position_at(Seq seq) const;

 private:
  std::error_code check(const EventBody& body) const;
  void apply(const EventBody& body);

  std::vector<Event> events_;
  std::optional<TurnId> open_turn_;
  TurnId last_turn_ = 0;
};

}  // namespace tokencast

template <>
struct std::is_error_code_enum<tokencast::LogError> : std::true_type {};
