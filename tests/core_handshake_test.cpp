// The join handshake state machines: the happy path joiner <-> host with Chromium-shaped SDPs,
// roles, forged answers and rejections, expired and replayed offers, limits, and the
// handshake section of tests/vectors/crypto.json replayed through both state machines.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "crypto/primitives.hpp"
#include "join/sdp_fingerprint.hpp"
#include "support/hex.hpp"
#include "tokencast/core/envelope.hpp"
#include "tokencast/core/handshake.hpp"
#include "tokencast/core/handshake_messages.hpp"
#include "tokencast/core/invite.hpp"
#include "tokencast/core/random.hpp"

namespace {

using namespace tokencast;
namespace hw = handshake_wire;
using Bytes = std::vector<uint8_t>;
using tokencast::testing::hex;
using tokencast::testing::unhex;

template <size_t N>
std::array<uint8_t, N> seq(uint8_t start) {
  std::array<uint8_t, N> a{};
  for (size_t i = 0; i < N; ++i) a[i] = static_cast<uint8_t>(start + i);
  return a;
}

// A fingerprint "XX:XX:..." whose 32 bytes are all `b`.
std::string fingerprint_text(uint8_t b) {
  static const char* d = "0123456789ABCDEF";
  std::string s;
  for (int i = 0; i < 32; ++i) {
    if (i) s.push_back(':');
    s.push_back(d[b >> 4]);
    s.push_back(d[b & 15]);
  }
  return s;
}

std::string make_sdp(uint8_t fp_byte, std::string_view setup, std::string_view ufrag) {
  std::string s;
  s += "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
  s += "a=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n";
  s += "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n";
  s += "a=ice-ufrag:" + std::string(ufrag) + "\r\na=ice-pwd:Zm9yLXRlc3RzLW9ubHktcGFzc3dk\r\n";
  s += "a=ice-options:trickle\r\na=fingerprint:sha-256 " + fingerprint_text(fp_byte) + "\r\n";
  s += "a=setup:" + std::string(setup) + "\r\na=mid:0\r\na=sctp-port:5000\r\n";
  s += "a=max-message-size:262144\r\n";
  return s;
}

DtlsFingerprint fp_of(uint8_t b) {
  DtlsFingerprint f;
  f.fill(b);
  return f;
}

constexpr int64_t kNow = 1767225600000;  // 2026-01-01T00:00:00Z
constexpr int64_t kMinute = 60 * 1000;

struct Session {
  SigningKey host_key = SigningKey::from_seed(seq<32>(0x40));
  RoomSecret viewer{seq<32>(0x00)};
  RoomSecret participant{seq<32>(0x20)};
  std::string offer = make_sdp(0xA1, "actpass", "jOin");
  std::string answer = make_sdp(0xB2, "active", "HoSt");

  HostHandshake host(HostHandshakeOptions o = {}) const {
    auto h = HostHandshake::create(host_key, viewer, participant, o);
    EXPECT_TRUE(h.has_value());
    return std::move(*h);
  }
  InviteLink link(LinkRole role) const {
    const RoomSecret& s = role == LinkRole::kViewer ? viewer : participant;
    auto text = format_invite_link("https://rv.example.net", role, s, host_key.public_key());
    auto parsed = parse_invite_link(*text);
    EXPECT_TRUE(parsed.has_value());
    return *parsed;
  }
  JoinerHandshake joiner(LinkRole role, int64_t now = kNow, std::string name = "Ada") const {
    auto j = JoinerHandshake::start(link(role), name, offer, now, system_random());
    EXPECT_TRUE(j.has_value());
    return std::move(*j);
  }
};

template <class T, class E>
E error_of(const Expected<T, E>& r) {
  EXPECT_FALSE(r.has_value());
  return r.has_value() ? E{} : r.error();
}

TEST(Handshake, HappyPath) {
  const Session s;
  HostHandshake host = s.host();
  JoinerHandshake joiner = s.joiner(LinkRole::kViewer);
  EXPECT_EQ(joiner.state(), JoinerHandshake::State::kAwaitingAnswer);
  EXPECT_EQ(joiner.locator(), host.locator(LinkRole::kViewer));

  // Offer.
  auto ev = host.receive(joiner.offer_envelope(), kNow + 800);
  ASSERT_TRUE(ev.has_value()) << handshake_error_name(ev.error());
  EXPECT_EQ(ev->join_id, joiner.join_id());
  EXPECT_EQ(ev->role, LinkRole::kViewer);
  const auto& offer = std::get<JoinOffer>(ev->body);
  EXPECT_EQ(offer.display_name, "Ada");
  EXPECT_EQ(offer.sdp, s.offer);
  EXPECT_EQ(offer.timestamp_ms, kNow);
  EXPECT_EQ(offer.joiner_fingerprint, fp_of(0xA1));
  EXPECT_EQ(host.pending_joins(), 1u);

  // The joiner trickles candidates before the answer arrives.
  const IceCandidate jc{"0", 0, "candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host"};
  auto jc_env = joiner.seal_candidate(jc);
  ASSERT_TRUE(jc_env.has_value());
  auto jc_ev = host.receive(*jc_env, kNow + 900);
  ASSERT_TRUE(jc_ev.has_value());
  EXPECT_EQ(std::get<IceCandidate>(jc_ev->body), jc);
  EXPECT_EQ(jc_ev->role, LinkRole::kViewer);

  // Answer.
  auto answer_env = host.seal_answer(joiner.join_id(), s.answer, system_random());
  ASSERT_TRUE(answer_env.has_value());
  auto answer = joiner.receive(*answer_env);
  ASSERT_TRUE(answer.has_value()) << handshake_error_name(answer.error());
  const auto& verified = std::get<VerifiedAnswer>(*answer);
  EXPECT_EQ(verified.sdp, s.answer);
  EXPECT_EQ(verified.host_fingerprint, fp_of(0xB2));
  EXPECT_EQ(joiner.state(), JoinerHandshake::State::kAnswered);

  // Host candidates, then both ends of candidates.
  const IceCandidate hc{"0", 0, "candidate:2 1 udp 2122260223 192.168.1.10 40000 typ host"};
  auto hc_ev = joiner.receive(*host.seal_candidate(joiner.join_id(), hc));
  ASSERT_TRUE(hc_ev.has_value());
  EXPECT_EQ(std::get<IceCandidate>(*hc_ev), hc);
  auto heoc = joiner.receive(*host.seal_end_of_candidates(joiner.join_id()));
  ASSERT_TRUE(heoc.has_value());
  EXPECT_TRUE(std::holds_alternative<EndOfCandidates>(*heoc));
  auto jeoc = host.receive(*joiner.seal_end_of_candidates(), kNow + 1000);
  ASSERT_TRUE(jeoc.has_value());
  EXPECT_TRUE(std::holds_alternative<EndOfCandidates>(jeoc->body));

  host.forget(joiner.join_id());
  EXPECT_EQ(host.pending_joins(), 0u);
  EXPECT_EQ(host.seen_join_ids(), 1u);
}

TEST(Handshake, RoleComesFromTheSecretThatOpens) {
  const Session s;
  HostHandshake host = s.host();
  JoinerHandshake p = s.joiner(LinkRole::kParticipant);
  EXPECT_EQ(p.role(), LinkRole::kParticipant);
  auto ev = host.receive(p.offer_envelope(), kNow);
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->role, LinkRole::kParticipant);
  auto v = host.receive(s.joiner(LinkRole::kViewer).offer_envelope(), kNow);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->role, LinkRole::kViewer);
  // And the participant's answer verifies too.
  auto a = p.receive(*host.seal_answer(p.join_id(), s.answer, system_random()));
  ASSERT_TRUE(a.has_value());
}

TEST(Handshake, ViewerFlippingRoleByteGetsNowhere) {
  const Session s;
  HostHandshake host = s.host();
  InviteLink link = s.link(LinkRole::kViewer);
  link.role = LinkRole::kParticipant;  // the viewer's secret, claiming participant
  auto j = JoinerHandshake::start(link, "Eve", s.offer, kNow, system_random());
  ASSERT_TRUE(j.has_value());
  EXPECT_NE(j->locator(), host.locator(LinkRole::kParticipant));
  EXPECT_NE(j->locator(), host.locator(LinkRole::kViewer));
  EXPECT_EQ(error_of(host.receive(j->offer_envelope(), kNow)), HandshakeError::kOpenFailed);
}

TEST(Handshake, WrongSecretRefused) {
  const Session s;
  HostHandshake host = s.host();
  InviteLink link = s.link(LinkRole::kViewer);
  link.secret = RoomSecret(seq<32>(0x99));
  auto j = JoinerHandshake::start(link, "Eve", s.offer, kNow, system_random());
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(error_of(host.receive(j->offer_envelope(), kNow)), HandshakeError::kOpenFailed);
  EXPECT_EQ(host.pending_joins(), 0u);
  EXPECT_EQ(host.seen_join_ids(), 0u);  // unauthenticated offers leave no trace
}

TEST(Handshake, AnswerSignedByAnotherKeyFailsClosed) {
  // A holder of the link (knows the secret, can seal) answers in the host's place.
  const Session s;
  Session impostor = s;
  impostor.host_key = SigningKey::from_seed(seq<32>(0x77));
  HostHandshake fake = impostor.host();
  JoinerHandshake joiner = s.joiner(LinkRole::kViewer);
  // The impostor cannot even open the offer with its own key in the room derivation...
  EXPECT_EQ(error_of(fake.receive(joiner.offer_envelope(), kNow)), HandshakeError::kOpenFailed);

  // ...so it builds the answer by hand from the secret it holds.
  const RoomKeys keys(s.viewer, LinkRole::kViewer, s.host_key.public_key());
  hw::Answer forged;
  forged.sdp = make_sdp(0xEE, "active", "EvIl");
  forged.signature = impostor.host_key.sign(Bytes{1, 2, 3});
  EnvelopeSealer sealer(keys, Direction::kHostToJoiner, joiner.join_id(), 1000);
  auto env = sealer.seal(*hw::encode(forged));
  EXPECT_EQ(error_of(joiner.receive(*env)), HandshakeError::kBadSignature);
  EXPECT_EQ(joiner.state(), JoinerHandshake::State::kFailed);
  // Fail closed: a genuine answer afterwards is not accepted either.
  HostHandshake host = s.host();
  ASSERT_TRUE(host.receive(joiner.offer_envelope(), kNow).has_value());
  EXPECT_EQ(
      error_of(joiner.receive(*host.seal_answer(joiner.join_id(), s.answer, system_random()))),
      HandshakeError::kClosed);
  EXPECT_EQ(error_of(joiner.seal_candidate({"0", 0, "candidate:x"})), HandshakeError::kClosed);
  const std::error_code ec = HandshakeError::kBadSignature;
  EXPECT_NE(ec.message().find("invite link invalid or expired"), std::string::npos);
}

TEST(Handshake, GenuineSignatureOverAnotherOfferRefused) {
  // The host answered joiner B; a link holder re-seals that answer (valid host signature)
  // for joiner A's join id. The transcript names B's join id and offer: A refuses it.
  const Session s;
  HostHandshake host = s.host();
  JoinerHandshake a = s.joiner(LinkRole::kViewer);
  JoinerHandshake b = s.joiner(LinkRole::kViewer);
  ASSERT_TRUE(host.receive(a.offer_envelope(), kNow).has_value());
  ASSERT_TRUE(host.receive(b.offer_envelope(), kNow).has_value());
  auto b_answer_env = host.seal_answer(b.join_id(), s.answer, system_random());

  const RoomKeys keys(s.viewer, LinkRole::kViewer, s.host_key.public_key());
  EnvelopeOpener peek(keys, Direction::kHostToJoiner, b.join_id());
  auto b_plain = peek.open(*b_answer_env);
  ASSERT_TRUE(b_plain.has_value());
  EnvelopeSealer resealer(keys, Direction::kHostToJoiner, a.join_id(), 0);
  EXPECT_EQ(error_of(a.receive(*resealer.seal(*b_plain))), HandshakeError::kBadSignature);
  EXPECT_EQ(a.state(), JoinerHandshake::State::kFailed);
  // B itself accepts its answer.
  EXPECT_TRUE(b.receive(*b_answer_env).has_value());
}

TEST(Handshake, SwappedAnswerSdpRefused) {
  // Keep the host's signature, replace the SDP (another DTLS certificate): refused.
  const Session s;
  HostHandshake host = s.host();
  JoinerHandshake j = s.joiner(LinkRole::kViewer);
  ASSERT_TRUE(host.receive(j.offer_envelope(), kNow).has_value());
  auto env = host.seal_answer(j.join_id(), s.answer, system_random());
  const RoomKeys keys(s.viewer, LinkRole::kViewer, s.host_key.public_key());
  EnvelopeOpener peek(keys, Direction::kHostToJoiner, j.join_id());
  auto msg = hw::decode(*peek.open(*env));
  auto answer = std::get<hw::Answer>(*msg);
  answer.sdp = make_sdp(0xEE, "active", "HoSt");
  EnvelopeSealer resealer(keys, Direction::kHostToJoiner, j.join_id(), 0);
  EXPECT_EQ(error_of(j.receive(*resealer.seal(*hw::encode(answer)))),
            HandshakeError::kBadSignature);
}

TEST(RelayAnswer, JoinerVerifiesTheRelayTheHostAppointed) {
  const Session s;
  HostHandshake host = s.host();
  JoinerHandshake j = s.joiner(LinkRole::kViewer);
  ASSERT_TRUE(host.receive(j.offer_envelope(), kNow).has_value());
  const std::string relay_sdp = make_sdp(0xC3, "active", "ReLy");
  const uint64_t relay_id = 0x0102030405060708ULL;
  auto env = host.seal_relay_answer(j.join_id(), relay_id, relay_sdp, system_random());
  ASSERT_TRUE(env.has_value());
  // It counts as the answer: a second one (either kind) is refused by the host.
  EXPECT_EQ(error_of(host.seal_answer(j.join_id(), s.answer, system_random())),
            HandshakeError::kWrongState);
  EXPECT_EQ(error_of(host.seal_relay_answer(j.join_id(), relay_id, relay_sdp, system_random())),
            HandshakeError::kWrongState);
  auto ev = j.receive(*env);
  ASSERT_TRUE(ev.has_value()) << handshake_error_name(ev.error());
  const auto& verified = std::get<VerifiedRelayAnswer>(*ev);
  EXPECT_EQ(verified.sdp, relay_sdp);
  EXPECT_EQ(verified.relay_fingerprint, fp_of(0xC3));
  EXPECT_EQ(verified.relay_peer_id, relay_id);
  EXPECT_EQ(j.state(), JoinerHandshake::State::kAnswered);
  // Host candidates (the relay's, forwarded) follow as after an answer.
  const IceCandidate rc{"0", 0, "candidate:3 1 udp 2122260223 10.0.0.3 40001 typ host"};
  auto rc_ev = j.receive(*host.seal_candidate(j.join_id(), rc));
  ASSERT_TRUE(rc_ev.has_value());
  EXPECT_EQ(std::get<IceCandidate>(*rc_ev), rc);
  // The host refuses a relay SDP it could not bind.
  JoinerHandshake k = s.joiner(LinkRole::kViewer);
  ASSERT_TRUE(host.receive(k.offer_envelope(), kNow).has_value());
  EXPECT_EQ(error_of(host.seal_relay_answer(k.join_id(), 1, "v=0\r\n", system_random())),
            HandshakeError::kBadSdp);
  EXPECT_EQ(error_of(host.seal_relay_answer(k.join_id(), 1, "", system_random())),
            HandshakeError::kInvalidArgument);
  EXPECT_EQ(error_of(host.seal_relay_answer(JoinId{}, 1, relay_sdp, system_random())),
            HandshakeError::kUnknownJoin);
}

// Takes a genuine relay answer apart, changes it with `mutate`, reseals it: the joiner must
// fail closed with `expected`.
template <class Mutate>
void expect_tampered_relay_answer_refused(Mutate mutate, HandshakeError expected) {
  const Session s;
  HostHandshake host = s.host();
  JoinerHandshake j = s.joiner(LinkRole::kViewer);
  ASSERT_TRUE(host.receive(j.offer_envelope(), kNow).has_value());
  auto env =
      host.seal_relay_answer(j.join_id(), 42, make_sdp(0xC3, "active", "ReLy"), system_random());
  const RoomKeys keys(s.viewer, LinkRole::kViewer, s.host_key.public_key());
  EnvelopeOpener peek(keys, Direction::kHostToJoiner, j.join_id());
  auto msg = hw::decode(*peek.open(*env));
  ASSERT_TRUE(msg.has_value());
  hw::Message changed = mutate(std::get<hw::RelayAnswer>(*msg));
  EnvelopeSealer resealer(keys, Direction::kHostToJoiner, j.join_id(), 0);
  EXPECT_EQ(error_of(j.receive(*resealer.seal(*hw::encode(changed)))), expected);
  EXPECT_EQ(j.state(), JoinerHandshake::State::kFailed);
}

TEST(RelayAnswer, TamperedOrRelabelledFailsClosed) {
  // Another relay id (a link holder steering the joiner to a peer of its choice).
  expect_tampered_relay_answer_refused(
      [](hw::RelayAnswer m) -> hw::Message {
        m.relay_peer_id = 43;
        return m;
      },
      HandshakeError::kBadSignature);
  // Another relay SDP (another DTLS certificate).
  expect_tampered_relay_answer_refused(
      [](hw::RelayAnswer m) -> hw::Message {
        m.sdp = make_sdp(0xEE, "active", "ReLy");
        return m;
      },
      HandshakeError::kBadSignature);
  // The relay answer's signature presented as a plain answer: the labels differ.
  expect_tampered_relay_answer_refused(
      [](hw::RelayAnswer m) -> hw::Message {
        return hw::Answer{m.signature, m.sdp};
      },
      HandshakeError::kBadSignature);
  // No fingerprint in the SDP.
  expect_tampered_relay_answer_refused(
      [](hw::RelayAnswer m) -> hw::Message {
        m.sdp = "v=0\r\n";
        return m;
      },
      HandshakeError::kBadSdp);
}

TEST(RelayAnswer, PlainAnswerSignatureNotTakenForARelayAnswer) {
  const Session s;
  HostHandshake host = s.host();
  JoinerHandshake j = s.joiner(LinkRole::kViewer);
  ASSERT_TRUE(host.receive(j.offer_envelope(), kNow).has_value());
  auto env = host.seal_answer(j.join_id(), s.answer, system_random());
  const RoomKeys keys(s.viewer, LinkRole::kViewer, s.host_key.public_key());
  EnvelopeOpener peek(keys, Direction::kHostToJoiner, j.join_id());
  auto answer = std::get<hw::Answer>(*hw::decode(*peek.open(*env)));
  EnvelopeSealer resealer(keys, Direction::kHostToJoiner, j.join_id(), 0);
  auto relabelled = hw::encode(hw::RelayAnswer{answer.signature, 0, answer.sdp});
  EXPECT_EQ(error_of(j.receive(*resealer.seal(*relabelled))), HandshakeError::kBadSignature);
  EXPECT_EQ(j.state(), JoinerHandshake::State::kFailed);
}

TEST(RelayAnswer, CodecIsStrict) {
  hw::RelayAnswer m;
  m.signature.fill(0x5A);
  m.relay_peer_id = 0xFFFFFFFFFFFFFFFFULL;
  m.sdp = make_sdp(0xC3, "active", "ReLy");
  auto bytes = hw::encode(m);
  ASSERT_TRUE(bytes.has_value());
  ASSERT_EQ(bytes->size(), 1 + 64 + 8 + m.sdp.size());
  EXPECT_EQ((*bytes)[0], 0x06);
  auto back = hw::decode(*bytes);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(std::get<hw::RelayAnswer>(*back), m);
  // Truncated before the SDP, empty SDP, NUL in the SDP, SDP over the limit: malformed.
  for (size_t n : {size_t{1}, size_t{65}, size_t{72}, size_t{73}}) {
    EXPECT_EQ(error_of(hw::decode(std::span(*bytes).first(n))), HandshakeError::kMalformedMessage)
        << n;
  }
  auto nul = *bytes;
  nul.back() = 0;
  EXPECT_EQ(error_of(hw::decode(nul)), HandshakeError::kMalformedMessage);
  m.sdp = std::string(kMaxSdpBytes + 1, 'a');
  EXPECT_EQ(error_of(hw::encode(m)), HandshakeError::kInvalidArgument);
  m.sdp = std::string(kMaxSdpBytes, 'a');
  ASSERT_TRUE(hw::encode(m).has_value());
  auto over = *hw::encode(m);
  over.push_back('a');
  EXPECT_EQ(error_of(hw::decode(over)), HandshakeError::kMalformedMessage);
  // The transcript: its own label, 210 bytes, the peer id last.
  const std::array<uint8_t, 32> offer_hash{};
  const auto t = hw::relay_answer_transcript(RoomLocator{}, JoinId{}, offer_hash, "x", fp_of(1),
                                             fp_of(2), 0x0102030405060708ULL);
  ASSERT_EQ(t.size(), 210u);
  EXPECT_EQ(std::string(t.begin(), t.begin() + 25), "tokencast/v1/relay-answer");
  EXPECT_EQ(t[25], 0);
  EXPECT_EQ(t.back(), 0x08);
}

TEST(Handshake, AnswerWithoutFingerprintFailsClosed) {
  const Session s;
  const RoomKeys keys(s.viewer, LinkRole::kViewer, s.host_key.public_key());
  JoinerHandshake j = s.joiner(LinkRole::kViewer);
  hw::Answer answer{s.host_key.sign(Bytes{}), "v=0\r\nm=application 9 x\r\n"};
  EnvelopeSealer sealer(keys, Direction::kHostToJoiner, j.join_id(), 0);
  EXPECT_EQ(error_of(j.receive(*sealer.seal(*hw::encode(answer)))), HandshakeError::kBadSdp);
  EXPECT_EQ(j.state(), JoinerHandshake::State::kFailed);
}

TEST(Handshake, RejectionVerifiedAndForgedRejectionFailsClosed) {
  const Session s;
  HostHandshake host = s.host();
  JoinerHandshake j = s.joiner(LinkRole::kParticipant);
  ASSERT_TRUE(host.receive(j.offer_envelope(), kNow).has_value());
  auto rej = host.seal_rejection(j.join_id(), RejectReason::kRoomFull, system_random());
  ASSERT_TRUE(rej.has_value());
  EXPECT_EQ(host.pending_joins(), 0u);
  auto ev = j.receive(*rej);
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(std::get<HostRejection>(*ev).reason, RejectReason::kRoomFull);
  EXPECT_EQ(j.state(), JoinerHandshake::State::kRejected);
  EXPECT_EQ(error_of(j.receive(*rej)), HandshakeError::kClosed);

  // A link holder's rejection (not signed by the host) ends the attempt as forged.
  JoinerHandshake k = s.joiner(LinkRole::kParticipant);
  const RoomKeys keys(s.participant, LinkRole::kParticipant, s.host_key.public_key());
  EnvelopeSealer sealer(keys, Direction::kHostToJoiner, k.join_id(), 5);
  hw::Rejection forged{RejectReason::kHostClosing, SigningKey::from_seed(seq<32>(1)).sign(Bytes{})};
  EXPECT_EQ(error_of(k.receive(*sealer.seal(*hw::encode(forged)))), HandshakeError::kBadSignature);
}

TEST(Handshake, ExpiredOfferRefusedAndRejectedForClockSkew) {
  const Session s;
  HostHandshake host = s.host();
  // Joiner clock 6 minutes behind, then one 6 minutes ahead; the window is 5 minutes.
  for (int64_t skew : {-6 * kMinute, 6 * kMinute}) {
    JoinerHandshake j = s.joiner(LinkRole::kViewer, kNow + skew);
    EXPECT_EQ(error_of(host.receive(j.offer_envelope(), kNow)), HandshakeError::kOfferExpired);
    const JoinId id = peek_envelope_header(j.offer_envelope())->join_id;
    EXPECT_EQ(id, j.join_id());
    EXPECT_EQ(error_of(host.seal_answer(id, s.answer, system_random())),
              HandshakeError::kWrongState);
    auto rej = host.seal_rejection(id, RejectReason::kClockSkew, system_random());
    ASSERT_TRUE(rej.has_value());
    auto ev = j.receive(*rej);
    ASSERT_TRUE(ev.has_value());
    EXPECT_EQ(std::get<HostRejection>(*ev).reason, RejectReason::kClockSkew);
    // Its join id is remembered: sending it again is a replay.
    EXPECT_EQ(error_of(host.receive(j.offer_envelope(), kNow)), HandshakeError::kOfferReplayed);
  }
  // At the edge of the window it is accepted.
  JoinerHandshake edge = s.joiner(LinkRole::kViewer, kNow - 5 * kMinute);
  EXPECT_TRUE(host.receive(edge.offer_envelope(), kNow).has_value());
}

TEST(Handshake, ReplayedOfferRefused) {
  const Session s;
  HostHandshakeOptions o;
  o.join_timeout_ms = 30 * 1000;
  HostHandshake host = s.host(o);
  JoinerHandshake j = s.joiner(LinkRole::kViewer);
  ASSERT_TRUE(host.receive(j.offer_envelope(), kNow).has_value());
  // While the attempt is pending: the envelope's counter was already accepted.
  EXPECT_EQ(error_of(host.receive(j.offer_envelope(), kNow + 1)), HandshakeError::kReplayed);
  // After the attempt is forgotten: the join id is remembered.
  host.forget(j.join_id());
  EXPECT_EQ(error_of(host.receive(j.offer_envelope(), kNow + 2)), HandshakeError::kOfferReplayed);
  // After the attempt timed out, still remembered for the offer window.
  EXPECT_EQ(error_of(host.receive(j.offer_envelope(), kNow + 4 * kMinute)),
            HandshakeError::kOfferReplayed);
  // Once the window has passed, the id is forgotten but the timestamp is out of the window.
  EXPECT_EQ(error_of(host.receive(j.offer_envelope(), kNow + 5 * kMinute + 1)),
            HandshakeError::kOfferExpired);
}

TEST(Handshake, RestartedHostAnswersReplayWithFreshCounter) {
  // A host restarted within the window has forgotten the join ids it saw; it would answer a
  // replayed offer. Its random counter start keeps the nonce of the second answer distinct.
  const Session s;
  JoinerHandshake j = s.joiner(LinkRole::kViewer);
  HostHandshake first = s.host();
  ASSERT_TRUE(first.receive(j.offer_envelope(), kNow).has_value());
  auto a1 = first.seal_answer(j.join_id(), s.answer, system_random());
  HostHandshake restarted = s.host();
  ASSERT_TRUE(restarted.receive(j.offer_envelope(), kNow + 1000).has_value());
  auto a2 = restarted.seal_answer(j.join_id(), s.answer, system_random());
  EXPECT_NE(peek_envelope_header(*a1)->counter, peek_envelope_header(*a2)->counter);
  // Explicit random bits give the documented first counter.
  HostHandshake third = s.host();
  ASSERT_TRUE(third.receive(j.offer_envelope(), kNow).has_value());
  auto a3 = third.seal_answer(j.join_id(), s.answer, 0xFFFFFFFFFFFFFFFFull);
  EXPECT_EQ(peek_envelope_header(*a3)->counter, 0x3FFFFFFFFFFFFFFFull);
}

TEST(Handshake, JoinerRefusesMisroutedEnvelopes) {
  const Session s;
  HostHandshake host = s.host();
  JoinerHandshake a = s.joiner(LinkRole::kViewer);
  JoinerHandshake b = s.joiner(LinkRole::kViewer);
  ASSERT_TRUE(host.receive(a.offer_envelope(), kNow).has_value());
  ASSERT_TRUE(host.receive(b.offer_envelope(), kNow).has_value());
  auto for_b = host.seal_answer(b.join_id(), s.answer, system_random());
  EXPECT_EQ(error_of(a.receive(*for_b)), HandshakeError::kUnknownJoin);
  EXPECT_EQ(a.state(), JoinerHandshake::State::kAwaitingAnswer);  // dropped, not fatal
  EXPECT_EQ(error_of(a.receive(a.offer_envelope())), HandshakeError::kWrongDirection);
  EXPECT_EQ(error_of(a.receive(Bytes(10, 1))), HandshakeError::kEnvelopeTooShort);
  // The rendezvous flipping a bit: dropped, the attempt goes on.
  auto for_a = host.seal_answer(a.join_id(), s.answer, system_random());
  Bytes bad = *for_a;
  bad[100] ^= 1;
  EXPECT_EQ(error_of(a.receive(bad)), HandshakeError::kOpenFailed);
  EXPECT_TRUE(a.receive(*for_a).has_value());
  EXPECT_EQ(error_of(a.receive(*for_a)), HandshakeError::kReplayed);
}

TEST(Handshake, JoinerRefusesOutOfPhaseMessages) {
  const Session s;
  const RoomKeys keys(s.viewer, LinkRole::kViewer, s.host_key.public_key());
  JoinerHandshake j = s.joiner(LinkRole::kViewer);
  EnvelopeSealer sealer(keys, Direction::kHostToJoiner, j.join_id(), 0);
  // A candidate before the answer.
  EXPECT_EQ(error_of(j.receive(*sealer.seal(*hw::encode(IceCandidate{"0", 0, "candidate:1"})))),
            HandshakeError::kUnexpectedMessage);
  // An offer from the host side.
  EXPECT_EQ(error_of(j.receive(*sealer.seal(*hw::encode(hw::Offer{kNow, "x", s.offer})))),
            HandshakeError::kUnexpectedMessage);
  // Garbage inside a good envelope.
  const Bytes junk = {0x09, 1, 2};
  EXPECT_EQ(error_of(j.receive(*sealer.seal(junk))), HandshakeError::kMalformedMessage);
  EXPECT_EQ(j.state(), JoinerHandshake::State::kAwaitingAnswer);
}

TEST(Handshake, HostPhaseChecks) {
  const Session s;
  HostHandshake host = s.host();
  JoinerHandshake j = s.joiner(LinkRole::kViewer);
  const JoinId unknown = seq<16>(0xCC);
  EXPECT_EQ(error_of(host.seal_answer(unknown, s.answer, system_random())),
            HandshakeError::kUnknownJoin);
  ASSERT_TRUE(host.receive(j.offer_envelope(), kNow).has_value());
  EXPECT_EQ(error_of(host.seal_candidate(j.join_id(), {"0", 0, "candidate:1"})),
            HandshakeError::kWrongState);
  EXPECT_EQ(error_of(host.seal_end_of_candidates(j.join_id())), HandshakeError::kWrongState);
  EXPECT_EQ(error_of(host.seal_answer(j.join_id(), "v=0\r\n", system_random())),
            HandshakeError::kBadSdp);
  EXPECT_EQ(error_of(host.seal_answer(j.join_id(), "", system_random())),
            HandshakeError::kInvalidArgument);
  ASSERT_TRUE(host.seal_answer(j.join_id(), s.answer, system_random()).has_value());
  EXPECT_EQ(error_of(host.seal_answer(j.join_id(), s.answer, system_random())),
            HandshakeError::kWrongState);
  EXPECT_EQ(error_of(host.seal_rejection(j.join_id(), RejectReason::kRefused, system_random())),
            HandshakeError::kWrongState);
  EXPECT_EQ(error_of(host.seal_candidate(j.join_id(), {"0", 0, ""})),
            HandshakeError::kInvalidArgument);
  EXPECT_EQ(error_of(host.seal_candidate(j.join_id(), {"0", 0, "candidate:\x1b[2J"})),
            HandshakeError::kInvalidArgument);
}

TEST(Handshake, HostRefusesStrayEnvelopes) {
  const Session s;
  HostHandshake host = s.host();
  JoinerHandshake j = s.joiner(LinkRole::kViewer);
  // A candidate for an attempt the host never saw.
  auto cand = j.seal_candidate({"0", 0, "candidate:1"});
  EXPECT_EQ(error_of(host.receive(*cand, kNow)), HandshakeError::kUnknownJoin);
  // Host -> joiner direction.
  ASSERT_TRUE(host.receive(j.offer_envelope(), kNow).has_value());
  auto ans = host.seal_answer(j.join_id(), s.answer, system_random());
  EXPECT_EQ(error_of(host.receive(*ans, kNow)), HandshakeError::kWrongDirection);
  // Unknown version / direction / size.
  Bytes v2 = j.offer_envelope();
  v2[0] = 2;
  EXPECT_EQ(error_of(host.receive(v2, kNow)), HandshakeError::kUnknownEnvelopeVersion);
  Bytes d9 = j.offer_envelope();
  d9[1] = 9;
  EXPECT_EQ(error_of(host.receive(d9, kNow)), HandshakeError::kUnknownDirection);
  EXPECT_EQ(error_of(host.receive(Bytes(kMaxEnvelopeSize + 1, 1), kNow)),
            HandshakeError::kEnvelopeTooLarge);
  // The early candidate (counter 1), delivered again after the offer (counter 0), is in order.
  EXPECT_TRUE(host.receive(*cand, kNow).has_value());
}

TEST(Handshake, HostRefusesOffersWithoutFingerprintOrMalformed) {
  const Session s;
  HostHandshake host = s.host();
  const RoomKeys keys(s.viewer, LinkRole::kViewer, s.host_key.public_key());
  {
    const JoinId id = seq<16>(0xA0);
    EnvelopeSealer sealer(keys, Direction::kJoinerToHost, id, 0);
    auto env = sealer.seal(*hw::encode(hw::Offer{kNow, "x", "v=0\r\n"}));
    EXPECT_EQ(error_of(host.receive(*env, kNow)), HandshakeError::kBadSdp);
  }
  {
    const JoinId id = seq<16>(0xB0);
    EnvelopeSealer sealer(keys, Direction::kJoinerToHost, id, 0);
    const Bytes junk = {0x01, 0, 0};
    EXPECT_EQ(error_of(host.receive(*sealer.seal(junk), kNow)), HandshakeError::kMalformedMessage);
  }
  {
    const JoinId id = seq<16>(0xC0);
    EnvelopeSealer sealer(keys, Direction::kJoinerToHost, id, 0);
    auto env = sealer.seal(*hw::encode(IceCandidate{"0", 0, "candidate:1"}));
    EXPECT_EQ(error_of(host.receive(*env, kNow)), HandshakeError::kUnexpectedMessage);
  }
  EXPECT_EQ(host.pending_joins(), 0u);
}

TEST(Handshake, Limits) {
  const Session s;
  HostHandshakeOptions o;
  o.max_pending_joins = 2;
  o.max_candidates_per_join = 3;
  HostHandshake host = s.host(o);
  JoinerHandshake a = s.joiner(LinkRole::kViewer);
  ASSERT_TRUE(host.receive(a.offer_envelope(), kNow).has_value());
  ASSERT_TRUE(host.receive(s.joiner(LinkRole::kViewer).offer_envelope(), kNow).has_value());
  EXPECT_EQ(error_of(host.receive(s.joiner(LinkRole::kViewer).offer_envelope(), kNow)),
            HandshakeError::kTooManyJoins);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(host.receive(*a.seal_candidate({"0", 0, "candidate:1"}), kNow).has_value());
  }
  EXPECT_EQ(error_of(host.receive(*a.seal_candidate({"0", 0, "candidate:1"}), kNow)),
            HandshakeError::kTooManyCandidates);
}

// Issue 14, finding 1: a link holder who seals offers faster than ids expire must not fill the
// replay memory into refusing newcomers. When full, the id closest to leaving its window goes.
TEST(Handshake, SeenJoinIdsCannotBeFilledToRefuseNewcomers) {
  const Session s;
  HostHandshakeOptions tiny;
  tiny.max_seen_join_ids = 2;
  tiny.max_pending_joins = 8;
  HostHandshake small = s.host(tiny);
  JoinerHandshake first = s.joiner(LinkRole::kViewer, kNow - kMinute);
  ASSERT_TRUE(small.receive(first.offer_envelope(), kNow).has_value());
  ASSERT_TRUE(small.receive(s.joiner(LinkRole::kViewer).offer_envelope(), kNow).has_value());
  EXPECT_TRUE(small.receive(s.joiner(LinkRole::kViewer).offer_envelope(), kNow).has_value());
  EXPECT_EQ(small.seen_join_ids(), 2u);
}

TEST(Handshake, PendingJoinsTimeOut) {
  const Session s;
  HostHandshake host = s.host();
  JoinerHandshake j = s.joiner(LinkRole::kViewer);
  ASSERT_TRUE(host.receive(j.offer_envelope(), kNow).has_value());
  host.expire(kNow + 59 * 1000);
  EXPECT_EQ(host.pending_joins(), 1u);
  host.expire(kNow + 61 * 1000);
  EXPECT_EQ(host.pending_joins(), 0u);
  EXPECT_EQ(error_of(host.seal_answer(j.join_id(), s.answer, system_random())),
            HandshakeError::kUnknownJoin);
}

TEST(Handshake, CreateAndStartValidateArguments) {
  const Session s;
  EXPECT_EQ(error_of(HostHandshake::create(s.host_key, s.viewer, s.viewer)),
            HandshakeError::kInvalidArgument);
  HostHandshakeOptions bad;
  bad.offer_window_ms = 0;
  EXPECT_EQ(error_of(HostHandshake::create(s.host_key, s.viewer, s.participant, bad)),
            HandshakeError::kInvalidArgument);

  const InviteLink link = s.link(LinkRole::kViewer);
  EXPECT_EQ(error_of(JoinerHandshake::start(link, "Ada", "v=0\r\n", kNow, system_random())),
            HandshakeError::kBadSdp);
  EXPECT_EQ(error_of(JoinerHandshake::start(link, "A\x1b[31m", s.offer, kNow, system_random())),
            HandshakeError::kInvalidArgument);
  EXPECT_EQ(
      error_of(JoinerHandshake::start(link, std::string(65, 'a'), s.offer, kNow, system_random())),
      HandshakeError::kInvalidArgument);
  EXPECT_EQ(error_of(JoinerHandshake::start(link, "\xc3", s.offer, kNow, system_random())),
            HandshakeError::kInvalidArgument);
  EXPECT_EQ(error_of(JoinerHandshake::start(link, "Ada", s.offer, -1, system_random())),
            HandshakeError::kInvalidArgument);
  EXPECT_TRUE(JoinerHandshake::start(link, std::string(64, 'a'), s.offer, kNow, system_random())
                  .has_value());
  EXPECT_TRUE(JoinerHandshake::start(link, "Zoë 日本", s.offer, kNow, system_random()).has_value());
  EXPECT_TRUE(JoinerHandshake::start(link, "", s.offer, kNow, system_random()).has_value());
}

TEST(Handshake, JoinIdsAreFresh) {
  const Session s;
  EXPECT_NE(s.joiner(LinkRole::kViewer).join_id(), s.joiner(LinkRole::kViewer).join_id());
}

TEST(Handshake, ErrorNamesAreDistinct) {
  std::set<std::string_view> names;
  for (int e = 1; e <= static_cast<int>(HandshakeError::kCounterExhausted); ++e) {
    const auto name = handshake_error_name(static_cast<HandshakeError>(e));
    EXPECT_NE(name, "unknown");
    EXPECT_TRUE(names.insert(name).second) << name;
    const std::error_code ec = static_cast<HandshakeError>(e);
    EXPECT_FALSE(ec.message().empty());
  }
}

// --------------------------------------------------------------------------------------------
// SDP fingerprints

TEST(SdpFingerprint, Strictness) {
  const std::string fp = fingerprint_text(0xAB);
  EXPECT_EQ(*extract_sdp_fingerprint("a=fingerprint:sha-256 " + fp + "\r\n"), fp_of(0xAB));
  EXPECT_EQ(*extract_sdp_fingerprint("a=fingerprint:sha-256 " + fp), fp_of(0xAB));  // no EOL
  EXPECT_EQ(error_of(extract_sdp_fingerprint("v=0\r\n")), SdpFingerprintError::kMissing);
  EXPECT_EQ(error_of(extract_sdp_fingerprint("")), SdpFingerprintError::kMissing);
  EXPECT_EQ(error_of(extract_sdp_fingerprint("a=fingerprint:sha-256\r\n")),
            SdpFingerprintError::kMalformed);
  EXPECT_EQ(error_of(extract_sdp_fingerprint("a=fingerprint:sha-256  " + fp)),
            SdpFingerprintError::kMalformed);
  EXPECT_EQ(error_of(extract_sdp_fingerprint("a=fingerprint:sha-512 " + fp)),
            SdpFingerprintError::kUnsupportedHash);
  EXPECT_EQ(error_of(extract_sdp_fingerprint("a=fingerprint: " + fp)),
            SdpFingerprintError::kMalformed);
  EXPECT_EQ(error_of(extract_sdp_fingerprint("a=fingerprint:sha-256 " + fp + "\r\n" +
                                             "a=fingerprint:sha-1 AA:BB\r\n")),
            SdpFingerprintError::kUnsupportedHash);
  EXPECT_EQ(error_of(extract_sdp_fingerprint("a=fingerprint:sha-256 " + fp + "\r\n" +
                                             "a=fingerprint:sha-256 " + fingerprint_text(1))),
            SdpFingerprintError::kConflicting);
  std::string bad_hex = fp;
  bad_hex[4] = 'G';
  EXPECT_EQ(error_of(extract_sdp_fingerprint("a=fingerprint:sha-256 " + bad_hex)),
            SdpFingerprintError::kMalformed);
}

// --------------------------------------------------------------------------------------------
// The handshake vectors in crypto.json, replayed through both state machines.

TEST(HandshakeVectors, ReplayBothSides) {
  std::ifstream f(std::string(TOKENCAST_VECTORS_DIR) + "/crypto.json");
  const auto v = nlohmann::json::parse(f)["handshake"];
  auto arr32 = [](const std::string& h) {
    std::array<uint8_t, 32> a{};
    const Bytes b = unhex(h);
    std::copy(b.begin(), b.end(), a.begin());
    return a;
  };
  const SigningKey key = SigningKey::from_seed(arr32(v["host_seed_hex"]));
  ASSERT_EQ(hex(key.public_key()), v["host_public_key_hex"]);
  auto host = HostHandshake::create(key, RoomSecret(arr32(v["viewer_secret_hex"])),
                                    RoomSecret(arr32(v["participant_secret_hex"])));
  ASSERT_TRUE(host.has_value());
  const InviteLink link = *parse_invite_link(v["viewer_link"].get<std::string>());
  JoinId join{};
  const Bytes jb = unhex(v["join_id_hex"].get<std::string>());
  std::copy(jb.begin(), jb.end(), join.begin());

  // Joiner side is deterministic: the same offer envelope, byte for byte.
  auto joiner =
      JoinerHandshake::start(link, v["display_name"].get<std::string>(),
                             v["offer_sdp"].get<std::string>(), v["now_ms"].get<int64_t>(), join);
  ASSERT_TRUE(joiner.has_value());
  EXPECT_EQ(hex(joiner->offer_envelope()), v["offer_envelope_hex"]);
  EXPECT_EQ(room_locator_text(joiner->locator()), v["viewer_room_locator_b64url"]);

  // Host side opens the vector's offer and candidates.
  const int64_t host_now = v["host_now_ms"].get<int64_t>();
  auto ev = host->receive(unhex(v["offer_envelope_hex"].get<std::string>()), host_now);
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(std::get<JoinOffer>(ev->body).display_name, v["display_name"]);
  auto cand =
      host->receive(unhex(v["joiner_candidate"]["envelope_hex"].get<std::string>()), host_now);
  ASSERT_TRUE(cand.has_value());
  EXPECT_EQ(std::get<IceCandidate>(cand->body).candidate, v["joiner_candidate"]["candidate"]);
  EXPECT_EQ(hex(*joiner->seal_candidate(std::get<IceCandidate>(cand->body))),
            v["joiner_candidate"]["envelope_hex"]);

  // The host's answer with the vector's random bits is the vector's envelope.
  const uint64_t random = std::stoull(v["host_random_hex"].get<std::string>(), nullptr, 16);
  auto answer = host->seal_answer(join, v["answer_sdp"].get<std::string>(), random);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(hex(*answer), v["answer_envelope_hex"]);

  // And the joiner accepts the vector's answer and host candidate.
  auto verified = joiner->receive(unhex(v["answer_envelope_hex"].get<std::string>()));
  ASSERT_TRUE(verified.has_value()) << handshake_error_name(verified.error());
  EXPECT_EQ(hex(std::get<VerifiedAnswer>(*verified).host_fingerprint), v["host_fingerprint_hex"]);
  auto hc = joiner->receive(unhex(v["host_candidate"]["envelope_hex"].get<std::string>()));
  ASSERT_TRUE(hc.has_value());
  EXPECT_EQ(std::get<IceCandidate>(*hc).candidate, v["host_candidate"]["candidate"]);

  // The signature verifies over the listed transcript.
  Ed25519Signature sig{};
  const Bytes sb = unhex(v["answer_signature_hex"].get<std::string>());
  std::copy(sb.begin(), sb.end(), sig.begin());
  EXPECT_TRUE(
      ed25519_verify(key.public_key(), unhex(v["answer_transcript_hex"].get<std::string>()), sig));

  // The rejected participant attempt.
  const auto& r = v["rejection"];
  const InviteLink plink = *parse_invite_link(r["participant_link"].get<std::string>());
  JoinId join2{};
  const Bytes j2 = unhex(r["join_id_hex"].get<std::string>());
  std::copy(j2.begin(), j2.end(), join2.begin());
  auto joiner2 =
      JoinerHandshake::start(plink, r["display_name"].get<std::string>(),
                             v["offer_sdp"].get<std::string>(), v["now_ms"].get<int64_t>(), join2);
  EXPECT_EQ(hex(joiner2->offer_envelope()), r["offer_envelope_hex"]);
  auto rej = joiner2->receive(unhex(r["envelope_hex"].get<std::string>()));
  ASSERT_TRUE(rej.has_value());
  EXPECT_EQ(static_cast<int>(std::get<HostRejection>(*rej).reason), r["reason"]);
}

}  // namespace

namespace tokencast {
namespace {

TEST(HostBeacon, VerifiesOnlyForItsRoomRecipientAndSender) {
  const Session s;
  HostHandshake host = s.host();
  const InviteLink viewer = s.link(LinkRole::kViewer);
  auto beacon = host.beacon(LinkRole::kViewer, /*to=*/7, /*from=*/9);
  ASSERT_EQ(beacon.size(), kBeaconSize);
  EXPECT_TRUE(looks_like_beacon(beacon));
  EXPECT_TRUE(verify_host_beacon(viewer, beacon, 7, 9));
  // Reused by its recipient toward someone else, or claimed by another sender: refused.
  EXPECT_FALSE(verify_host_beacon(viewer, beacon, 8, 9));
  EXPECT_FALSE(verify_host_beacon(viewer, beacon, 7, 10));
  // Made for the other room, or by another key.
  EXPECT_FALSE(verify_host_beacon(s.link(LinkRole::kParticipant), beacon, 7, 9));
  Session impostor = s;
  impostor.host_key = SigningKey::from_seed(seq<32>(0x77));
  EXPECT_FALSE(verify_host_beacon(viewer, impostor.host().beacon(LinkRole::kViewer, 7, 9), 7, 9));
  // Any flipped bit, a wrong tag or size.
  for (size_t i = 0; i < beacon.size(); ++i) {
    auto flipped = beacon;
    flipped[i] ^= 0x01;
    EXPECT_FALSE(verify_host_beacon(viewer, flipped, 7, 9)) << i;
  }
  auto longer = beacon;
  longer.push_back(0);
  EXPECT_FALSE(looks_like_beacon(longer));
  EXPECT_FALSE(verify_host_beacon(viewer, longer, 7, 9));
  // An envelope is never mistaken for a beacon.
  EXPECT_FALSE(looks_like_beacon(s.joiner(LinkRole::kViewer).offer_envelope()));
}

TEST(HostIceBeacon, HandsTheHostsServersToTheJoinerOnly) {
  const Session s;
  HostHandshake host = s.host();
  const InviteLink viewer = s.link(LinkRole::kViewer);
  const std::vector<IceServerEntry> ice{
      {"stun:stun.example.net:3478", "", ""},
      {"turn:turn.example.net:3478?transport=udp", "1700003600:ab", "c3ecr3t="}};
  SeededRandom random(5);
  auto beacon = host.ice_beacon(LinkRole::kViewer, 7, 9, ice, random);
  ASSERT_TRUE(beacon.has_value());
  EXPECT_EQ((*beacon)[0], kIceBeaconTag);
  EXPECT_EQ(beacon->size(), kIceBeaconOverhead + encode_ice_list(ice)->size());
  EXPECT_TRUE(looks_like_beacon(*beacon));
  auto opened = open_host_beacon(viewer, *beacon, 7, 9);
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(*opened, ice);
  EXPECT_TRUE(verify_host_beacon(viewer, *beacon, 7, 9));
  // The credential is not in clear.
  const std::string wire(beacon->begin(), beacon->end());
  EXPECT_EQ(wire.find("c3ecr3t="), std::string::npos);
  EXPECT_EQ(wire.find("turn.example.net"), std::string::npos);
  // A fresh nonce each time: two beacons to the same peer differ.
  EXPECT_NE(*host.ice_beacon(LinkRole::kViewer, 7, 9, ice, random), *beacon);
  // Another recipient, sender, room or host key: refused.
  EXPECT_FALSE(open_host_beacon(viewer, *beacon, 8, 9));
  EXPECT_FALSE(open_host_beacon(viewer, *beacon, 7, 10));
  EXPECT_FALSE(open_host_beacon(s.link(LinkRole::kParticipant), *beacon, 7, 9));
  Session impostor = s;
  impostor.host_key = SigningKey::from_seed(seq<32>(0x77));
  EXPECT_FALSE(open_host_beacon(
      viewer, *impostor.host().ice_beacon(LinkRole::kViewer, 7, 9, ice, random), 7, 9));
  // Any flipped bit (tag, signature, nonce, ciphertext, AEAD tag), or a byte less or more.
  for (size_t i = 0; i < beacon->size(); ++i) {
    auto flipped = *beacon;
    flipped[i] ^= 0x01;
    EXPECT_FALSE(open_host_beacon(viewer, flipped, 7, 9)) << i;
  }
  auto shorter = *beacon;
  shorter.pop_back();
  EXPECT_FALSE(open_host_beacon(viewer, shorter, 7, 9));
  auto longer = *beacon;
  longer.push_back(0);
  EXPECT_FALSE(open_host_beacon(viewer, longer, 7, 9));
  // Stripped to a plain beacon (its signature kept): the signed messages differ, refused.
  std::vector<uint8_t> stripped(beacon->begin(), beacon->begin() + kBeaconSize);
  stripped[0] = kBeaconTag;
  EXPECT_FALSE(open_host_beacon(viewer, stripped, 7, 9));
  // A plain beacon opens to no servers.
  auto plain = open_host_beacon(viewer, host.beacon(LinkRole::kViewer, 7, 9), 7, 9);
  ASSERT_TRUE(plain.has_value());
  EXPECT_TRUE(plain->empty());
}

TEST(HostIceBeacon, RefusesListsTheCodecRefusesAndFitsTheLargest) {
  const Session s;
  HostHandshake host = s.host();
  SeededRandom random(6);
  auto make = [&](const std::vector<IceServerEntry>& ice) {
    return host.ice_beacon(LinkRole::kParticipant, 1, 2, ice, random);
  };
  EXPECT_EQ(make({}).error(), HandshakeError::kInvalidArgument);
  EXPECT_EQ(make(std::vector<IceServerEntry>(9, {"stun:a", "", ""})).error(),
            HandshakeError::kInvalidArgument);
  EXPECT_EQ(make({{"http:a", "", ""}}).error(), HandshakeError::kInvalidArgument);
  EXPECT_EQ(make({{"turn:a", "u", "with space"}}).error(), HandshakeError::kInvalidArgument);
  EXPECT_EQ(make({{"turn:a", std::string(256, 'u'), "c"}}).error(),
            HandshakeError::kInvalidArgument);
  auto smallest = make({{"stun:x", "", ""}});
  ASSERT_TRUE(smallest.has_value());
  EXPECT_EQ(smallest->size(), kMinIceBeaconSize);
  const std::vector<IceServerEntry> largest(
      8, {"turns:" + std::string(249, 'h'), std::string(255, 'u'), std::string(255, 'c')});
  auto biggest = make(largest);
  ASSERT_TRUE(biggest.has_value());
  EXPECT_EQ(biggest->size(), kMaxIceBeaconSize);
  auto opened = open_host_beacon(s.link(LinkRole::kParticipant), *biggest, 1, 2);
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(*opened, largest);
}

TEST(IceServerList, DecodesStrictly) {
  const std::vector<IceServerEntry> two{{"stun:a:1", "", ""}, {"turns:b:443", "u", "c"}};
  auto bytes = encode_ice_list(two);
  ASSERT_TRUE(bytes.has_value());
  EXPECT_EQ(*decode_ice_list(*bytes), two);
  EXPECT_EQ(decode_ice_list({}).error(), IceListError::kTruncated);
  for (size_t n = 1; n < bytes->size(); ++n) {
    EXPECT_EQ(decode_ice_list(std::span(*bytes).first(n)).error(), IceListError::kTruncated) << n;
  }
  auto trailing = *bytes;
  trailing.push_back(0);
  EXPECT_EQ(decode_ice_list(trailing).error(), IceListError::kTrailingBytes);
  auto zero = *bytes;
  zero[0] = 0;
  EXPECT_EQ(decode_ice_list(zero).error(), IceListError::kBadCount);
  auto control = *bytes;
  control[2] = 0x1f;  // a control byte in the first URL
  EXPECT_EQ(decode_ice_list(control).error(), IceListError::kBadEntry);
}

// Randomness is a parameter: two runs of the core from the same seed produce the same bytes
// (host key, room secrets, invite links, join ids, sealed offer, candidates, answer, rejection),
// and another seed produces other bytes.
std::vector<Bytes> run_core_with_seed(uint64_t seed) {
  SeededRandom random(seed);
  const Session fixture;
  const SigningKey host_key = SigningKey::generate(random);
  const RoomSecret viewer = generate_room_secret(random);
  const RoomSecret participant = generate_room_secret(random);
  std::vector<Bytes> out;
  auto record = [&out](auto&& bytes) { out.emplace_back(bytes.begin(), bytes.end()); };
  record(host_key.public_key());
  auto viewer_text = format_invite_link("https://rv.example.net", LinkRole::kViewer, viewer,
                                        host_key.public_key());
  auto participant_text = format_invite_link("https://rv.example.net", LinkRole::kParticipant,
                                             participant, host_key.public_key());
  EXPECT_TRUE(viewer_text.has_value() && participant_text.has_value());
  record(*viewer_text);
  record(*participant_text);

  auto host = HostHandshake::create(host_key, viewer, participant);
  EXPECT_TRUE(host.has_value());
  auto link = parse_invite_link(*viewer_text);
  EXPECT_TRUE(link.has_value());
  auto joiner = JoinerHandshake::start(*link, "Ada", fixture.offer, kNow, random);
  EXPECT_TRUE(joiner.has_value());
  record(joiner->join_id());
  record(joiner->offer_envelope());
  EXPECT_TRUE(host->receive(joiner->offer_envelope(), kNow).has_value());
  auto candidate = joiner->seal_candidate({"0", 0, "candidate:1 1 udp 1 192.0.2.1 5000 typ host"});
  EXPECT_TRUE(candidate.has_value());
  record(*candidate);
  auto answer = host->seal_answer(joiner->join_id(), fixture.answer, random);
  EXPECT_TRUE(answer.has_value());
  record(*answer);
  EXPECT_TRUE(joiner->receive(*answer).has_value());

  auto second = JoinerHandshake::start(*link, "Bob", fixture.offer, kNow, random);
  EXPECT_TRUE(second.has_value());
  record(second->offer_envelope());
  EXPECT_TRUE(host->receive(second->offer_envelope(), kNow).has_value());
  auto rejection = host->seal_rejection(second->join_id(), RejectReason::kRoomFull, random);
  EXPECT_TRUE(rejection.has_value());
  record(*rejection);
  return out;
}

TEST(SeededRandom, SameSeedSameBytes) {
  const std::vector<Bytes> first = run_core_with_seed(42);
  const std::vector<Bytes> again = run_core_with_seed(42);
  ASSERT_EQ(first.size(), 9u);
  EXPECT_EQ(first, again);
  const std::vector<Bytes> other = run_core_with_seed(43);
  ASSERT_EQ(other.size(), first.size());
  for (size_t i = 0; i < first.size(); ++i) EXPECT_NE(first[i], other[i]) << "output " << i;
}

TEST(SeededRandom, StreamDoesNotDependOnHowItIsRead) {
  SeededRandom whole(7), pieces(7);
  std::array<uint8_t, 100> a{}, b{};
  whole.fill(a);
  pieces.fill(std::span(b).first(1));
  pieces.fill(std::span(b).subspan(1, 40));
  pieces.fill(std::span(b).subspan(41));
  EXPECT_EQ(a, b);
  // Block 0 is SHA-256(SHA-256(seed as 8 big-endian bytes) || 0 as 8 big-endian bytes).
  const Bytes seed_bytes{0, 0, 0, 0, 0, 0, 0, 7};
  Bytes key(32);
  const auto k = crypto::sha256(seed_bytes);
  std::copy(k.begin(), k.end(), key.begin());
  for (int i = 0; i < 8; ++i) key.push_back(0);
  const auto block0 = crypto::sha256(key);
  EXPECT_TRUE(std::equal(block0.begin(), block0.end(), a.begin()));
}

}  // namespace
}  // namespace tokencast
