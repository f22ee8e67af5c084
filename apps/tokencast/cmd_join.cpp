// `tokencast join LINK|IMAGE`: join a session from an invite link or a picture of its QR code,
// stream it to the terminal, optionally prompt, keep a transcript file current.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>

#include "commands.hpp"
#include "ice_flags.hpp"
#include "join_run.hpp"
#include "link_input.hpp"
#include "stop_signals.hpp"
#include "tokencast/util/cli_args.hpp"
#include "verbose_log.hpp"

namespace tokencast::app {
namespace {

constexpr const char* kEpilog =
    "LINK is an invite link (http[s]://.../j#...); IMAGE is a PNG or JPEG holding its QR code\n"
    "(a photo of a screen works).\n"
    "\n"
    "In a terminal, a participant can type prompts; /cancel stops the answer, /quit leaves.\n"
    "The client reconnects and resumes by itself when the link drops or the host restarts.\n"
    "A link made by `host --rendezvous A,B,...` names the other rendezvous instances too\n"
    "(\"?r=...\" before the #): when the rendezvous in use is lost (it closes, or cannot be\n"
    "reached) before the connection to the host is open, the client moves to the next one\n"
    "and joins again there; an open connection keeps streaming meanwhile.\n"
    "\n"
    "exit codes:\n"
    "  0  done (with --once: the awaited answer ended; otherwise the host ended the session)\n"
    "  2  bad usage\n"
    "  3  bad link (or no readable QR code in IMAGE)\n"
    "  4  the rendezvous or the host cannot be reached (or the link is wrong or expired)\n"
    "  5  the join was refused (or the host removed you), or the answer did not verify (invite\n"
    "     link invalid or expired)\n"
    "  6  the stream was interrupted (connection lost for good, or interrupted by a signal),\n"
    "     or the connection to the host could not be opened\n"
    "  7  no host answered, and signaling that did not verify arrived (altered in transit, or\n"
    "     sent by someone without this link)\n"
    "  8  TLS verification failed: the https rendezvous's certificate is untrusted, for another\n"
    "     name, or expired (never retried in plain; see --ca)\n"
    "  9  the host answered but no network path to it was found (NAT or firewall: use a TURN\n"
    "     relay with --turn or a rendezvous that hands one out; --relay-only without any TURN\n"
    "     server also ends here)";

// What the command line says, as given.
struct JoinFlags {
  std::string target;
  std::string name = "guest";
  std::string prompt;
  std::string out_path;
  bool once = false;
  bool no_reconnect = false;
  bool no_thinking = false;
  bool verbose = false;
  std::string connect_timeout = "10";
  std::string ca_file;
  std::string rendezvous;  // more rendezvous WebSocket URLs, comma-separated
  std::string relay = "0";
  IceFlags ice;
};

// Parses the command line into `f`. Returns the exit code to stop with (help shown, bad usage),
// or nullopt to run.
std::optional<int> parse_join_flags(Args args, JoinFlags& f) {
  util::CliArgs cli("join", "Join a session and stream it to the terminal.");
  cli.positional("LINK|IMAGE", &f.target,
                 "an invite link, a PNG/JPEG picture of its QR code, or - to read the link from "
                 "stdin");
  cli.option("--name", "NAME", &f.name, "your display name (default guest)");
  cli.option("--prompt", "TEXT", &f.prompt,
             "send this prompt once joined (participant links only)");
  cli.flag("--once", &f.once,
           "exit 0 when the answer to --prompt ends; without --prompt, when the answer in "
           "progress (or else the next answer to start) ends");
  cli.option("--out", "FILE", &f.out_path,
             "keep the transcript in FILE (.md or .json), kept current");
  cli.flag("--no-reconnect", &f.no_reconnect, "exit 6 instead of resuming when the link drops");
  cli.flag("--no-thinking", &f.no_thinking,
           "do not show a reasoning model's thinking (shown dimmed before its answer by "
           "default); --out files keep it");
  cli.option("--connect-timeout", "SECONDS", &f.connect_timeout,
             "give up (exit 4) when no host answers within this (default 10)");
  cli.option("--rendezvous", "URL[,URL...]", &f.rendezvous,
             "more rendezvous instances of the link's cluster (ws:// or wss://.../ws, at most "
             "16), tried in order after the link's own and its alternates when one is lost");
  cli.option("--relay", "N", &f.relay,
             "offer to relay the host's signed stream for up to N other viewers (0..64, "
             "default 0; viewer links only). The host then streams you its relay stream, which "
             "this client verifies under the link's host key before showing anything, and may "
             "place viewers below you: this client then answers their connections and forwards "
             "the stream to them (they verify it themselves) while it stays connected");
  cli.option("--ca", "FILE", &f.ca_file,
             "https links: trust the CA certificates in this PEM file for the rendezvous "
             "instead of the system's CA store");
  f.ice.declare(cli);
  cli.flag("--verbose", &f.verbose,
           "log to stderr what the connection does (e.g. the selected candidate pair)");
  cli.epilog(kEpilog);
  return cli.parse_or_exit_code(args);
}

// Checks the flags and turns them into the client's options, all but the link. On bad usage,
// says why and returns the exit code.
Expected<JoinOptions, int> join_options(const JoinFlags& f) {
  char* end = nullptr;
  long timeout_s = std::strtol(f.connect_timeout.c_str(), &end, 10);
  if (end == f.connect_timeout.c_str() || *end != '\0' || timeout_s < 1 || timeout_s > 3600) {
    std::fprintf(stderr, "tokencast join: --connect-timeout must be 1..3600 seconds\n");
    return unexpected(int{kJoinUsage});
  }
  auto ice = f.ice.servers();
  if (!ice) {
    std::fprintf(stderr, "tokencast join: %s\n", ice.error().c_str());
    return unexpected(int{kJoinUsage});
  }
  auto turn_ca = f.ice.turn_ca_pem();
  if (!turn_ca) {
    std::fprintf(stderr, "tokencast join: %s\n", turn_ca.error().c_str());
    return unexpected(int{kJoinUsage});
  }
  long relay = std::strtol(f.relay.c_str(), &end, 10);
  if (f.relay.empty() || *end != '\0' || relay < 0 || relay > 64) {
    std::fprintf(stderr, "tokencast join: --relay must be 0..64\n");
    return unexpected(int{kJoinUsage});
  }
  JoinOptions options;
  options.relay_capacity = static_cast<uint64_t>(relay);
  if (!f.rendezvous.empty()) {
    size_t start = 0;
    while (start <= f.rendezvous.size()) {
      size_t comma = f.rendezvous.find(',', start);
      if (comma == std::string::npos) comma = f.rendezvous.size();
      std::string url = f.rendezvous.substr(start, comma - start);
      if (!url.starts_with("ws://") && !url.starts_with("wss://")) {
        std::fprintf(stderr, "tokencast join: --rendezvous: '%s' is not a ws:// or wss:// URL\n",
                     url.substr(0, 80).c_str());
        return unexpected(int{kJoinUsage});
      }
      options.rendezvous_fallback_urls.push_back(std::move(url));
      start = comma + 1;
    }
    if (options.rendezvous_fallback_urls.size() > 16) {
      std::fprintf(stderr, "tokencast join: --rendezvous: at most 16 URLs\n");
      return unexpected(int{kJoinUsage});
    }
  }
  options.turn_tls_ca_pem = std::move(*turn_ca);
  options.name = f.name;
  options.ca_file = f.ca_file;
  options.ice_servers = std::move(*ice);
  options.relay_only = f.ice.relay_only;
  options.reconnect = !f.no_reconnect;
  options.answer_timeout = std::chrono::seconds(timeout_s);
  return options;
}

}  // namespace

int run_join(Args args) {
  JoinFlags flags;
  if (auto stop = parse_join_flags(args, flags)) return *stop;
  if (flags.verbose) log_to_stderr();
  auto options = join_options(flags);
  if (!options) return options.error();
  auto link = read_invite_link("join", flags.target, args);
  if (!link) return kJoinBadLink;
  options->link = std::move(*link);

  block_stop_signals();
  // Declared before the client: its callbacks refer to the run.
  JoinRun run({flags.name, flags.prompt, flags.out_path, flags.once, !flags.no_thinking});
  auto client = JoinClient::start(std::move(*options), run.callbacks());
  if (!client) {
    std::fprintf(stderr, "tokencast join: %s: %s\n", join_failure_text(client.error().first),
                 client.error().second.c_str());
    return exit_for(client.error().first);
  }
  on_stop_signal([&run] { run.finish(kJoinInterrupted); });

  std::thread console = run.start_console(**client);
  int code = run.wait(**client);
  if (console.joinable()) console.join();
  client->reset();
  return code;
}

}  // namespace tokencast::app
