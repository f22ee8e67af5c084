// One run of `tokencast join` once the link is known: what the client's callbacks print, the
// console thread's prompts, and the main thread's wait for the end (sending --prompt, keeping
// --out current). The three threads share one JoinRun.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tokencast/client/join_client.hpp"
#include "tokencast/client/terminal_printer.hpp"

namespace tokencast::app {

// `tokencast join`'s exit codes, documented in its --help.
enum JoinExit : int {
  kJoinDone = 0,
  kJoinUsage = 2,
  kJoinBadLink = 3,
  kJoinUnreachable = 4,
  kJoinRefused = 5,
  kJoinInterrupted = 6,
  kJoinSignalingAltered = 7,
  kJoinTlsRejected = 8,
  kJoinNoPath = 9,
};

int exit_for(JoinFailure failure);

// Decides when --once is satisfied.
class OnceTracker {
 public:
  OnceTracker(bool prompting, std::string name) : prompting_(prompting), name_(std::move(name)) {}

  // Returns true when the awaited answer has ended.
  bool observe(const ClientEvent& event, const StreamPosition& position);

 private:
  bool prompting_;
  // The name our prompt's turn carries: the one asked for, until the host's PeerJoined for us
  // tells the one it gave (another "guest" present makes us "guest (2)").
  std::string name_;
  std::vector<PeerId> self_;  // our peer ids, one per welcome (a reconnect may bring a new one)
  std::optional<Seq> welcome_head_;
  bool asked_ = false;
  bool checked_in_progress_ = false;
  std::optional<TurnId> target_;
};

// The flags a run acts on.
struct JoinRunSettings {
  std::string name;
  std::string prompt;    // sent once welcomed; empty: none
  std::string out_path;  // the transcript file kept current; empty: none
  bool once = false;
  bool show_thinking = true;  // print the model's thinking (dimmed on a TTY) before its answer
};

class JoinRun {
 public:
  explicit JoinRun(JoinRunSettings settings);

  // Ends the run with `code` (the first code given wins). Any thread.
  void finish(int code);

  // The client's callbacks; they refer to this run, which must outlive the client.
  JoinCallbacks callbacks();

  // In a terminal without --prompt: a thread that reads prompts, /cancel and /quit. Otherwise
  // an empty thread.
  std::thread start_console(JoinClient& client);

  // Runs until finish(): sends --prompt once welcomed, keeps --out current. Returns the code.
  int wait(JoinClient& client);

 private:
  // Client thread.
  void on_event(const ClientEvent& event);
  bool on_welcomed(const Welcomed& welcomed);  // false: the run is refused (viewer link)
  void print(const ClientEvent& event, const Applied* applied);
  void on_applied(const Event& event);
  void on_ended(JoinFailure failure, const std::string& detail);
  // Console thread.
  void read_console(JoinClient& client);
  // Main thread.
  void send_prompt(JoinClient& client);
  void save_transcript(JoinClient& client);

  const JoinRunSettings settings_;
  const bool tty_;
  TerminalPrinter printer_;
  OnceTracker tracker_;

  std::mutex mutex_;  // guards what the main thread reads: the three below
  std::condition_variable cv_;
  std::optional<int> exit_code_;
  bool prompt_sent_ = false;  // welcomed as a participant: --prompt may go now
  bool transcript_dirty_ = false;

  // Only on the client's thread:
  std::optional<Seq> caught_up_at_;
  StreamPosition position_;
};

}  // namespace tokencast::app
