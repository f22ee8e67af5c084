#include <cstdio>

#include "commands.hpp"
#include "store_access.hpp"
#include "tokencast/core/text.hpp"
#include "tokencast/util/cli_args.hpp"

namespace tokencast::app {

int run_sessions(Args args) {
  std::string db = kDefaultDb;
  bool json = false;
  util::CliArgs cli("sessions", "List the sessions kept in a host's store, newest first.");
  cli.option("--db", "FILE", &db, "the host's store (default ./tokencast.db)");
  cli.flag("--json", &json, "print JSON lines instead of a table");
  cli.epilog("exit codes: 0 listed, 1 the store cannot be read, 2 bad usage");
  if (auto code = cli.parse_or_exit_code(args)) return *code;
  auto store = open_store("sessions", db, /*must_exist=*/true);
  if (!store) return 1;
  auto sessions = store->list_sessions();
  if (!sessions) {
    std::fprintf(stderr, "tokencast sessions: %s\n", sessions.error().message().c_str());
    return 1;
  }
  if (!json) {
    std::printf("%-32s  %-20s  %6s  %8s  %s\n", "ID", "CREATED", "TURNS", "EVENTS", "TITLE");
  }
  for (const auto& s : *sessions) {
    // Titles come from users: never print raw control sequences.
    std::string title = neutralize_for_terminal(s.title);
    if (json) {
      std::printf(
          "{\"id\":\"%s\",\"created_at_ms\":%lld,\"title\":%s,\"model\":%s,"
          "\"turns\":%llu,\"events\":%llu,\"last_at_ms\":%lld}\n",
          s.id.hex().c_str(), static_cast<long long>(s.created_at_ms), json_quote(s.title).c_str(),
          json_quote(s.model).c_str(), static_cast<unsigned long long>(s.turns),
          static_cast<unsigned long long>(s.head), static_cast<long long>(s.last_at_ms));
    } else {
      std::printf("%-32s  %-20s  %6llu  %8llu  %s\n", s.id.hex().c_str(),
                  format_time(s.created_at_ms).c_str(), static_cast<unsigned long long>(s.turns),
                  static_cast<unsigned long long>(s.head), title.c_str());
    }
  }
  return 0;
}

}  // namespace tokencast::app
