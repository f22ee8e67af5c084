// The session's transcript as terminal text for the host's own screen. Events are rendered on
// the runtime's thread and written by the console's thread, so a stdout nobody reads never
// stalls the host; what waits is bounded, and text past the bound is dropped with a note.
#pragma once

#include <mutex>
#include <string>

#include "tokencast/client/terminal_printer.hpp"
#include "tokencast/core/events.hpp"

namespace tokencast::app {

class TranscriptFeed {
 public:
  static constexpr size_t kMaxPendingBytes = size_t{1} << 20;

  explicit TranscriptFeed(bool styled) : printer_(styled) {}

  // Any thread: renders one durable event.
  void push(const Event& event);
  // Any thread: the text to print now (empty when nothing waits).
  std::string take();

 private:
  std::mutex mutex_;
  TerminalPrinter printer_;
  std::string pending_;
  bool dropped_ = false;
};

}  // namespace tokencast::app
