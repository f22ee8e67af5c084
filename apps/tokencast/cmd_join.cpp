// `tokencast join LINK|IMAGE`: join a session from an invite link or a picture of its QR code,
// stream it to the terminal, optionally prompt, keep a transcript file current.
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include "commands.hpp"
#include "ice_flags.hpp"
#include "stop_signals.hpp"
#include "tokencast/client/join_client.hpp"
#include "tokencast/client/terminal_printer.hpp"
#include "tokencast/core/text.hpp"
#include "tokencast/private_file.hpp"
#include "tokencast/qr/qr.hpp"
#include "tokencast/util/cli_args.hpp"
#include "tokencast/util/cli_args.hpp"
#include "verbose_log.hpp"

namespace tokencast::app {
namespace {

// Exit codes, documented in --help.
enum Exit : int {
  kDone = 0,
  kUsage = 2,
  kBadLink = 3,
  kUnreachable = 4,
  kRefused = 5,
  kInterrupted = 6,
  kSignalingAltered = 7,
  kTlsRejected = 8,
  kNoPath = 9,
};

constexpr const char* kEpilog =
    "LINK is an invite link (http[s]://.../j#...); IMAGE is a PNG or JPEG holding its QR code\n"
    "(a photo of a screen works).\n"
    "\n"
    "In a terminal, a participant can type prompts; /cancel stops the answer, /quit leaves.\n"
    "The client reconnects and resumes by itself when the link drops or the host restarts.\n"
    "\n"
    "exit codes:\n"
    "  0  done (with --once: the awaited answer ended; otherwise the host ended the session)\n"
    "  2  bad usage\n"
    "  3  bad link (or no readable QR code in IMAGE)\n"
    "  4  the rendezvous or the host cannot be reached (or the link is wrong or expired)\n"
    "  5  the join was refused, or the answer did not verify (invite link invalid or expired)\n"
    "  6  the stream was interrupted (connection lost for good, or interrupted by a signal),\n"
    "     or the connection to the host could not be opened\n"
    "  7  no host answered, and signaling that did not verify arrived (altered in transit, or\n"
    "     sent by someone without this link)\n"
    "  8  TLS verification failed: the https rendezvous's certificate is untrusted, for another\n"
    "     name, or expired (never retried in plain; see --ca)\n"
    "  9  the host answered but no network path to it was found (NAT or firewall: use a TURN\n"
    "     relay with --turn or a rendezvous that hands one out; --relay-only without any TURN\n"
    "     server also ends here)";

int exit_for(JoinFailure failure) {
  switch (failure) {
    case JoinFailure::kBadLink:
      return kBadLink;
    case JoinFailure::kRendezvousUnreachable:
    case JoinFailure::kNoAnswer:
      return kUnreachable;
    case JoinFailure::kInvalidAnswer:
    case JoinFailure::kRefused:
      return kRefused;
    case JoinFailure::kSessionEnded:
      return kDone;
    case JoinFailure::kInterrupted:
    case JoinFailure::kNotOpened:
      return kInterrupted;
    case JoinFailure::kSignalingAltered:
      return kSignalingAltered;
    case JoinFailure::kCertificateRejected:
      return kTlsRejected;
    case JoinFailure::kNoPath:
      return kNoPath;
  }
  return kInterrupted;
}

// Writes the transcript atomically (a reader never sees half a file), owner-only.
bool write_transcript(const std::string& path, const Transcript& transcript) {
  bool json = path.size() >= 5 && path.ends_with(".json");
  return static_cast<bool>(
      write_private_file(path, json ? transcript.to_json() : transcript.to_markdown()));
}

// Decides when --once is satisfied.
class OnceTracker {
 public:
  OnceTracker(bool prompting, std::string name) : prompting_(prompting), name_(std::move(name)) {}

  // Returns true when the awaited answer has ended.
  bool observe(const ClientEvent& event, const StreamPosition& position) {
    if (const auto* w = std::get_if<Welcomed>(&event)) {
      if (!welcome_head_) welcome_head_ = w->head;
      return false;
    }
    const auto* applied = std::get_if<Applied>(&event);
    if (applied == nullptr || !welcome_head_) return false;
    const Event& e = applied->event;
    bool live = e.seq > *welcome_head_;
    if (!live) {
      // Caught up: without --prompt, an answer already streaming is the one awaited.
      if (!prompting_ && !checked_in_progress_ && position.last_seq >= *welcome_head_) {
        checked_in_progress_ = true;
        target_ = position.open_turn;
      }
      return false;
    }
    if (const auto* started = std::get_if<TurnStarted>(&e.body)) {
      if (prompting_) {
        // Our prompt becomes a user turn of ours; the next answer is the one awaited.
        if (live && started->role == TurnRole::kUser && started->author == name_) asked_ = true;
        if (asked_ && !target_ && started->role == TurnRole::kAssistant) target_ = started->turn;
      } else if (!target_ && live && started->role == TurnRole::kAssistant) {
        target_ = started->turn;  // the next answer (a prompt's own turn is not awaited)
      }
    } else if (const auto* ended = std::get_if<TurnEnded>(&e.body)) {
      return target_ && ended->turn == *target_;
    }
    return false;
  }

 private:
  bool prompting_;
  std::string name_;
  std::optional<Seq> welcome_head_;
  bool asked_ = false;
  bool checked_in_progress_ = false;
  std::optional<TurnId> target_;
};

// Overwrites the secret part (after '#') of a link in our own argv, so that other local users
// reading /proc/PID/cmdline see it only for the instant before this runs. argv's strings are
// writable (C11 5.1.2.2.1).
void scrub_secret(Args args) {
  for (std::string_view arg : args) {
    auto hash = arg.find('#');
    if (hash == std::string_view::npos) continue;
    char* bytes = const_cast<char*>(arg.data());
    std::fill(bytes + hash + 1, bytes + arg.size(), 'x');
  }
}

}  // namespace

int run_join(Args args) {
  std::string target;
  std::string name = "guest";
  std::string prompt;
  std::string out_path;
  bool once = false;
  bool no_reconnect = false;
  bool verbose = false;
  std::string connect_timeout = "10";
  std::string ca_file;
  IceFlags ice_flags;
  util::CliArgs cli("join", "Join a session and stream it to the terminal.");
  cli.positional("LINK|IMAGE", &target,
                 "an invite link, a PNG/JPEG picture of its QR code, or - to read the link from "
                 "stdin");
  cli.option("--name", "NAME", &name, "your display name (default guest)");
  cli.option("--prompt", "TEXT", &prompt, "send this prompt once joined (participant links only)");
  cli.flag("--once", &once,
           "exit 0 when the answer to --prompt ends; without --prompt, when the answer in "
           "progress (or else the next answer to start) ends");
  cli.option("--out", "FILE", &out_path,
             "keep the transcript in FILE (.md or .json), kept current");
  cli.flag("--no-reconnect", &no_reconnect, "exit 6 instead of resuming when the link drops");
  cli.option("--connect-timeout", "SECONDS", &connect_timeout,
             "give up (exit 4) when no host answers within this (default 10)");
  cli.option("--ca", "FILE", &ca_file,
             "https links: trust the CA certificates in this PEM file for the rendezvous "
             "instead of the system's CA store");
  ice_flags.declare(cli);
  cli.flag("--verbose", &verbose,
           "log to stderr what the connection does (e.g. the selected candidate pair)");
  cli.epilog(kEpilog);
  switch (cli.parse(args)) {
    case util::CliArgs::Outcome::kHelpShown:
      return kDone;
    case util::CliArgs::Outcome::kError:
      return kUsage;
    case util::CliArgs::Outcome::kRun:
      break;
  }
  if (verbose) log_to_stderr();
  char* end = nullptr;
  long timeout_s = std::strtol(connect_timeout.c_str(), &end, 10);
  if (end == connect_timeout.c_str() || *end != '\0' || timeout_s < 1 || timeout_s > 3600) {
    std::fprintf(stderr, "tokencast join: --connect-timeout must be 1..3600 seconds\n");
    return kUsage;
  }
  auto ice = ice_flags.servers();
  if (!ice) {
    std::fprintf(stderr, "tokencast join: %s\n", ice.error().c_str());
    return kUsage;
  }
  std::string link = target;
  if (target == "-") {
    if (!std::getline(std::cin, link)) {
      std::fprintf(stderr, "tokencast join: no link on stdin\n");
      return kBadLink;
    }
    while (!link.empty() && (link.back() == '\r' || link.back() == ' ')) link.pop_back();
  } else if (target.starts_with("http://") || target.starts_with("https://")) {
    scrub_secret(args);
  } else {
    struct stat st {};
    if (::stat(target.c_str(), &st) != 0) {
      std::fprintf(stderr, "tokencast join: not an invite link, and no file named that\n");
      return kBadLink;
    }
    auto decoded = qr_decode_file(target);
    if (!decoded) {
      std::fprintf(stderr, "tokencast join: %s: %s\n", target.c_str(),
                   decoded.error().message().c_str());
      return kBadLink;
    }
    link = *decoded;
  }

  block_stop_signals();
  bool tty = isatty(1) != 0;
  TerminalPrinter printer(tty);
  OnceTracker tracker(!prompt.empty(), name);
  std::mutex mutex;
  std::condition_variable cv;
  std::optional<int> exit_code;
  bool prompt_sent = false;
  bool transcript_dirty = false;
  auto finish = [&](int code) {
    std::lock_guard lock(mutex);
    if (!exit_code) exit_code = code;
    cv.notify_all();
  };

  JoinOptions options;
  options.link = link;
  options.name = name;
  options.ca_file = ca_file;
  options.ice_servers = std::move(*ice);
  options.relay_only = ice_flags.relay_only;
  options.reconnect = !no_reconnect;
  options.answer_timeout = std::chrono::seconds(timeout_s);
  JoinCallbacks callbacks;
  std::optional<Seq> caught_up_at;
  StreamPosition position;
  callbacks.on_event = [&](const ClientEvent& event) {
    if (const auto* w = std::get_if<Welcomed>(&event)) {
      if (!caught_up_at) caught_up_at = w->head;
      if (!prompt.empty() && !prompt_sent) {
        if (w->role != PeerRole::kParticipant) {
          std::fprintf(stderr, "tokencast join: this is a viewer link; it cannot send prompts\n");
          finish(kRefused);
          return;
        }
        {
          std::lock_guard lock(mutex);
          prompt_sent = true;
        }
        cv.notify_all();
      }
    }
    const auto* applied = std::get_if<Applied>(&event);
    bool live = applied == nullptr || !caught_up_at || applied->event.seq > *caught_up_at;
    std::string text = printer.render(event, live);
    if (!text.empty()) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    }
    if (applied != nullptr) {
      std::lock_guard lock(mutex);
      transcript_dirty = true;
    }
    // The position is tracked here: asking the client would re-enter its own thread.
    if (applied != nullptr) {
      position.last_seq = applied->event.last_seq();
      if (const auto* s = std::get_if<TurnStarted>(&applied->event.body))
        position.open_turn = s->turn;
      if (std::holds_alternative<TurnEnded>(applied->event.body)) position.open_turn.reset();
    }
    if (once && tracker.observe(event, position)) finish(kDone);
  };
  callbacks.on_status = [&](const std::string& status) {
    if (tty || status != "connected") std::fprintf(stderr, "[%s]\n", status.c_str());
  };
  callbacks.on_ended = [&](JoinFailure failure, const std::string& detail) {
    std::fprintf(stderr, "tokencast join: %s%s%s\n", join_failure_text(failure),
                 detail.empty() ? "" : ": ", neutralize_line(detail).c_str());
    int code = exit_for(failure);
    if (failure == JoinFailure::kSessionEnded && once) code = kInterrupted;
    finish(code);
  };
  auto client = JoinClient::start(std::move(options), std::move(callbacks));
  if (!client) {
    std::fprintf(stderr, "tokencast join: %s: %s\n", join_failure_text(client.error().first),
                 client.error().second.c_str());
    return exit_for(client.error().first);
  }
  on_stop_signal([&] { finish(kInterrupted); });

  std::thread console;
  bool interactive = isatty(0) != 0 && prompt.empty();
  if (interactive) {
    console = std::thread([&] {
      std::string line;
      for (;;) {
        {
          std::lock_guard lock(mutex);
          if (exit_code) return;
        }
        pollfd pfd{0, POLLIN, 0};
        if (poll(&pfd, 1, 200) <= 0) continue;
        if (!std::getline(std::cin, line)) return;
        if (line == "/quit") {
          finish(kDone);
        } else if (line == "/cancel") {
          if (auto r = (*client)->cancel(); !r) {
            std::fprintf(stderr, "tokencast join: %s\n", r.error().message().c_str());
          }
        } else if (!line.empty()) {
          if (auto r = (*client)->prompt(line); !r) {
            std::fprintf(stderr, "tokencast join: %s\n", r.error().message().c_str());
          }
        }
      }
    });
  }

  int code = kDone;
  bool prompted = false;
  for (;;) {
    std::unique_lock lock(mutex);
    cv.wait_for(lock, std::chrono::milliseconds(250));
    bool want_prompt = prompt_sent && !prompted;
    bool write_now = transcript_dirty && !out_path.empty();
    transcript_dirty = false;
    std::optional<int> done = exit_code;
    lock.unlock();
    if (want_prompt) {
      prompted = true;
      if (auto r = (*client)->prompt(prompt); !r) {
        std::fprintf(stderr, "tokencast join: cannot send the prompt: %s\n",
                     r.error().message().c_str());
        finish(kRefused);
      }
    }
    if (write_now || (done && !out_path.empty())) {
      if (!write_transcript(out_path, (*client)->transcript())) {
        std::fprintf(stderr, "tokencast join: cannot write %s\n", out_path.c_str());
      }
    }
    if (done) {
      code = *done;
      break;
    }
  }
  if (console.joinable()) console.join();
  client->reset();
  return code;
}

}  // namespace tokencast::app
