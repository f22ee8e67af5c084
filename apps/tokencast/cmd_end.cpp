// `tokencast end ID`: ends a stored session for good. Its links are refused from then on: a
// host running it notices within seconds, tells every peer and stops; `--resume ID` refuses it.
// The transcript stays (sessions, export).
#include <cstdio>

#include "commands.hpp"
#include "store_access.hpp"
#include "tokencast/util/cli_args.hpp"
#include "tokencast/util/event_loop.hpp"

namespace tokencast::app {

int run_end(Args args) {
  std::string db = kDefaultDb;
  std::string id;
  util::CliArgs cli("end",
                    "End a stored session for good: its links and --resume are refused from now "
                    "on (a host running it tells its peers and stops); the transcript stays.");
  cli.positional("ID", &id, "session id, or a unique prefix of at least 4 hex digits");
  cli.option("--db", "FILE", &db, "the host's store (default ./tokencast.db)");
  cli.epilog(
      "exit codes: 0 ended (or already ended), 1 the store or session cannot be read, "
      "2 bad usage");
  if (auto code = cli.parse_or_exit_code(args)) return *code;
  auto store = open_store("end", db, /*must_exist=*/true);
  if (!store) return 1;
  auto session = find_session("end", *store, id);
  if (!session) return 1;
  auto life = store->session_life(*session);
  if (!life) {
    std::fprintf(stderr, "tokencast end: %s\n", life.error().message().c_str());
    return 1;
  }
  if (life->ended()) {
    std::printf("session %s had already ended (%s, %s)\n", session->hex().c_str(),
                life->end_reason.c_str(), format_time(life->ended_at_ms).c_str());
    return 0;
  }
  if (auto ended =
          store->end_session(*session, util::EventLoop::unix_now_ms(), "ended with tokencast end");
      !ended) {
    std::fprintf(stderr, "tokencast end: %s\n", ended.error().message().c_str());
    return 1;
  }
  std::printf("session %s has ended: its links are refused from now on\n", session->hex().c_str());
  return 0;
}

}  // namespace tokencast::app
