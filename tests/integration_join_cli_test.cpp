// `tokencast join` as a user runs it, against a real `tokencast host` and rendezvous: from the
// QR PNG the host wrote, from a photo-like copy of it, from a link and from stdin; --prompt
// --once; hostile text neutralized byte for byte; every link error with its code and message.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <stb_image.h>
#include <stb_image_write.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <regex>

#include "signal_test_support.hpp"
#include "support/nats_server.hpp"
#include "support/photo.hpp"
#include "support/run_process.hpp"
#include "support/test_pki.hpp"

extern char** environ;

namespace tokencast {
namespace {

using namespace std::chrono_literals;
using testing::run_process;

// `tokencast host` in the background, killed at the end.
class HostChild {
 public:
  explicit HostChild(std::vector<std::string> args) {
    args.insert(args.begin(), TOKENCAST_BIN);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~HostChild() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }

 private:
  pid_t pid_ = -1;
};

// The links a host writes with --links, once they are there (discarded JSON if never).
nlohmann::json links_when_written(const std::string& path) {
  nlohmann::json links;
  for (int i = 0; i < 500; ++i) {
    std::ifstream in(path);
    links = nlohmann::json::parse(in, nullptr, false);
    if (!links.is_discarded()) break;
    std::this_thread::sleep_for(10ms);
  }
  return links;
}

// Waits until the host's --metrics-file counts one peer on a direct path.
bool one_direct_peer(const std::string& metrics_file, const std::string& session) {
  const std::string line = "tokencast_host_peers{session=\"" + session + "\",link=\"direct\"} 1";
  return test::eventually([&] {
    std::ifstream in(metrics_file);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.find(line) != std::string::npos;
  });
}

class JoinCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(rendezvous.ok());
    char pattern[] = "/tmp/tokencast-joincli-XXXXXX";
    dir = mkdtemp(pattern);
  }
  void TearDown() override {
    host.reset();
    std::filesystem::remove_all(dir);
  }
  // Starts a host answering with `exec`; returns its links once written.
  nlohmann::json start_host(const std::string& exec) { return start_host_with({"--exec", exec}); }
  // The same with other flags for the answers' source.
  nlohmann::json start_host_with(const std::vector<std::string>& source) {
    std::vector<std::string> args{"host",
                                  "--rendezvous",
                                  rendezvous.ws_url(),
                                  "--public-url",
                                  "http://127.0.0.1:" + std::to_string(rendezvous.port()),
                                  "--db",
                                  dir + "/h.db",
                                  "--links",
                                  dir + "/links.json",
                                  "--qr-png",
                                  dir + "/qr.png",
                                  "--qr-role",
                                  "participant",
                                  "--no-qr"};
    args.insert(args.end(), source.begin(), source.end());
    host = std::make_unique<HostChild>(args);
    nlohmann::json links;
    for (int i = 0; i < 500; ++i) {
      std::ifstream in(dir + "/links.json");
      links = nlohmann::json::parse(in, nullptr, false);
      if (!links.is_discarded()) break;
      std::this_thread::sleep_for(10ms);
    }
    EXPECT_FALSE(links.is_discarded());
    return links;
  }
  testing::ProcessResult join(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.insert(args.begin(), {TOKENCAST_BIN, "join"});
    return run_process(args, stdin_text);
  }

  test::ServerProcess rendezvous;
  std::string dir;
  std::unique_ptr<HostChild> host;
};

// The text the answer turn printed: everything after its header.
std::string answer_text(const std::string& out, const std::string& header) {
  auto at = out.find(header);
  return at == std::string::npos ? "<no " + header + ">" : out.substr(at + header.size());
}

TEST_F(JoinCliTest, PromptOnceFromTheHostsQrPngAndFromALink) {
  auto links = start_host("tr a-z A-Z");
  auto r = join({dir + "/qr.png", "--name", "ada", "--prompt", "hello there", "--once", "--out",
                 dir + "/t.json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(answer_text(r.out, "exec answers:\n"), "HELLO THERE\n");
  std::ifstream in(dir + "/t.json");
  auto transcript = nlohmann::json::parse(in);
  EXPECT_EQ(transcript["turns"][1]["text"], "HELLO THERE");
  EXPECT_EQ(transcript["turns"][0]["author"], "ada");

  auto by_link = join({links["participant"], "--prompt", "second", "--once"});
  ASSERT_EQ(by_link.exit_code, 0) << by_link.err;
  EXPECT_NE(by_link.out.find("SECOND\n"), std::string::npos);
  auto by_stdin =
      join({"-", "--prompt", "third", "--once"}, links["participant"].get<std::string>());
  ASSERT_EQ(by_stdin.exit_code, 0) << by_stdin.err;
  EXPECT_NE(by_stdin.out.find("THIRD\n"), std::string::npos);
}

// Another "guest" is present, so the host names this one "guest (2)": --once still knows the
// answer to its own prompt (it once waited forever, comparing the turn's author with "guest").
TEST_F(JoinCliTest, PromptOnceWhileAnotherGuestIsHereEndsWithItsAnswer) {
  auto links = start_host_with({"--exec", "tr a-z A-Z", "--metrics-file", dir + "/m.prom"});
  auto viewer = std::async(std::launch::async, [&] {
    return join({links["viewer"].get<std::string>(), "--once"});
  });
  ASSERT_TRUE(one_direct_peer(dir + "/m.prom", links["session"]));
  auto r = join({links["participant"].get<std::string>(), "--prompt", "second guest", "--once"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(answer_text(r.out, "exec answers:\n"), "SECOND GUEST\n");
  auto v = viewer.get();
  ASSERT_EQ(v.exit_code, 0) << v.err;
}

TEST_F(JoinCliTest, OnceWithoutPromptWaitsForTheNextAnswerToEnd) {
  auto links = start_host("sleep 0.3; tr a-z A-Z");
  // A viewer waits; a participant then asks. The viewer must leave only once the answer ends.
  auto viewer = std::async(std::launch::async, [&] {
    return join({links["viewer"], "--name", "bob", "--once", "--out", dir + "/bob.json"});
  });
  std::this_thread::sleep_for(500ms);
  auto asker = join({links["participant"], "--prompt", "wait for me", "--once"});
  ASSERT_EQ(asker.exit_code, 0) << asker.err;
  auto r = viewer.get();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(answer_text(r.out, "exec answers:\n"), "WAIT FOR ME\n");
  auto transcript = nlohmann::json::parse(std::ifstream(dir + "/bob.json"));
  EXPECT_EQ(transcript["turns"][1]["status"], "done");
}

#ifdef TOKENCAST_TINY_MODEL
// The in-process model (llama.cpp, the build's tiny GGUF): its answer reaches a joined client,
// streamed and recorded under the model's name.
TEST_F(JoinCliTest, AnswersFromAModelRunInTheHostsProcess) {
  auto links =
      start_host_with({"--model-file", TOKENCAST_TINY_MODEL, "--ctx", "512", "--threads", "1"});
  auto r = join(
      {links["participant"], "--prompt", "hello, tiny model", "--once", "--out", dir + "/t.json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("tokencast-tiny answers:\n"), std::string::npos) << r.out;
  auto transcript = nlohmann::json::parse(std::ifstream(dir + "/t.json"));
  EXPECT_EQ(transcript["turns"][1]["status"], "done");
  EXPECT_EQ(transcript["turns"][1]["author"], "tokencast-tiny");
  EXPECT_FALSE(transcript["turns"][1]["text"].get<std::string>().empty());
}
#endif

TEST_F(JoinCliTest, JoinsFromARotatedScaledNoisyPhotoOfTheQrCode) {
  start_host("tr a-z A-Z");
  int w = 0, h = 0, channels = 0;
  unsigned char* pixels = stbi_load((dir + "/qr.png").c_str(), &w, &h, &channels, 1);
  ASSERT_NE(pixels, nullptr);
  testing::Gray clean{w, h, std::vector<uint8_t>(pixels, pixels + w * h)};
  stbi_image_free(pixels);
  testing::Gray photo = testing::photograph(clean, 23.0, 0.7, 42);
  std::string jpg = dir + "/photo.jpg";
  ASSERT_NE(stbi_write_jpg(jpg.c_str(), photo.w, photo.h, 1, photo.px.data(), 75), 0);
  auto r = join({jpg, "--prompt", "from a photo", "--once"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("FROM A PHOTO\n"), std::string::npos);
}

TEST_F(JoinCliTest, HostileTextIsNeutralizedByteForByte) {
  // The "model" answers with colour codes, a terminal title, an OSC 8 hyperlink, a bidi
  // override, a carriage return and invalid UTF-8.
  start_host(
      "printf 'a\\033[31mred\\033[0m\\033]0;pwned\\007\\033]8;;http://evil/\\033\\\\click"
      "\\033]8;;\\033\\\\ \\342\\200\\256gnp.exe\\r!\\377end'");
  auto links = nlohmann::json::parse(std::ifstream(dir + "/links.json"));
  auto r = join({links["participant"], "--prompt", "x", "--once"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(answer_text(r.out, "exec answers:\n"),
            "aredclick " + fffd + "gnp.exe" + fffd + "!" + fffd + "end\n");
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos);  // stdout is a pipe: no escapes at all
}

// --verbose names the candidate pair (format: docs/architecture/rtc.md; the NAT lab greps it).
TEST_F(JoinCliTest, VerboseLogsTheSelectedCandidatePair) {
  auto links = start_host("tr a-z A-Z");
  auto r = join({links["participant"], "--prompt", "pair", "--once", "--verbose"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(
      r.err, std::regex("\\[info\\] join: selected candidate pair: local=(host|srflx|prflx)/udp "
                        "remote=(host|srflx|prflx)/udp\n")))
      << r.err;
}

TEST_F(JoinCliTest, EveryLinkErrorHasItsCodeAndMessage) {
  auto links = start_host("cat");
  struct Case {
    std::vector<std::string> args;
    int code;
    std::string message;
  };
  std::string no_host_link = links["viewer"].get<std::string>();
  // Another valid base64url character: another host key, so an empty room.
  char& c = no_host_link[no_host_link.size() - 10];
  c = c == 'A' ? 'B' : 'A';
  std::vector<uint8_t> white(64 * 64, 255);
  ASSERT_NE(stbi_write_png((dir + "/white.png").c_str(), 64, 64, 1, white.data(), 64), 0);
  const Case cases[] = {
      {{"http://127.0.0.1:1/j#tooshort"}, 3, "the invite link is not valid"},
      {{"ftp://example.net/j#abc"}, 3, "not an invite link"},
      {{dir + "/nothing-here"}, 3, "not an invite link"},
      {{dir + "/white.png"}, 3, "no readable QR code"},
      {{no_host_link, "--connect-timeout", "2"}, 4, "invite link invalid or expired"},
      {{links["viewer"], "--prompt", "hi", "--once"}, 5, "viewer link"},
      {{links["viewer"], "--bogus"}, 2, "unknown option"},
      // No TURN server anywhere (no --turn, none from this rendezvous): no path, said at once.
      {{links["viewer"], "--relay-only"}, 9, "no network path to it was found"},
  };
  for (const auto& c : cases) {
    auto r = join(c.args);
    EXPECT_EQ(r.exit_code, c.code) << c.args[0] << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.args[0] << "\n" << r.err;
    // The secret part of a link never appears in an error message.
    EXPECT_EQ(r.err.find(links["viewer"].get<std::string>().substr(40)), std::string::npos);
  }
  // Unreachable rendezvous.
  auto dead = links["viewer"].get<std::string>();
  dead.replace(dead.find(std::to_string(rendezvous.port())),
               std::to_string(rendezvous.port()).size(), "1");
  auto r = join({dead});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("rendezvous server cannot be reached"), std::string::npos) << r.err;
}

// TLS end to end: a rendezvous with --tls-cert, the host registering over wss:// with --ca,
// `tokencast join` with the https link the host made; a certificate the joiner's CA did not
// sign is refused with exit 8, never retried in plain.
// A rendezvous cluster as users meet it: two instances behind "one name" sharing rooms through
// a real nats-server. The host registers on instance A; its links name instance B (as a load
// balancer would send the joiner elsewhere), and `tokencast join` gets its answer through B.
TEST(JoinCliCluster, AHostAndAJoinerOnDifferentInstancesMeet) {
  test::NatsServer nats(test::free_port());
  ASSERT_TRUE(nats.ready());
  test::ServerProcess a({"--nats", nats.url()});
  test::ServerProcess b({"--nats", nats.url()});
  ASSERT_TRUE(a.ok() && b.ok());
  testing::TempDir dir;
  HostChild host({"host", "--rendezvous", a.ws_url(), "--public-url",
                  "http://127.0.0.1:" + std::to_string(b.port()), "--db", dir.file("h.db"),
                  "--links", dir.file("links.json"), "--no-qr", "--exec", "tr a-z A-Z"});
  nlohmann::json links = links_when_written(dir.file("links.json"));
  ASSERT_FALSE(links.is_discarded());
  std::string link = links["participant"];
  ASSERT_TRUE(link.starts_with("http://127.0.0.1:" + std::to_string(b.port()) + "/j#")) << link;
  auto r = run_process({TOKENCAST_BIN, "join", link, "--prompt", "across instances", "--once"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(answer_text(r.out, "exec answers:\n"), "ACROSS INSTANCES\n");
  EXPECT_GE(test::metric(b.port(), "tokencast_rendezvous_cluster_relays_out_total"), 1);
}

// Failover: the host's instance is killed (SIGKILL) mid-session. A viewer already connected
// keeps streaming (its data channel never used the rendezvous), the host registers on the next
// instance of its --rendezvous list, and a new participant joins through that one.
TEST(JoinCliCluster, WhenTheHostsInstanceDiesItMovesAndTheSessionGoesOn) {
  test::NatsServer nats(test::free_port());
  ASSERT_TRUE(nats.ready());
  std::vector<std::string> fast{"--nats", nats.url(),         "--cluster-heartbeat",
                                "100ms",  "--cluster-expiry", "1s"};
  test::ServerProcess a(fast);
  test::ServerProcess b(fast);
  ASSERT_TRUE(a.ok() && b.ok());
  testing::TempDir dir;
  HostChild host({"host", "--rendezvous", a.ws_url() + "," + b.ws_url(), "--public-url",
                  "http://127.0.0.1:" + std::to_string(b.port()), "--db", dir.file("h.db"),
                  "--links", dir.file("links.json"), "--metrics-file", dir.file("m.prom"),
                  "--no-qr", "--exec", "tr a-z A-Z"});
  nlohmann::json links = links_when_written(dir.file("links.json"));
  ASSERT_FALSE(links.is_discarded());
  // A viewer waits for the next answer to end; once it is connected, A dies.
  auto viewer = std::async(std::launch::async, [&] {
    return run_process({TOKENCAST_BIN, "join", links["viewer"].get<std::string>(), "--once"});
  });
  ASSERT_TRUE(one_direct_peer(dir.file("m.prom"), links["session"]));
  a.kill_hard();
  auto r = run_process({TOKENCAST_BIN, "join", links["participant"].get<std::string>(), "--prompt",
                        "after the failover", "--once"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(answer_text(r.out, "exec answers:\n"), "AFTER THE FAILOVER\n");
  auto v = viewer.get();
  ASSERT_EQ(v.exit_code, 0) << v.err;
  EXPECT_NE(v.out.find("AFTER THE FAILOVER\n"), std::string::npos) << v.out;
}

// Joiner failover: the host's links name its whole --rendezvous list (the first as the base URL,
// the others as "?r=" alternates). The first instance dies (SIGKILL) before anyone joins: a
// participant opening the link finds it unreachable, moves to the link's alternate and joins
// there (the host moved there too). A link without alternates does the same with
// `join --rendezvous`.
TEST(JoinCliCluster, AJoinerWhoseInstanceIsDeadJoinsThroughTheNextOne) {
  test::NatsServer nats(test::free_port());
  ASSERT_TRUE(nats.ready());
  std::vector<std::string> fast{"--nats", nats.url(),         "--cluster-heartbeat",
                                "100ms",  "--cluster-expiry", "1s"};
  test::ServerProcess a(fast);
  test::ServerProcess b(fast);
  ASSERT_TRUE(a.ok() && b.ok());
  testing::TempDir dir;
  HostChild host({"host", "--rendezvous", a.ws_url() + "," + b.ws_url(), "--db", dir.file("h.db"),
                  "--links", dir.file("links.json"), "--metrics-file", dir.file("m.prom"),
                  "--no-qr", "--exec", "tr a-z A-Z"});
  nlohmann::json links = links_when_written(dir.file("links.json"));
  ASSERT_FALSE(links.is_discarded());
  const std::string base_a = "http://127.0.0.1:" + std::to_string(a.port());
  const std::string base_b = "http://127.0.0.1:" + std::to_string(b.port());
  std::string link = links["participant"];
  ASSERT_TRUE(link.starts_with(base_a + "/j?r=" + base_b + "#")) << link.substr(0, 80);
  // The host is registered on A (a first participant gets its answer through A), then A dies.
  auto before = run_process({TOKENCAST_BIN, "join", link, "--prompt", "through a", "--once"});
  ASSERT_EQ(before.exit_code, 0) << before.err;
  a.kill_hard();

  auto r = run_process(
      {TOKENCAST_BIN, "join", link, "--prompt", "through the alternate", "--once", "--verbose"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The earlier turn comes first (catch-up); this answer ends the output.
  EXPECT_TRUE(r.out.ends_with("exec answers:\nTHROUGH THE ALTERNATE\n")) << r.out;
  EXPECT_NE(r.err.find("rendezvous " + a.ws_url() + " lost"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("trying " + b.ws_url()), std::string::npos) << r.err;

  // A version-1 link naming only the dead instance, and the next one on the command line.
  std::string plain = base_a + "/j#" + link.substr(link.find('#') + 1);
  auto by_flag = run_process({TOKENCAST_BIN, "join", plain, "--rendezvous", b.ws_url(), "--prompt",
                              "through the flag", "--once"});
  ASSERT_EQ(by_flag.exit_code, 0) << by_flag.err;
  EXPECT_TRUE(by_flag.out.ends_with("exec answers:\nTHROUGH THE FLAG\n")) << by_flag.out;
  // Without the flag, that link has nowhere else to go.
  auto stuck = run_process({TOKENCAST_BIN, "join", plain, "--once"});
  EXPECT_EQ(stuck.exit_code, 4) << stuck.err;
  auto bad = run_process({TOKENCAST_BIN, "join", plain, "--rendezvous", base_b});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("is not a ws:// or wss:// URL"), std::string::npos) << bad.err;
}

// The joiner's instance dies while the joiner waits there for the host: the joiner moves to the
// link's alternate at once and its join completes there once the host (restarted, on the
// alternate) greets it. The joiner is on A when A dies: A's metrics count it in a room.
TEST(JoinCliCluster, AJoinerWhoseInstanceDiesWhileItJoinsJoinsThroughTheNextOne) {
  test::NatsServer nats(test::free_port());
  ASSERT_TRUE(nats.ready());
  std::vector<std::string> fast{"--nats", nats.url(),         "--cluster-heartbeat",
                                "100ms",  "--cluster-expiry", "1s"};
  test::ServerProcess a(fast);
  test::ServerProcess b(fast);
  ASSERT_TRUE(a.ok() && b.ok());
  testing::TempDir dir;
  const std::vector<std::string> host_args{
      "host",    "--rendezvous",         b.ws_url(), "--db",   dir.file("h.db"),
      "--links", dir.file("links.json"), "--no-qr",  "--exec", "tr a-z A-Z"};
  auto host = std::make_unique<HostChild>(host_args);
  nlohmann::json links = links_when_written(dir.file("links.json"));
  ASSERT_FALSE(links.is_discarded());
  host.reset();  // stopped: nobody greets a joiner until it is back
  const std::string participant = links["participant"];
  const std::string link = "http://127.0.0.1:" + std::to_string(a.port()) +
                           "/j?r=http://127.0.0.1:" + std::to_string(b.port()) +
                           participant.substr(participant.find('#'));

  auto joiner = std::async(std::launch::async, [&] {
    return run_process({TOKENCAST_BIN, "join", link, "--connect-timeout", "60", "--prompt",
                        "while joining", "--once", "--verbose"});
  });
  ASSERT_TRUE(
      test::eventually([&] { return test::metric(a.port(), "tokencast_rendezvous_peers") == 1; }));
  a.kill_hard();
  std::vector<std::string> resume = host_args;
  resume.insert(resume.end(), {"--resume", links["session"].get<std::string>()});
  host = std::make_unique<HostChild>(resume);

  auto r = joiner.get();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.ends_with("exec answers:\nWHILE JOINING\n")) << r.out;
  EXPECT_NE(r.err.find("rendezvous " + a.ws_url() + " lost"), std::string::npos) << r.err;
}

TEST(JoinCliTls, HttpsLinkOverWssAndUntrustedCertificateRefused) {
  testing::TestPki pki;
  ASSERT_TRUE(pki.ok()) << pki.error();
  test::ServerProcess rendezvous(
      {"--tls-cert", pki.cert("server"), "--tls-key", pki.key("server")});
  ASSERT_TRUE(rendezvous.ok());
  std::string port = std::to_string(rendezvous.port());
  testing::TempDir dir;
  HostChild host({"host", "--rendezvous", "wss://127.0.0.1:" + port + "/ws", "--ca", pki.ca(),
                  "--db", dir.file("h.db"), "--links", dir.file("links.json"), "--no-qr", "--exec",
                  "tr a-z A-Z"});
  nlohmann::json links = links_when_written(dir.file("links.json"));
  ASSERT_FALSE(links.is_discarded());
  std::string link = links["participant"];
  ASSERT_TRUE(link.starts_with("https://127.0.0.1:" + port + "/j#")) << "an https link";

  auto r = run_process({TOKENCAST_BIN, "join", link, "--ca", pki.ca(), "--prompt",
                        "over tls, byte for byte: \xc3\xa9", "--once"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(answer_text(r.out, "exec answers:\n"), "OVER TLS, BYTE FOR BYTE: \xc3\xa9\n");

  for (const std::vector<std::string>& trust :
       {std::vector<std::string>{"--ca", pki.other_ca()}, std::vector<std::string>{}}) {
    std::vector<std::string> argv{TOKENCAST_BIN, "join", link, "--once"};
    argv.insert(argv.end(), trust.begin(), trust.end());
    auto refused = run_process(argv);
    EXPECT_EQ(refused.exit_code, 8) << refused.err;
    EXPECT_NE(refused.err.find("the rendezvous server's TLS certificate was rejected: TLS "
                               "certificate verification failed: unable to get local issuer "
                               "certificate"),
              std::string::npos)
        << refused.err;
  }
  auto help = run_process({TOKENCAST_BIN, "join", "--help"});
  EXPECT_NE(help.out.find("8  TLS verification failed"), std::string::npos) << help.out;
}

}  // namespace
}  // namespace tokencast
