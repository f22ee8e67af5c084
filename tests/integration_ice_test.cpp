// ICE servers end to end on loopback: a real `tokencast rendezvous` hands out a real TURN server
// (Debian's coturn, started here with its own config and a REST shared secret); a relay-only
// host and joiner stream byte-exact through it and report the relay candidate pair. Without a
// usable TURN server a relay-only join fails with kNoPath and says what to do.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>

#include "signal_test_support.hpp"
#include "support/wait.hpp"
#include "tokencast/client/join_client.hpp"
#include "tokencast/host/host.hpp"
#include "tokencast/turn_credentials.hpp"

namespace tokencast {
namespace {

using namespace std::chrono_literals;
using test::ServerProcess;
using testing::wait_until;

constexpr const char* kTurnServer = "/usr/bin/turnserver";
constexpr const char* kSecret = "integration-ice-test-secret";

// A port nothing listens on right now (bound, then released).
uint16_t free_port(int type) {
  int fd = socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

bool tcp_listening(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

// coturn on 127.0.0.1, REST credentials (use-auth-secret), relaying to loopback peers.
class Coturn {
 public:
  explicit Coturn(const std::string& dir) : port_(free_port(SOCK_STREAM)) {
    std::string conf = dir + "/turnserver.conf";
    std::ofstream(conf) << "listening-ip=127.0.0.1\nrelay-ip=127.0.0.1\nlistening-port=" << port_
                        << "\nmin-port=" << 40000 + port_ % 20000
                        << "\nmax-port=" << 40000 + port_ % 20000 + 50
                        << "\nuse-auth-secret\nstatic-auth-secret=" << kSecret
                        << "\nrealm=tokencast.test\nallow-loopback-peers\nno-cli\nno-tls\n"
                           "no-dtls\nno-multicast-peers\nfingerprint\npidfile="
                        << dir << "/turn.pid\nuserdb=" << dir << "/turndb\nlog-file=" << dir
                        << "/turn.log\nsimple-log\n";
    std::vector<std::string> args{kTurnServer, "-c", conf};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // Quiet: coturn writes its log to the file above and chatter to stdout/stderr.
    posix_spawn_file_actions_t quiet;
    posix_spawn_file_actions_init(&quiet);
    posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&quiet, 2, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&pid_, argv[0], &quiet, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&quiet);
    ready_ = pid_ > 0 && wait_until([&] { return tcp_listening(port_); }, 10s);
  }
  ~Coturn() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  bool ready() const { return ready_; }
  uint16_t port() const { return port_; }

 private:
  uint16_t port_;
  pid_t pid_ = -1;
  bool ready_ = false;
};

// A rendezvous process handing out `turn_urls` with credentials for kSecret.
std::unique_ptr<ServerProcess> rendezvous_with(std::vector<std::string> flags) {
  setenv("TOKENCAST_TURN_SECRET", kSecret, 1);
  auto server = std::make_unique<ServerProcess>(std::move(flags));
  unsetenv("TOKENCAST_TURN_SECRET");
  return server;
}

struct Joiner {
  std::mutex mu;
  std::optional<JoinFailure> ended;
  std::string detail;
  std::optional<CandidatePath> path;
  std::unique_ptr<JoinClient> client;

  static std::unique_ptr<Joiner> start(const std::string& link, bool relay_only) {
    auto j = std::make_unique<Joiner>();
    JoinOptions o;
    o.link = link;
    o.name = "ada";
    o.relay_only = relay_only;
    o.open_timeout = 5s;
    JoinCallbacks cb;
    cb.on_ended = [raw = j.get()](JoinFailure f, const std::string& d) {
      std::lock_guard lock(raw->mu);
      raw->ended = f;
      raw->detail = d;
    };
    cb.on_path = [raw = j.get()](const CandidatePath& p) {
      std::lock_guard lock(raw->mu);
      raw->path = p;
    };
    auto client = JoinClient::start(std::move(o), std::move(cb));
    EXPECT_TRUE(client);
    if (client) j->client = std::move(*client);
    return j;
  }
  std::optional<JoinFailure> outcome() {
    std::lock_guard lock(mu);
    return ended;
  }
  std::optional<CandidatePath> selected() {
    std::lock_guard lock(mu);
    return path;
  }
};

class IceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/tokencast-ice-XXXXXX";
    dir = mkdtemp(pattern);
  }
  void TearDown() override {
    host.reset();
    std::filesystem::remove_all(dir);
  }
  void start_host(const ServerProcess& rv, bool relay_only) {
    HostOptions o;
    o.db_path = dir + "/host.db";
    o.rendezvous_url = rv.ws_url();
    o.public_url = "http://127.0.0.1:" + std::to_string(rv.port());
    o.relay_only = relay_only;
    o.ice_servers = host_ice;
    o.turn_grant = host_turn;
    ExecSourceOptions exec;
    exec.command = "tr a-z A-Z";
    exec.label = "upper";
    o.source = make_exec_source(exec);
    auto h = HostRuntime::start(std::move(o));
    ASSERT_TRUE(h) << (h ? "" : h.error());
    host = std::move(*h);
  }
  std::string dir;
  std::vector<IceServer> host_ice;  // the host's own STUN/TURN servers
  rendezvous::IceGrant host_turn;   // the host's TURN servers with coturn's shared secret
  std::unique_ptr<HostRuntime> host;
};

class RelayOnlyTest : public IceTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(RelayOnlyTest, StreamsByteExactThroughCoturnAndReportsTheRelayPair) {
  if (access(kTurnServer, X_OK) != 0) GTEST_SKIP() << "coturn is not installed";
  Coturn turn(dir);
  ASSERT_TRUE(turn.ready());
  const std::string transport = GetParam();
  auto rv = rendezvous_with(
      {"--turn", "turn:127.0.0.1:" + std::to_string(turn.port()) + "?transport=" + transport});
  ASSERT_TRUE(rv->ok());
  start_host(*rv, /*relay_only=*/true);
  auto ada = Joiner::start(host->links().participant, /*relay_only=*/true);
  ASSERT_TRUE(wait_until([&] { return ada->client->connected() || ada->outcome(); }, 30s));
  ASSERT_FALSE(ada->outcome()) << join_failure_text(*ada->outcome()) << ": " << ada->detail;
  const std::string prompt = "through the relay: ~!@#$%^&*() \xc3\xa9\xe2\x82\xac";
  ASSERT_TRUE(ada->client->prompt(prompt).has_value());
  ASSERT_TRUE(wait_until([&] {
    auto t = ada->client->transcript();
    return t.turns().size() == 2 && t.turns()[1].ended;
  }));
  auto t = ada->client->transcript();
  EXPECT_EQ(t.turns()[0].text, prompt);
  EXPECT_EQ(t.turns()[1].text, "THROUGH THE RELAY: ~!@#$%^&*() \xc3\xa9\xe2\x82\xac");
  ASSERT_TRUE(wait_until([&] { return ada->selected().has_value(); }));
  auto path = *ada->selected();
  EXPECT_EQ(path.local_type, "relay") << describe(path);
  EXPECT_EQ(path.local_protocol, transport) << describe(path);
  EXPECT_TRUE(path.relayed());
  EXPECT_TRUE(wait_until([&] { return host->stats().peers_relayed == 1; }));
  EXPECT_EQ(host->stats().peers_direct, 0u);
}

INSTANTIATE_TEST_SUITE_P(Transports, RelayOnlyTest, ::testing::Values("udp", "tcp"));

// The host's own TURN server reaches a joiner that has none, through a rendezvous that hands
// out nothing: inside the host's ICE beacon, sealed (the rendezvous cannot read the credential)
// and signed (it cannot strip it). Either a long-term credential (--turn-user) or, from coturn's
// shared secret, one minted for each greeting (--turn-secret-file).
class HostTurnTest : public IceTest, public ::testing::WithParamInterface<bool> {};

TEST_P(HostTurnTest, JoinerWithoutServersRelaysThroughTheHostsOwnTurnServerFromItsBeacon) {
  if (access(kTurnServer, X_OK) != 0) GTEST_SKIP() << "coturn is not installed";
  Coturn turn(dir);
  ASSERT_TRUE(turn.ready());
  ServerProcess rv;  // no --stun, no --turn
  ASSERT_TRUE(rv.ok());
  const std::string url = "turn:127.0.0.1:" + std::to_string(turn.port()) + "?transport=udp";
  const bool minted = GetParam();
  if (minted) {
    host_turn.turn_urls = {url};
    host_turn.turn_secret = kSecret;
  } else {
    const auto credential = rendezvous::turn_rest_credential(
        kSecret, static_cast<uint64_t>(time(nullptr)) + 3600, "host");
    host_ice = {IceServer{{url}, credential.username, credential.credential}};
  }
  start_host(rv, /*relay_only=*/true);
  auto ada = Joiner::start(host->links().participant, /*relay_only=*/true);
  ASSERT_TRUE(wait_until([&] { return ada->client->connected() || ada->outcome(); }, 30s));
  ASSERT_FALSE(ada->outcome()) << join_failure_text(*ada->outcome()) << ": " << ada->detail;
  ASSERT_TRUE(ada->client->prompt("relayed").has_value());
  ASSERT_TRUE(wait_until([&] {
    auto t = ada->client->transcript();
    return t.turns().size() == 2 && t.turns()[1].ended;
  }));
  EXPECT_EQ(ada->client->transcript().turns()[1].text, "RELAYED");
  ASSERT_TRUE(wait_until([&] { return ada->selected().has_value(); }));
  EXPECT_EQ(ada->selected()->local_type, "relay") << describe(*ada->selected());
  EXPECT_TRUE(wait_until([&] { return host->stats().peers_relayed == 1; }));
}

INSTANTIATE_TEST_SUITE_P(Credentials, HostTurnTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Minted" : "LongTerm"; });

TEST_F(IceTest, RelayOnlyWithoutAnyTurnServerFailsAtOnceAndSaysWhy) {
  ServerProcess rv;
  ASSERT_TRUE(rv.ok());
  start_host(rv, /*relay_only=*/false);
  auto ada = Joiner::start(host->links().viewer, /*relay_only=*/true);
  ASSERT_TRUE(wait_until([&] { return ada->outcome().has_value(); }, 10s));
  EXPECT_EQ(*ada->outcome(), JoinFailure::kNoPath);
  EXPECT_NE(ada->detail.find("--relay-only needs a TURN server"), std::string::npos);
}

TEST_F(IceTest, TurnServerThatDoesNotAnswerIsNoPath) {
  // A TURN URL to a closed port: the host answers, no relay candidate ever appears.
  auto rv = rendezvous_with(
      {"--turn", "turn:127.0.0.1:" + std::to_string(free_port(SOCK_DGRAM)) + "?transport=udp"});
  ASSERT_TRUE(rv->ok());
  start_host(*rv, /*relay_only=*/false);
  auto ada = Joiner::start(host->links().viewer, /*relay_only=*/true);
  ASSERT_TRUE(wait_until([&] { return ada->outcome().has_value(); }, 30s));
  EXPECT_EQ(*ada->outcome(), JoinFailure::kNoPath) << ada->detail;
  EXPECT_NE(std::string(join_failure_text(JoinFailure::kNoPath)).find("TURN"), std::string::npos);
}

}  // namespace
}  // namespace tokencast
