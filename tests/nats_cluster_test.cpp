// Rendezvous instances sharing rooms through a real nats-server (Debian's), on loopback: peers
// on different instances meet and relay; a killed instance's peers leave everywhere; an
// instance cut off from NATS takes no new rooms and says so, then recovers; a NATS node of a
// three-node cluster dies and the instances move to another node.
#include <netinet/in.h>

#include <filesystem>
#include <set>

#include "signal_test_support.hpp"
#include "support/nats_server.hpp"
#include "tokencast/nats/nats_bus.hpp"
#include "tokencast/signal/cluster_wire.hpp"
#include "tokencast/signal/rendezvous.hpp"

namespace tokencast::test {
namespace {

// A rendezvous instance in this process, on its own bus to `urls`.
struct Instance {
  explicit Instance(std::vector<std::string> urls, std::string token = "") {
    nats::NatsOptions n;
    n.urls = std::move(urls);
    n.token = std::move(token);
    auto bus = nats::connect_nats(std::move(n));
    EXPECT_TRUE(bus) << (bus ? "" : bus.error());
    rv::ServerOptions o;
    o.listen_port = 0;
    o.cluster = bus ? *bus : nullptr;
    o.cluster_heartbeat = 100ms;
    o.cluster_expiry = 1000ms;
    server = std::make_unique<rv::Server>(o);
    EXPECT_TRUE(server->start());
  }
  std::string ws_url() const { return "ws://127.0.0.1:" + std::to_string(server->port()) + "/ws"; }
  unsigned healthz() const { return http_request(server->port(), "/healthz").status; }
  std::unique_ptr<rv::Server> server;
};

// Waits until `peer` knows `other`: listed in its JOINED (`listed`), or announced since.
void expect_meets(TestPeer& peer, const std::vector<rv::PeerId>& listed, rv::PeerId other) {
  if (std::find(listed.begin(), listed.end(), other) != listed.end()) return;
  auto e = peer.expect(Event::kPeerJoined, 15s);
  EXPECT_EQ(e.id, other);
}

// Consumes `peer`'s events until one of `kind` about `id` (skipping others); false if none
// comes.
bool await_event(TestPeer& peer, Event::Kind kind, rv::PeerId id,
                 std::chrono::milliseconds limit = 15s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    auto e = peer.next(100ms);
    if (e && e->kind == kind && e->id == id) return true;
  }
  return false;
}

void expect_relay(TestPeer& from, rv::PeerId from_id, TestPeer& to, rv::PeerId to_id,
                  const std::string& text) {
  std::vector<uint8_t> payload(text.begin(), text.end());
  ASSERT_TRUE(from.client->send(to_id, payload));
  auto e = to.expect(Event::kEnvelope, 15s);
  EXPECT_EQ(e.id, from_id);
  EXPECT_EQ(e.payload, payload);
}

TEST(NatsCluster, PeersOnThreeInstancesMeetRelayInOrderAndLeave) {
  NatsServer nats(free_port());
  ASSERT_TRUE(nats.ready());
  Instance a({nats.url()}), b({nats.url()}), c({nats.url()});
  ASSERT_TRUE(eventually([&] { return a.healthz() == 200 && b.healthz() == 200; }));

  // The host joins with a JOIN message (as an older client does), the others in the WebSocket
  // upgrade (the join subprotocol, the native client's default): one room across instances.
  rv::ClientOptions classic;
  classic.join_in_upgrade = false;
  TestPeer host(a.ws_url(), room(7), classic);
  rv::PeerId host_id = host.join();
  TestPeer joiner(b.ws_url(), room(7));
  std::vector<rv::PeerId> listed;
  rv::PeerId joiner_id = joiner.join(&listed);
  EXPECT_EQ(host.expect(Event::kPeerJoined, 15s).id, joiner_id);
  expect_meets(joiner, listed, host_id);
  expect_relay(joiner, joiner_id, host, host_id, "offer");
  expect_relay(host, host_id, joiner, joiner_id, "answer");

  // Many envelopes from one sender arrive in the order they were sent.
  for (int i = 0; i < 200; ++i) {
    std::string text = "candidate " + std::to_string(i);
    ASSERT_TRUE(joiner.client->send(host_id, std::vector<uint8_t>(text.begin(), text.end())));
  }
  for (int i = 0; i < 200; ++i) {
    auto e = host.expect(Event::kEnvelope, 15s);
    EXPECT_EQ(std::string(e.payload.begin(), e.payload.end()), "candidate " + std::to_string(i));
  }

  // A third instance: everyone hears of the newcomer once.
  TestPeer third(c.ws_url(), room(7));
  std::vector<rv::PeerId> third_listed;
  rv::PeerId third_id = third.join(&third_listed);
  EXPECT_EQ(host.expect(Event::kPeerJoined, 15s).id, third_id);
  EXPECT_EQ(joiner.expect(Event::kPeerJoined, 15s).id, third_id);
  // Those it does not find in JOINED arrive as PEER_JOINED, in no fixed order.
  std::set<rv::PeerId> known(third_listed.begin(), third_listed.end());
  while (known.size() < 2) {
    auto e = third.expect(Event::kPeerJoined, 15s);
    if (e.kind != Event::kPeerJoined) break;
    EXPECT_TRUE(known.insert(e.id).second) << "told twice";
  }
  EXPECT_EQ(known, (std::set<rv::PeerId>{host_id, joiner_id}));
  expect_relay(third, third_id, joiner, joiner_id, "hello from C");

  // Other rooms do not see any of it.
  TestPeer stranger(c.ws_url(), room(8));
  std::vector<rv::PeerId> stranger_listed;
  stranger.join(&stranger_listed);
  EXPECT_TRUE(stranger_listed.empty());

  joiner.client.reset();
  EXPECT_EQ(host.expect(Event::kPeerLeft, 15s).id, joiner_id);
  EXPECT_EQ(third.expect(Event::kPeerLeft, 15s).id, joiner_id);
  EXPECT_GE(metric(a.server->port(), "tokencast_rendezvous_cluster_relays_in_total"), 201);
  EXPECT_GE(metric(b.server->port(), "tokencast_rendezvous_cluster_relays_out_total"), 201);
  EXPECT_TRUE(stranger.quiet_for(100ms));
}

TEST(NatsCluster, AKilledInstancesPeersLeaveEverywhere) {
  NatsServer nats(free_port());
  ASSERT_TRUE(nats.ready());
  Instance a({nats.url()});
  ServerProcess b({"--nats", nats.url(), "--cluster-heartbeat", "100ms", "--cluster-expiry", "1s"});
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(eventually([&] { return http_request(b.port(), "/healthz").status == 200; }));

  TestPeer host(a.ws_url(), room(3));
  rv::PeerId host_id = host.join();
  TestPeer doomed(b.ws_url(), room(3));
  rv::PeerId doomed_id = doomed.join();
  EXPECT_EQ(host.expect(Event::kPeerJoined, 15s).id, doomed_id);

  b.kill_hard();  // no PEER_GONE: only its silence tells
  EXPECT_EQ(host.expect(Event::kPeerLeft, 15s).id, doomed_id);

  // The room lives on: a new joiner on a new instance meets the host.
  Instance c({nats.url()});
  TestPeer joiner(c.ws_url(), room(3));
  std::vector<rv::PeerId> listed;
  rv::PeerId joiner_id = joiner.join(&listed);
  EXPECT_EQ(host.expect(Event::kPeerJoined, 15s).id, joiner_id);
  expect_meets(joiner, listed, host_id);
  expect_relay(joiner, joiner_id, host, host_id, "still here");
}

TEST(NatsCluster, WithoutNatsAnInstanceTakesNoNewRoomsThenRecovers) {
  const uint16_t port = free_port();
  auto nats = std::make_unique<NatsServer>(port);
  ASSERT_TRUE(nats->ready());
  Instance a({nats->url()}), b({nats->url()});
  TestPeer host(a.ws_url(), room(5));
  rv::PeerId host_id = host.join();
  TestPeer local(a.ws_url(), room(5));
  rv::PeerId local_id = local.join();
  host.expect(Event::kPeerJoined);
  TestPeer remote(b.ws_url(), room(5));
  rv::PeerId remote_id = remote.join();
  EXPECT_EQ(host.expect(Event::kPeerJoined, 15s).id, remote_id);
  EXPECT_EQ(local.expect(Event::kPeerJoined, 15s).id, remote_id);

  nats->kill_hard();
  ASSERT_TRUE(eventually([&] { return a.healthz() == 503; }));
  // Cut off, the remote peer is gone for the host; the local room still relays.
  EXPECT_EQ(host.expect(Event::kPeerLeft, 15s).id, remote_id);
  expect_relay(local, local_id, host, host_id, "local still works");
  // A new room is refused; an existing one may still be joined.
  TestPeer refused(a.ws_url(), room(6));
  EXPECT_EQ(refused.expect(Event::kClosed).close.code,
            static_cast<uint16_t>(rv::CloseCode::kTooManyRooms));
  EXPECT_NE(metric(a.server->port(), "tokencast_rendezvous_cluster_connected"), 1);

  nats = std::make_unique<NatsServer>(port);
  ASSERT_TRUE(nats->ready());
  ASSERT_TRUE(eventually([&] { return a.healthz() == 200 && b.healthz() == 200; }));
  // After the resync they meet again, and relay.
  EXPECT_TRUE(await_event(host, Event::kPeerJoined, remote_id));
  EXPECT_TRUE(await_event(remote, Event::kPeerJoined, host_id));
  expect_relay(remote, remote_id, host, host_id, "back");
  TestPeer fresh(a.ws_url(), room(6));
  fresh.join();
}

TEST(NatsCluster, ANatsNodeDiesAndInstancesMoveToAnother) {
  const uint16_t p1 = free_port(), p2 = free_port(), p3 = free_port();
  const uint16_t c1 = free_port(), c2 = free_port(), c3 = free_port();
  NatsServer n1(p1, c1, {c2, c3}), n2(p2, c2, {c1, c3}), n3(p3, c3, {c1, c2});
  ASSERT_TRUE(n1.ready() && n2.ready() && n3.ready());
  // A starts on node 1 (listed first and only node 1 reachable at first would be too strict:
  // libnats shuffles), B on node 2 only.
  Instance a({n1.url(), n3.url()});
  Instance b({n2.url()});
  TestPeer host(a.ws_url(), room(9));
  rv::PeerId host_id = host.join();
  // The cluster's routes form asynchronously: the joiner meets the host once they have.
  std::unique_ptr<TestPeer> joiner;
  rv::PeerId joiner_id = 0;
  ASSERT_TRUE(eventually([&] {
    joiner = std::make_unique<TestPeer>(b.ws_url(), room(9));
    std::vector<rv::PeerId> listed;
    joiner_id = joiner->join(&listed);
    if (std::find(listed.begin(), listed.end(), host_id) != listed.end()) return true;
    auto e = joiner->next(2s);
    return e && e->kind == Event::kPeerJoined && e->id == host_id;
  }));
  // The host heard of the attempts (PEER_JOINED / PEER_LEFT): skip to this joiner's envelope.
  std::string text = "via the cluster";
  ASSERT_TRUE(joiner->client->send(host_id, std::vector<uint8_t>(text.begin(), text.end())));
  EXPECT_TRUE(await_event(host, Event::kEnvelope, joiner_id));

  n1.kill_hard();
  // A moves to node 3 (its other URL); the established room keeps relaying both ways.
  ASSERT_TRUE(eventually([&] {
    std::string text = "after failover";
    if (!joiner->client->send(host_id, std::vector<uint8_t>(text.begin(), text.end()))) {
      return false;
    }
    for (;;) {
      auto e = host.next(500ms);
      if (!e) return false;
      if (e->kind == Event::kEnvelope && e->id == joiner_id &&
          std::string(e->payload.begin(), e->payload.end()) == text) {
        return true;
      }
    }
  }));
  EXPECT_EQ(a.healthz(), 200u);
}

// NATS with a token: instances that present it share rooms; a bus without it never connects.
TEST(NatsCluster, ATokenProtectedNatsAdmitsOnlyInstancesWithTheToken) {
  NatsServer nats(free_port(), 0, {}, {"--auth", "s3cret-token"});
  ASSERT_TRUE(nats.ready());
  Instance a({nats.url()}, "s3cret-token"), b({nats.url()}, "s3cret-token");
  ASSERT_TRUE(eventually([&] { return a.healthz() == 200 && b.healthz() == 200; }));
  TestPeer host(a.ws_url(), room(4));
  rv::PeerId host_id = host.join();
  TestPeer joiner(b.ws_url(), room(4));
  std::vector<rv::PeerId> listed;
  rv::PeerId joiner_id = joiner.join(&listed);
  EXPECT_EQ(host.expect(Event::kPeerJoined, 15s).id, joiner_id);
  expect_meets(joiner, listed, host_id);

  nats::NatsOptions without;
  without.urls = {nats.url()};
  auto bus = nats::connect_nats(without);
  // Refused at once, or kept trying in the background: never connected.
  EXPECT_TRUE(!bus || !(*bus)->connected());
  nats::NatsOptions wrong = without;
  wrong.token = "not-the-token";
  auto wrong_bus = nats::connect_nats(wrong);
  EXPECT_TRUE(!wrong_bus || !(*wrong_bus)->connected());
}

TEST(NatsCluster, OptionsAreCheckedBeforeConnecting) {
  EXPECT_TRUE(nats::validate_nats_urls({}).has_value());
  EXPECT_TRUE(nats::validate_nats_urls({"http://127.0.0.1:4222"}).has_value());
  EXPECT_TRUE(nats::validate_nats_urls({"nats://user:pass@127.0.0.1:4222"}).has_value());
  EXPECT_TRUE(nats::validate_nats_urls({"nats://127.0.0.1"}).has_value());
  EXPECT_TRUE(nats::validate_nats_urls({"nats://127.0.0.1:4222 x"}).has_value());
  EXPECT_FALSE(nats::validate_nats_urls({"nats://127.0.0.1:4222", "tls://n.example:4222"}));
  nats::NatsOptions both;
  both.urls = {"nats://127.0.0.1:4222"};
  both.token = "t";
  both.credentials_file = "/nonexistent.creds";
  EXPECT_FALSE(nats::connect_nats(both).has_value());
}

}  // namespace
}  // namespace tokencast::test
