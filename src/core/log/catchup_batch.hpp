// Builds one events frame from consecutive events, merging each run of deltas of one kind
// (TextDelta, or ThinkingDelta) into a single delta event with a span. Shared by the catch-up
// planner and the outbound queue. Internal.
#pragma once

#include <cstddef>
#include <string>

#include "tokencast/core/events.hpp"
#include "tokencast/core/frame.hpp"

namespace tokencast::codec {

// A peer older than protocol version 3 cannot decode thinking: it gets a ThinkingDelta as an
// empty TextDelta over the same sequences (it merges with the turn's text). Other events as is.
Event without_thinking(const Event& event);

class EventBatchBuilder {
 public:
  // Adds event, which must start right after the last event added (event.seq ==
  // last_seq() + 1) and be valid. A delta following a delta of the same kind and turn is merged
  // into it. Returns false, changing nothing, when the frame would exceed kMaxFrameBytes.
  bool try_add(const Event& event);

  bool empty() const { return count_ == 0; }
  Seq first_seq() const { return first_seq_; }
  Seq last_seq() const { return last_seq_; }
  // Size the frame would have if finished now.
  size_t frame_size() const;

  // Encodes the events frame and resets the builder. Precondition: !empty().
  FrameBytes finish();

 private:
  size_t run_size() const;
  void flush_run();

  FrameBytes body_;   // encoded events, except the delta run still being merged
  size_t count_ = 0;  // events in the frame, counting an open run as one
  Seq first_seq_ = 0;
  Seq last_seq_ = 0;
  FrameBytes scratch_;  // measures a non-delta event before committing it

  bool run_open_ = false;  // a merged delta not yet written to body_
  bool run_thinking_ = false;
  TurnId run_turn_ = 0;
  Seq run_seq_ = 0;
  Seq run_span_ = 0;
  std::string run_text_;
};

}  // namespace tokencast::codec
