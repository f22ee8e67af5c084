#include "host_console.hpp"

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string_view>
#include <thread>

#include "stop_signals.hpp"
#include "tokencast/private_file.hpp"

namespace tokencast::app {
namespace {

std::string format_status(const HostStats& s, double tokens_per_second) {
  std::string line = "peers " + std::to_string(s.peers);
  if (s.peers_direct + s.peers_relayed > 0) {
    line += " (" + std::to_string(s.peers_direct) + " direct, " + std::to_string(s.peers_relayed) +
            " relayed)";
  }
  if (s.turn) {
    line += " | turn " + std::to_string(*s.turn) + (s.generating ? " streaming" : "");
    line += " | " + std::to_string(s.turn_tokens) + " tokens";
    char rate[32];
    std::snprintf(rate, sizeof rate, " %.1f tok/s", tokens_per_second);
    line += rate;
  } else {
    line += " | idle";
  }
  if (s.queued_prompts > 0) line += " | " + std::to_string(s.queued_prompts) + " queued";
  if (s.held_prompts > 0) line += " | " + std::to_string(s.held_prompts) + " to approve (/queue)";
  return line;
}

// The number after `command` ("/approve 3" -> 3); nullopt for anything else.
std::optional<uint64_t> command_number(const std::string& line, std::string_view command) {
  if (!line.starts_with(command)) return std::nullopt;
  std::string digits = line.substr(command.size());
  if (digits.empty() || digits.size() > 18 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoull(digits);
}

constexpr const char* kConsoleHelp =
    "type a prompt and Enter to ask the model; commands:\n"
    "  /cancel      stop the answer being generated\n"
    "  /peers       list who is here\n"
    "  /queue       with --approve: the prompts waiting for you, by number\n"
    "  /approve N   let prompt N through; /decline N drops it (its author is told)\n"
    "  /kick NAME   remove a peer (its name as /peers shows it); its rejoins are refused\n"
    "  /quit        stop hosting (also Ctrl-C); tokencast host --resume ID brings it back\n"
    "  /end         end the session for good: its links and --resume are refused from now on\n"
    "  //text       send a prompt that starts with '/'";

}  // namespace

void HostConsole::say(const std::string& line) {
  std::lock_guard lock(print_mutex_);
  std::fprintf(stderr, "%s%s\n", tty_ ? "\r\x1b[2K" : "", line.c_str());
}

void HostConsole::run(const std::string& first_prompt, bool read_stdin) {
  on_stop_signal([this] { request_stop(); });
  if (!first_prompt.empty()) host_.prompt(first_prompt);
  std::thread console;
  if (read_stdin) console = std::thread([this] { read_console(); });
  show_status_until_stopped();
  if (tty_) std::fputs("\n", stderr);
  std::fprintf(stderr, "tokencast host: ending the session\n");
  host_.stop();
  if (console.joinable()) console.join();
}

void HostConsole::request_stop() {
  stop_requested_ = true;
  stop_cv_.notify_all();
}

void HostConsole::read_console() {
  // Read with read(2), not std::getline: stdio's buffer would hold lines that arrived together
  // (pasted, piped) where poll() cannot see them. A line longer than kMaxConsoleLine is cut.
  constexpr size_t kMaxConsoleLine = size_t{64} * 1024;
  std::string buffered;
  bool input_open = true;
  while (!stop_requested_) {
    size_t newline = buffered.find('\n');
    if (newline == std::string::npos) {
      if (!input_open) return;  // stdin closed: keep serving
      // Poll first, so that the thread notices a stop within 200 ms.
      pollfd pfd{0, POLLIN, 0};
      if (poll(&pfd, 1, 200) <= 0) continue;
      char chunk[4096];
      ssize_t n = ::read(0, chunk, sizeof chunk);
      if (n <= 0) {
        input_open = false;
        if (buffered.empty()) return;
        buffered.push_back('\n');  // the last line had no newline
      } else {
        buffered.append(chunk, static_cast<size_t>(n));
        if (buffered.size() > kMaxConsoleLine && buffered.find('\n') == std::string::npos) {
          buffered.resize(kMaxConsoleLine);
          buffered.push_back('\n');
        }
      }
      continue;
    }
    std::string line = buffered.substr(0, newline);
    buffered.erase(0, newline + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line == "/quit") {
      request_stop();
    } else if (line == "/cancel") {
      host_.cancel();
    } else if (line == "/end") {
      host_.end_session();
    } else if (line.starts_with("/kick ")) {
      say(host_.kick(line.substr(6)));
    } else if (line == "/queue") {
      auto held = host_.held_prompts();
      if (held.empty()) say("no prompt waits for approval");
      for (const auto& prompt : held) say(prompt);
    } else if (auto id = command_number(line, "/approve ")) {
      say(host_.approve_prompt(*id));
    } else if (auto id = command_number(line, "/decline ")) {
      say(host_.decline_prompt(*id));
    } else if (line == "/peers") {
      auto names = host_.peer_names();
      if (names.empty()) say("nobody has joined");
      for (const auto& name : names) say(name);
    } else if (line == "/help" || (line.starts_with("/") && !line.starts_with("//"))) {
      say(kConsoleHelp);
    } else if (!line.empty()) {
      // "//text" sends a prompt that starts with '/'.
      host_.prompt(line.starts_with("//") ? line.substr(1) : line);
    }
  }
}

// Twice a second. A terminal's line is redrawn in place; a log gets a line only when the
// session moved and the line changed, so that an idle host writes nothing.
void HostConsole::show_status_until_stopped() {
  uint64_t last_head = 0;
  uint64_t last_tokens = 0;
  std::string last_line;
  // The transcript is flushed every 100 ms; the status line is recomputed every 500 ms.
  for (uint64_t tick = 0; !stop_requested_; ++tick) {
    {
      std::unique_lock lock(mutex_);
      stop_cv_.wait_for(lock, std::chrono::milliseconds(100),
                        [&] { return stop_requested_.load(); });
    }
    std::string text = feed_ != nullptr ? feed_->take() : std::string();
    if (!text.empty()) {
      std::lock_guard print_lock(print_mutex_);
      if (tty_) std::fputs("\r\x1b[2K", stderr);  // the status line is redrawn below
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
      if (tty_) std::fputs(last_line.c_str(), stderr);
    }
    if (tick % 5 != 4) continue;
    HostStats s = host_.stats();
    if (s.ended) {
      say("the session has ended for good (" + s.end_reason + ")");
      request_stop();
      break;
    }
    write_metrics(s);
    double rate = s.turn_tokens >= last_tokens ? (s.turn_tokens - last_tokens) * 2.0 : 0.0;
    last_tokens = s.turn_tokens;
    std::string line = format_status(s, rate);
    std::lock_guard print_lock(print_mutex_);
    if (tty_) {
      std::fprintf(stderr, "\r\x1b[2K%s", line.c_str());
    } else if (line != last_line && s.head != last_head) {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
    last_line = line;
    last_head = s.head;
  }
}

// The file is replaced atomically (node_exporter's textfile collector never reads half of it).
void HostConsole::write_metrics(const HostStats& stats) {
  // Every 4th status refresh: every 2 s, as --help says (each write is an fsync).
  if (metrics_file_.empty() || metrics_refreshes_++ % 4 != 0) return;
  auto written =
      write_readable_file(metrics_file_, render_host_metrics(stats, host_.links().session_id));
  if (!written && !metrics_failed_) {
    metrics_failed_ = true;
    say("cannot write the metrics to " + metrics_file_ + ": " + written.error().message());
  } else if (written) {
    metrics_failed_ = false;
  }
}

}  // namespace tokencast::app
