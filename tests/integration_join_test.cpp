// Joining end to end on loopback: a real `tokencast rendezvous` process, an in-process host
// (HostRuntime) and native joiners (JoinClient) over real WebRTC data channels. Then what an
// attacker can do at the rendezvous: wrong secret, flipped bytes, replays, envelopes spliced
// from another room, and an answer forged by a holder of the link. Each must be refused.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <future>

#include "signal_test_support.hpp"
#include "support/wait.hpp"
#include "tokencast/client/join_client.hpp"
#include "tokencast/core/base64url.hpp"
#include "tokencast/core/handshake.hpp"
#include "tokencast/core/handshake_messages.hpp"
#include "tokencast/host/host.hpp"

namespace tokencast {
namespace {

using namespace std::chrono_literals;
using test::Event;
using test::ServerProcess;
using test::TestPeer;

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

using testing::wait_until;

// A joiner and what happened to it.
struct Joiner {
  std::mutex mu;
  std::optional<JoinFailure> ended;
  std::string detail;
  std::unique_ptr<JoinClient> client;

  static std::unique_ptr<Joiner> start(const std::string& link, const std::string& name,
                                       std::chrono::milliseconds answer_timeout = 10s,
                                       uint64_t relay_capacity = 0) {
    JoinOptions o;
    o.link = link;
    o.name = name;
    o.relay_capacity = relay_capacity;
    o.answer_timeout = answer_timeout;
    return start(std::move(o));
  }
  static std::unique_ptr<Joiner> start(JoinOptions o) {
    auto j = std::make_unique<Joiner>();
    JoinCallbacks cb;
    cb.on_ended = [raw = j.get()](JoinFailure f, const std::string& d) {
      std::lock_guard lock(raw->mu);
      raw->ended = f;
      raw->detail = d;
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
};

// A real SDP offer, as a joiner's PeerLink makes it.
std::string real_offer_sdp(std::unique_ptr<PeerLink>& keep) {
  std::promise<std::string> sdp;
  LinkCallbacks cb;
  cb.on_local_description = [&sdp](const std::string& s) { sdp.set_value(s); };
  auto link = PeerLink::create(NegotiationRole::kOfferer, {}, std::move(cb));
  EXPECT_TRUE(link);
  keep = std::move(*link);
  EXPECT_TRUE(keep->create_offer());
  auto f = sdp.get_future();
  EXPECT_EQ(f.wait_for(5s), std::future_status::ready);
  return f.get();
}

class JoinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(rendezvous.ok());
    char pattern[] = "/tmp/tokencast-join-XXXXXX";
    dir = mkdtemp(pattern);
    host = start_host();
  }
  void TearDown() override {
    host.reset();
    std::filesystem::remove_all(dir);
  }
  std::unique_ptr<HostRuntime> start_host(const std::string& db = "host.db",
                                          size_t max_peers = 1000, size_t direct_peers = 100,
                                          size_t relay_children = 4) {
    HostOptions o;
    o.max_peers = max_peers;
    o.direct_peers = direct_peers;
    o.relay_children = relay_children;
    o.db_path = dir + "/" + db;
    o.rendezvous_url = rendezvous.ws_url();
    o.public_url = "http://127.0.0.1:" + std::to_string(rendezvous.port());
    ExecSourceOptions exec;
    exec.command = "tr a-z A-Z";
    exec.label = "upper";
    o.source = make_exec_source(exec);
    auto h = HostRuntime::start(std::move(o));
    EXPECT_TRUE(h) << (h ? "" : h.error());
    return h ? std::move(*h) : nullptr;
  }
  // A peer in the host's viewer room, speaking raw envelopes.
  std::unique_ptr<TestPeer> raw_peer(const InviteLink& link, rendezvous::PeerId* host_peer) {
    EXPECT_TRUE(wait_until([&] { return host->stats().rooms_joined == 2; }));
    auto peer = std::make_unique<TestPeer>(rendezvous.ws_url(), invite_room_locator(link));
    std::vector<rendezvous::PeerId> peers;
    rendezvous::PeerId self = peer->join(&peers);
    EXPECT_EQ(peers.size(), 1u);  // the host
    if (!peers.empty()) *host_peer = peers[0];
    // The host greets every newcomer with its signed beacon.
    Event beacon = peer->expect(Event::kEnvelope);
    EXPECT_EQ(beacon.id, *host_peer);
    EXPECT_TRUE(verify_host_beacon(link, beacon.payload, self, *host_peer));
    return peer;
  }
  std::string describe_refusals() {
    std::string out;
    for (const auto& [reason, n] : host->stats().refused)
      out += reason + "=" + std::to_string(n) + " ";
    return out;
  }
  uint64_t refused(const std::string& reason) {
    auto stats = host->stats();
    auto it = stats.refused.find(reason);
    return it == stats.refused.end() ? 0 : it->second;
  }

  ServerProcess rendezvous;
  std::string dir;
  std::unique_ptr<HostRuntime> host;
};

TEST_F(JoinTest, NativeHostAndJoinersExchangeFrames) {
  auto ada = Joiner::start(host->links().participant, "ada");
  auto bob = Joiner::start(host->links().viewer, "bob");
  ASSERT_TRUE(wait_until([&] { return ada->client->connected() && bob->client->connected(); }));
  ASSERT_TRUE(wait_until([&] { return ada->client->prompt("hello tokencast").has_value(); }));
  auto answered = [](JoinClient& c) {
    auto t = c.transcript();
    return t.turns().size() == 2 && t.turns()[1].ended;
  };
  ASSERT_TRUE(wait_until([&] { return answered(*ada->client) && answered(*bob->client); }));
  auto t = ada->client->transcript();
  EXPECT_EQ(t.turns()[0].author, "ada");
  EXPECT_EQ(t.turns()[0].text, "hello tokencast");
  EXPECT_EQ(t.turns()[1].text, "HELLO TOKENCAST");
  EXPECT_EQ(bob->client->transcript().turns(), t.turns());
  EXPECT_EQ(bob->client->prompt("viewers cannot").error(), ClientError::kNotParticipant);
  EXPECT_EQ(host->stats().links_opened, 2u);
  EXPECT_TRUE(host->stats().refused.empty());
}

TEST_F(JoinTest, ResumesAfterTheLinkDropsWithNoGapOrDuplicate) {
  auto ada = Joiner::start(host->links().participant, "ada");
  ASSERT_TRUE(wait_until([&] { return ada->client->connected(); }));
  ASSERT_TRUE(ada->client->prompt("first").has_value());
  ASSERT_TRUE(wait_until([&] { return ada->client->transcript().turns().size() == 2; }));
  ada->client->drop_link_for_test();
  ASSERT_TRUE(wait_until([&] { return !ada->client->connected(); }));
  host->prompt("second");  // happens while ada is away
  ASSERT_TRUE(wait_until([&] {
    auto t = ada->client->transcript();
    return ada->client->connected() && t.turns().size() == 4 && t.turns()[3].ended;
  }));
  auto t = ada->client->transcript();
  EXPECT_EQ(t.turns()[1].text, "FIRST");
  EXPECT_EQ(t.turns()[3].text, "SECOND");
}

// Issue 15 step 1: a viewer that offers to relay (`join --relay N`) gets the host's signed
// relay stream over a real data channel, verifies it under the link's host key, and its
// transcript is the plain viewer's and the participant's, byte for byte, across a dropped link.
TEST_F(JoinTest, RelayCapableViewerVerifiesTheSignedStreamAndResumesExactly) {
  auto ada = Joiner::start(host->links().participant, "ada", 10s, /*relay_capacity=*/3);
  auto bob = Joiner::start(host->links().viewer, "bob");
  auto cy = Joiner::start(host->links().viewer, "cy", 10s, /*relay_capacity=*/2);
  ASSERT_TRUE(wait_until([&] {
    return ada->client->connected() && bob->client->connected() && cy->client->connected();
  }));
  EXPECT_TRUE(cy->client->relay_link());
  EXPECT_FALSE(bob->client->relay_link());
  EXPECT_FALSE(ada->client->relay_link()) << "participants always get the plain stream";
  ASSERT_TRUE(ada->client->prompt("first answer please").has_value());
  auto ended = [](JoinClient& c, size_t turns) {
    auto t = c.transcript();
    return t.turns().size() == turns && t.turns().back().ended;
  };
  ASSERT_TRUE(wait_until([&] { return ended(*cy->client, 2); }));
  cy->client->drop_link_for_test();
  ASSERT_TRUE(wait_until([&] { return !cy->client->connected(); }));
  host->prompt("second, while cy is away");
  ASSERT_TRUE(wait_until([&] {
    return ended(*ada->client, 4) && ended(*bob->client, 4) && ended(*cy->client, 4) &&
           cy->client->connected();
  }));
  const auto expected = ada->client->transcript().turns();
  EXPECT_EQ(expected[3].text, "SECOND, WHILE CY IS AWAY");
  EXPECT_EQ(bob->client->transcript().turns(), expected);
  EXPECT_EQ(cy->client->transcript().turns(), expected);
  EXPECT_TRUE(cy->client->relay_link());
  // Everything cy shows was verified: its verified record is its position.
  ASSERT_TRUE(wait_until([&] {
    auto v = cy->client->relay_verified();
    return v && v->index == cy->client->position().last_seq;
  }));
  EXPECT_TRUE(host->stats().refused.empty()) << describe_refusals();
}

// Issue 15 step 2: the host places viewers beyond its direct fan-out below a relay (a direct
// viewer that offered `--relay N`); the child reaches the relay with the host's relay answer,
// verifies the stream it forwards, catches up from it when late, and goes back through the
// host when the relay leaves, with no gap and no duplicate.
TEST_F(JoinTest, ViewersBeyondTheDirectFanOutAreServedByARelayAndComeBackWhenItLeaves) {
  host.reset();
  host = start_host("relay.db", 1000, /*direct_peers=*/1, /*relay_children=*/2);
  auto relay = Joiner::start(host->links().viewer, "relay", 10s, /*relay_capacity=*/2);
  ASSERT_TRUE(wait_until([&] { return relay->client->connected(); }));
  EXPECT_TRUE(relay->client->relay_link());
  EXPECT_FALSE(relay->client->via_relay());
  auto child = Joiner::start(host->links().viewer, "child");
  ASSERT_TRUE(wait_until([&] { return child->client->connected(); }));
  EXPECT_TRUE(child->client->via_relay()) << "the host's direct fan-out is full";
  ASSERT_TRUE(wait_until([&] { return relay->client->relay_children() == 1; }));

  auto ended = [](JoinClient& c, size_t turns) {
    auto t = c.transcript();
    return t.turns().size() == turns && t.turns().back().ended;
  };
  host->prompt("through the relay");
  ASSERT_TRUE(wait_until([&] { return ended(*relay->client, 2) && ended(*child->client, 2); }));
  // A late joiner catches up from the relay, not from the host.
  auto late = Joiner::start(host->links().viewer, "late");
  ASSERT_TRUE(wait_until([&] { return late->client->connected() && ended(*late->client, 2); }));
  EXPECT_TRUE(late->client->via_relay());
  const auto expected = relay->client->transcript().turns();
  EXPECT_EQ(expected[1].text, "THROUGH THE RELAY");
  EXPECT_EQ(child->client->transcript().turns(), expected);
  EXPECT_EQ(late->client->transcript().turns(), expected);

  // The relay leaves (the late joiner left first: one direct slot is free for the child):
  // its child goes back through the host and resumes exactly.
  late.reset();
  ASSERT_TRUE(wait_until([&] { return relay->client->relay_children() == 1; }));
  relay.reset();
  ASSERT_TRUE(
      wait_until([&] { return child->client->connected() && !child->client->via_relay(); }));
  host->prompt("after the relay left");
  ASSERT_TRUE(wait_until([&] { return ended(*child->client, 4); }));
  const auto after = child->client->transcript().turns();
  ASSERT_EQ(after.size(), 4u);
  EXPECT_EQ(std::vector(after.begin(), after.begin() + 2), expected);
  EXPECT_EQ(after[3].text, "AFTER THE RELAY LEFT");
  EXPECT_FALSE(child->outcome());
}

// Issue 15: a relay chain of depth 3. A viewer placed below a relay offers to relay too; the
// host introduces children to it through its parent (sealed routes, docs/PROTOCOL.md section
// 6 "Relays below relays"), and they verify the host's stream two relays away. When the
// middle relay leaves, its children come back through the host with no gap and no duplicate.
TEST_F(JoinTest, ARelayBelowARelayServesTheThirdLevelByteForByte) {
  host.reset();
  host = start_host("deep.db", 1000, /*direct_peers=*/1, /*relay_children=*/2);
  auto ada = Joiner::start(host->links().participant, "ada");
  ASSERT_TRUE(wait_until([&] { return ada->client->connected(); }));
  auto r1 = Joiner::start(host->links().viewer, "r1", 10s, /*relay_capacity=*/1);
  ASSERT_TRUE(wait_until([&] { return r1->client->connected() && r1->client->relay_link(); }));
  EXPECT_FALSE(r1->client->via_relay());
  auto r2 = Joiner::start(host->links().viewer, "r2", 10s, /*relay_capacity=*/2);
  ASSERT_TRUE(wait_until([&] { return r2->client->connected(); }));
  EXPECT_TRUE(r2->client->via_relay()) << "the host's direct fan-out is full";
  // r2's offer to relay reached the host through r1, sealed.
  ASSERT_TRUE(wait_until([&] { return host->stats().relays == 2; }));

  auto g1 = Joiner::start(host->links().viewer, "g1");
  auto g2 = Joiner::start(host->links().viewer, "g2");
  ASSERT_TRUE(wait_until([&] {
    return g1->client->connected() && g2->client->connected() && r2->client->relay_children() == 2;
  }));
  EXPECT_TRUE(g1->client->via_relay());
  EXPECT_TRUE(g2->client->via_relay());
  EXPECT_EQ(r1->client->relay_children(), 1u) << "r1 serves r2 only";
  EXPECT_EQ(host->stats().relayed_viewers, 3u);

  auto ended = [](JoinClient& c, size_t turns) {
    auto t = c.transcript();
    return t.turns().size() == turns && t.turns().back().ended;
  };
  ASSERT_TRUE(ada->client->prompt("three levels down").has_value());
  ASSERT_TRUE(wait_until([&] {
    return ended(*ada->client, 2) && ended(*r2->client, 2) && ended(*g1->client, 2) &&
           ended(*g2->client, 2);
  }));
  const auto expected = ada->client->transcript().turns();
  EXPECT_EQ(expected[1].text, "THREE LEVELS DOWN");
  EXPECT_EQ(r1->client->transcript().turns(), expected);
  EXPECT_EQ(r2->client->transcript().turns(), expected);
  EXPECT_EQ(g1->client->transcript().turns(), expected);
  EXPECT_EQ(g2->client->transcript().turns(), expected);

  // The middle relay leaves: its children come back through the host (below r1, whose slot
  // is free again, or served directly) and resume exactly.
  r2.reset();
  ASSERT_TRUE(ada->client->prompt("after the middle left").has_value());
  ASSERT_TRUE(wait_until(
      [&] { return ended(*ada->client, 4) && ended(*g1->client, 4) && ended(*g2->client, 4); }));
  const auto after = ada->client->transcript().turns();
  EXPECT_EQ(after[3].text, "AFTER THE MIDDLE LEFT");
  EXPECT_EQ(g1->client->transcript().turns(), after);
  EXPECT_EQ(g2->client->transcript().turns(), after);
  EXPECT_FALSE(g1->outcome());
  EXPECT_FALSE(g2->outcome());
}

// `tokencast join - --relay N` in its own process (the link on its stdin, never in argv), so a
// test can kill -9 it: its children see no close, only silence.
class RelayProcess {
 public:
  RelayProcess(const std::string& link, int capacity) {
    int in[2];
    if (pipe(in) != 0) return;
    std::string relay = std::to_string(capacity);
    std::vector<std::string> args{TOKENCAST_BIN, "join", "-", "--relay", relay, "--name", "relay"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_addclose(&actions, in[1]);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]);
    stdin_ = in[1];
    std::string line = link + "\n";
    EXPECT_EQ(write(stdin_, line.data(), line.size()), static_cast<ssize_t>(line.size()));
  }
  ~RelayProcess() {
    kill_hard();
    if (stdin_ >= 0) close(stdin_);
  }
  void kill_hard() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  bool running() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
};

bool answered(JoinClient& c, size_t turns) {
  auto t = c.transcript();
  return t.turns().size() == turns && t.turns().back().ended;
}

// Issue 15 part 2: past the host's direct fan-out (here 1 viewer), new viewers are introduced
// to a viewer that offered to relay, with the host's sealed and signed relay answer, and get
// the host's signed stream from it: the same text as the participant the host serves itself,
// byte for byte. A viewer that joins late catches up from the relay, from the first record.
// When no relay has a free slot, a viewer is served by the host.
TEST_F(JoinTest, ViewersPastTheDirectFanOutAreServedByARelayByteForByte) {
  host = nullptr;
  host = start_host("tree.db", 1000, /*direct_peers=*/1, /*relay_children=*/2);
  auto ada = Joiner::start(host->links().participant, "ada");
  auto relay = Joiner::start(host->links().viewer, "relay", 10s, /*relay_capacity=*/2);
  ASSERT_TRUE(wait_until([&] { return host->stats().relays == 1 && ada->client->connected(); }));
  auto bob = Joiner::start(host->links().viewer, "bob");
  ASSERT_TRUE(wait_until([&] { return bob->client->connected(); }));
  EXPECT_TRUE(bob->client->via_relay());
  ASSERT_TRUE(ada->client->prompt("through the tree").has_value());
  ASSERT_TRUE(wait_until([&] { return answered(*ada->client, 2) && answered(*bob->client, 2); }));
  // A late joiner: the relay's ring still reaches the first record.
  auto cy = Joiner::start(host->links().viewer, "cy");
  ASSERT_TRUE(wait_until([&] { return cy->client->connected() && answered(*cy->client, 2); }));
  EXPECT_TRUE(cy->client->via_relay());
  // The relay is full (k = 2): the next viewer is served by the host.
  auto dee = Joiner::start(host->links().viewer, "dee");
  ASSERT_TRUE(wait_until([&] { return dee->client->connected() && answered(*dee->client, 2); }));
  EXPECT_FALSE(dee->client->via_relay());
  host->prompt("second answer");
  ASSERT_TRUE(wait_until([&] {
    return answered(*ada->client, 4) && answered(*bob->client, 4) && answered(*cy->client, 4) &&
           answered(*dee->client, 4) && answered(*relay->client, 4);
  }));
  const auto expected = ada->client->transcript().turns();
  EXPECT_EQ(expected[1].text, "THROUGH THE TREE");
  EXPECT_EQ(relay->client->transcript().turns(), expected);
  EXPECT_EQ(bob->client->transcript().turns(), expected);
  EXPECT_EQ(cy->client->transcript().turns(), expected);
  EXPECT_EQ(dee->client->transcript().turns(), expected);
  auto stats = host->stats();
  EXPECT_EQ(stats.relays, 1u);
  EXPECT_EQ(stats.relayed_viewers, 2u);
  EXPECT_EQ(stats.relay_introductions, 2u);
  EXPECT_EQ(stats.relay_bypasses, 0u);
  EXPECT_TRUE(stats.refused.empty()) << describe_refusals();
}

// A relay that alters what it forwards (a fault injected in the relay: one payload byte of
// every record from the first) is caught by its child's verifier before anything is shown;
// the child goes back to the host, which serves it directly from then on. Its transcript is
// the host's, byte for byte.
TEST_F(JoinTest, ATamperingRelayIsDetectedAndBypassed) {
  host = nullptr;
  host = start_host("tamper.db", 1000, /*direct_peers=*/1, /*relay_children=*/2);
  auto ada = Joiner::start(host->links().participant, "ada");
  JoinOptions bad;
  bad.link = host->links().viewer;
  bad.name = "mallory";
  bad.relay_capacity = 2;
  bad.tamper_for_test = 1;
  auto mallory = Joiner::start(std::move(bad));
  ASSERT_TRUE(wait_until([&] { return host->stats().relays == 1 && ada->client->connected(); }));
  ASSERT_TRUE(ada->client->prompt("do not alter this").has_value());
  ASSERT_TRUE(wait_until([&] { return answered(*ada->client, 2); }));
  auto bob = Joiner::start(host->links().viewer, "bob");
  ASSERT_TRUE(wait_until([&] { return host->stats().relay_bypasses == 1; }))
      << "introductions " << host->stats().relay_introductions << " relayed "
      << host->stats().relayed_viewers << " bob connected " << bob->client->connected()
      << " via relay " << bob->client->via_relay() << " turns "
      << bob->client->transcript().turns().size();
  ASSERT_TRUE(wait_until([&] { return bob->client->connected() && answered(*bob->client, 2); }));
  EXPECT_FALSE(bob->client->via_relay());
  host->prompt("and this");
  ASSERT_TRUE(wait_until([&] { return answered(*ada->client, 4) && answered(*bob->client, 4); }));
  EXPECT_EQ(bob->client->transcript().turns(), ada->client->transcript().turns());
  EXPECT_EQ(host->stats().relay_introductions, 1u);
}

// A relay killed with SIGKILL says nothing: its child notices the silence (its stall timer),
// goes back to the host and resumes from the last record it verified, with no gap and no
// duplicate. The time it took is printed (docs/BENCHMARKS.md measures it: bench/relay_bench).
TEST_F(JoinTest, ChildrenOfAKilledRelayResumeWithNoGapOrDuplicate) {
  host = nullptr;
  host = start_host("kill.db", 1000, /*direct_peers=*/1, /*relay_children=*/2);
  auto ada = Joiner::start(host->links().participant, "ada");
  RelayProcess relay(host->links().viewer, 2);
  ASSERT_TRUE(relay.running());
  ASSERT_TRUE(wait_until([&] { return host->stats().relays == 1 && ada->client->connected(); }));
  auto bob = Joiner::start(host->links().viewer, "bob");
  ASSERT_TRUE(wait_until([&] { return bob->client->connected() && bob->client->via_relay(); }));
  ASSERT_TRUE(ada->client->prompt("before the kill").has_value());
  ASSERT_TRUE(wait_until([&] { return answered(*ada->client, 2) && answered(*bob->client, 2); }));
  const auto killed_at = std::chrono::steady_clock::now();
  relay.kill_hard();
  ASSERT_TRUE(wait_until([&] { return bob->client->connected() && !bob->client->via_relay(); }));
  std::printf("re-parented %lld ms after the relay was killed\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - killed_at)
                                         .count()));
  host->prompt("after the kill");
  ASSERT_TRUE(wait_until([&] { return answered(*ada->client, 4) && answered(*bob->client, 4); }));
  EXPECT_EQ(bob->client->transcript().turns(), ada->client->transcript().turns());
}

// A relay (a JoinClient offering `capacity`) whose thread can be stuck in its own event
// callback while its links stay up: after freeze() it stops at its next event, until thaw().
struct FreezableRelay {
  std::mutex mu;
  std::condition_variable cv;
  bool frozen = false;
  bool stuck = false;
  std::unique_ptr<JoinClient> client;

  FreezableRelay(const std::string& link, uint64_t capacity) {
    JoinOptions o;
    o.link = link;
    o.name = "relay";
    o.relay_capacity = capacity;
    JoinCallbacks cb;
    cb.on_event = [this](const ClientEvent&) {
      std::unique_lock lock(mu);
      stuck = frozen;
      cv.notify_all();
      cv.wait(lock, [this] { return !frozen; });
    };
    auto started = JoinClient::start(std::move(o), std::move(cb));
    EXPECT_TRUE(started);
    if (started) client = std::move(*started);
  }
  ~FreezableRelay() {
    thaw();
    client.reset();
  }
  void freeze() {
    std::lock_guard lock(mu);
    frozen = true;
  }
  void thaw() {
    {
      std::lock_guard lock(mu);
      frozen = false;
    }
    cv.notify_all();
  }
  // The relay's thread has stopped (after freeze() and an event for it).
  bool wait_stuck() {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 15s, [this] { return stuck; });
  }
};

// A relay that stops forwarding without closing anything (its thread stuck: frozen here in
// its own event callback) is told apart from a quiet host by the child's stall timer (pings
// every 250 ms, given up after 1 s of silence): the child goes back through the host and
// resumes with no gap and no duplicate.
TEST_F(JoinTest, AChildGivesUpAStalledRelayAndResumesThroughTheHost) {
  host.reset();
  host = start_host("stall.db", 1000, /*direct_peers=*/1, /*relay_children=*/2);
  FreezableRelay relay(host->links().viewer, 2);
  ASSERT_TRUE(relay.client);
  ASSERT_TRUE(wait_until([&] { return relay.client->connected(); }));
  auto child = Joiner::start(host->links().viewer, "child");
  ASSERT_TRUE(wait_until([&] { return child->client->connected(); }));
  ASSERT_TRUE(child->client->via_relay());
  host->prompt("before the stall");
  ASSERT_TRUE(
      wait_until([&] { return answered(*relay.client, 2) && answered(*child->client, 2); }));
  const auto before = child->client->transcript().turns();
  relay.freeze();  // the relay's thread stops at its next event
  host->prompt("during the stall");
  const bool back = wait_until([&] {
    return child->client->connected() && !child->client->via_relay() && answered(*child->client, 4);
  });
  relay.thaw();
  ASSERT_TRUE(back) << "the child did not leave its stalled relay";
  const auto after = child->client->transcript().turns();
  ASSERT_EQ(after.size(), 4u);
  EXPECT_EQ(std::vector(after.begin(), after.begin() + 2), before);
  EXPECT_EQ(after[3].text, "DURING THE STALL");
  EXPECT_FALSE(child->outcome());
}

// Issue 15: a viewer that comes back from its relay while the host has no free slot (here
// --max-peers; in a big room, the host's budget of joins in progress when a relay's whole
// subtree returns at once) is refused room_full, but it was in the room: it keeps trying and
// comes back once a slot frees, instead of being turned away for good.
TEST_F(JoinTest, AViewerComingBackToAFullHostRetriesUntilASlotFrees) {
  host.reset();
  host = start_host("full.db", /*max_peers=*/2, /*direct_peers=*/1, /*relay_children=*/1);
  FreezableRelay relay(host->links().viewer, 1);
  ASSERT_TRUE(relay.client);
  ASSERT_TRUE(wait_until([&] { return relay.client->connected(); }));
  auto child = Joiner::start(host->links().viewer, "child");
  ASSERT_TRUE(wait_until([&] { return child->client->connected(); }));
  ASSERT_TRUE(child->client->via_relay());
  // The relay's one slot is taken: dan is served directly, and the host is full (2 links).
  auto dan = Joiner::start(host->links().viewer, "dan");
  ASSERT_TRUE(wait_until([&] { return dan->client->connected(); }));
  EXPECT_FALSE(dan->client->via_relay());
  host->prompt("before the stall");
  ASSERT_TRUE(wait_until([&] { return answered(*child->client, 2); }));
  relay.freeze();  // the child gives its relay up and comes back to a full host
  host->prompt("while full");
  const bool refused_full = wait_until([&] { return host->stats().joins_refused_full >= 1; });
  const bool still_joining = !child->outcome();
  dan.reset();  // a slot frees
  const bool back = wait_until([&] {
    return child->client->connected() && !child->client->via_relay() && answered(*child->client, 4);
  });
  relay.thaw();
  ASSERT_TRUE(refused_full) << "the child never came back to the full host";
  EXPECT_TRUE(still_joining) << "a returning viewer was turned away for good";
  ASSERT_TRUE(back) << "the child did not come back once a slot freed";
  const auto after = child->client->transcript().turns();
  ASSERT_EQ(after.size(), 4u);
  EXPECT_EQ(after[3].text, "WHILE FULL");
  EXPECT_FALSE(child->outcome());
}

// A relay that neither answers nor refuses an introduction (its thread stuck, its link up):
// after 4 s the host answers the viewer itself, well within the viewer's answer timeout.
TEST_F(JoinTest, AViewerWhoseRelayDoesNotAnswerIsAnsweredByTheHost) {
  host.reset();
  host = start_host("mute.db", 1000, /*direct_peers=*/1, /*relay_children=*/2);
  FreezableRelay relay(host->links().viewer, 2);
  ASSERT_TRUE(relay.client);
  ASSERT_TRUE(wait_until([&] { return host->stats().relays == 1; }));
  relay.freeze();
  host->prompt("nobody answers");
  ASSERT_TRUE(relay.wait_stuck());
  auto child = Joiner::start(host->links().viewer, "child");
  const bool served = wait_until([&] {
    return child->client->connected() && !child->client->via_relay() && answered(*child->client, 2);
  });
  relay.thaw();
  ASSERT_TRUE(served);
  EXPECT_EQ(child->client->transcript().turns()[1].text, "NOBODY ANSWERS");
  EXPECT_EQ(host->stats().relay_introductions, 1u);
  EXPECT_FALSE(child->outcome());
}

TEST_F(JoinTest, WrongSecretFindsNoHostAndSaysSo) {
  auto link = parse_invite_link(host->links().viewer);
  ASSERT_TRUE(link);
  std::array<uint8_t, 66> payload{};
  payload[0] = 1;
  payload[1] = 0;
  auto secret = link->secret.bytes();
  std::copy(secret.begin(), secret.end(), payload.begin() + 2);
  payload[2] ^= 0x01;
  std::copy(link->host_key.begin(), link->host_key.end(), payload.begin() + 34);
  std::string wrong = link->base_url + "/j#" + base64url_encode(payload);
  auto joiner = Joiner::start(wrong, "mallory", 1500ms);
  ASSERT_TRUE(wait_until([&] { return joiner->outcome().has_value(); }, 5s));
  EXPECT_EQ(*joiner->outcome(), JoinFailure::kNoAnswer);
  EXPECT_NE(std::string(join_failure_text(JoinFailure::kNoAnswer)).find("invite link invalid"),
            std::string::npos);

  // The same wrong secret, delivered straight into the host's real room, does not open.
  auto wrong_link = parse_invite_link(wrong);
  ASSERT_TRUE(wrong_link);
  rendezvous::PeerId host_peer = 0;
  auto peer = raw_peer(*link, &host_peer);
  std::unique_ptr<PeerLink> keep;
  auto offer = JoinerHandshake::start(*wrong_link, "mallory", real_offer_sdp(keep), unix_ms(),
                                      system_random());
  ASSERT_TRUE(offer);
  ASSERT_TRUE(peer->client->send(host_peer, offer->offer_envelope()));
  EXPECT_TRUE(wait_until([&] { return refused("open_failed") == 1; }));
  EXPECT_TRUE(peer->quiet_for(300ms));  // no answer, no rejection: nothing to learn
}

TEST_F(JoinTest, FlippedBytesReplaysAndSplicesAreRefused) {
  auto viewer = parse_invite_link(host->links().viewer);
  auto participant = parse_invite_link(host->links().participant);
  ASSERT_TRUE(viewer && participant);
  rendezvous::PeerId host_peer = 0;
  auto peer = raw_peer(*viewer, &host_peer);
  std::unique_ptr<PeerLink> keep;
  std::string sdp = real_offer_sdp(keep);

  auto offer = JoinerHandshake::start(*viewer, "eve", sdp, unix_ms(), system_random());
  ASSERT_TRUE(offer);
  std::vector<uint8_t> envelope = offer->offer_envelope();
  // A flipped byte in the ciphertext and one in the clear join id (bound as associated data)
  // do not open; one in the clear counter makes it no offer at all.
  auto header = peek_envelope_header(envelope);
  ASSERT_TRUE(header);
  const size_t join_id_at = 2;  // version, direction, then the join id (docs/PROTOCOL.md)
  ASSERT_EQ(envelope[join_id_at], header->join_id[0]);
  for (size_t at : {envelope.size() - 5, join_id_at, join_id_at + 16}) {
    auto tampered = envelope;
    tampered[at] ^= 0x40;
    ASSERT_TRUE(peer->client->send(host_peer, tampered));
  }
  EXPECT_TRUE(wait_until([&] {
    return refused("open_failed") == 2 && refused("unknown_join") == 1;
  })) << describe_refusals();

  // An offer sealed for the participant room, spliced into the viewer room (sent before the
  // genuine offer: once that is pending, this sender's further offers are dropped unopened).
  auto spliced = JoinerHandshake::start(*participant, "eve", sdp, unix_ms(), system_random());
  ASSERT_TRUE(spliced);
  ASSERT_TRUE(peer->client->send(host_peer, spliced->offer_envelope()));
  // An offer for another session's room altogether.
  auto other_host = start_host("other.db");
  auto foreign = parse_invite_link(other_host->links().viewer);
  ASSERT_TRUE(foreign);
  auto foreign_offer = JoinerHandshake::start(*foreign, "eve", sdp, unix_ms(), system_random());
  ASSERT_TRUE(foreign_offer);
  ASSERT_TRUE(peer->client->send(host_peer, foreign_offer->offer_envelope()));
  EXPECT_TRUE(wait_until([&] { return refused("open_failed") == 4; })) << describe_refusals();

  // The genuine offer is answered, with an answer that verifies...
  ASSERT_TRUE(peer->client->send(host_peer, envelope));
  Event answer = peer->expect(Event::kEnvelope);
  ASSERT_FALSE(looks_like_beacon(answer.payload));
  auto verified = offer->receive(answer.payload);
  ASSERT_TRUE(verified);
  EXPECT_TRUE(std::holds_alternative<VerifiedAnswer>(*verified));
  // ...and the same offer replayed is not: refused by the handshake, or (its sender has a join
  // pending) dropped unopened by the host's admission.
  ASSERT_TRUE(peer->client->send(host_peer, envelope));
  EXPECT_TRUE(wait_until([&] {
    return refused("replayed") + refused("offer_replayed") + host->stats().offers_dropped_busy == 1;
  })) << describe_refusals();
  // Only the first join's trickled candidates follow; never a second answer.
  while (auto more = peer->next(200ms)) {
    auto event = offer->receive(more->payload);
    EXPECT_FALSE(event && std::holds_alternative<VerifiedAnswer>(*event));
  }

  EXPECT_EQ(host->stats().links_opened, 0u);
}

TEST_F(JoinTest, OffersGoOnlyToTheVerifiedHostNotToOtherLinkHolders) {
  auto link = parse_invite_link(host->links().viewer);
  ASSERT_TRUE(link);
  rendezvous::PeerId host_peer = 0;
  auto eavesdropper = raw_peer(*link, &host_peer);
  auto victim = Joiner::start(host->links().viewer, "victim");
  // The eavesdropper learns that someone arrived and tries a beacon of its own making.
  Event arrived = eavesdropper->expect(Event::kPeerJoined);
  std::vector<uint8_t> fake(kBeaconSize, 0x55);
  fake[0] = kBeaconTag;
  ASSERT_TRUE(eavesdropper->client->send(arrived.id, fake));
  ASSERT_TRUE(wait_until([&] { return victim->client->connected(); }));
  // Nothing the victim sent reached the eavesdropper: no join id to forge an answer with.
  while (auto e = eavesdropper->next(200ms)) {
    EXPECT_NE(e->kind, Event::kEnvelope) << "an envelope from " << e->id;
  }
}

TEST_F(JoinTest, AnswerForgedByALinkHolderFailsClosed) {
  // A session whose host is absent; a holder of its link waits in its room to answer, helped
  // by a rendezvous that routes a genuine beacon (here signed with the real host key) for it.
  SigningKey real_host = SigningKey::generate(system_random());
  RoomSecret secret = generate_room_secret(system_random());
  auto text = format_invite_link("http://127.0.0.1:" + std::to_string(rendezvous.port()),
                                 LinkRole::kViewer, secret, real_host.public_key());
  ASSERT_TRUE(text);
  auto link = parse_invite_link(*text);
  ASSERT_TRUE(link);
  TestPeer impostor(rendezvous.ws_url(), invite_room_locator(*link));
  impostor.join();

  auto joiner = Joiner::start(*text, "victim");
  Event arrived = impostor.expect(Event::kPeerJoined);
  auto beacon = HostHandshake::create(real_host, secret, generate_room_secret(system_random()))
                    ->beacon(LinkRole::kViewer, arrived.id, impostor.client->self());
  ASSERT_TRUE(impostor.client->send(arrived.id, beacon));
  std::optional<Event> offer;
  do {
    offer = impostor.next();  // the victim's arrival notice comes first
  } while (offer && offer->kind != Event::kEnvelope);
  ASSERT_TRUE(offer);
  auto header = peek_envelope_header(offer->payload);
  ASSERT_TRUE(header);
  // The impostor can seal (it holds the secret) but signs with its own key.
  RoomKeys keys(secret, LinkRole::kViewer, real_host.public_key());
  handshake_wire::Answer forged;
  forged.sdp =
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP "
      "webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:"
      "abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 "
      "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:"
      "77:88:99\r\na=setup:active\r\na=mid:0\r\na=sctp-port:5000\r\n";
  forged.signature = SigningKey::generate(system_random()).sign(std::vector<uint8_t>{1, 2, 3});
  EnvelopeSealer sealer(keys, Direction::kHostToJoiner, header->join_id, 12345);
  auto plaintext = handshake_wire::encode(forged);
  ASSERT_TRUE(plaintext);
  auto sealed = sealer.seal(*plaintext);
  ASSERT_TRUE(sealed);
  ASSERT_TRUE(impostor.client->send(offer->id, *sealed));
  ASSERT_TRUE(wait_until([&] { return joiner->outcome().has_value(); }, 5s));
  EXPECT_EQ(*joiner->outcome(), JoinFailure::kInvalidAnswer);
  EXPECT_FALSE(joiner->client->connected());
}

// Issue 14, finding 1: each authentic offer used to hold one of max_peers slots for 30 s, so
// one holder of the public viewer link could fill them and every newcomer got room_full.
TEST_F(JoinTest, OneLinkHolderFloodingOffersCannotLockOthersOut) {
  host.reset();
  host = start_host("small.db", 20);
  auto link = parse_invite_link(host->links().viewer);
  ASSERT_TRUE(link);
  rendezvous::PeerId host_peer = 0;
  auto flooder = raw_peer(*link, &host_peer);
  std::unique_ptr<PeerLink> keep;
  std::string sdp = real_offer_sdp(keep);
  for (int i = 0; i < 60; ++i) {
    auto offer = JoinerHandshake::start(*link, "flood", sdp, unix_ms(), system_random());
    ASSERT_TRUE(offer);
    ASSERT_TRUE(flooder->client->send(host_peer, offer->offer_envelope()));
  }
  // Every offer was either dropped (its sender already has a join pending), refused by the
  // inbox's per-sender bound, or taken: none is left in flight.
  EXPECT_TRUE(wait_until([&] {
    auto s = host->stats();
    return s.joins_answered + s.offers_dropped_busy + s.envelopes_dropped == 60;
  })) << host->stats().offers_dropped_busy;
  auto newcomer = Joiner::start(host->links().viewer, "newcomer");
  ASSERT_TRUE(
      wait_until([&] { return newcomer->client->connected() || newcomer->outcome().has_value(); }));
  EXPECT_FALSE(newcomer->outcome().has_value())
      << join_failure_text(*newcomer->outcome()) << ": " << newcomer->detail;
  EXPECT_TRUE(newcomer->client->connected());
  EXPECT_EQ(host->stats().joins_refused_full, 0u);
}

// Issue 14, finding 10: a joiner whose signaling was altered on the way says so (exit 7 in
// `tokencast join`) instead of "no host answered".
TEST_F(JoinTest, BeaconsThatDoNotVerifySaySignalingWasAltered) {
  SigningKey absent_host = SigningKey::generate(system_random());
  RoomSecret secret = generate_room_secret(system_random());
  auto text = format_invite_link("http://127.0.0.1:" + std::to_string(rendezvous.port()),
                                 LinkRole::kViewer, secret, absent_host.public_key());
  ASSERT_TRUE(text);
  auto link = parse_invite_link(*text);
  ASSERT_TRUE(link);
  TestPeer middle(rendezvous.ws_url(), invite_room_locator(*link));
  middle.join();
  auto joiner = Joiner::start(*text, "victim", 1500ms);
  Event arrived = middle.expect(Event::kPeerJoined);
  // A genuine beacon with one flipped bit, as a man in the middle would deliver it.
  auto beacon = HostHandshake::create(absent_host, secret, generate_room_secret(system_random()))
                    ->beacon(LinkRole::kViewer, arrived.id, middle.client->self());
  beacon[10] ^= 0x01;
  ASSERT_TRUE(middle.client->send(arrived.id, beacon));
  ASSERT_TRUE(wait_until([&] { return joiner->outcome().has_value(); }, 5s));
  EXPECT_EQ(*joiner->outcome(), JoinFailure::kSignalingAltered) << joiner->detail;
  EXPECT_NE(std::string(join_failure_text(JoinFailure::kSignalingAltered)).find("altered"),
            std::string::npos);
}

}  // namespace
}  // namespace tokencast
