// The rendezvous server embedded in-process (as `tokencast host` does on a LAN), and the pure
// pieces of the signal module: token bucket, path rules, room registry, URL parsing.
#include <fstream>
#include <nlohmann/json.hpp>

#include "rate_limiter.hpp"
#include "room_registry.hpp"
#include "server_context.hpp"
#include "signal_test_support.hpp"
#include "static_files.hpp"
#include "token_bucket.hpp"
#include "tokencast/signal/rendezvous.hpp"
#include "tokencast/turn_credentials.hpp"

namespace tokencast::test {
namespace {

TEST(TokenBucket, RefillsAtRateUpToBurstAndLendsOneMessage) {
  auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  rv::TokenBucket bucket(10, 3, t0);  // 10 per second: one token every 100 ms
  auto zero = std::chrono::steady_clock::duration::zero();
  EXPECT_EQ(bucket.take_or_borrow(t0), zero);
  EXPECT_EQ(bucket.take_or_borrow(t0), zero);
  EXPECT_EQ(bucket.take_or_borrow(t0), zero);
  // The fourth is lent: wait until the debt is paid.
  EXPECT_EQ(bucket.take_or_borrow(t0), std::chrono::steady_clock::duration(100ms));
  // Half-way through the wait, the next message would leave a debt of 1.5 tokens.
  EXPECT_EQ(bucket.take_or_borrow(t0 + 50ms), std::chrono::steady_clock::duration(150ms));
  // Paid back (and one token earned) after the waits.
  EXPECT_EQ(bucket.take_or_borrow(t0 + 300ms), zero);
  // A long pause refills only to the burst.
  auto later = t0 + 10s;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(bucket.take_or_borrow(later), zero);
  EXPECT_GT(bucket.take_or_borrow(later), zero);
  // Time going backwards does not mint tokens.
  EXPECT_GT(bucket.take_or_borrow(t0), zero);
}

TEST(StaticPaths, AcceptsOnlyPlainSegments) {
  EXPECT_EQ(rv::static_path_for_target("/"), "index.html");
  EXPECT_EQ(rv::static_path_for_target("/j"), "index.html");
  EXPECT_EQ(rv::static_path_for_target("/j?x"), "index.html");
  EXPECT_EQ(rv::static_path_for_target("/assets/app-1a2B_c.js?v=3"), "assets/app-1a2B_c.js");
  for (const char* bad : {"", "x", "/..", "/../a", "/a/../b", "/a//b", "/a/", "/.env", "/a/.git/x",
                          "/a%2fb", "/a\\b", "/a b", "/a\x01", "http://h/a", "/j#frag"}) {
    EXPECT_FALSE(rv::static_path_for_target(bad).has_value()) << bad;
  }
  EXPECT_FALSE(rv::static_path_for_target("/" + std::string(2000, 'a')).has_value());
  EXPECT_EQ(rv::content_type_for("a/b.wasm"), "application/wasm");
  EXPECT_EQ(rv::content_type_for("a.d/b"), "application/octet-stream");
  EXPECT_EQ(rv::content_type_for("x.unknown"), "application/octet-stream");
}

struct RecordingMember : rv::RoomMember {
  std::vector<std::vector<uint8_t>> got;
  void deliver(rv::OutMessage m) override { got.emplace_back(m.data.get(), m.data.get() + m.size); }
};

TEST(RoomRegistry, JoinLeaveAndLimits) {
  rv::Metrics metrics;
  rv::RoomRegistry registry(2, 2, metrics);
  auto a = std::make_shared<RecordingMember>();
  auto b = std::make_shared<RecordingMember>();
  auto c = std::make_shared<RecordingMember>();
  auto ja = registry.join(room(1), a);
  ASSERT_TRUE(ja);
  EXPECT_TRUE(ja->other_ids.empty());
  auto jb = registry.join(room(1), b);
  ASSERT_TRUE(jb);
  EXPECT_EQ(jb->other_ids, std::vector<rv::PeerId>{ja->id});
  EXPECT_EQ(jb->room, ja->room);
  EXPECT_NE(ja->id, jb->id);
  EXPECT_EQ(ja->room->find(jb->id), b);
  EXPECT_EQ(ja->room->find(12345), nullptr);
  EXPECT_EQ(registry.join(room(1), c).error(), rv::RoomRegistry::JoinError::kRoomFull);
  ASSERT_TRUE(registry.join(room(2), c));
  EXPECT_EQ(registry.join(room(3), c).error(), rv::RoomRegistry::JoinError::kTooManyRooms);
  EXPECT_EQ(metrics.rooms.load(), 2u);
  auto left = registry.leave(ja->room, ja->id);
  ASSERT_EQ(left.rest.size(), 1u);
  EXPECT_EQ(left.rest[0], b);
  EXPECT_FALSE(left.emptied);
  EXPECT_FALSE(registry.leave(ja->room, ja->id).removed);  // twice: nothing
  auto last = registry.leave(jb->room, jb->id);
  EXPECT_TRUE(last.rest.empty());
  EXPECT_TRUE(last.emptied);
  EXPECT_EQ(registry.room_count(), 1u);
  EXPECT_EQ(metrics.rooms.load(), 1u);
  ASSERT_TRUE(registry.join(room(3), a));  // room 1 is gone, so room 3 fits
}

// Remote members (a cluster's other instances): listed in JOINED, counted in the room's size,
// told to locals once, removable only by the instance that announced them, and gone with the
// last local member.
TEST(RoomRegistry, RemoteMembersOfOtherInstances) {
  rv::Metrics metrics;
  rv::RoomRegistry registry(4, 3, metrics);
  auto a = std::make_shared<RecordingMember>();
  auto far = std::make_shared<RecordingMember>();
  EXPECT_TRUE(registry.add_remote(room(1), 77, 9, far).empty());  // room not held here
  auto ja = registry.join(room(1), a);
  ASSERT_TRUE(ja);
  EXPECT_TRUE(ja->created);
  auto told = registry.add_remote(room(1), 77, 9, far);
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0], a);
  EXPECT_TRUE(registry.add_remote(room(1), 77, 9, far).empty());      // known already
  EXPECT_TRUE(registry.add_remote(room(1), ja->id, 9, far).empty());  // a local id
  EXPECT_EQ(ja->room->find(77), far);
  EXPECT_EQ(ja->room->size(), 2u);
  EXPECT_EQ(ja->room->local_ids(), std::vector<rv::PeerId>{ja->id});
  auto b = std::make_shared<RecordingMember>();
  auto jb = registry.join(room(1), b);
  ASSERT_TRUE(jb);
  EXPECT_FALSE(jb->created);
  EXPECT_EQ(jb->other_ids.size(), 2u);  // a and the remote 77
  EXPECT_EQ(jb->others.size(), 1u);     // only a is told here; 77's instance hears it on the bus
  EXPECT_EQ(registry.join(room(1), std::make_shared<RecordingMember>()).error(),
            rv::RoomRegistry::JoinError::kRoomFull);            // 3 with the remote one
  EXPECT_TRUE(registry.remove_remote(room(1), 77, 8).empty());  // not its instance
  EXPECT_EQ(registry.remove_remote(room(1), 77, 9).size(), 2u);
  EXPECT_EQ(ja->room->find(77), nullptr);
  ASSERT_EQ(registry.add_remote(room(1), 78, 9, far).size(), 2u);
  ASSERT_EQ(registry.add_remote(room(1), 79, 5, far).size(), 0u);  // the room is full
  std::vector<rv::PeerId> gone;
  registry.remove_instance(9, [&](rv::PeerId id, auto locals) {
    gone.push_back(id);
    EXPECT_EQ(locals.size(), 2u);
  });
  EXPECT_EQ(gone, std::vector<rv::PeerId>{78});
  registry.add_remote(room(1), 80, 5, far);
  registry.leave(ja->room, ja->id);
  EXPECT_TRUE(registry.leave(jb->room, jb->id).emptied);
  EXPECT_EQ(ja->room->find(80), nullptr);  // remote members go with the last local one
}

TEST(WsUrl, Parses) {
  auto u = rv::parse_ws_url("ws://example.org:9000/rv/ws?x=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "example.org");
  EXPECT_EQ(u->port, 9000);
  EXPECT_EQ(u->target, "/rv/ws?x=1");
  u = rv::parse_ws_url("ws://[::1]");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->target, "/ws");
  auto secure = rv::parse_ws_url("wss://example.org/rv/ws");
  ASSERT_TRUE(secure.has_value());
  EXPECT_TRUE(secure->tls);
  EXPECT_EQ(secure->port, 443);
  EXPECT_EQ(secure->target, "/rv/ws");
  EXPECT_FALSE(rv::parse_ws_url("ws://example.org/ws")->tls);
  EXPECT_EQ(rv::parse_ws_url("wss://[::1]:8443")->port, 8443);
  for (const char* bad :
       {"http://x/ws", "ws://", "ws://:80/ws", "ws://x:/ws", "ws://x:0", "ws://x:70000",
        "ws://u@x/ws", "ws://[::1/ws", "ws://x/a b", "ws://x/ws#f"}) {
    EXPECT_FALSE(rv::parse_ws_url(bad).has_value()) << bad;
  }
}

TEST(ServerOptions, Validation) {
  rv::ServerOptions o;
  EXPECT_FALSE(rv::validate(o).has_value());
  o.max_peers_per_room = rv::kMaxRoomPeers + 1;
  EXPECT_TRUE(rv::validate(o).has_value());
  o = {};
  o.max_envelope_size = rv::kMaxEnvelopeSize + 1;
  EXPECT_TRUE(rv::validate(o).has_value());
  o = {};
  o.threads = 0;
  EXPECT_TRUE(rv::validate(o).has_value());
  o = {};
  o.max_queued_bytes = 1000;
  EXPECT_TRUE(rv::validate(o).has_value());
  o = {};
  o.listen_host = "not an address";
  EXPECT_TRUE(rv::validate(o).has_value());
  rv::Server bad(o);
  auto started = bad.start();
  ASSERT_FALSE(started);
  EXPECT_TRUE(started.error() == std::errc::invalid_argument);
}

TEST(InProcessServer, StartRelayStatsStop) {
  rv::ServerOptions o;
  o.listen_port = 0;
  o.threads = 2;
  rv::Server server(o);
  ASSERT_TRUE(server.start());
  ASSERT_NE(server.port(), 0);
  std::string url = "ws://127.0.0.1:" + std::to_string(server.port()) + "/ws";
  TestPeer a(url, room(1));
  rv::PeerId a_id = a.join();
  TestPeer b(url, room(1));
  b.join();
  a.expect(Event::kPeerJoined);
  ASSERT_TRUE(b.client->send(a_id, bytes("hello")));
  EXPECT_EQ(a.expect(Event::kEnvelope).payload, bytes("hello"));
  auto stats = server.stats();
  EXPECT_EQ(stats.peers, 2u);
  EXPECT_EQ(stats.rooms, 1u);
  EXPECT_EQ(stats.envelopes_relayed_total, 1u);
  EXPECT_EQ(stats.envelope_bytes_relayed_total, 5u);
  EXPECT_NE(server.metrics_text().find("tokencast_rendezvous_envelopes_relayed_total 1"),
            std::string::npos);

  auto start = std::chrono::steady_clock::now();
  server.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_EQ(a.expect(Event::kClosed).close.code, 1001);
  EXPECT_EQ(b.expect(Event::kClosed).close.reason, "server shutting down");
  EXPECT_EQ(server.stats().connections, 0u);
  server.stop();  // idempotent
}

TEST(InProcessServer, SecondServerOnSamePortFails) {
  rv::ServerOptions o;
  o.listen_port = 0;
  rv::Server first(o);
  ASSERT_TRUE(first.start());
  o.listen_port = first.port();
  rv::Server second(o);
  auto started = second.start();
  ASSERT_FALSE(started);
  EXPECT_TRUE(started.error() == std::errc::address_in_use) << started.error().message();
}

TEST(InProcessServer, StopWithSilentConnectionsIsBounded) {
  rv::ServerOptions o;
  o.listen_port = 0;
  o.close_timeout = 300ms;
  rv::Server server(o);
  ASSERT_TRUE(server.start());
  // A joined peer that will not answer the closing handshake, and a bare TCP connection.
  RawWs raw;
  ASSERT_TRUE(raw.connect(server.port()));
  raw.join_and_wait(room(3));
  RawWs bare;
  ASSERT_TRUE(bare.connect_tcp_only(server.port()));
  auto start = std::chrono::steady_clock::now();
  server.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(InProcessClient, DestroyingClientsWhileBusyIsSafe) {
  rv::ServerOptions o;
  o.listen_port = 0;
  o.rate_per_second = 1e6;
  o.rate_burst = 1e6;
  rv::Server server(o);
  ASSERT_TRUE(server.start());
  std::string url = "ws://127.0.0.1:" + std::to_string(server.port()) + "/ws";
  for (int round = 0; round < 5; ++round) {
    TestPeer a(url, room(4));
    rv::PeerId a_id = a.join();
    auto b = std::make_unique<TestPeer>(url, room(4));
    b->join();
    std::thread spam([&] {
      for (int i = 0; i < 2000; ++i) {
        if (!b->client->send(a_id, bytes("spam"))) break;
      }
    });
    spam.join();
    b.reset();  // destroyed with data in flight
  }
  for (int i = 0; i < 100 && server.stats().peers != 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server.stats().peers, 0u);
}

// Known answers for coturn's REST credentials: tests/vectors/rendezvous_ice.json.
TEST(TurnCredentials, KnownAnswers) {
  std::ifstream in(std::string(TOKENCAST_VECTORS_DIR) + "/rendezvous_ice.json");
  auto vectors = nlohmann::json::parse(in);
  ASSERT_FALSE(vectors["turn_rest_credentials"].empty());
  for (const auto& v : vectors["turn_rest_credentials"]) {
    auto c =
        rv::turn_rest_credential(v["secret"].get<std::string>(), v["expiry_unix"].get<uint64_t>(),
                                 v["tag"].get<std::string>());
    EXPECT_EQ(c.username, v["username"].get<std::string>());
    EXPECT_EQ(c.credential, v["credential"].get<std::string>());
  }
}

TEST(TurnCredentials, GrantGivesEveryTurnUrlOneFreshCredential) {
  rv::IceGrant grant;
  grant.stun_urls = {"stun:a.example:3478"};
  grant.turn_urls = {"turn:a.example:3478", "turns:a.example:5349?transport=tcp"};
  grant.turn_secret = "s";
  grant.turn_ttl_seconds = 600;
  auto entries = rv::grant_ice_servers(grant, 1000, "ab");
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0], (rv::IceServerEntry{"stun:a.example:3478", "", ""}));
  EXPECT_EQ(entries[1].username, "1600:ab");
  EXPECT_EQ(entries[1].credential, rv::turn_rest_credential("s", 1600, "ab").credential);
  EXPECT_EQ(entries[2].username, "1600:ab");
  EXPECT_TRUE(rv::encode_ice_servers(entries).has_value());
}

TEST(ServerOptions, IceGrantValidation) {
  rv::ServerOptions o;
  o.ice.stun_urls = {"stun:a.example"};
  EXPECT_FALSE(rv::validate(o).has_value());
  o.ice.turn_urls = {"turn:a.example"};
  EXPECT_TRUE(rv::validate(o).has_value());  // no secret
  o.ice.turn_secret = "s";
  EXPECT_FALSE(rv::validate(o).has_value());
  o.ice.turn_ttl_seconds = 10;
  EXPECT_TRUE(rv::validate(o).has_value());
  o.ice.turn_ttl_seconds = 3600;
  o.ice.stun_urls.assign(8, "stun:a.example");
  EXPECT_TRUE(rv::validate(o).has_value());  // nine URLs
  o.ice.stun_urls = {"ftp:a.example"};
  EXPECT_TRUE(rv::validate(o).has_value());
}

TEST(RateLimiter, BucketsPerKeyRefillAndStayBounded) {
  auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  rv::RateLimiter limiter(10, 2, 2);  // 10 per second, bursts of 2, two keys at most
  rv::RateLimiter::Key a{}, b{}, c{};
  a[0] = 1;
  b[0] = 2;
  c[0] = 3;
  EXPECT_TRUE(limiter.allow(a, t0));
  EXPECT_TRUE(limiter.allow(a, t0));
  EXPECT_FALSE(limiter.allow(a, t0));         // burst spent; nothing lent
  EXPECT_TRUE(limiter.allow(b, t0));          // another key has its own bucket
  EXPECT_FALSE(limiter.allow(c, t0));         // table full of buckets in use: fail closed
  EXPECT_TRUE(limiter.allow(a, t0 + 100ms));  // one token back
  EXPECT_FALSE(limiter.allow(a, t0 + 100ms));
  // Once b's and a's buckets have refilled they hold no state and make room for c.
  EXPECT_TRUE(limiter.allow(c, t0 + 1s));
  EXPECT_LE(limiter.size(), 2u);
  EXPECT_TRUE(limiter.allow(c, t0));   // c's second token
  EXPECT_FALSE(limiter.allow(c, t0));  // time going backwards mints nothing
}

TEST(RateLimits, ARoomReserveServesNewAddressesOnceTheGlobalBudgetIsSpent) {
  auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  rv::ServerOptions o;
  o.room_rate = 100;        // each address: bursts of 500 rooms
  o.global_room_rate = 20;  // in all: bursts of 100; the reserve: 2/s, bursts of 10
  rv::RateLimits limits(o);
  auto address = [](uint8_t n) {
    rv::AddressTable::Key key{};
    key[15] = n;
    return key;
  };
  // A "botnet" of four addresses spends the server-wide budget.
  int opened = 0;
  for (int i = 0; i < 100; ++i) opened += limits.allow_new_room(address(i % 4), true, t0);
  EXPECT_EQ(opened, 100);
  // Each of its addresses then gets one room from the reserve, and no more this minute.
  for (uint8_t a = 0; a < 4; ++a) {
    EXPECT_TRUE(limits.allow_new_room(address(a), true, t0));
    EXPECT_FALSE(limits.allow_new_room(address(a), true, t0));
  }
  // A new host on an address of its own still gets its room...
  EXPECT_TRUE(limits.allow_new_room(address(200), true, t0));
  // ...until the reserve itself is spent (10 rooms, 5 left) by as many addresses.
  for (uint8_t a = 201; a < 206; ++a) EXPECT_TRUE(limits.allow_new_room(address(a), true, t0));
  EXPECT_FALSE(limits.allow_new_room(address(206), true, t0));
  // A refused address kept its reserve share: it gets a room once the reserve refills.
  EXPECT_TRUE(limits.allow_new_room(address(206), true, t0 + 500ms));
  // Behind a proxy (no per-address limits) every client is one address: no reserve.
  rv::RateLimits proxied(o);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(proxied.allow_new_room(address(1), false, t0));
  EXPECT_FALSE(proxied.allow_new_room(address(2), false, t0));
}

TEST(AddressKey, CountsIpv4AddressesAndIpv6Prefixes) {
  auto key = [](const char* text, unsigned bits = 64) {
    return rv::AddressTable::key_of(net::ip::make_address(text), bits);
  };
  EXPECT_NE(key("192.0.2.1"), key("192.0.2.2"));
  EXPECT_EQ(key("192.0.2.1"), key("::ffff:192.0.2.1"));
  // One /64 is one subscriber: every address in it counts as one.
  EXPECT_EQ(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff:ffff:ffff:ffff"));
  EXPECT_NE(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
  EXPECT_EQ(key("2001:db8:1:2::1", 48), key("2001:db8:1:3::1", 48));
  EXPECT_NE(key("2001:db8:1:2::1", 128), key("2001:db8:1:2::2", 128));
}

TEST(RoomRegistry, NewRoomsAskTheCreationGate) {
  rv::Metrics metrics;
  rv::RoomRegistry registry(10, 10, metrics);
  auto a = std::make_shared<RecordingMember>();
  auto b = std::make_shared<RecordingMember>();
  EXPECT_EQ(registry.join(room(1), a, [] { return false; }).error(),
            rv::RoomRegistry::JoinError::kRoomRateLimited);
  ASSERT_TRUE(registry.join(room(1), a, [] { return true; }));
  bool asked = false;
  ASSERT_TRUE(registry.join(room(1), b, [&] { return asked = true; }));
  EXPECT_FALSE(asked);  // joining an existing room creates nothing
}

}  // namespace
}  // namespace tokencast::test
