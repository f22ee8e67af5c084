// The `tokencast` executable's store commands and argument handling, run as a user would.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/run_process.hpp"
#include "tokencast/core/invite.hpp"
#include "tokencast/core/signing.hpp"
#include "tokencast/store/store.hpp"

namespace tokencast {
namespace {

using testing::run_process;

class AppCli : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/tokencast-cli-XXXXXX";
    dir_ = mkdtemp(pattern);
    db_ = dir_ + "/t.db";
    auto store = EventStore::open(db_);
    ASSERT_TRUE(store);
    SessionRecord r;
    r.id.bytes.fill(0xc4);
    r.created_at_ms = 1764000000000;
    r.title = "evil\x1b]0;title\x07 talk";
    r.model = "m";
    r.host_key_seed.fill(0x11);
    r.viewer_secret.fill(0x22);
    ASSERT_TRUE((*store)->create_session(r));
    id_ = r.id;
    std::vector<Event> events{
        {1, SessionMeta{"evil talk", "m"}},
        {2, TurnStarted{1, TurnRole::kUser, "ada", 1764000000001}},
        {3, TextDelta{1, "2+2?"}},
        {4, TurnEnded{1, TurnEnd::kDone, "", 1, 1764000000002}},
        {5, TurnStarted{2, TurnRole::kAssistant, "m", 1764000000003}},
        {6, TextDelta{2, "fo"}},
        {7, TextDelta{2, "ur"}},
        {8, TurnEnded{2, TurnEnd::kDone, "", 2, 1764000000004}},
    };
    ASSERT_TRUE((*store)->append(id_, events));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  std::string db_;
  SessionId id_;
};

TEST_F(AppCli, TopLevelHelpAndUnknownCommand) {
  auto help = run_process({TOKENCAST_BIN, "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (auto cmd : {"host", "join", "rendezvous", "sessions", "export", "verify", "end", "models"}) {
    EXPECT_NE(help.out.find(cmd), std::string::npos) << cmd;
  }
  auto unknown = run_process({TOKENCAST_BIN, "frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown command 'frobnicate'"), std::string::npos);
  for (auto cmd : {"host", "join", "rendezvous", "sessions", "export", "verify", "end", "models"}) {
    auto r = run_process({TOKENCAST_BIN, cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find("usage: tokencast"), std::string::npos) << cmd;
  }
}

TEST_F(AppCli, ModelFlagsAreCheckedBeforeAnythingStarts) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  std::string db = dir_ + "/never.db";
  for (const Case& c : std::vector<Case>{
           {{"--temperature", "2.5"}, "--temperature must be 0..2"},
           {{"--top-p", "0.5x"}, "--top-p must be 0..1"},
           {{"--max-tokens", "0"}, "--max-tokens must be"},
           {{"--seed", "1e3"}, "--seed must be a whole number"},
           {{"--ctx-tokens", "10"}, "--ctx-tokens must be"},
           {{"--exec-input", "xml"}, "--exec-input must be prompt or json"},
           {{"--system", "@" + dir_ + "/missing.txt"}, "cannot read"},
           {{"--header", "Content-Type: text/plain"}, "is set by tokencast itself"},
           {{"--header", "X-Key: ${TOKENCAST_TEST_UNSET_VARIABLE}"}, "not set in the environment"},
           {{"--batch-ms", "1001"}, "--batch-ms must be 0..1000"},
           {{"--batch-ms", "-1"}, "--batch-ms must be 0..1000"},
           {{"--batch-ms", "5ms"}, "--batch-ms must be 0..1000"},
           {{"--direct-peers", "0"}, "--direct-peers must be 1..100000"},
           {{"--direct-peers", "-1"}, "--direct-peers must be 1..100000"},
           {{"--relay-children", "65"}, "--relay-children must be 1..64"},
           {{"--relay-children", "4k"}, "--relay-children must be 1..64"},
           {{"--relay-depth", "0"}, "--relay-depth must be 1..8"},
           {{"--relay-depth", "9"}, "--relay-depth must be 1..8"},
       }) {
    std::vector<std::string> argv = {TOKENCAST_BIN, "host", "--db", db};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto r = run_process(argv);
    EXPECT_EQ(r.exit_code, 2) << c.args[0];
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(db));  // nothing started
  auto models = run_process({TOKENCAST_BIN, "models", "--llm", "http://127.0.0.1:1/v1"});
  EXPECT_EQ(models.exit_code, 1);
  EXPECT_NE(models.err.find("tokencast models: "), std::string::npos);
}

TEST_F(AppCli, SessionsListsWithoutRawEscapes) {
  auto r = run_process({TOKENCAST_BIN, "sessions", "--db", db_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(id_.hex()), std::string::npos);
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos);
  auto json = run_process({TOKENCAST_BIN, "sessions", "--db", db_, "--json"});
  ASSERT_EQ(json.exit_code, 0);
  auto line = nlohmann::json::parse(json.out);
  EXPECT_EQ(line["id"], id_.hex());
  EXPECT_EQ(line["turns"], 2);
  EXPECT_EQ(line["events"], 8);
}

TEST_F(AppCli, ExportWritesMarkdownAndJson) {
  auto md = run_process({TOKENCAST_BIN, "export", id_.hex().substr(0, 6), "--db", db_});
  ASSERT_EQ(md.exit_code, 0) << md.err;
  EXPECT_NE(md.out.find("## ada (user)\n\n2+2?"), std::string::npos);
  EXPECT_NE(md.out.find("## m (assistant)\n\nfour"), std::string::npos);
  auto out_file = dir_ + "/t.json";
  auto js = run_process(
      {TOKENCAST_BIN, "export", id_.hex(), "--db", db_, "--format", "json", "--out", out_file});
  ASSERT_EQ(js.exit_code, 0) << js.err;
  std::ifstream in(out_file);
  auto json = nlohmann::json::parse(in);
  EXPECT_EQ(json["turns"][1]["text"], "four");
}

TEST_F(AppCli, ExportErrorsAreClear) {
  auto bad_format = run_process({TOKENCAST_BIN, "export", id_.hex(), "--db", db_, "--format", "x"});
  EXPECT_EQ(bad_format.exit_code, 2);
  auto missing = run_process({TOKENCAST_BIN, "export", "deadbeef", "--db", db_});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no such session"), std::string::npos);
  auto no_store = run_process({TOKENCAST_BIN, "export", "deadbeef", "--db", dir_ + "/none.db"});
  EXPECT_EQ(no_store.exit_code, 1);
  EXPECT_NE(no_store.err.find("no store at"), std::string::npos);
  auto no_id = run_process({TOKENCAST_BIN, "export", "--db", db_});
  EXPECT_EQ(no_id.exit_code, 2);
}

// A viewer link of a session whose host key has this seed.
std::string viewer_link(uint8_t seed_byte) {
  std::array<uint8_t, 32> seed{};
  seed.fill(seed_byte);
  std::array<uint8_t, 32> secret{};
  secret.fill(0x22);
  auto link = format_invite_link("http://192.0.2.1:8080", LinkRole::kViewer, RoomSecret(secret),
                                 SigningKey::from_seed(seed).public_key());
  EXPECT_TRUE(link);
  return link ? *link : "";
}

TEST_F(AppCli, ASignedExportVerifiesAgainstItsLinkAndATamperedOneIsRefused) {
  auto file = dir_ + "/signed.json";
  auto exported =
      run_process({TOKENCAST_BIN, "export", id_.hex(), "--db", db_, "--signed", "--out", file});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;

  auto alone = run_process({TOKENCAST_BIN, "verify", file});
  EXPECT_EQ(alone.exit_code, 0) << alone.err;
  EXPECT_NE(alone.out.find("verified: session " + id_.hex()), std::string::npos) << alone.out;
  EXPECT_NE(alone.out.find("2 turns"), std::string::npos) << alone.out;
  EXPECT_EQ(alone.out.find('\x1b'), std::string::npos);  // the title's escape is neutralized

  auto with_link = run_process({TOKENCAST_BIN, "verify", file, "-"}, viewer_link(0x11) + "\n");
  EXPECT_EQ(with_link.exit_code, 0) << with_link.err;
  EXPECT_NE(with_link.out.find("(the host of the link)"), std::string::npos) << with_link.out;

  auto other_host = run_process({TOKENCAST_BIN, "verify", file, "-"}, viewer_link(0x33) + "\n");
  EXPECT_EQ(other_host.exit_code, 1);
  EXPECT_NE(other_host.err.find("but the link's host is"), std::string::npos) << other_host.err;

  std::string text;
  {
    std::ifstream in(file);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto at = text.find("four");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 4, "five");
  std::ofstream(dir_ + "/tampered.json") << text;
  auto tampered = run_process({TOKENCAST_BIN, "verify", dir_ + "/tampered.json"});
  EXPECT_EQ(tampered.exit_code, 1);
  EXPECT_NE(tampered.err.find("NOT verified: the signature does not match"), std::string::npos)
      << tampered.err;

  auto from_stdin = run_process({TOKENCAST_BIN, "verify", "-", "--quiet"}, text);
  EXPECT_EQ(from_stdin.exit_code, 1);
  auto missing = run_process({TOKENCAST_BIN, "verify", dir_ + "/none.json"});
  EXPECT_EQ(missing.exit_code, 3);
  auto bad_link = run_process({TOKENCAST_BIN, "verify", file, "http://x/j#nope"});
  EXPECT_EQ(bad_link.exit_code, 3);
  auto both_stdin = run_process({TOKENCAST_BIN, "verify", "-", "-"});
  EXPECT_EQ(both_stdin.exit_code, 2);
  auto signed_md =
      run_process({TOKENCAST_BIN, "export", id_.hex(), "--db", db_, "--signed", "--format", "md"});
  EXPECT_EQ(signed_md.exit_code, 2);
}

}  // namespace
}  // namespace tokencast
