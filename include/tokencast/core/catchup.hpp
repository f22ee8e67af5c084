// Catch-up: the frames that bring a peer holding [1, last_seq] level with the log's head.
//
// Consecutive deltas of one kind (a turn's thinking or its text, or the part of it after
// last_seq) are merged into one
// delta event whose span counts the log sequences it stands for, and frames are filled up to
// kMaxFrameBytes, so catching up costs about the text's size plus a few bytes per turn and per
// 16 KiB frame. A merged delta is split only where a frame is full, and then only between two
// log deltas, never inside one: a peer whose link drops between two frames holds an exact log
// prefix and resumes from it without duplicates. The open turn's deltas are merged up to the
// head too; live deltas then continue it. The rules are in docs/PROTOCOL.md, "Catch-up".
#pragma once

#include <optional>
#include <system_error>
#include <vector>

#include "tokencast/core/expected.hpp"
#include "tokencast/core/frame.hpp"
#include "tokencast/core/session_log.hpp"

namespace tokencast {

// One encoded events frame and the log sequences it covers.
struct PlannedFrame {
  FrameBytes bytes;
  Seq first_seq = 0;
  Seq last_seq = 0;
};

// Produces catch-up frames one at a time, on demand, so a long session never has to sit
// encoded in memory: the outbound queue asks for the next frame when the transport can send.
// Reads the log by sequence at each call, so events appended meanwhile are included.
// The log must outlive the planner.
class CatchupPlanner {
 public:
  // Errors: LogError::kBeyondHead when last_seq > log.head() (the peer holds events this log
  // does not have: another session, or a host that lost its store). `thinking`: the peer speaks
  // protocol version 3; otherwise thinking goes out as empty text deltas (same sequences).
  static Expected<CatchupPlanner, std::error_code> create(const SessionLog& log, Seq last_seq,
                                                          bool thinking = true);

  // The next frame, starting at cursor() + 1 and as full as kMaxFrameBytes allows, or nullopt
  // when the peer is level with the log's current head.
  std::optional<PlannedFrame> next();

  // Last sequence covered by the frames returned so far (initially last_seq).
  Seq cursor() const { return cursor_; }
  bool level() const { return cursor_ == log_->head(); }

 private:
  CatchupPlanner(const SessionLog& log, Seq last_seq, bool thinking)
      : log_(&log), cursor_(last_seq), thinking_(thinking) {}

  const SessionLog* log_;
  Seq cursor_;
  bool thinking_;
};

// All catch-up frames at once (tests, small logs). Errors: as CatchupPlanner::create.
Expected<std::vector<PlannedFrame>, std::error_code> plan_catchup(const SessionLog& log,
                                                                  Seq last_seq,
                                                                  bool thinking = true);

}  // namespace tokencast
