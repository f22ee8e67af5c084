#include <cstdio>
#include <fstream>

#include "commands.hpp"
#include "store_access.hpp"
#include "tokencast/core/signed_transcript.hpp"
#include "tokencast/core/transcript.hpp"
#include "tokencast/private_file.hpp"
#include "tokencast/util/cli_args.hpp"

namespace tokencast::app {

int run_export(Args args) {
  std::string db = kDefaultDb;
  std::string format;
  std::string out_path;
  std::string id;
  bool signed_export = false;
  util::CliArgs cli("export", "Write one stored session as Markdown or JSON.");
  cli.positional("ID", &id, "session id, or a unique prefix of at least 4 hex digits");
  cli.option("--db", "FILE", &db, "the host's store (default ./tokencast.db)");
  cli.option("--format", "md|json", &format, "output format (default md)");
  cli.option("--out", "FILE", &out_path, "write to FILE instead of stdout");
  cli.flag("--signed", &signed_export,
           "a signed JSON transcript: the host's session key signs every turn, so anyone can "
           "check it with `tokencast verify FILE [LINK]`");
  cli.epilog("exit codes: 0 written, 1 the store or session cannot be read, 2 bad usage");
  if (auto code = cli.parse_or_exit_code(args)) return *code;
  if (signed_export && !format.empty()) {
    std::fprintf(stderr, "tokencast export: --signed writes its own JSON format; drop --format\n");
    return 2;
  }
  if (format.empty()) format = "md";
  if (format != "md" && format != "json") {
    std::fprintf(stderr, "tokencast export: --format must be md or json, not '%s'\n",
                 format.c_str());
    return 2;
  }
  auto store = open_store("export", db, /*must_exist=*/true);
  if (!store) return 1;
  auto session = find_session("export", *store, id);
  if (!session) return 1;
  auto events = store->load_events(*session);
  if (!events) {
    std::fprintf(stderr, "tokencast export: %s\n", events.error().message().c_str());
    return 1;
  }
  Transcript transcript;
  for (const auto& e : *events) transcript.apply(e);
  std::string text;
  if (signed_export) {
    auto record = store->load_session(*session);
    if (!record) {
      std::fprintf(stderr, "tokencast export: %s\n", record.error().message().c_str());
      return 1;
    }
    auto key = SigningKey::from_seed(record->host_key_seed);
    text = encode_signed_transcript(sign_transcript(*session, transcript, key));
  } else {
    text = format == "md" ? transcript.to_markdown() : transcript.to_json();
  }
  if (out_path.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
  }
  // An export holds what was said in the session: owner-only, never through a symlink.
  if (auto written = write_private_file(out_path, text); !written) {
    std::fprintf(stderr, "tokencast export: cannot write %s: %s\n", out_path.c_str(),
                 written.error().message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace tokencast::app
