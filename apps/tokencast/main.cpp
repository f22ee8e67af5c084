// tokencast: stream an LLM's answer live, peer-to-peer and end-to-end encrypted.
#include <cstdio>
#include <string_view>
#include <vector>

#include "commands.hpp"

namespace {

constexpr std::string_view kUsage =
    "usage: tokencast <command> [options]\n"
    "\n"
    "commands:\n"
    "  host         open a session: stream an LLM to everyone who scans the QR code\n"
    "  join         join a session from an invite link or a photo of its QR code\n"
    "  rendezvous   run a rendezvous server that introduces peers (sees no secrets)\n"
    "  sessions     list the sessions kept in a host's store\n"
    "  export       write one stored session as Markdown or JSON (--signed: verifiable)\n"
    "  verify       check a signed transcript, and that the host of a link signed it\n"
    "  end          end a stored session for good: its links are refused from then on\n"
    "  models       list the models an LLM server offers\n"
    "\n"
    "`tokencast <command> --help` describes each command.\n";

struct Command {
  std::string_view name;
  int (*run)(tokencast::app::Args);
};

constexpr Command kCommands[] = {
    {"host", tokencast::app::run_host},
    {"join", tokencast::app::run_join},
    {"rendezvous", tokencast::app::run_rendezvous},
    {"sessions", tokencast::app::run_sessions},
    {"export", tokencast::app::run_export},
    {"verify", tokencast::app::run_verify},
    {"end", tokencast::app::run_end},
    {"models", tokencast::app::run_models},
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kUsage.data(), args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::puts("tokencast 0.1.0");
    return 0;
  }
  for (const auto& command : kCommands) {
    if (command.name == args[0]) {
      return command.run(tokencast::app::Args(args).subspan(1));
    }
  }
  std::fprintf(stderr, "tokencast: unknown command '%.*s'\n\n%s", static_cast<int>(args[0].size()),
               args[0].data(), kUsage.data());
  return 2;
}
