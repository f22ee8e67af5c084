// Per-peer outbound queue: what the host owes one peer, popped as encoded frames when the
// transport can send (uWebSockets-style backpressure: push never blocks; the transport pops
// until pop() returns nothing and asks again when the link drains).
//
// A peer starts by catching up from its last sequence: catch-up frames are planned lazily from
// the log at pop() time, so a long session costs no memory per peer. Once level, the queue goes
// live: the host pushes every event it appends and the queue sends each as soon as it is
// popped (a text delta as a 1-byte-framed delta frame). While a peer is slow, pending deltas of
// the same turn merge into one (still within kMaxDeltaBytes and with exact sequence spans).
// Pending memory is bounded: past max_pending_bytes the queue overflows: it drops everything
// pending and yields an error frame (kSlowConsumer) then a bye; the host closes the link and
// the peer resumes later from the last sequence it received.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <system_error>
#include <variant>

#include "tokencast/core/catchup.hpp"
#include "tokencast/core/events.hpp"
#include "tokencast/core/expected.hpp"
#include "tokencast/core/frame.hpp"
#include "tokencast/core/session_log.hpp"

namespace tokencast {

enum class QueueError {
  kOutOfOrder = 1,  // pushed event does not continue the queue's sequences (a host bug)
  kOverflowed = 2,  // the queue overflowed; nothing more is accepted
  kClosed = 3,      // a bye was queued; nothing more is accepted
};

const std::error_category& queue_category();
std::error_code make_error_code(QueueError e);

struct OutboundQueueOptions {
  // Bound on pending_bytes(); what a slow peer may hold back before it is cut off.
  size_t max_pending_bytes = size_t{1} << 20;
  // The peer speaks protocol version 3 (thinking). Otherwise a ThinkingDelta goes out as an
  // empty TextDelta over the same sequences.
  bool thinking = true;
};

class OutboundQueue {
 public:
  enum class State {
    kCatchingUp,  // frames come from the log; pushed events are already in it
    kLive,        // level with the log: pushed events are queued
    kOverflowed,  // dropped everything; the error and bye frames are pending
    kClosed,      // a bye was popped: the host closes the link, pop() returns nothing
  };

  // A queue for a peer holding [1, peer_last_seq] (hello's last_seq). The log must outlive the
  // queue. Errors: LogError::kBeyondHead when peer_last_seq > log.head().
  static Expected<OutboundQueue, std::error_code> create(const SessionLog& log, Seq peer_last_seq,
                                                         OutboundQueueOptions options = {});

  // Queues an encoded frame that carries no events (welcome, pong, error, bye...), in order
  // with pending events, ahead of catch-up frames not yet planned. A bye is the last frame: once
  // it is queued nothing more is accepted, once it is popped the queue is kClosed. Errors:
  // kOverflowed, kClosed (frame dropped). Overflows the queue when it would exceed the bound.
  Expected<void, std::error_code> push_frame(FrameBytes frame);

  // Offers an event the host just appended to the log (call it for every appended event, for
  // every peer). While catching up, events up to the log's head are already covered and ignored.
  // Live, the event must continue the last one (one past the last sequence this queue took charge
  // of) and is queued, merged into a pending delta of the same turn when possible. Errors:
  // kOutOfOrder (nothing queued), kOverflowed, kClosed. Overflows the queue when it would exceed
  // the bound. O(1) amortized plus the copy of the event's text.
  Expected<void, std::error_code> push_event(const Event& event);

  // The next frame to send, or nullopt when there is nothing to send now.
  std::optional<FrameBytes> pop();

  // Whether pop() would return a frame now. After a push, a host wakes the transport if so.
  bool has_frames() const;

  // What pop() would return next, so that flow control can hold it back (and let it grow by
  // merging) before it is encoded. `bytes` is exact for control and catch-up frames and an
  // upper bound for pending live events. Plans a catch-up frame if one is due (pop() returns
  // it), hence not const.
  struct Next {
    size_t bytes = 0;
    bool events = false;  // carries log events (catch-up or live)
    bool live = false;    // pending live events (pacing applies)
  };
  std::optional<Next> peek();

  State state() const { return state_; }
  // Bytes held for this peer: encoded control frames plus pending events as they will be
  // encoded (catch-up frames not yet planned are not held, so they do not count).
  size_t pending_bytes() const { return pending_bytes_; }
  // Last sequence in the frames popped so far (what the peer holds once they arrive).
  Seq popped_seq() const { return popped_seq_; }

 private:
  using Item = std::variant<FrameBytes, Event>;

  OutboundQueue(const SessionLog& log, CatchupPlanner planner, OutboundQueueOptions options);
  bool fits(size_t more) const;
  void overflow();
  bool try_merge(const Event& event);
  FrameBytes pop_events();

  const SessionLog* log_;
  CatchupPlanner planner_;
  std::optional<PlannedFrame> planned_;  // planned by peek(), not yet popped
  OutboundQueueOptions options_;
  State state_ = State::kCatchingUp;
  std::deque<Item> items_;
  size_t pending_bytes_ = 0;
  Seq live_seq_ = 0;  // last sequence queued while live
  Seq popped_seq_ = 0;
  bool bye_queued_ = false;
};

}  // namespace tokencast

template <>
struct std::is_error_code_enum<tokencast::QueueError> : std::true_type {};
