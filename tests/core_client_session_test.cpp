// The client state machine against the real host state machine: frames cross unchanged, links
// drop at arbitrary points, and the client's transcript always equals the host's log prefix.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <tuple>

#include "crypto/primitives.hpp"
#include "support/hex.hpp"
#include "support/vector_file.hpp"
#include "tokencast/core/client_session.hpp"
#include "tokencast/core/handshake.hpp"
#include "tokencast/core/handshake_messages.hpp"
#include "tokencast/core/host_session.hpp"
#include "tokencast/core/invite.hpp"
#include "tokencast/core/relay_fanout.hpp"
#include "tokencast/core/relay_stream.hpp"

namespace tokencast {
namespace {

struct NullIo : HostIo {
  std::vector<TurnId> generations;
  void persist(const Event&) override {}
  void frames_ready(ConnId) override {}
  void wake_at(ConnId, int64_t) override {}
  void start_generation(TurnId t, std::vector<ChatMessage>) override { generations.push_back(t); }
  void cancel_generation() override {}
};

struct Harness {
  NullIo io;
  std::unique_ptr<HostSession> host;
  int64_t now = 1;
  Harness() : Harness(HostSessionConfig{}) {}
  explicit Harness(HostSessionConfig config) {
    config.session_id.bytes.fill(7);
    config.flow.pace_interval_ms = 0;  // frames as they come; pacing has its own tests
    host = std::move(*HostSession::create(config, {}, io, 1));
  }
  // Opens a link, says hello, and returns the connection.
  ConnId connect(ClientSession& client, PeerRole role) {
    ConnId conn = host->peer_opened(role, 1);
    host->peer_frame(conn, client.hello(), 1);
    host->durable(host->log().head());
    return conn;
  }
  // Delivers up to `limit` frames; returns how many were delivered.
  size_t deliver(ClientSession& client, ConnId conn, size_t limit = SIZE_MAX) {
    size_t n = 0;
    while (n < limit) {
      auto out = host->next_frame(conn, now);
      if (!out) break;
      auto events = client.receive(out->bytes);
      EXPECT_TRUE(events) << events.error().message();
      // Time passes between frames: the client acknowledges as a real one would.
      now += kAckDelayMs;
      if (auto ack = client.take_ack(now)) host->peer_frame(conn, *ack, now);
      ++n;
    }
    return n;
  }
  void answer(std::string_view text) {
    TurnId turn = io.generations.back();
    for (char c : text) host->llm_delta(turn, std::string(1, c));
    host->llm_done(turn, text.size(), 2);
    host->durable(host->log().head());
  }
};

Transcript host_transcript(const HostSession& host) {
  Transcript t;
  for (const auto& e : host.log().events()) t.apply(e);
  return t;
}

TEST(ClientSession, WelcomedThenStreamsAndPrompts) {
  Harness h;
  ClientSession ada("ada");
  EXPECT_EQ(ada.prompt("early", 1).error(), ClientError::kNotWelcomed);
  ConnId conn = h.connect(ada, PeerRole::kParticipant);
  h.deliver(ada, conn);
  ASSERT_EQ(ada.role(), PeerRole::kParticipant);
  auto prompt = ada.prompt("hi there", 1);
  ASSERT_TRUE(prompt);
  h.host->peer_frame(conn, *prompt, 2);
  h.host->durable(h.host->log().head());
  h.deliver(ada, conn);
  auto cancel = ada.cancel();  // the answer turn is open now
  ASSERT_TRUE(cancel);
  h.answer("hello ada");
  h.deliver(ada, conn);
  EXPECT_EQ(ada.transcript().turns(), host_transcript(*h.host).turns());
  EXPECT_EQ(ada.transcript().turns().back().text, "hello ada");
  EXPECT_EQ(ada.cancel().error(), ClientError::kNothingToCancel);
}

TEST(ClientSession, ViewerCannotPrompt) {
  Harness h;
  ClientSession bob("bob");
  ConnId conn = h.connect(bob, PeerRole::kViewer);
  h.deliver(bob, conn);
  EXPECT_EQ(bob.prompt("x", 1).error(), ClientError::kNotParticipant);
  EXPECT_EQ(bob.cancel().error(), ClientError::kNotParticipant);
}

TEST(ClientSession, ResumesAfterLinkDropsBetweenFramesWithNoGapOrDuplicate) {
  Harness h;
  ClientSession ada("ada");
  ConnId conn = h.connect(ada, PeerRole::kParticipant);
  h.deliver(ada, conn);
  for (int i = 0; i < 3; ++i) {
    h.host->peer_frame(conn, *ada.prompt("question " + std::to_string(i), i), 2);
    // 40 KB answers: catch-up needs several 16 KiB frames, so links drop mid-catch-up.
    std::string long_answer;
    for (int w = 0; w < 5000; ++w) long_answer += "word" + std::to_string(w % 10) + " ";
    h.answer(long_answer);
  }
  // A fresh viewer whose link drops after one to three frames, reconnecting each time.
  ClientSession bob("bob");
  int links = 0;
  bool level = false;
  while (!level) {
    ++links;
    ConnId c = h.connect(bob, PeerRole::kViewer);
    h.deliver(bob, c, 1 + links % 3);
    level = bob.position().last_seq == h.host->log().head();
    h.host->peer_closed(c, 3);
    h.host->durable(h.host->log().head());
    ASSERT_LT(links, 1000);
  }
  // Every event of the log up to where bob stopped, exactly once: the turns are identical.
  EXPECT_EQ(bob.transcript().turns(), host_transcript(*h.host).turns());
  EXPECT_GT(links, 3);
}

TEST(ClientSession, RefusesAWelcomeFromAnotherSession) {
  Harness h;
  ClientSession ada("ada");
  ConnId conn = h.connect(ada, PeerRole::kViewer);
  h.deliver(ada, conn);
  WelcomeFrame other;
  other.session_id.bytes.fill(9);
  auto bytes = encode_frame(other);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(ada.receive(*bytes).error(), ClientError::kWrongSession);
}

}  // namespace
}  // namespace tokencast

namespace tokencast {
namespace {

// A host that signs (as every real host does): it writes the relay stream.
HostSessionConfig signing_config(size_t ring_frames = 4096) {
  HostSessionConfig config;
  std::array<uint8_t, 32> seed{};
  seed.fill(0x42);
  config.signing_key = SigningKey::from_seed(seed);
  config.relay_ring_frames = ring_frames;
  return config;
}

Ed25519PublicKey host_key_of(const HostSessionConfig& config) {
  return config.signing_key->public_key();
}

std::string long_text(int words) {
  std::string text;
  for (int w = 0; w < words; ++w) text += "w" + std::to_string(w % 7) + " ";
  return text;
}

// Issue 15 step 1: a viewer that offers to relay is streamed the relay stream (signed records,
// one per event, index = sequence), verifies it itself and applies only what a signature
// covers; its transcript is byte-exact with the host's and with a plain viewer's, whether it
// joined at the start, late (records rebuilt from the log past the host's ring), after a plain
// link (anchored by the host's checkpoint), or resumed after its link dropped mid-stream.
TEST(ClientSessionRelay, RelayViewersVerifyTheSignedStreamAndMatchTheHostByteForByte) {
  const HostSessionConfig config = signing_config(/*ring_frames=*/32);
  Harness h(config);
  const Ed25519PublicKey key = host_key_of(config);

  ClientSession plain("plain");
  ConnId plain_conn = h.connect(plain, PeerRole::kViewer);
  ClientSession early("early");
  early.offer_relay(2, key);
  ConnId early_conn = h.connect(early, PeerRole::kViewer);
  h.deliver(plain, plain_conn);
  h.deliver(early, early_conn);
  EXPECT_TRUE(early.relay_link());
  EXPECT_FALSE(plain.relay_link());
  EXPECT_EQ(h.host->relay_peers(), 1u);

  // A participant never relays, whatever it offers.
  ClientSession asker("asker");
  asker.offer_relay(5, key);
  ConnId asker_conn = h.connect(asker, PeerRole::kParticipant);
  h.deliver(asker, asker_conn);
  EXPECT_FALSE(asker.relay_link());

  h.host->peer_frame(asker_conn, *asker.prompt("tell me", 1), 2);
  h.host->durable(h.host->log().head(), h.now);
  h.answer(long_text(150));  // one delta per character: far more records than the ring holds
  h.deliver(early, early_conn, 100);  // early stops mid-stream: its link drops
  const Seq early_at = early.position().last_seq;
  ASSERT_GT(early_at, 0u);
  ASSERT_LT(early_at, h.host->log().head());
  ASSERT_TRUE(early.relay_verified());
  EXPECT_EQ(early.relay_verified()->index, early_at) << "only verified records are applied";
  early.set_link_lost();
  h.host->peer_closed(early_conn, h.now);

  // A late relay viewer: the ring no longer reaches back to record 1.
  ClientSession late("late");
  late.offer_relay(1, key);
  ConnId late_conn = h.connect(late, PeerRole::kViewer);

  // A viewer that held the plain stream, then offers to relay: the host anchors it.
  ClientSession convert("convert");
  ConnId convert_conn = h.connect(convert, PeerRole::kViewer);
  h.deliver(convert, convert_conn, 40);
  convert.set_link_lost();
  h.host->peer_closed(convert_conn, h.now);
  ASSERT_GT(convert.position().last_seq, 0u);
  convert.offer_relay(1, key);
  convert_conn = h.connect(convert, PeerRole::kViewer);

  early_conn = h.connect(early, PeerRole::kViewer);  // resumes after what it verified
  h.host->peer_frame(asker_conn, *asker.prompt("again", 2), h.now);
  h.host->durable(h.host->log().head(), h.now);
  h.answer("short");
  // The quiet tail's checkpoint falls due, then everyone drains.
  h.now += 1000;
  h.host->tick(h.now);
  for (auto [client, conn] :
       {std::pair{&plain, plain_conn}, std::pair{&early, early_conn}, std::pair{&late, late_conn},
        std::pair{&convert, convert_conn}, std::pair{&asker, asker_conn}}) {
    h.deliver(*client, conn);
  }
  const Seq head = h.host->log().head();
  const auto expected = host_transcript(*h.host).turns();
  for (const ClientSession* c : {&plain, &early, &late, &convert, &asker}) {
    EXPECT_EQ(c->position().last_seq, head);
    EXPECT_EQ(c->transcript().turns(), expected);
  }
  for (const ClientSession* c : {&early, &late, &convert}) {
    EXPECT_TRUE(c->relay_link());
    ASSERT_TRUE(c->relay_verified());
    EXPECT_EQ(*c->relay_verified(), *h.host->relay_head());
  }
  EXPECT_EQ(h.host->relay_head()->index, head) << "record index = sequence";
}

// A relay (a ClientSession on the host's relay stream) forwarding to children through a
// RelayFanout, as src/client/join_client.cpp wires it: a child that never met the host, one
// that held the plain stream (no chain position: anchored at a signed index at or below what
// it holds, nothing applied twice), and one resuming from its own verified position all end
// byte-exact with the host; the parent link takes nothing but the relay's welcome, the signed
// records and control frames.
struct RelayedChild {
  ClientSession session;
  explicit RelayedChild(std::string name, const Ed25519PublicKey& key) : session(std::move(name)) {
    session.set_host_key(key);
  }
  // The child's link to the relay: relay_hello, then what the relay serves. False when the
  // relay refuses the position (bye resume_unavailable).
  bool attach(const RelayFanout& fanout) {
    auto hello = decode_client_frame(session.parent_hello());
    EXPECT_TRUE(hello.has_value());
    auto serving = fanout.serve(std::get<RelayHelloFrame>(*hello));
    if (!serving) return false;
    auto welcome = session.receive(*encode_frame(serving->welcome));
    EXPECT_TRUE(welcome.has_value()) << welcome.error().message();
    if (serving->anchor) take(*serving->anchor);
    for (const auto& f : serving->frames) take(f);
    return true;
  }
  void take(std::span<const uint8_t> frame) {
    auto events = session.receive(frame);
    EXPECT_TRUE(events.has_value()) << events.error().message();
  }
};

TEST(ClientSessionRelayParent, ChildrenOfARelayMatchTheHostByteForByte) {
  HostSessionConfig config = signing_config();
  config.relay.max_unsigned_records = 4;  // signed positions all along the stream
  Harness h(config);
  const Ed25519PublicKey key = host_key_of(config);
  ClientSession relay("relay");
  relay.offer_relay(2, key);
  ConnId relay_conn = h.connect(relay, PeerRole::kViewer);
  std::optional<RelayFanout> fanout;
  std::vector<RelayedChild*> live;
  // The relay's link: every frame to its session first, relay frames then to the fanout and
  // to the children it serves.
  auto pump = [&] {
    while (auto out = h.host->next_frame(relay_conn, h.now)) {
      const bool was_welcomed = relay.welcomed();
      ASSERT_TRUE(relay.receive(out->bytes));
      if (!was_welcomed) {
        fanout.emplace(*relay.session_id(), key);
        if (auto verified = relay.relay_verified()) fanout->set_base(*verified);
        continue;
      }
      if (out->bytes[0] < kRelayRecordType || out->bytes[0] > kRelayCheckpointType) continue;
      auto added = fanout->add(out->bytes);
      ASSERT_TRUE(added);
      if (*added == RelayForwarder::Added::kForward) {
        for (RelayedChild* c : live) c->take(out->bytes);
      }
    }
  };
  pump();
  ASSERT_TRUE(relay.relay_link());

  // A plain viewer of the host, to be moved below the relay later.
  ClientSession plain("plain");
  ConnId plain_conn = h.connect(plain, PeerRole::kViewer);
  ClientSession asker("asker");
  ConnId asker_conn = h.connect(asker, PeerRole::kParticipant);
  h.deliver(asker, asker_conn);
  h.host->peer_frame(asker_conn, *asker.prompt("tell me", 1), h.now);
  h.host->durable(h.host->log().head(), h.now);
  h.answer(long_text(40));
  h.now += 1000;
  h.host->tick(h.now);
  pump();
  h.deliver(plain, plain_conn);  // holds the first answer, with no chain position
  const Seq held = plain.position().last_seq;
  ASSERT_GT(held, 0u);
  plain.set_link_lost();
  h.host->peer_closed(plain_conn, h.now);

  // A fresh child (never welcomed: it does not know the session id) is served from record 1.
  RelayedChild fresh("fresh", key);
  ASSERT_TRUE(fresh.attach(*fanout));
  live.push_back(&fresh);
  h.host->peer_frame(asker_conn, *asker.prompt("meanwhile", 2), h.now);
  h.host->durable(h.host->log().head(), h.now);
  h.answer("an answer the plain viewer misses");
  h.now += 1000;
  h.host->tick(h.now);
  pump();
  // The plain viewer moves below the relay: anchored at or below what it holds.
  RelayedChild moved("moved", key);
  moved.session = std::move(plain);
  moved.session.set_host_key(key);
  ASSERT_TRUE(moved.attach(*fanout));
  EXPECT_TRUE(moved.session.parent_link());
  EXPECT_EQ(moved.session.position().last_seq, h.host->log().head()) << "caught up from the ring";
  EXPECT_GT(moved.session.position().last_seq, held);
  live.push_back(&moved);

  // Live: a second answer reaches both through the relay.
  h.host->peer_frame(asker_conn, *asker.prompt("again", 3), h.now);
  h.host->durable(h.host->log().head(), h.now);
  h.answer("a second answer, through the relay");
  h.now += 1000;
  h.host->tick(h.now);
  pump();
  h.deliver(asker, asker_conn);

  // The fresh child's link drops; it comes back to the relay with its verified position.
  live.erase(live.begin());
  fresh.session.set_link_lost();
  h.host->peer_frame(asker_conn, *asker.prompt("third", 4), h.now);
  h.host->durable(h.host->log().head(), h.now);
  h.answer("a third one");
  h.now += 1000;
  h.host->tick(h.now);
  pump();
  ASSERT_TRUE(fresh.session.relay_verified());
  ASSERT_TRUE(fresh.attach(*fanout));

  const auto expected = host_transcript(*h.host).turns();
  for (const RelayedChild* c : {&fresh, &moved}) {
    EXPECT_EQ(c->session.position().last_seq, h.host->log().head());
    EXPECT_EQ(c->session.transcript().turns(), expected);
    EXPECT_EQ(*c->session.relay_verified(), *h.host->relay_head());
  }
}

TEST(ClientSessionRelayParent, TheParentLinkTakesOnlyTheRelaysWelcomeAndSignedRecords) {
  const HostSessionConfig config = signing_config();
  Harness h(config);
  const Ed25519PublicKey key = host_key_of(config);
  // What a host would send a plain viewer: a relay must not be able to pass it off.
  ClientSession plain("plain");
  ConnId conn = h.connect(plain, PeerRole::kViewer);
  h.host->host_prompt("hello", h.now);
  h.host->durable(h.host->log().head(), h.now);
  std::vector<FrameBytes> host_frames;
  while (auto out = h.host->next_frame(conn, h.now)) host_frames.push_back(out->bytes);
  ASSERT_GE(host_frames.size(), 2u);

  ClientSession child("child");
  child.set_host_key(key);
  const FrameBytes hello = child.parent_hello();
  auto decoded = decode_client_frame(hello);
  ASSERT_TRUE(decoded);
  // Nothing held, session unknown: index 0, all-zero hash.
  EXPECT_EQ(std::get<RelayHelloFrame>(*decoded), (RelayHelloFrame{kRelayVersion, 0, {}}));
  for (const auto& f : host_frames) {
    EXPECT_EQ(child.receive(f).error(), FrameError::kUnexpectedFrame) << testing::hex(f);
  }
  EXPECT_EQ(child.position().last_seq, 0u);
  EXPECT_FALSE(child.welcomed());
  // A relay_welcome on a host link is refused too.
  ClientSession host_link("host_link");
  host_link.set_host_key(key);
  SessionId id;
  id.bytes.fill(7);
  EXPECT_EQ(host_link.receive(*encode_frame(RelayWelcomeFrame{kRelayVersion, id, 0})).error(),
            FrameError::kUnexpectedFrame);
  // Introduction frames are never the session's (a relay's client takes them off first).
  EXPECT_EQ(host_link.receive(*encode_frame(RelayIntroFrame{1, "v=0"})).error(),
            FrameError::kUnexpectedFrame);
  // The welcome is taken; a relay's version error does not lower the hello's version.
  EXPECT_TRUE(child.receive(*encode_frame(ErrorFrame{StatusCode::kUnsupportedVersion, "x"})));
  EXPECT_TRUE(child.receive(*encode_frame(RelayWelcomeFrame{kRelayVersion, id, 0})));
  EXPECT_TRUE(child.welcomed());
  EXPECT_FALSE(child.take_ack(1'000'000)) << "no acks to a relay";
  child.set_link_lost();
  EXPECT_EQ(decode_frame(child.hello()).has_value(), true);
  EXPECT_EQ(std::get<HelloFrame>(*decode_frame(child.hello())).version, kProtocolVersion);
  // Once the session is known, a child holding nothing says hello from the genesis.
  auto again = decode_client_frame(child.parent_hello());
  EXPECT_EQ(std::get<RelayHelloFrame>(*again).chain_hash, relay_chain_genesis(id, key));
}

// A relay stream altered on the way (a flipped payload byte) is refused before anything of it
// is applied; the client resumes from the last record it verified with no gap and no
// duplicate.
TEST(ClientSessionRelay, AnAlteredRecordIsRefusedAndTheClientResumesFromWhatItVerified) {
  const HostSessionConfig config = signing_config();
  Harness h(config);
  ClientSession asker("asker");
  ConnId asker_conn = h.connect(asker, PeerRole::kParticipant);
  h.deliver(asker, asker_conn);
  ClientSession viewer("viewer");
  viewer.offer_relay(1, host_key_of(config));
  ConnId conn = h.connect(viewer, PeerRole::kViewer);
  h.deliver(viewer, conn);
  h.host->peer_frame(asker_conn, *asker.prompt("hi", 1), 2);
  h.host->durable(h.host->log().head(), h.now);
  h.answer(long_text(40));
  bool refused = false;
  while (auto out = h.host->next_frame(conn, h.now)) {
    FrameBytes bytes = out->bytes;
    if (!refused && bytes[0] == kRelayRecordType && bytes.size() > 4) {
      bytes.back() ^= 0x01;
      const Transcript before = viewer.transcript();
      const Seq at = viewer.position().last_seq;
      // The record waits for a signature; the refusal comes when the next one covers it.
      auto first = viewer.receive(bytes);
      while (first) {
        auto next = h.host->next_frame(conn, h.now);
        ASSERT_TRUE(next) << "the stream ended before a signature covered the altered record";
        first = viewer.receive(next->bytes);
      }
      EXPECT_TRUE(first.error() == RelayError::kChainMismatch ||
                  first.error() == RelayError::kBadSignature)
          << first.error().message();
      EXPECT_EQ(viewer.position().last_seq, at);
      EXPECT_EQ(viewer.transcript(), before);
      refused = true;
      break;
    }
    ASSERT_TRUE(viewer.receive(bytes));
  }
  ASSERT_TRUE(refused);
  viewer.set_link_lost();
  h.host->peer_closed(conn, h.now);
  conn = h.connect(viewer, PeerRole::kViewer);
  h.now += 1000;
  h.host->tick(h.now);
  h.deliver(viewer, conn);
  h.deliver(asker, asker_conn);
  EXPECT_EQ(viewer.transcript().turns(), host_transcript(*h.host).turns());
  EXPECT_EQ(viewer.position().last_seq, h.host->log().head());
}

// Relay frames on a link the host did not open as a relay link are a protocol error.
TEST(ClientSessionRelay, RelayFramesOnAPlainLinkAreRefused) {
  Harness h(signing_config());
  ClientSession viewer("viewer");
  ConnId conn = h.connect(viewer, PeerRole::kViewer);
  h.deliver(viewer, conn);
  const FrameBytes record =
      encode_relay_frame(RelayFrame{RelayFrame::Kind::kRecord, 1, {}, {}, {0x04}});
  EXPECT_EQ(viewer.receive(record).error(), FrameError::kUnexpectedFrame);
}

// The chain is a function of the log: a host restarted from its store rebuilds it, and a relay
// viewer that verified up to some record before the restart resumes after it (the new host's
// anchor matches the chain the viewer verified itself).
TEST(ClientSessionRelay, AHostRestartedFromItsStoreRebuildsTheSameChain) {
  const HostSessionConfig config = signing_config(/*ring_frames=*/16);
  Harness h(config);
  ClientSession asker("asker");
  ConnId asker_conn = h.connect(asker, PeerRole::kParticipant);
  ClientSession viewer("viewer");
  viewer.offer_relay(1, host_key_of(config));
  ConnId conn = h.connect(viewer, PeerRole::kViewer);
  h.deliver(asker, asker_conn);
  h.host->peer_frame(asker_conn, *asker.prompt("before", 1), h.now);
  h.host->durable(h.host->log().head(), h.now);
  h.answer(long_text(30));
  h.now += 1000;
  h.host->tick(h.now);
  h.deliver(viewer, conn);
  ASSERT_TRUE(viewer.relay_verified());
  const RelayPosition before = *viewer.relay_verified();
  ASSERT_EQ(before, *h.host->relay_head());
  viewer.set_link_lost();

  // The store holds exactly the durable log; a new host is created from it.
  std::vector<Event> stored(h.host->log().events().begin(), h.host->log().events().end());
  HostSessionConfig again = config;
  again.session_id.bytes.fill(7);
  again.flow.pace_interval_ms = 0;
  NullIo io2;
  auto restarted = HostSession::create(again, stored, io2, h.now);
  ASSERT_TRUE(restarted);
  HostSession& host2 = **restarted;
  // Same records, same hashes; the restart then appends its own events (peers left).
  EXPECT_GE(host2.relay_head()->index, before.index);
  host2.durable(host2.log().head(), h.now);
  ConnId conn2 = host2.peer_opened(PeerRole::kViewer, h.now);
  host2.peer_frame(conn2, viewer.hello(), h.now);
  host2.durable(host2.log().head(), h.now);
  h.now += 1000;
  host2.tick(h.now);
  while (auto out = host2.next_frame(conn2, h.now)) {
    auto applied = viewer.receive(out->bytes);
    ASSERT_TRUE(applied) << applied.error().message();
  }
  EXPECT_EQ(viewer.position().last_seq, host2.log().head());
  EXPECT_EQ(*viewer.relay_verified(), *host2.relay_head());
  EXPECT_EQ(viewer.transcript().turns(), host_transcript(host2).turns());
}

// A relay peer has no outbound queue: control frames it does not read are bounded, and a peer
// that floods pings without reading is let go (bye slow_consumer), not buffered without end.
TEST(ClientSessionRelay, ARelayPeerThatDoesNotReadItsControlFramesIsLetGo) {
  const HostSessionConfig config = signing_config();
  Harness h(config);
  ClientSession viewer("viewer");
  viewer.offer_relay(1, host_key_of(config));
  ConnId conn = h.connect(viewer, PeerRole::kViewer);
  for (uint64_t i = 0; i < 1000; ++i) h.host->peer_frame(conn, ClientSession::ping(i), h.now);
  size_t frames = 0;
  bool last = false;
  std::optional<ByeFrame> bye;
  while (auto out = h.host->next_frame(conn, h.now)) {
    ++frames;
    if (out->last) {
      last = true;
      auto decoded = decode_frame(out->bytes);
      ASSERT_TRUE(decoded);
      if (auto* b = std::get_if<ByeFrame>(&*decoded)) bye = *b;
      break;
    }
  }
  EXPECT_TRUE(last);
  ASSERT_TRUE(bye);
  EXPECT_EQ(bye->reason, StatusCode::kSlowConsumer);
  EXPECT_LE(frames, 300u);
}

// Known answers for a relay link (protocol version 5; the browser runs them as a relay's child):
// tests/vectors/relay_link.json. A host with a fixed key and session id and no model; a viewer
// offers to relay, is streamed the host's turn, drops, and resumes after another turn (the
// host's anchor first). Each link: the client's hello and every frame the host sent, byte for
// byte; the transcript the client shows after it. TOKENCAST_WRITE_VECTORS=1 rewrites it.
// The introduction of a child to its relay (docs/PROTOCOL.md 6.5), for relay_link.json: the
// host (seed 0x40..) places a joiner (viewer room secret 0x00.., fixed join id and clock)
// below relay `relay_peer_id`, sealing the relay's SDP answer. Deterministic: the envelope
// counters come from fixed bits.
std::string intro_sdp(char fp_digit, std::string_view setup) {
  std::string fp;
  for (int i = 0; i < 32; ++i) {
    if (i) fp.push_back(':');
    fp.push_back(fp_digit);
    fp.push_back(fp_digit);
  }
  return "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
         "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
         "a=ice-ufrag:ReLy\r\na=ice-pwd:Zm9yLXRlc3RzLW9ubHktcGFzc3dk\r\n"
         "a=fingerprint:sha-256 " +
         fp + "\r\na=setup:" + std::string(setup) + "\r\na=mid:0\r\na=sctp-port:5000\r\n";
}

struct IntroInputs {
  SigningKey host_key;
  RoomSecret viewer{};
  RoomSecret participant{};
  JoinId join_id{};
  int64_t now_ms = 1767225600000;
  uint64_t relay_peer_id = 0x1122334455667788ULL;
  uint64_t host_counter_bits = 0x0102030405060708ULL;
  std::string offer = intro_sdp('A', "actpass");
  std::string relay_answer = intro_sdp('C', "active");
  InviteLink link() const {
    auto text = format_invite_link("https://rv.example.net", LinkRole::kViewer, viewer,
                                   host_key.public_key());
    return *parse_invite_link(*text);
  }
};

IntroInputs intro_inputs(const SigningKey& host_key) {
  IntroInputs in{host_key};
  for (size_t i = 0; i < 32; ++i) {
    in.viewer.mutable_bytes()[i] = static_cast<uint8_t>(i);
    in.participant.mutable_bytes()[i] = static_cast<uint8_t>(0x20 + i);
  }
  for (size_t i = 0; i < in.join_id.size(); ++i) in.join_id[i] = static_cast<uint8_t>(0x90 + i);
  return in;
}

nlohmann::json relay_answer_vector(const SigningKey& host_key) {
  const IntroInputs in = intro_inputs(host_key);
  auto host = HostHandshake::create(in.host_key, in.viewer, in.participant);
  auto joiner = JoinerHandshake::start(in.link(), "child", in.offer, in.now_ms, in.join_id);
  EXPECT_TRUE(host && joiner);
  EXPECT_TRUE(host->receive(joiner->offer_envelope(), in.now_ms).has_value());
  auto envelope =
      host->seal_relay_answer(in.join_id, in.relay_peer_id, in.relay_answer, in.host_counter_bits);
  EXPECT_TRUE(envelope.has_value());
  const RoomKeys keys(in.viewer, LinkRole::kViewer, in.host_key.public_key());
  EnvelopeOpener opener(keys, Direction::kHostToJoiner, in.join_id);
  auto plaintext = opener.open(*envelope);
  EXPECT_TRUE(plaintext.has_value());
  const auto decoded = handshake_wire::decode(*plaintext);
  EXPECT_TRUE(decoded.has_value());
  const auto relay = std::get<handshake_wire::RelayAnswer>(*decoded);
  EnvelopeOpener offer_opener(keys, Direction::kJoinerToHost, in.join_id);
  auto offer_plain = offer_opener.open(joiner->offer_envelope());
  EXPECT_TRUE(offer_plain.has_value());
  DtlsFingerprint joiner_fp, relay_fp;
  joiner_fp.fill(0xAA);
  relay_fp.fill(0xCC);
  const auto offer_hash = crypto::sha256(*offer_plain);
  nlohmann::json v;
  v["viewer_secret_hex"] = testing::hex(in.viewer.bytes());
  v["participant_secret_hex"] = testing::hex(in.participant.bytes());
  v["join_id_hex"] = testing::hex(in.join_id);
  v["now_ms"] = in.now_ms;
  v["display_name"] = "child";
  v["offer_sdp"] = in.offer;
  v["relay_answer_sdp"] = in.relay_answer;
  v["relay_peer_id"] = in.relay_peer_id;
  v["host_counter_bits"] = in.host_counter_bits;
  v["offer_envelope_hex"] = testing::hex(joiner->offer_envelope());
  v["transcript_hex"] = testing::hex(handshake_wire::relay_answer_transcript(
      keys.locator(), in.join_id, offer_hash, in.relay_answer, joiner_fp, relay_fp,
      in.relay_peer_id));
  v["plaintext_hex"] = testing::hex(*plaintext);
  v["signature_hex"] = testing::hex(relay.signature);
  v["envelope_hex"] = testing::hex(*envelope);
  return v;
}

// The host <-> relay introduction frames (docs/PROTOCOL.md 6.5) for relay_link.json: name,
// sender ("host" or "relay") and bytes. The SDPs are the relay answer vector's.
nlohmann::json intro_frame_vectors(const SigningKey& host_key) {
  const IntroInputs in = intro_inputs(host_key);
  const std::vector<std::tuple<std::string, std::string, Frame>> frames = {
      {"relay_intro", "host", RelayIntroFrame{1, in.offer}},
      {"relay_accept", "relay", RelayAcceptFrame{1, in.relay_answer}},
      {"relay_refuse_full", "relay", RelayRefuseFrame{2, RelayRefuseReason::kFull}},
      {"relay_candidate_child", "host",
       RelayCandidateFrame{1, 0, "0", "candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host"}},
      {"relay_candidate_relay", "relay",
       RelayCandidateFrame{1, 0, "0", "candidate:2 1 udp 2122260223 192.168.1.30 40001 typ host"}},
      {"relay_child_gone", "relay", RelayChildGoneFrame{1}},
      {"relay_route_down", "host", RelayRouteFrame{5, {0x00, 0x01, 0x02}}},
      {"relay_route_up", "relay", RelayRouteFrame{5, {0x03, 0x04, 0x05}}},
  };
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [name, from, frame] : frames) {
    auto bytes = encode_frame(frame);
    EXPECT_TRUE(bytes.has_value());
    out.push_back({{"name", name}, {"from", from}, {"hex", testing::hex(*bytes)}});
  }
  return out;
}

// Route seals (docs/PROTOCOL.md section 6, "Relays below relays"): the relay placed by the
// relay answer vector's join (same room, same join id) relays too. Its route keys, a host ->
// relay seal of a relay_intro and a relay -> host seal of a relay_offer (both at counter 0),
// and the frames that carry them one hop: relay_route on the parent's link to the host,
// relay_routed on the parent's link to this relay.
nlohmann::json route_vector(const SigningKey& host_key) {
  const IntroInputs in = intro_inputs(host_key);
  const RoomKeys room(in.viewer, LinkRole::kViewer, host_key.public_key());
  RouteChannel host = RouteChannel::for_host(room, in.join_id);
  RouteChannel relay = RouteChannel::for_relay(room, in.join_id);
  nlohmann::json v;
  v["join_id_hex"] = testing::hex(in.join_id);
  v["host_to_relay_key_hex"] =
      testing::hex(room.route_key(Direction::kHostToJoiner, in.join_id).bytes());
  v["relay_to_host_key_hex"] =
      testing::hex(room.route_key(Direction::kJoinerToHost, in.join_id).bytes());
  const FrameBytes intro = *encode_frame(RelayIntroFrame{9, in.offer});
  const FrameBytes offer = *encode_frame(RelayOfferFrame{3});
  const auto down = *host.sealer.seal(intro);
  const auto up = *relay.sealer.seal(offer);
  v["seals"] = nlohmann::json::array({{{"from", "host"},
                                       {"plaintext_hex", testing::hex(intro)},
                                       {"sealed_hex", testing::hex(down)}},
                                      {{"from", "relay"},
                                       {"plaintext_hex", testing::hex(offer)},
                                       {"sealed_hex", testing::hex(up)}}});
  const uint64_t relay_token = 4;  // the token its parent knows it by
  v["frames"] = nlohmann::json::array(
      {{{"name", "relay_route_down"},
        {"link", "parent_to_host"},
        {"hex", testing::hex(*encode_frame(RelayRouteFrame{relay_token, down}))}},
       {{"name", "relay_routed_down"},
        {"link", "parent_to_relay"},
        {"hex", testing::hex(*encode_frame(RelayRoutedFrame{down}))}},
       {{"name", "relay_routed_up"},
        {"link", "parent_to_relay"},
        {"hex", testing::hex(*encode_frame(RelayRoutedFrame{up}))}},
       {{"name", "relay_route_up"},
        {"link", "parent_to_host"},
        {"hex", testing::hex(*encode_frame(RelayRouteFrame{relay_token, up}))}}});
  return v;
}

nlohmann::json relay_link_vectors() {
  HostSessionConfig config;
  std::array<uint8_t, 32> seed{};
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(0x40 + i);
  config.signing_key = SigningKey::from_seed(seed);
  config.llm_attached = false;
  config.host_name = "host";
  config.relay.sign_interval_ms = 50;
  config.relay.max_unsigned_records = 4;
  Harness h(config);
  const Ed25519PublicKey key = config.signing_key->public_key();
  nlohmann::json doc;
  doc["about"] =
      "Relay link known answers (docs/PROTOCOL.md section 6, protocol version 5), generated and "
      "replayed by tests/core_client_session_test.cpp (the browser, a relay's child, replays "
      "`introduction` and the records of `links` in web/test/relay.test.ts). A HostSession "
      "(host_seed_hex, session_id_hex, no model) writes the "
      "relay stream; a viewer whose hello offers a relay capacity gets, on each link, the "
      "frames listed (welcome with the relay flag, the anchor checkpoint when it resumes, then "
      "relay records and checkpoints) and shows `text` after them. relay_max_unsigned_records "
      "and relay_sign_interval_ms are the writer's options. `introduction` (docs/PROTOCOL.md "
      "6.5): `relay_answer`, the host (same key) placing a joiner below a relay: its offer "
      "envelope, the relay answer transcript, plaintext, signature and sealed envelope; `frames`, "
      "the host <-> relay introduction frames (and relay_child_gone) with their sender (a host "
      "decodes what a relay "
      "sends with decode_client_frame, a relay what the host sends with its client decoder); "
      "`child_link`, a child's relay_hello from the genesis chain hash, its relay's "
      "relay_welcome, and the relay_hello of a child holding events without a chain position "
      "(all-zero hash; docs/PROTOCOL.md section 6, the child's link to its relay) (a relay decodes "
      "its child's frames with decode_client_frame, the child "
      "with its client decoder); `route`, a relay below a relay (placed by the relay_answer "
      "join: same viewer secret and join id): its route keys, a host -> relay seal of a "
      "relay_intro and a relay -> host seal of a relay_offer (counter 0 each), and the frames "
      "that carry them one hop (relay_route between its parent and the host, relay_routed "
      "between its parent and it).";
  doc["host_seed_hex"] = testing::hex(seed);
  doc["host_public_key_hex"] = testing::hex(key);
  SessionId session_id;
  session_id.bytes.fill(7);  // the Harness's
  doc["session_id_hex"] = testing::hex(session_id.bytes);
  doc["relay_max_unsigned_records"] = config.relay.max_unsigned_records;
  doc["relay_sign_interval_ms"] = config.relay.sign_interval_ms;
  ClientSession viewer("relay");
  viewer.offer_relay(2, key);
  nlohmann::json links = nlohmann::json::array();
  auto link = [&](const std::string& name, std::string_view host_says) {
    nlohmann::json l;
    l["name"] = name;
    const FrameBytes hello = viewer.hello();
    l["hello_hex"] = testing::hex(hello);
    ConnId conn = h.host->peer_opened(PeerRole::kViewer, h.now);
    h.host->peer_frame(conn, hello, h.now);
    h.host->durable(h.host->log().head(), h.now);
    h.host->host_prompt(host_says, h.now);
    h.host->durable(h.host->log().head(), h.now);
    h.now += 100;  // the quiet tail's checkpoint falls due
    h.host->tick(h.now);
    nlohmann::json frames = nlohmann::json::array();
    while (auto out = h.host->next_frame(conn, h.now)) {
      frames.push_back(testing::hex(out->bytes));
      EXPECT_TRUE(viewer.receive(out->bytes));
    }
    l["frames"] = frames;
    l["text"] = viewer.transcript().turns().back().text;
    l["last_seq"] = viewer.position().last_seq;
    viewer.set_link_lost();
    h.host->peer_closed(conn, h.now);
    h.host->durable(h.host->log().head(), h.now);
    links.push_back(l);
  };
  link("fresh", "the first answer, streamed as relay records");
  link("resumed", "the second, after the anchor");
  doc["links"] = links;
  nlohmann::json intro;
  intro["relay_answer"] = relay_answer_vector(*config.signing_key);
  intro["frames"] = intro_frame_vectors(*config.signing_key);
  intro["route"] = route_vector(*config.signing_key);
  // A child's first frames on a fresh relay link: its hello from the genesis h_0, and the
  // relay's welcome (the relay has verified as far as the "fresh" link above).
  {
    const RelayHelloFrame hello{kRelayVersion, 0, relay_chain_genesis(session_id, key)};
    // A child that holds events up to the fresh link's last sequence without a chain position
    // (served the plain stream by the host): all-zero hash; its relay anchors it at or below.
    const RelayHelloFrame held{kRelayVersion, links.at(0).at("last_seq").get<uint64_t>(), {}};
    const RelayWelcomeFrame welcome{kRelayVersion, session_id,
                                    links.at(0).at("last_seq").get<uint64_t>()};
    intro["child_link"] = nlohmann::json::array({{{"name", "relay_hello_genesis"},
                                                  {"from", "child"},
                                                  {"hex", testing::hex(*encode_frame(hello))}},
                                                 {{"name", "relay_welcome"},
                                                  {"from", "relay"},
                                                  {"hex", testing::hex(*encode_frame(welcome))}},
                                                 {{"name", "relay_hello_held_without_chain"},
                                                  {"from", "child"},
                                                  {"hex", testing::hex(*encode_frame(held))}}});
  }
  doc["introduction"] = intro;
  return doc;
}

TEST(RelayLinkVectors, RelayLinkJsonIsCurrentAndReplays) {
  const nlohmann::json doc = relay_link_vectors();
  testing::expect_vector_file_current(std::string(TOKENCAST_VECTORS_DIR) + "/relay_link.json",
                                      doc.dump(2) + "\n");
  // Replay the committed bytes with a fresh client: the same transcript; a flipped byte in
  // any relay frame is refused.
  std::ifstream in(std::string(TOKENCAST_VECTORS_DIR) + "/relay_link.json");
  const nlohmann::json file = nlohmann::json::parse(in);
  Ed25519PublicKey key{};
  const auto key_bytes = testing::unhex(file.at("host_public_key_hex").get<std::string>());
  std::copy(key_bytes.begin(), key_bytes.end(), key.begin());
  ClientSession viewer("relay");
  viewer.offer_relay(2, key);
  for (const auto& l : file.at("links")) {
    EXPECT_EQ(testing::hex(viewer.hello()), l.at("hello_hex").get<std::string>());
    for (const auto& f : l.at("frames")) {
      const auto bytes = testing::unhex(f.get<std::string>());
      ASSERT_TRUE(viewer.receive(bytes));
    }
    EXPECT_EQ(viewer.transcript().turns().back().text, l.at("text").get<std::string>());
    EXPECT_EQ(viewer.position().last_seq, l.at("last_seq").get<Seq>());
    viewer.set_link_lost();
  }
  ClientSession other("relay");
  other.offer_relay(2, key);
  const auto& fresh = file.at("links").at(0).at("frames");
  bool refused = false;
  for (const auto& f : fresh) {
    auto bytes = testing::unhex(f.get<std::string>());
    if (bytes[0] == kRelayRecordType || bytes[0] == kRelaySignedRecordType) {
      bytes.back() ^= 0x20;
    }
    if (!other.receive(bytes)) {
      refused = true;
      break;
    }
  }
  EXPECT_TRUE(refused);
  EXPECT_EQ(other.position().last_seq, 0u) << "nothing altered is ever applied";
}

TEST(RelayLinkVectors, IntroFramesDecodeOnTheirReceiverOnly) {
  std::ifstream in(std::string(TOKENCAST_VECTORS_DIR) + "/relay_link.json");
  const nlohmann::json frames = nlohmann::json::parse(in).at("introduction").at("frames");
  ASSERT_FALSE(frames.empty());
  for (const auto& f : frames) {
    SCOPED_TRACE(f.at("name").get<std::string>());
    const auto bytes = testing::unhex(f.at("hex").get<std::string>());
    auto decoded = decode_frame(bytes);
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message();
    EXPECT_EQ(*encode_frame(*decoded), bytes);
    const bool from_host = f.at("from") == "host";
    const bool from_relay = f.at("from") == "relay";
    const bool both_ways = std::holds_alternative<RelayCandidateFrame>(*decoded) ||
                           std::holds_alternative<RelayRouteFrame>(*decoded);
    FrameDecoder relay_side;
    EXPECT_EQ(relay_side.decode(bytes).has_value(), from_host || both_ways);
    EXPECT_EQ(decode_client_frame(bytes).has_value(), from_relay || both_ways);
  }
}

TEST(RelayLinkVectors, ChildLinkFramesDecodeOnTheirReceiverOnly) {
  std::ifstream in(std::string(TOKENCAST_VECTORS_DIR) + "/relay_link.json");
  const nlohmann::json doc = nlohmann::json::parse(in);
  const nlohmann::json& frames = doc.at("introduction").at("child_link");
  ASSERT_EQ(frames.size(), 3u);
  auto held = decode_client_frame(testing::unhex(frames.at(2).at("hex").get<std::string>()));
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(std::get<RelayHelloFrame>(*held).chain_hash, RelayChainHash{});
  EXPECT_GT(std::get<RelayHelloFrame>(*held).last_index, 0u);
  const auto hello_bytes = testing::unhex(frames.at(0).at("hex").get<std::string>());
  auto hello = decode_client_frame(hello_bytes);
  ASSERT_TRUE(hello.has_value());
  EXPECT_EQ(*encode_frame(*hello), hello_bytes);
  // The genesis of the vectors' session and host key.
  SessionId session_id;
  const auto id = testing::unhex(doc.at("session_id_hex").get<std::string>());
  std::copy(id.begin(), id.end(), session_id.bytes.begin());
  Ed25519PublicKey key{};
  const auto key_bytes = testing::unhex(doc.at("host_public_key_hex").get<std::string>());
  std::copy(key_bytes.begin(), key_bytes.end(), key.begin());
  EXPECT_EQ(std::get<RelayHelloFrame>(*hello).chain_hash, relay_chain_genesis(session_id, key));
  EXPECT_FALSE(FrameDecoder().decode(hello_bytes).has_value());
  const auto welcome_bytes = testing::unhex(frames.at(1).at("hex").get<std::string>());
  FrameDecoder child;
  auto welcome = child.decode(welcome_bytes);
  ASSERT_TRUE(welcome.has_value());
  EXPECT_EQ(std::get<RelayWelcomeFrame>(*welcome).session_id, session_id);
  EXPECT_EQ(*encode_frame(*welcome), welcome_bytes);
  EXPECT_FALSE(decode_client_frame(welcome_bytes).has_value());
}

TEST(RelayLinkVectors, RouteSealsOpenAtTheirEndsOnly) {
  std::ifstream in(std::string(TOKENCAST_VECTORS_DIR) + "/relay_link.json");
  const nlohmann::json v = nlohmann::json::parse(in).at("introduction").at("route");
  std::array<uint8_t, 32> seed{};
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(0x40 + i);
  const IntroInputs inputs = intro_inputs(SigningKey::from_seed(seed));
  ASSERT_EQ(v.at("join_id_hex"), testing::hex(inputs.join_id));
  const RoomKeys room(inputs.viewer, LinkRole::kViewer, inputs.host_key.public_key());
  RouteChannel host = RouteChannel::for_host(room, inputs.join_id);
  RouteChannel relay = RouteChannel::for_relay(room, inputs.join_id);
  for (const auto& seal : v.at("seals")) {
    const auto sealed = testing::unhex(seal.at("sealed_hex").get<std::string>());
    RouteOpener& opener = seal.at("from") == "host" ? relay.opener : host.opener;
    RouteOpener& wrong_end = seal.at("from") == "host" ? host.opener : relay.opener;
    EXPECT_FALSE(wrong_end.open(sealed).has_value());
    auto opened = opener.open(sealed);
    ASSERT_TRUE(opened.has_value());
    EXPECT_EQ(testing::hex(*opened), seal.at("plaintext_hex"));
    EXPECT_EQ(opener.open(sealed).error(), EnvelopeError::kReplayed);
  }
  for (const auto& f : v.at("frames")) {
    SCOPED_TRACE(f.at("name").get<std::string>());
    const auto bytes = testing::unhex(f.at("hex").get<std::string>());
    // Both ends of both links take them; nothing else but these two frame types carries seals.
    auto decoded = decode_client_frame(bytes);
    ASSERT_TRUE(decoded.has_value());
    EXPECT_TRUE(FrameDecoder().decode(bytes).has_value());
    EXPECT_EQ(*encode_frame(*decoded), bytes);
    EXPECT_EQ(std::holds_alternative<RelayRouteFrame>(*decoded), f.at("link") == "parent_to_host");
  }
}

TEST(RelayLinkVectors, RelayAnswerReplaysAndFailsClosedWhenFlipped) {
  std::ifstream in(std::string(TOKENCAST_VECTORS_DIR) + "/relay_link.json");
  const nlohmann::json v = nlohmann::json::parse(in).at("introduction").at("relay_answer");
  std::array<uint8_t, 32> seed{};
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(0x40 + i);
  const IntroInputs inputs = intro_inputs(SigningKey::from_seed(seed));
  ASSERT_EQ(v.at("viewer_secret_hex"), testing::hex(inputs.viewer.bytes()));
  const auto envelope = testing::unhex(v.at("envelope_hex").get<std::string>());
  for (size_t flip : {size_t{0}, envelope.size() - 1}) {
    auto joiner = JoinerHandshake::start(inputs.link(), v.at("display_name").get<std::string>(),
                                         v.at("offer_sdp").get<std::string>(),
                                         v.at("now_ms").get<int64_t>(), inputs.join_id);
    ASSERT_TRUE(joiner.has_value());
    EXPECT_EQ(testing::hex(joiner->offer_envelope()), v.at("offer_envelope_hex"));
    auto bytes = envelope;
    if (flip != 0) bytes[flip] ^= 0x01;
    auto event = joiner->receive(bytes);
    if (flip != 0) {
      EXPECT_FALSE(event.has_value());
      continue;
    }
    ASSERT_TRUE(event.has_value()) << handshake_error_name(event.error());
    const auto& relay = std::get<VerifiedRelayAnswer>(*event);
    EXPECT_EQ(relay.sdp, v.at("relay_answer_sdp").get<std::string>());
    EXPECT_EQ(relay.relay_peer_id, v.at("relay_peer_id").get<uint64_t>());
  }
}
}  // namespace
}  // namespace tokencast
