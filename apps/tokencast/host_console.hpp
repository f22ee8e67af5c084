// The running `tokencast host` session's console: the host's own prompts and commands from
// stdin, and a status line on stderr, until a stop signal or /quit.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

#include "tokencast/host/host.hpp"
#include "transcript_feed.hpp"

namespace tokencast::app {

class HostConsole {
 public:
  // `feed`: the transcript to show on stdout as it streams (null: the status line only).
  HostConsole(HostRuntime& host, bool tty, TranscriptFeed* feed)
      : host_(host), tty_(tty), feed_(feed) {}

  // Asks `first_prompt` (when not empty), reads the console when `read_stdin` (with --stdin,
  // stdin is the answer, not the console), shows the status until stopped, then stops the host.
  void run(const std::string& first_prompt, bool read_stdin);
  // --metrics-file: rewrite `path` with the host's metrics at every status refresh.
  void write_metrics_to(std::string path) { metrics_file_ = std::move(path); }

 private:
  void request_stop();
  void read_console();
  void show_status_until_stopped();
  // A line on stderr for the host (command results), over the status line on a terminal.
  void say(const std::string& line);
  void write_metrics(const HostStats& stats);

  HostRuntime& host_;
  const bool tty_;
  TranscriptFeed* feed_;
  std::string metrics_file_;
  bool metrics_failed_ = false;  // said once
  uint64_t metrics_refreshes_ = 0;
  std::mutex mutex_;        // for stop_cv_ only
  std::mutex print_mutex_;  // one writer of stderr at a time: the status line and say()
  std::condition_variable stop_cv_;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace tokencast::app
