// The rendezvous wire codec, byte by byte (docs/PROTOCOL.md (section 3)).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tokencast/core/base64url.hpp"
#include "tokencast/signal/cluster_wire.hpp"
#include "tokencast/signal/rendezvous_wire.hpp"

namespace rv = tokencast::rendezvous;
using rv::WireError;

namespace {

std::vector<uint8_t> hex(const std::string& text) {
  std::vector<uint8_t> out;
  std::string digits;
  for (char c : text) {
    if (c != ' ') digits.push_back(c);
  }
  for (size_t i = 0; i + 1 < digits.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  }
  return out;
}

rv::RoomLocator locator() {
  rv::RoomLocator r;
  for (size_t i = 0; i < r.size(); ++i) r[i] = static_cast<uint8_t>(i);
  return r;
}

template <class T>
T client_as(const std::vector<uint8_t>& bytes) {
  auto m = rv::decode_client_message(bytes);
  EXPECT_TRUE(m.has_value());
  EXPECT_TRUE(std::holds_alternative<T>(*m));
  return std::get<T>(*m);
}

template <class T>
T server_as(const std::vector<uint8_t>& bytes) {
  auto m = rv::decode_server_message(bytes);
  EXPECT_TRUE(m.has_value());
  EXPECT_TRUE(std::holds_alternative<T>(*m));
  return std::get<T>(*m);
}

WireError client_error(const std::vector<uint8_t>& bytes) {
  auto m = rv::decode_client_message(bytes);
  EXPECT_FALSE(m.has_value());
  return m ? WireError{} : m.error();
}

WireError server_error(const std::vector<uint8_t>& bytes) {
  auto m = rv::decode_server_message(bytes);
  EXPECT_FALSE(m.has_value());
  return m ? WireError{} : m.error();
}

TEST(RendezvousWire, JoinBytes) {
  auto bytes = rv::encode_join(locator());
  EXPECT_EQ(bytes, hex("01 01 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"));
  EXPECT_EQ(bytes.size(), rv::kJoinSize);
  EXPECT_EQ(client_as<rv::Join>(bytes).room, locator());
}

TEST(RendezvousWire, JoinRejectsWrongVersionAndLength) {
  auto bytes = rv::encode_join(locator());
  auto v2 = bytes;
  v2[1] = 2;
  EXPECT_EQ(client_error(v2), WireError::kUnsupportedVersion);
  auto v0 = bytes;
  v0[1] = 0;
  EXPECT_EQ(client_error(v0), WireError::kUnsupportedVersion);
  auto shorter = bytes;
  shorter.pop_back();
  EXPECT_EQ(client_error(shorter), WireError::kTruncated);
  auto longer = bytes;
  longer.push_back(0);
  EXPECT_EQ(client_error(longer), WireError::kTrailingBytes);
  EXPECT_EQ(client_error(hex("01")), WireError::kTruncated);
}

TEST(RendezvousWire, SendBytes) {
  std::vector<uint8_t> payload{0xde, 0xad, 0xbe, 0xef};
  auto bytes = rv::encode_send(0x0102030405060708ull, payload);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, hex("02 0102030405060708 deadbeef"));
  auto send = client_as<rv::Send>(*bytes);
  EXPECT_EQ(send.to, 0x0102030405060708ull);
  EXPECT_EQ(std::vector<uint8_t>(send.payload.begin(), send.payload.end()), payload);
}

TEST(RendezvousWire, SendLimits) {
  std::vector<uint8_t> max(rv::kMaxEnvelopeSize, 0x5a);
  auto ok = rv::encode_send(7, max);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->size(), rv::kMaxClientMessageSize);
  EXPECT_EQ(client_as<rv::Send>(*ok).payload.size(), rv::kMaxEnvelopeSize);

  std::vector<uint8_t> over(rv::kMaxEnvelopeSize + 1, 0x5a);
  EXPECT_EQ(rv::encode_send(7, over).error(), WireError::kPayloadTooLarge);
  auto over_bytes = *ok;
  over_bytes.push_back(0);
  EXPECT_EQ(client_error(over_bytes), WireError::kPayloadTooLarge);

  EXPECT_EQ(rv::encode_send(7, {}).error(), WireError::kEmptyPayload);
  EXPECT_EQ(client_error(hex("02 0000000000000007")), WireError::kEmptyPayload);
  EXPECT_EQ(client_error(hex("02 00000000000007")), WireError::kTruncated);
  EXPECT_EQ(rv::encode_send(0, max).error(), WireError::kZeroPeerId);
  EXPECT_EQ(client_error(hex("02 0000000000000000 ff")), WireError::kZeroPeerId);
}

TEST(RendezvousWire, PingBytes) {
  EXPECT_EQ(rv::encode_ping(0x1122334455667788ull), hex("03 1122334455667788"));
  EXPECT_EQ(client_as<rv::Ping>(hex("03 0000000000000000")).token, 0u);  // any token
  EXPECT_EQ(client_error(hex("03 00")), WireError::kTruncated);
  EXPECT_EQ(client_error(hex("03 000000000000000000")), WireError::kTrailingBytes);
}

TEST(RendezvousWire, ClientRejectsEmptyUnknownAndServerTypes) {
  EXPECT_EQ(client_error({}), WireError::kEmpty);
  EXPECT_EQ(client_error(hex("00")), WireError::kUnknownType);
  EXPECT_EQ(client_error(hex("04 00")), WireError::kUnknownType);
  EXPECT_EQ(client_error(hex("81 0000000000000001 0000")), WireError::kUnknownType);
  EXPECT_EQ(client_error(hex("ff")), WireError::kUnknownType);
}

TEST(RendezvousWire, JoinedBytes) {
  std::vector<rv::PeerId> peers{0xaaull, 0x0102030405060708ull};
  auto bytes = rv::encode_joined(0x10, peers);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, hex("81 0000000000000010 0002 00000000000000aa 0102030405060708"));
  auto joined = server_as<rv::Joined>(*bytes);
  EXPECT_EQ(joined.self, 0x10u);
  EXPECT_EQ(joined.peers, peers);
  auto alone = rv::encode_joined(0x10, {});
  ASSERT_TRUE(alone);
  EXPECT_EQ(*alone, hex("81 0000000000000010 0000"));
}

TEST(RendezvousWire, JoinedRejects) {
  EXPECT_EQ(server_error(hex("81 0000000000000010 00")), WireError::kTruncated);
  EXPECT_EQ(server_error(hex("81 0000000000000010 0001")), WireError::kTruncated);
  EXPECT_EQ(server_error(hex("81 0000000000000010 0000 00")), WireError::kTrailingBytes);
  EXPECT_EQ(server_error(hex("81 0000000000000000 0000")), WireError::kZeroPeerId);
  EXPECT_EQ(server_error(hex("81 0000000000000010 0001 0000000000000000")), WireError::kZeroPeerId);
  EXPECT_EQ(server_error(hex("81 0000000000000010 0002 0000000000000001 0000000000000001")),
            WireError::kDuplicatePeer);
  EXPECT_EQ(server_error(hex("81 0000000000000010 0001 0000000000000010")),
            WireError::kDuplicatePeer);
  EXPECT_EQ(server_error(hex("81 0000000000000010 4000")), WireError::kTooManyPeers);
  EXPECT_EQ(server_error(hex("81 0000000000000010 ffff")), WireError::kTooManyPeers);
  std::vector<rv::PeerId> dup{5, 5};
  EXPECT_EQ(rv::encode_joined(1, dup).error(), WireError::kDuplicatePeer);
  std::vector<rv::PeerId> self{1};
  EXPECT_EQ(rv::encode_joined(1, self).error(), WireError::kDuplicatePeer);
  std::vector<rv::PeerId> too_many(rv::kMaxListedPeers + 1);
  for (size_t i = 0; i < too_many.size(); ++i) too_many[i] = i + 2;
  EXPECT_EQ(rv::encode_joined(1, too_many).error(), WireError::kTooManyPeers);
  too_many.pop_back();
  auto biggest = rv::encode_joined(1, too_many);
  ASSERT_TRUE(biggest);
  EXPECT_EQ(biggest->size(), rv::kMaxServerMessageSize);
  EXPECT_EQ(server_as<rv::Joined>(*biggest).peers.size(), rv::kMaxListedPeers);
}

TEST(RendezvousWire, PeerNoticesBytes) {
  EXPECT_EQ(*rv::encode_peer_joined(0x42), hex("82 0000000000000042"));
  EXPECT_EQ(*rv::encode_peer_left(0x42), hex("83 0000000000000042"));
  EXPECT_EQ(server_as<rv::PeerJoined>(hex("82 0000000000000042")).peer, 0x42u);
  EXPECT_EQ(server_as<rv::PeerLeft>(hex("83 0000000000000042")).peer, 0x42u);
  EXPECT_EQ(server_error(hex("82 0000000000000000")), WireError::kZeroPeerId);
  EXPECT_EQ(server_error(hex("83 00000000000042")), WireError::kTruncated);
  EXPECT_EQ(server_error(hex("83 000000000000004200")), WireError::kTrailingBytes);
  EXPECT_EQ(rv::encode_peer_left(0).error(), WireError::kZeroPeerId);
}

TEST(RendezvousWire, EnvelopeBytes) {
  std::vector<uint8_t> payload{1, 2, 3};
  auto bytes = rv::encode_envelope(0x99, payload);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, hex("84 0000000000000099 010203"));
  auto env = server_as<rv::Envelope>(*bytes);
  EXPECT_EQ(env.from, 0x99u);
  EXPECT_EQ(std::vector<uint8_t>(env.payload.begin(), env.payload.end()), payload);
  EXPECT_EQ(server_error(hex("84 0000000000000099")), WireError::kEmptyPayload);
  EXPECT_EQ(server_error(hex("84 0000000000000000 01")), WireError::kZeroPeerId);
}

TEST(RendezvousWire, EnvelopeFromSendRewritesOnlyTheHeader) {
  std::vector<uint8_t> payload(1000);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 7);
  auto send = *rv::encode_send(0x1234, payload);
  std::vector<uint8_t> out(send.size());
  rv::envelope_from_send(send, 0xfeedull, out);
  EXPECT_EQ(out, *rv::encode_envelope(0xfeedull, payload));
}

TEST(RendezvousWire, ErrorAndPongBytes) {
  EXPECT_EQ(*rv::encode_error(rv::ErrorCode::kUnknownPeer, 0x77), hex("85 01 0000000000000077"));
  EXPECT_EQ(*rv::encode_error(rv::ErrorCode::kSelfAddressed, 0x77), hex("85 02 0000000000000077"));
  auto e = server_as<rv::ErrorNotice>(hex("85 01 0000000000000077"));
  EXPECT_EQ(e.code, rv::ErrorCode::kUnknownPeer);
  EXPECT_EQ(e.peer, 0x77u);
  EXPECT_EQ(server_error(hex("85 03 0000000000000077")), WireError::kUnknownErrorCode);
  EXPECT_EQ(server_error(hex("85 00 0000000000000077")), WireError::kUnknownErrorCode);
  EXPECT_EQ(server_error(hex("85 01 0000000000000000")), WireError::kZeroPeerId);
  EXPECT_EQ(rv::encode_error(static_cast<rv::ErrorCode>(9), 1).error(),
            WireError::kUnknownErrorCode);
  EXPECT_EQ(rv::encode_pong(5), hex("86 0000000000000005"));
  EXPECT_EQ(server_as<rv::Pong>(hex("86 0000000000000005")).token, 5u);
}

TEST(RendezvousWire, ServerRejectsClientTypes) {
  EXPECT_EQ(server_error({}), WireError::kEmpty);
  EXPECT_EQ(server_error(rv::encode_join(locator())), WireError::kUnknownType);
  EXPECT_EQ(server_error(rv::encode_ping(1)), WireError::kUnknownType);
  EXPECT_EQ(server_error(hex("88 0000000000000001")), WireError::kUnknownType);
}

TEST(RendezvousWire, ReencodingIsCanonical) {
  std::vector<std::vector<uint8_t>> client{rv::encode_join(locator()),
                                           *rv::encode_send(3, std::vector<uint8_t>{9}),
                                           rv::encode_ping(77)};
  for (const auto& b : client) {
    auto m = rv::decode_client_message(b);
    ASSERT_TRUE(m);
    EXPECT_EQ(rv::encode(*m), b);
  }
  std::vector<rv::PeerId> peers{2, 3};
  std::vector<std::vector<uint8_t>> server{*rv::encode_joined(1, peers),
                                           *rv::encode_peer_joined(4),
                                           *rv::encode_peer_left(4),
                                           *rv::encode_envelope(5, std::vector<uint8_t>{1, 2}),
                                           *rv::encode_error(rv::ErrorCode::kUnknownPeer, 6),
                                           rv::encode_pong(8)};
  for (const auto& b : server) {
    auto m = rv::decode_server_message(b);
    ASSERT_TRUE(m);
    EXPECT_EQ(rv::encode(*m), b);
  }
}

TEST(RendezvousWire, ErrorCategoryAndCloseReasons) {
  std::error_code ec = WireError::kPayloadTooLarge;
  EXPECT_EQ(ec.category().name(), std::string("tokencast.rendezvous_wire"));
  EXPECT_EQ(ec.message(), "envelope payload too large");
  EXPECT_EQ(rv::close_reason_text(rv::CloseCode::kRoomFull), "room full");
  EXPECT_EQ(rv::close_reason_text(rv::CloseCode::kEnvelopeTooLarge), "envelope too large");
  EXPECT_EQ(rv::close_reason_text(rv::CloseCode::kGoingAway), "server shutting down");
  EXPECT_EQ(static_cast<uint16_t>(rv::CloseCode::kIdleTimeout), 4006);
  // Close reasons must fit a control frame (125 bytes less the 2-byte code).
  for (uint16_t code = 4000; code <= 4009; ++code) {
    auto text = rv::close_reason_text(static_cast<rv::CloseCode>(code));
    EXPECT_FALSE(text.empty()) << code;
    EXPECT_LE(text.size(), 123u);
  }
}

}  // namespace

// ICE_SERVERS (0x87): the shared vectors, also run by web/test/rendezvous.test.ts.
namespace {

nlohmann::json ice_vectors() {
  std::ifstream in(std::string(TOKENCAST_VECTORS_DIR) + "/rendezvous_ice.json");
  return nlohmann::json::parse(in);
}

WireError wire_error_named(const std::string& name) {
  if (name == "truncated") return WireError::kTruncated;
  if (name == "trailing_bytes") return WireError::kTrailingBytes;
  if (name == "bad_ice_server") return WireError::kBadIceServer;
  ADD_FAILURE() << "unknown error name " << name;
  return WireError::kEmpty;
}

}  // namespace

TEST(RendezvousWire, IceServersVectors) {
  auto vectors = ice_vectors();
  ASSERT_FALSE(vectors["valid"].empty());
  for (const auto& v : vectors["valid"]) {
    SCOPED_TRACE(v["name"].get<std::string>());
    auto bytes = hex(v["hex"]);
    auto m = rv::decode_server_message(bytes);
    ASSERT_TRUE(m.has_value()) << make_error_code(m.error()).message();
    auto* ice = std::get_if<rv::IceServers>(&*m);
    ASSERT_NE(ice, nullptr);
    std::vector<rv::IceServerEntry> want;
    for (const auto& s : v["servers"]) want.push_back({s["url"], s["username"], s["credential"]});
    EXPECT_EQ(ice->servers, want);
    EXPECT_EQ(rv::encode(*m), bytes);
    auto encoded = rv::encode_ice_servers(want);
    ASSERT_TRUE(encoded.has_value());
    EXPECT_EQ(*encoded, bytes);
    EXPECT_LE(bytes.size(), rv::kMaxIceServersSize);
  }
  ASSERT_FALSE(vectors["invalid"].empty());
  for (const auto& v : vectors["invalid"]) {
    SCOPED_TRACE(v["name"].get<std::string>());
    auto m = rv::decode_server_message(hex(v["hex"]));
    ASSERT_FALSE(m.has_value());
    EXPECT_EQ(m.error(), wire_error_named(v["error"]));
  }
}

// JOIN in the upgrade (the join subprotocol): the shared vectors, also run by
// web/test/rendezvous.test.ts.
TEST(RendezvousWire, JoinSubprotocolVectors) {
  std::ifstream in(std::string(TOKENCAST_VECTORS_DIR) + "/rendezvous_join.json");
  auto vectors = nlohmann::json::parse(in);
  auto room_of = [](const nlohmann::json& text) {
    rv::RoomLocator room{};
    auto bytes = hex(text.get<std::string>());
    EXPECT_EQ(bytes.size(), room.size());
    std::copy_n(bytes.begin(), std::min(bytes.size(), room.size()), room.begin());
    return room;
  };
  ASSERT_FALSE(vectors["subprotocols"].empty());
  for (const auto& v : vectors["subprotocols"]) {
    SCOPED_TRACE(v["name"].get<std::string>());
    auto room = room_of(v["room"]);
    std::string text = v["subprotocol"];
    EXPECT_EQ(rv::join_subprotocol(room), text);
    EXPECT_EQ(text.size(), rv::kJoinSubprotocolSize);
    auto back = rv::parse_join_subprotocol(text);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, room);
  }
  ASSERT_FALSE(vectors["offers"].empty());
  for (const auto& v : vectors["offers"]) {
    SCOPED_TRACE(v["name"].get<std::string>());
    auto found = rv::find_join_in_offer(v["offer"].get<std::string>());
    ASSERT_TRUE(found.has_value()) << make_error_code(found.error()).message();
    if (v["room"].is_null()) {
      EXPECT_FALSE(found->has_value());
    } else {
      ASSERT_TRUE(found->has_value());
      EXPECT_EQ(**found, room_of(v["room"]));
    }
  }
  ASSERT_FALSE(vectors["invalid"].empty());
  for (const auto& v : vectors["invalid"]) {
    SCOPED_TRACE(v["name"].get<std::string>());
    auto found = rv::find_join_in_offer(v["offer"].get<std::string>());
    ASSERT_FALSE(found.has_value());
    EXPECT_EQ(found.error(), v["error"] == "unsupported_version" ? WireError::kUnsupportedVersion
                                                                 : WireError::kBadJoinOffer);
    EXPECT_TRUE(v["error"] == "unsupported_version" || v["error"] == "bad_join_offer");
  }
}

// The links of tests/vectors/links.json and the subprotocol that joins each one's room (what
// the page's inline early-socket script must compute, web/test/early-socket.test.ts).
TEST(RendezvousWire, JoinSubprotocolOfEveryVectorLink) {
  std::ifstream join_in(std::string(TOKENCAST_VECTORS_DIR) + "/rendezvous_join.json");
  std::ifstream links_in(std::string(TOKENCAST_VECTORS_DIR) + "/links.json");
  auto join = nlohmann::json::parse(join_in);
  auto links = nlohmann::json::parse(links_in);
  ASSERT_EQ(join["links"].size(), links["valid"].size());
  for (size_t i = 0; i < links["valid"].size(); ++i) {
    const auto& v = join["links"][i];
    SCOPED_TRACE(v["name"].get<std::string>());
    EXPECT_EQ(v["link"], links["valid"][i]["link"]);
    EXPECT_EQ(v["room_locator_b64url"], links["valid"][i]["room_locator_b64url"]);
    auto locator = tokencast::base64url_decode(v["room_locator_b64url"].get<std::string>());
    ASSERT_TRUE(locator.has_value());
    ASSERT_EQ(locator->size(), rv::kLocatorSize);
    rv::RoomLocator room{};
    std::copy(locator->begin(), locator->end(), room.begin());
    EXPECT_EQ(rv::join_subprotocol(room), v["join_subprotocol"].get<std::string>());
  }
}

TEST(RendezvousWire, IceServersEncoderRefusesWhatTheDecoderWould) {
  EXPECT_FALSE(rv::encode_ice_servers({}).has_value());
  std::vector<rv::IceServerEntry> nine(9, rv::IceServerEntry{"stun:a", "", ""});
  EXPECT_EQ(rv::encode_ice_servers(nine).error(), WireError::kBadIceServer);
  EXPECT_FALSE(rv::encode_ice_servers(std::vector<rv::IceServerEntry>{{"http:a", "", ""}}));
  EXPECT_FALSE(rv::encode_ice_servers(std::vector<rv::IceServerEntry>{{"turn:a", "u", "x y"}}));
  EXPECT_FALSE(rv::encode_ice_servers(
      std::vector<rv::IceServerEntry>{{"turn:a", std::string(256, 'u'), "c"}}));
  // The largest list fits the bound a reader must accept.
  std::vector<rv::IceServerEntry> eight(
      8, rv::IceServerEntry{"turn:" + std::string(250, 'h'), std::string(255, 'u'),
                            std::string(255, 'c')});
  auto biggest = rv::encode_ice_servers(eight);
  ASSERT_TRUE(biggest.has_value());
  EXPECT_EQ(biggest->size(), rv::kMaxIceServersSize);
  auto back = rv::decode_server_message(*biggest);
  ASSERT_TRUE(back.has_value());
  // A peer -> server message never has type 0x87.
  EXPECT_EQ(rv::decode_client_message(*biggest).error(), WireError::kUnknownType);
}

// The cluster wire (rendezvous instances over NATS): known bytes, round trips, strictness.
TEST(ClusterWire, KnownBytesAndRoundTrips) {
  namespace cw = rv::cluster;
  const cw::InstanceId inst = 0x0102030405060708ull;
  EXPECT_EQ(cw::encode_peer_here(inst, 0xAA),
            (std::vector<uint8_t>{1, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0xAA}));
  EXPECT_EQ(cw::encode_alive(inst), (std::vector<uint8_t>{1, 0x06, 1, 2, 3, 4, 5, 6, 7, 8}));
  rv::RoomLocator locator{};
  locator.fill(7);
  auto hash = cw::room_hash(locator);
  EXPECT_EQ(cw::room_subject(hash).size(), std::string("tokencast.room.").size() + 32);
  EXPECT_NE(cw::room_hash(rv::RoomLocator{}), hash);
  EXPECT_EQ(cw::instance_subject(inst), "tokencast.inst.0102030405060708");
  std::vector<uint8_t> payload{9, 8, 7};
  std::vector<std::vector<uint8_t>> messages{
      cw::encode_peer_here(inst, 5),
      cw::encode_peer_gone(inst, 6),
      cw::encode_sync(inst),
      *cw::encode_members(inst, std::vector<rv::PeerId>{1, 2, 3}),
      *cw::encode_members(inst, std::vector<rv::PeerId>{}),
      *cw::encode_relay(inst, hash, 11, 12, payload),
      cw::encode_alive(inst)};
  for (const auto& bytes : messages) {
    auto m = cw::decode(bytes);
    ASSERT_TRUE(m.has_value()) << make_error_code(m.error()).message();
    EXPECT_EQ(m->from, inst);
    EXPECT_EQ(cw::encode(*m), bytes);
  }
  auto relay = cw::decode(messages[5]);
  const auto& r = std::get<cw::Relay>(relay->body);
  EXPECT_EQ(r.room, hash);
  EXPECT_EQ(r.from, 11u);
  EXPECT_EQ(r.to, 12u);
  EXPECT_EQ(std::vector<uint8_t>(r.payload.begin(), r.payload.end()), payload);
}

TEST(ClusterWire, RefusesWhatIsNotCanonical) {
  namespace cw = rv::cluster;
  const cw::InstanceId inst = 42;
  EXPECT_EQ(cw::decode({}).error(), WireError::kEmpty);
  auto here = cw::encode_peer_here(inst, 5);
  auto bad_version = here;
  bad_version[0] = 2;
  EXPECT_EQ(cw::decode(bad_version).error(), WireError::kUnsupportedVersion);
  auto bad_type = here;
  bad_type[1] = 0x7f;
  EXPECT_EQ(cw::decode(bad_type).error(), WireError::kUnknownType);
  auto zero_instance = cw::encode_peer_here(0, 5);
  EXPECT_EQ(cw::decode(zero_instance).error(), WireError::kZeroPeerId);
  EXPECT_EQ(cw::decode(cw::encode_peer_here(inst, 0)).error(), WireError::kZeroPeerId);
  auto longer = here;
  longer.push_back(0);
  EXPECT_EQ(cw::decode(longer).error(), WireError::kTrailingBytes);
  EXPECT_EQ(cw::decode(std::span(here).first(here.size() - 1)).error(), WireError::kTruncated);
  auto sync = cw::encode_sync(inst);
  sync.push_back(1);
  EXPECT_EQ(cw::decode(sync).error(), WireError::kTrailingBytes);
  EXPECT_EQ(cw::encode_members(inst, std::vector<rv::PeerId>{1, 1}).error(),
            WireError::kDuplicatePeer);
  auto members = *cw::encode_members(inst, std::vector<rv::PeerId>{1, 2});
  members[members.size() - 1] = 1;  // the second id becomes the first one
  EXPECT_EQ(cw::decode(members).error(), WireError::kDuplicatePeer);
  EXPECT_EQ(cw::encode_members(inst, std::vector<rv::PeerId>(rv::kMaxListedPeers + 2, 1)).error(),
            WireError::kTooManyPeers);
  cw::RoomHash hash{};
  EXPECT_EQ(cw::encode_relay(inst, hash, 1, 2, {}).error(), WireError::kEmptyPayload);
  std::vector<uint8_t> big(rv::kMaxEnvelopeSize + 1, 0);
  EXPECT_EQ(cw::encode_relay(inst, hash, 1, 2, big).error(), WireError::kPayloadTooLarge);
  big.pop_back();
  auto largest = cw::encode_relay(inst, hash, 1, 2, big);
  ASSERT_TRUE(largest.has_value());
  EXPECT_EQ(largest->size(), cw::kMaxClusterMessageSize);
  largest->push_back(0);
  EXPECT_EQ(cw::decode(*largest).error(), WireError::kPayloadTooLarge);
}
