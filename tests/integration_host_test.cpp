// `tokencast host` as a user runs it: a real child process with a real rendezvous process, and
// native clients (JoinClient) in this process. Covers the answer sources (an OpenAI-compatible
// SSE server written here, --exec, --stdin), failing streams, and the crash test: kill -9 the
// host mid-answer, resume it, and the client that stayed up ends with the store's transcript.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "signal_test_support.hpp"
#include "support/fake_openai_server.cpp"  // NOLINT: the fake server is built with its tests
#include "support/fake_openai_server.hpp"
#include "support/run_process.hpp"
#include "support/wait.hpp"
#include "tokencast/client/join_client.hpp"
#include "tokencast/core/host_session.hpp"
#include "tokencast/store/store.hpp"

extern char** environ;

namespace tokencast {
namespace {

using namespace std::chrono_literals;

using testing::wait_until;

// A child process with a pipe to its stdin (closed at once unless kept).
class Child {
 public:
  // stdout goes to `stdout_path` (/dev/null unless given).
  Child(const std::vector<std::string>& args, bool keep_stdin = false,
        const std::string& stdout_path = "/dev/null") {
    int in[2];
    if (pipe(in) != 0) return;
    std::vector<std::string> argv_s{TOKENCAST_BIN};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_addclose(&actions, in[1]);
    posix_spawn_file_actions_addopen(&actions, 1, stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]);
    stdin_fd_ = in[1];
    if (!keep_stdin) close_stdin();
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close_stdin();
  }
  void write_stdin(const std::string& text) {
    ASSERT_EQ(write(stdin_fd_, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
  void close_stdin() {
    if (stdin_fd_ >= 0) close(stdin_fd_);
    stdin_fd_ = -1;
  }
  // The exit code once the process has exited by itself, without waiting; nullopt before.
  std::optional<int> exited() {
    if (pid_ <= 0) return exit_code_;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
    pid_ = -1;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return exit_code_;
  }
  // Sends `sig` and returns the exit code (128 + signal when killed by one).
  int signal_and_wait(int sig) {
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  std::optional<int> exit_code_;
};

struct Links {
  std::string session;
  std::string viewer;
  std::string participant;
};

class HostProcessTest : public ::testing::Test {
 public:
  void SetUp() override {
    ASSERT_TRUE(rendezvous.ok());
    char pattern[] = "/tmp/tokencast-hostproc-XXXXXX";
    dir = mkdtemp(pattern);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  std::vector<std::string> host_args(std::vector<std::string> extra) {
    std::vector<std::string> args{"host",
                                  "--rendezvous",
                                  rendezvous.ws_url(),
                                  "--public-url",
                                  "http://127.0.0.1:" + std::to_string(rendezvous.port()),
                                  "--db",
                                  dir + "/host.db",
                                  "--links",
                                  dir + "/links.json",
                                  "--no-qr"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  // Waits for the links file a (re)started host writes.
  Links read_links() {
    Links links;
    EXPECT_TRUE(wait_until([&] {
      std::ifstream in(dir + "/links.json");
      auto json = nlohmann::json::parse(in, nullptr, false);
      if (json.is_discarded()) return false;
      links = {json["session"], json["viewer"], json["participant"]};
      return true;
    }));
    return links;
  }
  std::unique_ptr<JoinClient> join(const std::string& link, const std::string& name) {
    JoinOptions o;
    o.link = link;
    o.name = name;
    auto client = JoinClient::start(std::move(o), {});
    EXPECT_TRUE(client);
    return client ? std::move(*client) : nullptr;
  }
  // The presenter view's address in the links file (--present), once written; empty if never.
  std::string read_presenter_link() {
    std::string presenter;
    wait_until([&] {
      std::ifstream in(dir + "/links.json");
      auto json = nlohmann::json::parse(in, nullptr, false);
      if (json.is_discarded() || !json.contains("presenter")) return false;
      presenter = json["presenter"];
      return true;
    });
    return presenter;
  }
  // A client that keeps one DTLS certificate (`identity`) across its joins, as a removed
  // client coming back does, and does not reconnect; how its last join ended goes to `ended`.
  std::unique_ptr<JoinClient> join_with(const std::string& link, const std::string& name,
                                        const DtlsIdentity& identity, std::atomic<int>& ended) {
    JoinOptions o;
    o.link = link;
    o.name = name;
    o.identity = identity;
    o.reconnect = false;
    JoinCallbacks cb;
    cb.on_ended = [&ended](JoinFailure failure, const std::string&) {
      ended = static_cast<int>(failure);
    };
    auto client = JoinClient::start(std::move(o), std::move(cb));
    EXPECT_TRUE(client);
    return client ? std::move(*client) : nullptr;
  }
  // The store's turns, read after the host has exited.
  std::vector<TranscriptTurn> stored_turns(const std::string& session) {
    auto store = EventStore::open(dir + "/host.db");
    EXPECT_TRUE(store);
    auto id = SessionId::from_hex(session);
    EXPECT_TRUE(id);
    auto events = (*store)->load_events(*id);
    EXPECT_TRUE(events);
    Transcript t;
    for (const auto& e : *events) t.apply(e);
    return t.turns();
  }

  test::ServerProcess rendezvous;
  std::string dir;
};

bool answered(JoinClient& client, size_t turns) {
  auto t = client.transcript();
  return t.turns().size() >= turns && t.turns()[turns - 1].ended;
}

// Kills the host (with `extra` flags) mid-answer, resumes it, and checks that the client that
// stayed up ends with exactly the store's transcript.
void killed_mid_answer_then_resumed(HostProcessTest& t, const std::vector<std::string>& extra);

TEST_F(HostProcessTest, KilledMidAnswerThenResumedClientTranscriptEqualsStore) {
  killed_mid_answer_then_resumed(*this, {});
}

// The same with commit batching (--batch-ms): tokens held for a batch are not yet shown to
// anyone, so a kill in the middle loses nothing a client saw, and the transcript stays
// byte-exact. 250 ms spans two or three of the answer's words.
TEST_F(HostProcessTest, BatchedCommitsKilledMidAnswerThenResumedClientTranscriptEqualsStore) {
  killed_mid_answer_then_resumed(*this, {"--batch-ms", "250"});
}

void killed_mid_answer_then_resumed(HostProcessTest& t, const std::vector<std::string>& extra) {
  // An answer of ten words, one every 100 ms: long enough to be killed in the middle.
  const std::string slow =
      "for w in one two three four five six seven eight nine ten; do printf '%s ' $w; "
      "sleep 0.1; done";
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), extra.begin(), extra.end());
    return t.host_args(std::move(args));
  };
  auto host = std::make_unique<Child>(with({"--exec", slow, "--title", "crash"}));
  Links links = t.read_links();
  auto ada = t.join(links.participant, "ada");
  ASSERT_TRUE(wait_until([&] { return ada->connected(); }));
  ASSERT_TRUE(ada->prompt("count to ten").has_value());
  ASSERT_TRUE(wait_until([&] {
    auto seen = ada->transcript();
    return seen.turns().size() == 2 &&
           seen.turns()[1].text.size() >= std::string("one two three ").size();
  }));
  EXPECT_EQ(host->signal_and_wait(SIGKILL), 128 + SIGKILL);
  std::filesystem::remove(t.dir + "/links.json");

  host = std::make_unique<Child>(with({"--exec", slow, "--resume", links.session}));
  Links resumed = t.read_links();
  EXPECT_EQ(resumed.viewer, links.viewer);  // same links after a restart
  EXPECT_EQ(resumed.participant, links.participant);
  // The client notices, reconnects by itself and resumes; the interrupted turn ends with an
  // error every peer sees; then the session goes on.
  ASSERT_TRUE(wait_until([&] { return answered(*ada, 2) && ada->connected(); }, 20s));
  ASSERT_TRUE(wait_until([&] { return ada->prompt("again").has_value(); }));
  ASSERT_TRUE(wait_until([&] { return answered(*ada, 4); }, 20s));
  auto client_turns = ada->transcript().turns();
  EXPECT_EQ(host->signal_and_wait(SIGTERM), 0);

  auto stored = t.stored_turns(links.session);
  ASSERT_EQ(stored.size(), 4u);
  EXPECT_EQ(client_turns, stored);  // nothing lost, nothing repeated
  EXPECT_EQ(stored[1].end, TurnEnd::kError);
  EXPECT_EQ(stored[3].text, "one two three four five six seven eight nine ten ");
}

TEST_F(HostProcessTest, OpenAiCompatibleStreamReachesPeersAndFailuresEndTheTurnOnly) {
  int calls = 0;
  testing::FakeOpenAiServer llm([&](const testing::FakeRequest&) {
    testing::Script s;
    s.raw(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
    if (calls++ == 0) {
      s.chunk(testing::sse_data(testing::completion_chunk(R"({"role":"assistant"})")));
      for (const char* piece : {"Hel", "lo, ", "ada", "!"}) {
        s.chunk(testing::sse_data(
            testing::completion_chunk(std::string(R"({"content":")") + piece + "\"}")));
      }
      s.chunk(testing::sse_data(testing::completion_chunk("{}", "\"stop\"")));
      s.chunk(testing::sse_data("[DONE]"));
    } else {
      s.chunk(testing::sse_data(R"({"error":{"message":"model overloaded"}})"));
    }
    s.end_chunks();
    return s;
  });
  Child host(host_args({"--llm", llm.base_url(), "--model", "m"}));
  Links links = read_links();
  auto ada = join(links.participant, "ada");
  auto bob = join(links.viewer, "bob");
  ASSERT_TRUE(wait_until([&] { return ada->connected() && bob->connected(); }));
  ASSERT_TRUE(ada->prompt("greet me").has_value());
  ASSERT_TRUE(wait_until([&] { return answered(*bob, 2); }));
  EXPECT_EQ(bob->transcript().turns()[1].text, "Hello, ada!");
  EXPECT_EQ(bob->transcript().turns()[1].author, "m");
  auto request = nlohmann::json::parse(llm.requests().at(0).body);
  EXPECT_EQ(request["model"], "m");
  EXPECT_EQ(request["messages"].back()["content"], "greet me");

  ASSERT_TRUE(ada->prompt("again").has_value());
  ASSERT_TRUE(wait_until([&] { return answered(*bob, 4); }));
  auto failed = bob->transcript().turns()[3];
  EXPECT_EQ(failed.end, TurnEnd::kError);
  // Peers get the category; the provider's words stay on the host's terminal (issue 14, 9).
  EXPECT_EQ(failed.reason, "the model server reported an error");
  // The host kept running: the session still answers (the fake now fails every time).
  ASSERT_TRUE(ada->prompt("still there?").has_value());
  EXPECT_TRUE(wait_until([&] { return answered(*bob, 6); }));
}

TEST_F(HostProcessTest, StdinIsBroadcastAsOneLiveTurn) {
  Child host(host_args({"--stdin"}), /*keep_stdin=*/true);
  Links links = read_links();
  auto bob = join(links.viewer, "bob");
  ASSERT_TRUE(wait_until([&] { return bob->connected(); }));
  host.write_stdin("build log line 1\n");
  ASSERT_TRUE(wait_until([&] {
    auto t = bob->transcript();
    return !t.turns().empty() && t.turns()[0].text == "build log line 1\n";
  }));
  EXPECT_FALSE(bob->transcript().turns()[0].ended);  // live: the pipe is still open
  host.write_stdin("line 2\n");
  host.close_stdin();
  ASSERT_TRUE(wait_until([&] { return answered(*bob, 1); }));
  EXPECT_EQ(bob->transcript().turns()[0].text, "build log line 1\nline 2\n");
  EXPECT_EQ(bob->transcript().turns()[0].end, TurnEnd::kDone);
}

TEST_F(HostProcessTest, WithoutAModelPromptsGetAClearAnswer) {
  // No --llm/--exec/--stdin and no local server: the session opens anyway.
  Child host(host_args({}));
  Links links = read_links();
  auto ada = join(links.participant, "ada");
  ASSERT_TRUE(wait_until([&] { return ada->connected(); }));
  ASSERT_TRUE(ada->prompt("anyone?").has_value());
  ASSERT_TRUE(wait_until([&] { return answered(*ada, 2); }));
  auto turn = ada->transcript().turns()[1];
  EXPECT_EQ(turn.end, TurnEnd::kError);
  EXPECT_NE(turn.reason.find("no model attached"), std::string::npos);
}

// The host's console removes a peer by name: it is told and ends (kRemoved), its client (the
// same DTLS certificate) is refused when it comes back, and everyone else stays.
TEST_F(HostProcessTest, AKickedClientIsToldAndItsRejoinIsRefused) {
  Child host(host_args({}), /*keep_stdin=*/true);
  Links links = read_links();
  auto identity = DtlsIdentity::generate();
  ASSERT_TRUE(identity);
  std::atomic<int> mallory_end{-1};
  auto join_as_mallory = [&] {
    return join_with(links.participant, "mallory", *identity, mallory_end);
  };
  auto mallory = join_as_mallory();
  auto ada = join(links.participant, "ada");
  ASSERT_TRUE(wait_until([&] { return mallory->connected() && ada->connected(); }));

  host.write_stdin("/kick mallory\n");
  ASSERT_TRUE(wait_until([&] { return mallory_end == static_cast<int>(JoinFailure::kRemoved); }));
  ASSERT_TRUE(wait_until([&] {
    auto peers = ada->transcript().peers();
    return peers.size() == 1 && peers.begin()->second.name == "ada";
  }));

  mallory_end = -1;
  mallory = join_as_mallory();  // the same client comes back
  ASSERT_TRUE(wait_until([&] { return mallory_end == static_cast<int>(JoinFailure::kRefused); }))
      << "ended with " << mallory_end;
  EXPECT_FALSE(mallory->connected());

  EXPECT_TRUE(ada->connected());
  ASSERT_TRUE(ada->prompt("still here?").has_value());
  ASSERT_TRUE(wait_until([&] { return answered(*ada, 2); }));
}

// A removal outlives the host's run: after a restart with --resume, and one with --resume
// --new-links, the removed client (its DTLS certificate) is still refused, on the old link and
// on the new one, while a client that was not removed joins.
TEST_F(HostProcessTest, AKickedClientIsStillRefusedAfterResumeAndNewLinks) {
  auto host = std::make_unique<Child>(host_args({}), /*keep_stdin=*/true);
  Links links = read_links();
  auto identity = DtlsIdentity::generate();
  ASSERT_TRUE(identity);
  std::atomic<int> mallory_end{-1};
  auto join_as_mallory = [&](const std::string& link) {
    return join_with(link, "mallory", *identity, mallory_end);
  };
  auto mallory = join_as_mallory(links.participant);
  ASSERT_TRUE(wait_until([&] { return mallory->connected(); }));
  host->write_stdin("/kick mallory\n");
  ASSERT_TRUE(wait_until([&] { return mallory_end == static_cast<int>(JoinFailure::kRemoved); }));
  mallory.reset();
  EXPECT_EQ(host->signal_and_wait(SIGTERM), 0);

  for (bool new_links : {false, true}) {
    SCOPED_TRACE(new_links ? "--resume --new-links" : "--resume");
    std::filesystem::remove(dir + "/links.json");
    std::vector<std::string> extra{"--resume", links.session};
    if (new_links) extra.push_back("--new-links");
    host = std::make_unique<Child>(host_args(extra), /*keep_stdin=*/true);
    Links resumed = read_links();
    EXPECT_EQ(resumed.participant != links.participant, new_links);
    mallory_end = -1;
    mallory = join_as_mallory(resumed.participant);
    ASSERT_TRUE(wait_until([&] { return mallory_end == static_cast<int>(JoinFailure::kRefused); }))
        << "ended with " << mallory_end;
    EXPECT_FALSE(mallory->connected());
    mallory.reset();
    auto ada = join(resumed.participant, "ada");  // another client is welcome
    ASSERT_TRUE(wait_until([&] { return ada->connected(); }));
    ada.reset();
    EXPECT_EQ(host->signal_and_wait(SIGTERM), 0);
  }
}

// One HTTP/1.1 request to the presenter's control API (127.0.0.1:port), as a browser would
// send it: Host with the port, `headers` (complete lines), then `body`.
test::HttpResult control_request(uint16_t port, const std::string& method,
                                 const std::string& target, const std::string& headers = "",
                                 const std::string& body = "") {
  namespace net = boost::asio;
  test::HttpResult out;
  net::io_context ioc;
  net::ip::tcp::socket sock(ioc);
  boost::system::error_code ec;
  sock.connect({net::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) return out;
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                    "\r\nConnection: close\r\n" + headers +
                    "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  net::write(sock, net::buffer(req), ec);
  if (ec) return out;
  boost::beast::flat_buffer buf;
  boost::beast::http::response_parser<boost::beast::http::string_body> parser;
  boost::beast::http::read(sock, buf, parser, ec);
  if (ec) return out;
  out.status = parser.get().result_int();
  out.body = parser.get().body();
  out.headers = parser.get().base();
  out.ok = true;
  return out;
}

// `tokencast host --present`: the presenter address carries the moderation API's port and
// token in its fragment (links file "presenter"). The API refuses requests without the token,
// with another token or from another origin, lets only the presenter page's origin call it
// (CORS), lists who is present and removes a peer, whose rejoin is then refused.
TEST_F(HostProcessTest, ThePresenterControlApiNeedsItsTokenAndRemovesAPeer) {
  unsetenv("DISPLAY");  // no xdg-open from the host under test
  unsetenv("WAYLAND_DISPLAY");
  Child host(host_args({"--present"}), /*keep_stdin=*/true);
  Links links = read_links();
  std::string presenter = read_presenter_link();
  ASSERT_FALSE(presenter.empty());
  const std::string viewer_fragment = links.viewer.substr(links.viewer.find('#') + 1);
  const std::string base = links.viewer.substr(0, links.viewer.find("/j#"));
  const std::string prefix = base + "/present#" + viewer_fragment + "&control=";
  ASSERT_TRUE(presenter.starts_with(prefix)) << "the presenter address has its expected form";
  const std::string control = presenter.substr(prefix.size());
  const auto dot = control.find('.');
  ASSERT_NE(dot, std::string::npos);
  const auto port = static_cast<uint16_t>(std::stoi(control.substr(0, dot)));
  const std::string token = control.substr(dot + 1);
  ASSERT_EQ(token.size(), 64u);
  ASSERT_EQ(token.find_first_not_of("0123456789abcdef"), std::string::npos);
  const std::string origin = "Origin: " + base + "\r\n";
  const std::string with_token = "X-Tokencast-Control: " + token + "\r\n";
  const std::string json_type = "Content-Type: application/json\r\n";

  // Without the token, with another one, from another origin, to another Host: refused.
  auto none = control_request(port, "GET", "/v1/room", origin);
  ASSERT_TRUE(none.ok);
  EXPECT_EQ(none.status, 401u);
  EXPECT_EQ(none.header("Access-Control-Allow-Origin"), base);
  std::string wrong = token;
  wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
  EXPECT_EQ(
      control_request(port, "GET", "/v1/room", "X-Tokencast-Control: " + wrong + "\r\n").status,
      401u);
  auto evil =
      control_request(port, "GET", "/v1/room", "Origin: http://evil.example\r\n" + with_token);
  EXPECT_EQ(evil.status, 403u);
  EXPECT_EQ(evil.header("Access-Control-Allow-Origin"), "");
  auto preflight_evil = control_request(port, "OPTIONS", "/v1/remove",
                                        "Origin: http://evil.example\r\n"
                                        "Access-Control-Request-Method: POST\r\n");
  EXPECT_EQ(preflight_evil.status, 403u);
  EXPECT_EQ(preflight_evil.header("Access-Control-Allow-Origin"), "");
  {
    // The Host header of a name rebound to 127.0.0.1 (DNS rebinding).
    namespace net = boost::asio;
    net::io_context ioc;
    net::ip::tcp::socket sock(ioc);
    sock.connect({net::ip::make_address("127.0.0.1"), port});
    std::string req = "GET /v1/room HTTP/1.1\r\nHost: evil.example:" + std::to_string(port) +
                      "\r\nConnection: close\r\n" + with_token + "\r\n";
    net::write(sock, net::buffer(req));
    boost::beast::flat_buffer buf;
    boost::beast::http::response<boost::beast::http::string_body> res;
    boost::beast::http::read(sock, buf, res);
    EXPECT_EQ(res.result_int(), 403u);
  }
  // The presenter page's preflight is answered for its origin only.
  auto preflight = control_request(port, "OPTIONS", "/v1/remove",
                                   origin +
                                       "Access-Control-Request-Method: POST\r\n"
                                       "Access-Control-Request-Headers: x-tokencast-control, "
                                       "content-type\r\n"
                                       "Access-Control-Request-Private-Network: true\r\n");
  EXPECT_EQ(preflight.status, 204u);
  EXPECT_EQ(preflight.header("Access-Control-Allow-Origin"), base);
  EXPECT_NE(preflight.header("Access-Control-Allow-Headers").find("X-Tokencast-Control"),
            std::string::npos);
  EXPECT_EQ(preflight.header("Access-Control-Allow-Private-Network"), "true");

  // With the token: who is present; then one is removed and its rejoin refused.
  auto identity = DtlsIdentity::generate();
  ASSERT_TRUE(identity);
  std::atomic<int> mallory_end{-1};
  auto join_as_mallory = [&] {
    return join_with(links.participant, "mallory", *identity, mallory_end);
  };
  auto mallory = join_as_mallory();
  ASSERT_TRUE(wait_until([&] { return mallory->connected(); }));
  auto ada = join(links.viewer, "ada");  // second: the list is in order of arrival
  ASSERT_TRUE(wait_until([&] { return ada->connected(); }));
  nlohmann::json room;
  ASSERT_TRUE(wait_until([&] {
    auto got = control_request(port, "GET", "/v1/room", origin + with_token);
    if (got.status != 200) return false;
    room = nlohmann::json::parse(got.body);
    return room["peers"].size() == 2;
  }));
  EXPECT_EQ(room["approve"], false);
  EXPECT_EQ(room["peers"][0]["name"], "mallory");
  EXPECT_EQ(room["peers"][0]["role"], "participant");
  EXPECT_EQ(room["peers"][1]["name"], "ada");
  EXPECT_EQ(room["peers"][1]["role"], "viewer");
  EXPECT_TRUE(room["held"].empty());

  // Malformed calls: refused, nobody removed.
  EXPECT_EQ(
      control_request(port, "POST", "/v1/remove", origin + with_token + json_type, R"({"name": 7})")
          .status,
      400u);
  EXPECT_EQ(control_request(port, "POST", "/v1/remove", origin + with_token + json_type,
                            R"({"name": "mallory", "and": "ada"})")
                .status,
            400u);
  EXPECT_EQ(
      control_request(port, "POST", "/v1/remove", origin + with_token, R"({"name":"ada"})").status,
      415u);
  EXPECT_EQ(control_request(port, "POST", "/v1/remove", origin + with_token + json_type,
                            "{\"name\": \"" + std::string(4096, 'a') + "\"}")
                .status,
            413u);
  EXPECT_EQ(control_request(port, "GET", "/v1/remove", origin + with_token).status, 405u);
  EXPECT_EQ(control_request(port, "GET", "/v1/nothing", origin + with_token).status, 404u);
  auto nobody = control_request(port, "POST", "/v1/remove", origin + with_token + json_type,
                                R"({"name": "nobody"})");
  EXPECT_EQ(nobody.status, 404u);
  EXPECT_EQ(
      control_request(port, "POST", "/v1/accept", origin + with_token + json_type, R"({"id": 1})")
          .status,
      404u);  // nothing waits

  auto removed = control_request(port, "POST", "/v1/remove", origin + with_token + json_type,
                                 R"({"name": "mallory"})");
  EXPECT_EQ(removed.status, 200u) << removed.body;
  EXPECT_EQ(removed.header("Access-Control-Allow-Origin"), base);
  EXPECT_EQ(nlohmann::json::parse(removed.body)["done"], true);
  ASSERT_TRUE(wait_until([&] { return mallory_end == static_cast<int>(JoinFailure::kRemoved); }));
  mallory_end = -1;
  mallory = join_as_mallory();
  ASSERT_TRUE(wait_until([&] { return mallory_end == static_cast<int>(JoinFailure::kRefused); }))
      << "ended with " << mallory_end;
  EXPECT_TRUE(ada->connected());
}

// --approve through the control API: a held prompt is listed, accepted and answered; another
// is rejected and never answered.
TEST_F(HostProcessTest, ThePresenterControlApiAcceptsAndRejectsHeldPrompts) {
  unsetenv("DISPLAY");
  unsetenv("WAYLAND_DISPLAY");
  Child host(host_args({"--present", "--approve", "--exec", "cat"}), /*keep_stdin=*/true);
  Links links = read_links();
  std::string presenter = read_presenter_link();
  ASSERT_FALSE(presenter.empty());
  const std::string control = presenter.substr(presenter.find("&control=") + 9);
  const auto port = static_cast<uint16_t>(std::stoi(control.substr(0, control.find('.'))));
  const std::string headers = "X-Tokencast-Control: " + control.substr(control.find('.') + 1) +
                              "\r\nContent-Type: application/json\r\n";
  auto ada = join(links.participant, "ada");
  ASSERT_TRUE(wait_until([&] { return ada->connected(); }));
  ASSERT_TRUE(ada->prompt("first").has_value());
  ASSERT_TRUE(ada->prompt("second").has_value());
  nlohmann::json room;
  ASSERT_TRUE(wait_until([&] {
    auto got = control_request(port, "GET", "/v1/room", headers);
    if (got.status != 200) return false;
    room = nlohmann::json::parse(got.body);
    return room["held"].size() == 2;
  }));
  EXPECT_EQ(room["approve"], true);
  EXPECT_EQ(room["held"][0]["author"], "ada");
  EXPECT_EQ(room["held"][0]["text"], "first");
  const uint64_t first = room["held"][0]["id"];
  const uint64_t second = room["held"][1]["id"];
  auto rejected = control_request(port, "POST", "/v1/reject", headers,
                                  "{\"id\": " + std::to_string(second) + "}");
  EXPECT_EQ(rejected.status, 200u) << rejected.body;
  auto accepted = control_request(port, "POST", "/v1/accept", headers,
                                  "{\"id\": " + std::to_string(first) + "}");
  EXPECT_EQ(accepted.status, 200u) << accepted.body;
  ASSERT_TRUE(wait_until([&] { return answered(*ada, 2); }));
  auto turns = ada->transcript().turns();
  EXPECT_EQ(turns[0].text, "first");
  auto after = nlohmann::json::parse(control_request(port, "GET", "/v1/room", headers).body);
  EXPECT_TRUE(after["held"].empty());
  EXPECT_EQ(ada->transcript().turns().size(), 2u);  // "second" was never answered
}

// A viewer that records how its session ended.
struct EndingClient {
  std::atomic<int> end{-1};
  std::string detail;  // written before `end`
  std::unique_ptr<JoinClient> client;

  EndingClient(const std::string& link, std::chrono::milliseconds answer_timeout = 10'000ms) {
    JoinOptions o;
    o.link = link;
    o.name = "bob";
    o.reconnect = false;
    o.answer_timeout = answer_timeout;
    JoinCallbacks cb;
    cb.on_ended = [this](JoinFailure failure, const std::string& text) {
      detail = text;
      end = static_cast<int>(failure);
    };
    auto started = JoinClient::start(std::move(o), std::move(cb));
    EXPECT_TRUE(started);
    if (started) client = std::move(*started);
  }
  bool ended_with(JoinFailure failure) const { return end == static_cast<int>(failure); }
};

// `tokencast end` from another process: the running host tells its peers and stops, and
// `--resume` is refused from then on; the transcript stays exportable.
TEST_F(HostProcessTest, AnEndedSessionTellsItsPeersAndCannotBeResumed) {
  Child host(host_args({}), /*keep_stdin=*/true);
  Links links = read_links();
  EndingClient bob(links.viewer);
  ASSERT_TRUE(wait_until([&] { return bob.client->connected(); }));

  auto ended =
      testing::run_process({TOKENCAST_BIN, "end", links.session, "--db", dir + "/host.db"});
  ASSERT_EQ(ended.exit_code, 0) << ended.err;
  EXPECT_NE(ended.out.find("has ended"), std::string::npos) << ended.out;
  ASSERT_TRUE(wait_until([&] { return bob.ended_with(JoinFailure::kSessionEnded); }))
      << "ended with " << bob.end;
  EXPECT_EQ(bob.detail, "the session was ended for good");
  ASSERT_TRUE(wait_until([&] { return host.exited().has_value(); }));
  EXPECT_EQ(host.exited(), 0);

  auto args = host_args({"--resume", links.session});
  args.insert(args.begin(), TOKENCAST_BIN);
  auto resumed = testing::run_process(args);
  EXPECT_EQ(resumed.exit_code, 1);
  EXPECT_NE(resumed.err.find("has ended (ended with tokencast end)"), std::string::npos)
      << resumed.err;
  auto again =
      testing::run_process({TOKENCAST_BIN, "end", links.session, "--db", dir + "/host.db"});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.out.find("had already ended"), std::string::npos) << again.out;
  auto exported =
      testing::run_process({TOKENCAST_BIN, "export", links.session, "--db", dir + "/host.db"});
  EXPECT_EQ(exported.exit_code, 0);
}

// --expires: the session ends by itself; peers are told why.
TEST_F(HostProcessTest, AnExpiringSessionEndsByItself) {
  Child host(host_args({"--expires", "3s"}), /*keep_stdin=*/true);
  Links links = read_links();
  EndingClient bob(links.viewer);
  // On a machine slow enough to take 3 s to join, bob finds no host instead: the expiry
  // itself is checked below either way.
  ASSERT_TRUE(wait_until([&] { return bob.client->connected() || bob.end != -1; }));
  if (bob.client->connected()) {
    ASSERT_TRUE(wait_until([&] { return bob.ended_with(JoinFailure::kSessionEnded); }))
        << "ended with " << bob.end;
    EXPECT_EQ(bob.detail, "the session has expired");
  }
  ASSERT_TRUE(wait_until([&] { return host.exited().has_value(); }));
  auto args = host_args({"--resume", links.session});
  args.insert(args.begin(), TOKENCAST_BIN);
  auto resumed = testing::run_process(args);
  EXPECT_EQ(resumed.exit_code, 1);
  EXPECT_NE(resumed.err.find("has ended (expired)"), std::string::npos) << resumed.err;
}

// --resume ID --new-links: fresh links that work, the old ones lead nowhere, same transcript.
TEST_F(HostProcessTest, NewLinksOnResumeReplaceTheOldOnes) {
  Links first;
  {
    Child host(host_args({"--prompt", "remember me"}));
    first = read_links();
    EndingClient bob(first.viewer);
    ASSERT_TRUE(wait_until(
        [&] { return bob.client->connected() && !bob.client->transcript().turns().empty(); }));
    EXPECT_EQ(host.signal_and_wait(SIGTERM), 0);
  }
  std::filesystem::remove(dir + "/links.json");
  Child host(host_args({"--resume", first.session, "--new-links"}));
  Links second = read_links();
  EXPECT_EQ(second.session, first.session);
  EXPECT_NE(second.viewer, first.viewer);
  EXPECT_NE(second.participant, first.participant);
  EndingClient carol(second.viewer);
  ASSERT_TRUE(wait_until(
      [&] { return carol.client->connected() && !carol.client->transcript().turns().empty(); }));
  EXPECT_EQ(carol.client->transcript().turns()[0].text, "remember me");
  EndingClient stale(first.viewer, 2'000ms);  // its room is empty now
  ASSERT_TRUE(wait_until([&] { return stale.end != -1; }));
  EXPECT_TRUE(stale.ended_with(JoinFailure::kNoAnswer)) << "ended with " << stale.end;
}

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The host's own terminal shows the transcript as it streams (--quiet: the status line only).
TEST_F(HostProcessTest, TheHostsTerminalShowsTheTranscript) {
  const std::string out = dir + "/host.out";
  Child host(host_args({"--exec", "echo forty-two"}), /*keep_stdin=*/true, out);
  Links links = read_links();
  auto ada = join(links.participant, "ada");
  ASSERT_TRUE(wait_until([&] { return ada->connected(); }));
  ASSERT_TRUE(ada->prompt("the \x1b[31manswer?").has_value());
  ASSERT_TRUE(wait_until([&] {
    auto text = file_text(out);
    return text.find("ada asks:") != std::string::npos &&
           text.find("forty-two") != std::string::npos;
  })) << file_text(out);
  EXPECT_EQ(file_text(out).find('\x1b'), std::string::npos);  // the prompt's escape is neutralized
}

TEST_F(HostProcessTest, QuietHostsShowNoTranscript) {
  const std::string out = dir + "/host.out";
  Child host(host_args({"--exec", "echo forty-two", "--quiet"}), /*keep_stdin=*/true, out);
  Links links = read_links();
  auto ada = join(links.participant, "ada");
  ASSERT_TRUE(wait_until([&] { return ada->connected(); }));
  ASSERT_TRUE(ada->prompt("anyone?").has_value());
  ASSERT_TRUE(wait_until([&] { return answered(*ada, 2); }));
  EXPECT_EQ(file_text(out).find("ada asks:"), std::string::npos) << file_text(out);
}

// --metrics-file: the host's metrics in the Prometheus text format, rewritten as they change,
// readable by other users (node_exporter), with no secret in them.
TEST_F(HostProcessTest, TheMetricsFileFollowsTheSession) {
  const std::string metrics = dir + "/host.prom";
  Child host(host_args({"--exec", "echo forty-two", "--quiet", "--metrics-file", metrics}),
             /*keep_stdin=*/true);
  Links links = read_links();
  auto ada = join(links.participant, "ada");
  ASSERT_TRUE(wait_until([&] { return ada->connected(); }));
  ASSERT_TRUE(ada->prompt("anyone?").has_value());
  ASSERT_TRUE(wait_until([&] { return answered(*ada, 2); }));
  const std::string peers_line =
      "tokencast_host_peers{session=\"" + links.session + "\",link=\"direct\"} 1";
  ASSERT_TRUE(wait_until([&] {
    auto text = file_text(metrics);
    return text.find(peers_line) != std::string::npos &&
           text.find("outcome=\"opened\"} 1") != std::string::npos;
  })) << file_text(metrics);
  auto text = file_text(metrics);
  EXPECT_NE(text.find("# TYPE tokencast_host_log_head counter"), std::string::npos);
  EXPECT_EQ(text.find(links.participant.substr(links.participant.find('#') + 1)),
            std::string::npos);
  EXPECT_EQ(text.find("ada"), std::string::npos);  // no name a peer chose
  struct stat st {};
  ASSERT_EQ(::stat(metrics.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

// A reasoning model behind an OpenAI-compatible server: its reasoning_content reaches a joined
// client as the turn's thinking, apart from and before the answer; the host's terminal shows it
// under "thinking:"; the next request's history carries the answer only.
TEST_F(HostProcessTest, ReasoningStreamsToPeersAsThinkingAndNeverBackToTheModel) {
  testing::FakeOpenAiServer llm([&](const testing::FakeRequest&) {
    testing::Script s;
    s.raw(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
    s.chunk(testing::sse_data(testing::completion_chunk(R"({"role":"assistant","content":null})")));
    for (const char* piece : {"The user", " adds \u00e9", "."}) {
      s.chunk(testing::sse_data(
          testing::completion_chunk(std::string(R"({"reasoning_content":")") + piece + "\"}")));
    }
    s.chunk(testing::sse_data(testing::completion_chunk(R"({"content":"Four."})")));
    s.chunk(testing::sse_data(testing::completion_chunk("{}", "\"stop\"")));
    s.chunk(testing::sse_data("[DONE]"));
    s.end_chunks();
    return s;
  });
  const std::string out = dir + "/host.out";
  Child host(host_args({"--llm", llm.base_url(), "--model", "r1"}), /*keep_stdin=*/true, out);
  Links links = read_links();
  auto ada = join(links.participant, "ada");
  auto bob = join(links.viewer, "bob");
  ASSERT_TRUE(wait_until([&] { return ada->connected() && bob->connected(); }));
  ASSERT_TRUE(ada->prompt("2+2?").has_value());
  ASSERT_TRUE(wait_until([&] { return answered(*bob, 2); }));
  const auto answer = bob->transcript().turns()[1];
  EXPECT_EQ(answer.thinking, "The user adds \xC3\xA9.");
  EXPECT_EQ(answer.text, "Four.");
  EXPECT_EQ(answer.token_count, 4u);
  ASSERT_TRUE(wait_until([&] {
    auto text = file_text(out);
    auto thinking = text.find("thinking:");
    return thinking != std::string::npos && text.find("Four.", thinking) != std::string::npos;
  })) << file_text(out);

  ASSERT_TRUE(ada->prompt("and 3+3?").has_value());
  ASSERT_TRUE(wait_until([&] { return answered(*bob, 4); }));
  auto request = nlohmann::json::parse(llm.requests().at(1).body);
  ASSERT_EQ(request["messages"].size(), 3u);
  EXPECT_EQ(request["messages"][1]["content"], "Four.");
}

// --think-open: a server whose chat template opened <think> in the prompt and that leaves the
// reasoning in `content`: the content up to </think> reaches a joined client as thinking.
TEST_F(HostProcessTest, WithThinkOpenTheContentBeforeTheClosingTagIsThinking) {
  testing::FakeOpenAiServer llm([&](const testing::FakeRequest&) {
    testing::Script s;
    s.raw(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (const char* piece : {"Two and", " two.</th", "ink>\\n\\nFour."}) {
      s.chunk(testing::sse_data(
          testing::completion_chunk(std::string(R"({"content":")") + piece + "\"}")));
    }
    s.chunk(testing::sse_data(testing::completion_chunk("{}", "\"stop\"")));
    s.chunk(testing::sse_data("[DONE]"));
    s.end_chunks();
    return s;
  });
  Child host(host_args({"--llm", llm.base_url(), "--model", "r1", "--think-open"}));
  Links links = read_links();
  auto ada = join(links.participant, "ada");
  ASSERT_TRUE(wait_until([&] { return ada->connected(); }));
  ASSERT_TRUE(ada->prompt("2+2?").has_value());
  ASSERT_TRUE(wait_until([&] { return answered(*ada, 2); }));
  const auto answer = ada->transcript().turns()[1];
  EXPECT_EQ(answer.thinking, "Two and two.");
  EXPECT_EQ(answer.text, "Four.");
}

// --approve: a participant's prompt waits until the host lets it through from its console.
TEST_F(HostProcessTest, WithApproveTheHostLetsPromptsThrough) {
  Child host(host_args({"--exec", "echo approved answer", "--approve"}), /*keep_stdin=*/true);
  Links links = read_links();
  std::atomic<int> waiting{0};  // "your prompt waits for the host's approval" notices
  JoinOptions o;
  o.link = links.participant;
  o.name = "ada";
  JoinCallbacks cb;
  cb.on_event = [&](const ClientEvent& event) {
    if (const auto* reported = std::get_if<HostReported>(&event)) {
      if (reported->error.text == kPromptAwaitsApproval) waiting += 1;
    }
  };
  auto started = JoinClient::start(std::move(o), std::move(cb));
  ASSERT_TRUE(started);
  auto& ada = *started;
  ASSERT_TRUE(wait_until([&] { return ada->connected(); }));
  ASSERT_TRUE(ada->prompt("may I?").has_value());
  ASSERT_TRUE(ada->prompt("and this?").has_value());
  ASSERT_TRUE(wait_until([&] { return waiting == 2; }));
  EXPECT_TRUE(ada->transcript().turns().empty());  // nothing reaches the model yet
  host.write_stdin("/decline 2\n/approve 1\n");
  ASSERT_TRUE(wait_until([&] { return answered(*ada, 2); }));
  auto turns = ada->transcript().turns();
  EXPECT_EQ(turns[0].text, "may I?");
  EXPECT_EQ(turns[1].text, "approved answer\n");
  host.write_stdin("/approve 2\n");  // declined: it never reaches the model
  ASSERT_TRUE(ada->prompt("third").has_value());
  ASSERT_TRUE(wait_until([&] { return waiting == 3; }));
  host.write_stdin("/approve 3\n");
  ASSERT_TRUE(wait_until([&] { return answered(*ada, 4); }));
  EXPECT_EQ(ada->transcript().turns()[2].text, "third");
}

}  // namespace
}  // namespace tokencast
