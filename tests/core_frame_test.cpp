// Frame codec: varints, round trips of every frame and event, every malformed-input class with
// its exact error, the stateful client decoder, and the known-answer vectors in
// tests/vectors/frames.json checked both ways.
#include <gtest/gtest.h>

#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "support/hex.hpp"
#include "tokencast/core/frame.hpp"
#include "tokencast/core/text.hpp"
#include "wire/varint.hpp"

namespace tokencast {
namespace {

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

FrameBytes bytes_of(std::initializer_list<int> list) {
  FrameBytes out;
  for (int b : list) out.push_back(static_cast<uint8_t>(b));
  return out;
}

// Vectors may group bytes with spaces.
FrameBytes from_hex(std::string text) {
  std::erase(text, ' ');
  return tokencast::testing::unhex(text);
}

std::string to_hex(const FrameBytes& bytes) { return tokencast::testing::hex(bytes); }

FrameBytes encode_ok(const Frame& frame) {
  auto bytes = encode_frame(frame);
  EXPECT_TRUE(bytes.has_value()) << bytes.error().message();
  return bytes.has_value() ? *bytes : FrameBytes{};
}

// Each frame decodes back to itself and re-encodes to the same bytes.
void expect_exact_round_trips(const std::vector<Frame>& frames) {
  for (const Frame& f : frames) {
    const FrameBytes bytes = encode_ok(f);
    auto back = decode_frame(bytes);
    ASSERT_TRUE(back.has_value()) << to_hex(bytes) << ": " << back.error().message();
    EXPECT_EQ(*back, f);
    EXPECT_EQ(encode_ok(*back), bytes);
  }
}

std::error_code decode_error(const FrameBytes& bytes) {
  auto frame = decode_frame(bytes);
  EXPECT_FALSE(frame.has_value()) << "decoded " << to_hex(bytes);
  return frame.has_value() ? std::error_code{} : frame.error();
}

std::error_code encode_error(const Frame& frame) {
  auto bytes = encode_frame(frame);
  EXPECT_FALSE(bytes.has_value()) << "encoded to " << to_hex(*bytes);
  return bytes.has_value() ? std::error_code{} : bytes.error();
}

// ---------------------------------------------------------------------------------------------
// Introducing a child to its relay (version 5)

const std::string kRelaySdp =
    "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "a=fingerprint:sha-256 AA:AA\r\n";

TEST(RelayIntroFrames, RoundTripExactly) {
  const std::vector<Frame> frames = {
      RelayIntroFrame{0, kRelaySdp},
      RelayIntroFrame{std::numeric_limits<uint64_t>::max(), std::string(16000, 's')},
      RelayAcceptFrame{300, kRelaySdp},
      RelayRefuseFrame{7, RelayRefuseReason::kRefused},
      RelayRefuseFrame{7, RelayRefuseReason::kLeaving},
      RelayChildGoneFrame{0},
      RelayChildGoneFrame{std::numeric_limits<uint64_t>::max()},
      RelayCandidateFrame{9, 0, "", "candidate:1 1 udp 2122260223 10.0.0.2 5000 typ host"},
      RelayCandidateFrame{9, 65535, std::string(32, 'm'), std::string(1024, 'c')},
  };
  expect_exact_round_trips(frames);
  // The exact layout: type, child varint, then length-prefixed fields.
  EXPECT_EQ(to_hex(encode_ok(RelayIntroFrame{1, "v"})), "0e010176");
  EXPECT_EQ(to_hex(encode_ok(RelayAcceptFrame{128, "v"})), "0f80010176");
  EXPECT_EQ(to_hex(encode_ok(RelayRefuseFrame{2, RelayRefuseReason::kFull})), "100201");
  EXPECT_EQ(to_hex(encode_ok(RelayChildGoneFrame{300})), "14ac02");
  EXPECT_EQ(to_hex(encode_ok(RelayCandidateFrame{3, 1, "0", "c"})),
            "110301013001"
            "63");
}

TEST(RelayIntroFrames, DecodeStrictlyWithBounds) {
  // Truncated in every field; trailing bytes.
  EXPECT_EQ(decode_error(from_hex("0e")), FrameError::kTruncated);
  EXPECT_EQ(decode_error(from_hex("0e01")), FrameError::kTruncated);
  EXPECT_EQ(decode_error(from_hex("0e010276")), FrameError::kTruncated);
  EXPECT_EQ(decode_error(from_hex("0e01017600")), FrameError::kTrailingBytes);
  EXPECT_EQ(decode_error(from_hex("10")), FrameError::kTruncated);
  EXPECT_EQ(decode_error(from_hex("14")), FrameError::kTruncated);
  EXPECT_EQ(decode_error(from_hex("1480")), FrameError::kTruncated);
  EXPECT_EQ(decode_error(from_hex("140100")), FrameError::kTrailingBytes);
  EXPECT_EQ(decode_error(from_hex("148000")), FrameError::kBadVarint);
  EXPECT_EQ(decode_error(from_hex("1101")), FrameError::kTruncated);
  EXPECT_EQ(decode_error(from_hex("11010100")), FrameError::kTruncated);
  EXPECT_EQ(decode_error(from_hex("11010100"
                                  "0263")),
            FrameError::kTruncated);
  // Non-canonical child varint.
  EXPECT_EQ(decode_error(from_hex("0e80000176")), FrameError::kBadVarint);
  // SDP: empty, NUL, invalid UTF-8; a length over the limit is refused before the bytes.
  EXPECT_EQ(decode_error(from_hex("0e0100")), FrameError::kStringTooLong);
  EXPECT_EQ(decode_error(from_hex("0f010100")), FrameError::kInvalidUtf8);
  EXPECT_EQ(decode_error(from_hex("0f0101ff")), FrameError::kInvalidUtf8);
  EXPECT_EQ(decode_error(from_hex("0e01818002")), FrameError::kStringTooLong);  // 32769
  // Refuse reason out of range.
  EXPECT_EQ(decode_error(from_hex("100104")), FrameError::kBadEnum);
  // Candidate: mline index over 16 bits, mid over 32 bytes or not printable, candidate empty,
  // over 1024 bytes or not printable.
  EXPECT_EQ(decode_error(from_hex("110180800400"
                                  "0163")),
            FrameError::kBadEnum);
  EXPECT_EQ(decode_error(from_hex("110100"
                                  "21" +
                                  std::string(66, '6') + "0163")),
            FrameError::kStringTooLong);
  EXPECT_EQ(decode_error(from_hex("110100"
                                  "0109"
                                  "0163")),
            FrameError::kInvalidUtf8);
  EXPECT_EQ(decode_error(from_hex("11010000"
                                  "00")),
            FrameError::kStringTooLong);
  EXPECT_EQ(decode_error(from_hex("11010000"
                                  "8108")),
            FrameError::kStringTooLong);  // 1025
  EXPECT_EQ(decode_error(from_hex("11010000"
                                  "017f")),
            FrameError::kInvalidUtf8);
  // A frame over 16 KiB is refused whatever it carries: it binds before the SDP limit.
  EXPECT_EQ(encode_error(RelayIntroFrame{1, std::string(kMaxFrameBytes, 's')}),
            FrameError::kOversized);
  // The encoder refuses what the decoder would.
  EXPECT_EQ(encode_error(RelayAcceptFrame{1, ""}), FrameError::kStringTooLong);
  EXPECT_EQ(encode_error(RelayAcceptFrame{1, std::string("a\0b", 3)}), FrameError::kInvalidUtf8);
  EXPECT_EQ(encode_error(RelayRefuseFrame{1, static_cast<RelayRefuseReason>(4)}),
            FrameError::kBadEnum);
  EXPECT_EQ(encode_error(RelayCandidateFrame{1, 0, "", ""}), FrameError::kStringTooLong);
  EXPECT_EQ(encode_error(RelayCandidateFrame{1, 0, "\n", "c"}), FrameError::kInvalidUtf8);
}

TEST(RelayIntroFrames, EachSideRefusesTheOthersFrames) {
  const FrameBytes intro = encode_ok(RelayIntroFrame{1, kRelaySdp});
  const FrameBytes accept = encode_ok(RelayAcceptFrame{1, kRelaySdp});
  const FrameBytes refuse = encode_ok(RelayRefuseFrame{1, RelayRefuseReason::kFull});
  const FrameBytes candidate = encode_ok(RelayCandidateFrame{1, 0, "0", "candidate:x"});
  const FrameBytes gone = encode_ok(RelayChildGoneFrame{1});
  // The host's decoder (frames from its peers, relays included): a relay_intro is host-only.
  EXPECT_EQ(decode_client_frame(intro).error(), FrameError::kUnexpectedFrame);
  EXPECT_TRUE(decode_client_frame(accept).has_value());
  EXPECT_TRUE(decode_client_frame(refuse).has_value());
  EXPECT_TRUE(decode_client_frame(gone).has_value());
  EXPECT_TRUE(decode_client_frame(candidate).has_value());
  // The client's decoder (a relay's link to the host): accept and refuse travel the other way;
  // neither moves the stream position.
  FrameDecoder client(StreamPosition{5, 2});
  EXPECT_EQ(client.decode(accept).error(), FrameError::kUnexpectedFrame);
  EXPECT_EQ(client.decode(refuse).error(), FrameError::kUnexpectedFrame);
  EXPECT_EQ(client.decode(gone).error(), FrameError::kUnexpectedFrame);
  auto got_intro = client.decode(intro);
  ASSERT_TRUE(got_intro.has_value());
  EXPECT_EQ(std::get<RelayIntroFrame>(*got_intro).sdp, kRelaySdp);
  EXPECT_TRUE(client.decode(candidate).has_value());
  EXPECT_EQ(client.position(), (StreamPosition{5, 2}));
}

TEST(RelayRouteFrames, RoundTripExactlyAndDecodeStrictly) {
  const std::vector<uint8_t> sealed(24, 0xab);
  const std::vector<Frame> frames = {
      RelayRouteFrame{0, {1}},
      RelayRouteFrame{std::numeric_limits<uint64_t>::max(), sealed},
      RelayRouteFrame{7, std::vector<uint8_t>(kMaxFrameBytes - 11, 0x5a)},
      RelayRoutedFrame{{0}},
      RelayRoutedFrame{sealed},
      RelayOfferFrame{1},
      RelayOfferFrame{kMaxRelayOfferCapacity},
  };
  expect_exact_round_trips(frames);
  EXPECT_EQ(to_hex(encode_ok(RelayRouteFrame{300, {0xde, 0xad}})), "15ac02dead");
  EXPECT_EQ(to_hex(encode_ok(RelayRoutedFrame{{0xbe, 0xef}})), "16beef");
  EXPECT_EQ(to_hex(encode_ok(RelayOfferFrame{4})), "1704");
  // Nothing sealed, a cut varint, a capacity out of range.
  EXPECT_EQ(decode_error(from_hex("15")), FrameError::kTruncated);
  EXPECT_EQ(decode_error(from_hex("1501")), FrameError::kTruncated);
  EXPECT_EQ(decode_error(from_hex("158000")), FrameError::kBadVarint);
  EXPECT_EQ(decode_error(from_hex("16")), FrameError::kTruncated);
  EXPECT_EQ(decode_error(from_hex("17")), FrameError::kTruncated);
  EXPECT_EQ(decode_error(from_hex("1700")), FrameError::kBadEnum);
  EXPECT_EQ(decode_error(from_hex("1741")), FrameError::kBadEnum);
  EXPECT_EQ(decode_error(from_hex("170400")), FrameError::kTrailingBytes);
  EXPECT_EQ(encode_error(RelayRouteFrame{1, {}}), FrameError::kTruncated);
  EXPECT_EQ(encode_error(RelayRoutedFrame{}), FrameError::kTruncated);
  EXPECT_EQ(encode_error(RelayOfferFrame{0}), FrameError::kBadEnum);
  EXPECT_EQ(encode_error(RelayOfferFrame{65}), FrameError::kBadEnum);
  EXPECT_EQ(encode_error(RelayRouteFrame{1, std::vector<uint8_t>(kMaxFrameBytes - 1, 1)}),
            FrameError::kOversized);
}

TEST(RelayRouteFrames, EachSideTakesWhatTravelsToIt) {
  const FrameBytes route = encode_ok(RelayRouteFrame{3, {1, 2, 3}});
  const FrameBytes routed = encode_ok(RelayRoutedFrame{{1, 2, 3}});
  const FrameBytes offer = encode_ok(RelayOfferFrame{2});
  // route and routed travel both ways; relay_offer only towards the host (inside a seal).
  EXPECT_TRUE(decode_client_frame(route).has_value());
  EXPECT_TRUE(decode_client_frame(routed).has_value());
  EXPECT_TRUE(decode_client_frame(offer).has_value());
  FrameDecoder client(StreamPosition{5, 2});
  EXPECT_TRUE(client.decode(route).has_value());
  EXPECT_TRUE(client.decode(routed).has_value());
  EXPECT_EQ(client.decode(offer).error(), FrameError::kUnexpectedFrame);
  EXPECT_EQ(client.position(), (StreamPosition{5, 2}));
}

TEST(RelayLinkFrames, HelloAndWelcomeRoundTripExactly) {
  RelayHelloFrame hello{5, 0, {}};
  for (size_t i = 0; i < hello.chain_hash.size(); ++i) hello.chain_hash[i] = uint8_t(i);
  RelayWelcomeFrame welcome{5, {}, 300};
  welcome.session_id.bytes.fill(7);
  const std::vector<Frame> frames = {hello, RelayHelloFrame{5, ~uint64_t{0}, {}}, welcome,
                                     RelayWelcomeFrame{5, {}, 0}};
  expect_exact_round_trips(frames);
  // type | version | last_index | 32 hash bytes; type | version | 16 id bytes | head_index.
  EXPECT_EQ(to_hex(encode_ok(hello)),
            "120500000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  EXPECT_EQ(to_hex(encode_ok(welcome)), "130507070707070707070707070707070707ac02");
}

TEST(RelayLinkFrames, HelloAndWelcomeDecodeStrictly) {
  const std::string hash(64, 'a');
  // The version is read and checked first: below 5 the frame does not exist, above this
  // build's it is unknown, whatever follows.
  EXPECT_EQ(decode_error(from_hex("1204")), FrameError::kUnknownVersion);
  EXPECT_EQ(decode_error(from_hex("1206ffffff")), FrameError::kUnknownVersion);
  EXPECT_EQ(decode_error(from_hex("1300")), FrameError::kUnknownVersion);
  EXPECT_EQ(encode_error(RelayHelloFrame{4, 0, {}}), FrameError::kUnknownVersion);
  EXPECT_EQ(encode_error(RelayWelcomeFrame{6, {}, 0}), FrameError::kUnknownVersion);
  // Truncated hash / id / index; trailing bytes; non-canonical varints.
  EXPECT_EQ(decode_error(from_hex("120500" + hash.substr(2))), FrameError::kTruncated);
  EXPECT_EQ(decode_error(from_hex("120500" + hash + "00")), FrameError::kTrailingBytes);
  EXPECT_EQ(decode_error(from_hex("12058000" + hash)), FrameError::kBadVarint);
  EXPECT_EQ(decode_error(from_hex("1305" + std::string(30, '7'))), FrameError::kTruncated);
  EXPECT_EQ(decode_error(from_hex("1305" + std::string(32, '7'))), FrameError::kTruncated);
  EXPECT_EQ(decode_error(from_hex("1305" + std::string(32, '7') + "0000")),
            FrameError::kTrailingBytes);
}

TEST(RelayLinkFrames, EachSideRefusesTheOthersFrames) {
  const FrameBytes hello = encode_ok(RelayHelloFrame{5, 3, {}});
  const FrameBytes welcome = encode_ok(RelayWelcomeFrame{5, {}, 3});
  // The relay decodes its child's frames as a host does: a relay_welcome never comes to it.
  EXPECT_TRUE(decode_client_frame(hello).has_value());
  EXPECT_EQ(decode_client_frame(welcome).error(), FrameError::kUnexpectedFrame);
  FrameDecoder child(StreamPosition{3, std::nullopt});
  EXPECT_EQ(child.decode(hello).error(), FrameError::kUnexpectedFrame);
  ASSERT_TRUE(child.decode(welcome).has_value());
  EXPECT_EQ(child.position(), (StreamPosition{3, std::nullopt}));
}

// ---------------------------------------------------------------------------------------------
// Varints

TEST(Varint, RoundTripsBoundaryValues) {
  const std::vector<std::pair<uint64_t, size_t>> cases = {
      {0, 1},           {1, 1},       {127, 1},          {128, 2},
      {16383, 2},       {16384, 3},   {(1ull << 35), 6}, {(1ull << 63) - 1, 9},
      {1ull << 63, 10}, {kU64Max, 10}};
  for (const auto& [value, size] : cases) {
    FrameBytes out;
    codec::put_varint(out, value);
    EXPECT_EQ(out.size(), size) << value;
    EXPECT_EQ(codec::varint_size(value), size) << value;
    size_t pos = 0;
    uint64_t back = 0;
    ASSERT_EQ(codec::get_varint(out, pos, back), codec::VarintStatus::kOk) << value;
    EXPECT_EQ(back, value);
    EXPECT_EQ(pos, size);
  }
}

TEST(Varint, KnownEncodings) {
  FrameBytes out;
  codec::put_varint(out, 300);
  EXPECT_EQ(out, bytes_of({0xAC, 0x02}));
  out.clear();
  codec::put_varint(out, kU64Max);
  EXPECT_EQ(to_hex(out), "ffffffffffffffffff01");
}

codec::VarintStatus read(const FrameBytes& in) {
  size_t pos = 0;
  uint64_t value = 0;
  return codec::get_varint(in, pos, value);
}

TEST(Varint, RejectsNonCanonicalAndOversizedEncodings) {
  EXPECT_EQ(read(bytes_of({0x80, 0x00})), codec::VarintStatus::kBadVarint);
  EXPECT_EQ(read(bytes_of({0xFF, 0x80, 0x00})), codec::VarintStatus::kBadVarint);
  EXPECT_EQ(read(from_hex("ffffffffffffffffff02")), codec::VarintStatus::kBadVarint);
  EXPECT_EQ(read(from_hex("ffffffffffffffffff81")), codec::VarintStatus::kBadVarint);
  EXPECT_EQ(read(from_hex("8080808080808080808000")), codec::VarintStatus::kBadVarint);
  EXPECT_EQ(read(bytes_of({0x00})), codec::VarintStatus::kOk) << "zero is one 0x00 byte";
}

TEST(Varint, ReportsTruncation) {
  EXPECT_EQ(read({}), codec::VarintStatus::kTruncated);
  EXPECT_EQ(read(bytes_of({0x80})), codec::VarintStatus::kTruncated);
  EXPECT_EQ(read(from_hex("ffffffffffffffffff")), codec::VarintStatus::kTruncated);
}

TEST(Varint, ZigzagKeepsSmallMagnitudesShort) {
  EXPECT_EQ(codec::zigzag_encode(0), 0u);
  EXPECT_EQ(codec::zigzag_encode(-1), 1u);
  EXPECT_EQ(codec::zigzag_encode(1), 2u);
  EXPECT_EQ(codec::zigzag_encode(std::numeric_limits<int64_t>::min()), kU64Max);
  for (int64_t v : {int64_t{0}, int64_t{-5}, int64_t{1700000000000},
                    std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}) {
    EXPECT_EQ(codec::zigzag_decode(codec::zigzag_encode(v)), v);
  }
}

TEST(Utf8, AcceptsValidAndRejectsMalformedText) {
  EXPECT_TRUE(tokencast::is_valid_utf8(""));
  EXPECT_TRUE(tokencast::is_valid_utf8("plain"));
  EXPECT_TRUE(tokencast::is_valid_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));  // é € 😀
  EXPECT_TRUE(tokencast::is_valid_utf8("\xF4\x8F\xBF\xBF"));                      // U+10FFFF
  EXPECT_FALSE(tokencast::is_valid_utf8("\x80"));              // lone continuation
  EXPECT_FALSE(tokencast::is_valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(tokencast::is_valid_utf8("\xE0\x80\xAF"));      // overlong
  EXPECT_FALSE(tokencast::is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(tokencast::is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(tokencast::is_valid_utf8("\xE2\x82"));          // cut short
  EXPECT_FALSE(tokencast::is_valid_utf8("\xE2\x28\xAC"));      // bad continuation
  EXPECT_FALSE(tokencast::is_valid_utf8(std::string("a\xFF", 2)));
}

// ---------------------------------------------------------------------------------------------
// Round trips

SessionId test_session_id() {
  SessionId id{};
  for (size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<uint8_t>(0xA0 + i);
  return id;
}

// One frame of every type, and every event type, with edge values.
std::vector<Frame> sample_frames() {
  return {
      HelloFrame{kProtocolVersion, 0, ""},
      HelloFrame{kProtocolVersion, kU64Max, "Zo\xC3\xAB"},
      WelcomeFrame{kProtocolVersion, test_session_id(), PeerRole::kParticipant, 42, 1234567},
      WelcomeFrame{kProtocolVersion, SessionId{}, PeerRole::kViewer, 0, 0},
      EventsFrame{{Event{1, TurnStarted{1, TurnRole::kUser, "alice", 1700000000000}}}},
      EventsFrame{{Event{7, TurnStarted{kU64Max, TurnRole::kSystem, "", -42}}}},
      EventsFrame{{Event{2, TextDelta{1, "Hello"}}}},
      EventsFrame{{Event{3, TextDelta{1, std::string("\xE2\x82", 2)}, 1000}}},
      EventsFrame{{Event{4, TurnEnded{1, TurnEnd::kDone, "", 17, 1700000001000}}}},
      EventsFrame{{Event{5, TurnEnded{2, TurnEnd::kCancelled, "bob cancelled", 3, 0}}}},
      EventsFrame{{Event{6, TurnEnded{3, TurnEnd::kError, "HTTP 500", 0, -1}}}},
      EventsFrame{{Event{8, PeerJoined{9, PeerRole::kHost, "host"}}}},
      EventsFrame{{Event{9, PeerLeft{9}}}},
      EventsFrame{{Event{10, SessionMeta{"title", "model"}}}},
      EventsFrame{{Event{kU64Max, PeerLeft{1}}}},
      EventsFrame{{
          Event{20, TurnStarted{4, TurnRole::kAssistant, "m", 5}},
          Event{21, TextDelta{4, "merged"}, 6},
          Event{27, PeerJoined{3, PeerRole::kViewer, "v"}},
          Event{28, TextDelta{4, "!"}},
          Event{29, TurnEnded{4, TurnEnd::kDone, "", 7, 6}},
      }},
      DeltaFrame{"token"},
      DeltaFrame{""},
      DeltaFrame{std::string("\xAC\xFF", 2)},
      PromptFrame{77, "Why is the sky blue?"},
      PromptFrame{0, ""},
      CancelFrame{4},
      PingFrame{0},
      PingFrame{kU64Max},
      PongFrame{99},
      ErrorFrame{StatusCode::kSlowConsumer, "slow"},
      ErrorFrame{static_cast<StatusCode>(5000), ""},
      ByeFrame{StatusCode::kNormal, ""},
      ByeFrame{StatusCode::kShutdown, "bye"},
      AckFrame{0},
      AckFrame{kU64Max},
      SignatureFrame{1, 0, {}},
      SignatureFrame{kU64Max, kU64Max, Ed25519Signature{0xFF, 0x01}},
      HelloFrame{1, 5, "v1"},
      WelcomeFrame{1, SessionId{}, PeerRole::kViewer, 1, 5},
  };
}

TEST(FrameCodec, EveryFrameAndEventRoundTrips) {
  for (const Frame& frame : sample_frames()) {
    const FrameBytes bytes = encode_ok(frame);
    auto decoded = decode_frame(bytes);
    ASSERT_TRUE(decoded.has_value()) << to_hex(bytes) << ": " << decoded.error().message();
    EXPECT_EQ(*decoded, frame) << to_hex(bytes);
    EXPECT_EQ(encode_ok(*decoded), bytes) << "one encoding per value";
  }
}

TEST(FrameCodec, FirstByteIsTheFrameType) {
  const std::vector<std::pair<Frame, FrameType>> cases = {
      {HelloFrame{}, FrameType::kHello},
      {WelcomeFrame{}, FrameType::kWelcome},
      {EventsFrame{{Event{1, PeerLeft{}}}}, FrameType::kEvents},
      {DeltaFrame{"x"}, FrameType::kDelta},
      {PromptFrame{}, FrameType::kPrompt},
      {CancelFrame{}, FrameType::kCancel},
      {PingFrame{}, FrameType::kPing},
      {PongFrame{}, FrameType::kPong},
      {ErrorFrame{}, FrameType::kError},
      {ByeFrame{}, FrameType::kBye}};
  for (const auto& [frame, type] : cases) {
    EXPECT_EQ(encode_ok(frame).front(), static_cast<uint8_t>(type));
  }
}

TEST(FrameCodec, LiveDeltaCostsOneByteOfFraming) {
  const std::string token = " the";
  auto bytes = encode_live_event(Event{57, TextDelta{3, token}});
  ASSERT_TRUE(bytes.has_value());
  EXPECT_EQ(bytes->size(), token.size() + 1);
  EXPECT_EQ(to_hex(*bytes), "04" + to_hex(FrameBytes(token.begin(), token.end())));
}

TEST(FrameCodec, LiveNonDeltaEventIsAOneEventBatch) {
  const Event event{12, TurnEnded{3, TurnEnd::kDone, "", 40, 99}};
  auto bytes = encode_live_event(event);
  ASSERT_TRUE(bytes.has_value());
  auto decoded = decode_frame(*bytes);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, Frame(EventsFrame{{event}}));
  // A merged delta (span > 1) cannot ride the implicit-sequence frame.
  const Event merged{13, TextDelta{3, "ab"}, 2};
  auto merged_bytes = encode_live_event(merged);
  ASSERT_TRUE(merged_bytes.has_value());
  EXPECT_EQ(merged_bytes->front(), static_cast<uint8_t>(FrameType::kEvents));
}

// ---------------------------------------------------------------------------------------------
// Malformed input

TEST(FrameCodec, EveryStrictPrefixIsTruncated) {
  for (const Frame& frame : sample_frames()) {
    if (std::holds_alternative<DeltaFrame>(frame)) continue;  // text runs to the end: see below
    const FrameBytes bytes = encode_ok(frame);
    for (size_t n = 0; n < bytes.size(); ++n) {
      const FrameBytes prefix(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
      EXPECT_EQ(decode_error(prefix), FrameError::kTruncated) << to_hex(bytes) << " cut at " << n;
    }
  }
}

TEST(FrameCodec, DeltaPrefixesAreShorterDeltas) {
  // A delta frame's text is the rest of the message: the data channel delivers whole messages,
  // so a prefix is only ever seen if a transport breaks that promise.
  const FrameBytes bytes = encode_ok(DeltaFrame{"abc"});
  for (size_t n = 1; n < bytes.size(); ++n) {
    auto decoded =
        decode_frame(FrameBytes(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n)));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(std::get<DeltaFrame>(*decoded).bytes, std::string("abc", n - 1));
  }
}

TEST(FrameCodec, TrailingBytesAreRejected) {
  for (const Frame& frame : sample_frames()) {
    if (std::holds_alternative<DeltaFrame>(frame)) continue;
    FrameBytes bytes = encode_ok(frame);
    bytes.push_back(0x00);
    EXPECT_EQ(decode_error(bytes), FrameError::kTrailingBytes) << to_hex(bytes);
  }
}

TEST(FrameCodec, OversizedFramesAreRejected) {
  FrameBytes largest(kMaxFrameBytes, 'a');
  largest[0] = static_cast<uint8_t>(FrameType::kDelta);
  EXPECT_TRUE(decode_frame(largest).has_value());
  largest.push_back('a');
  EXPECT_EQ(decode_error(largest), FrameError::kOversized);
  // Size is checked before anything else.
  FrameBytes junk(kMaxFrameBytes + 1, 0xFF);
  EXPECT_EQ(decode_error(junk), FrameError::kOversized);

  EXPECT_TRUE(encode_frame(DeltaFrame{std::string(kMaxFrameBytes - 1, 'a')}).has_value());
  EXPECT_EQ(encode_error(DeltaFrame{std::string(kMaxFrameBytes, 'a')}), FrameError::kOversized);
  EXPECT_EQ(encode_error(PromptFrame{1, std::string(kMaxFrameBytes, 'a')}), FrameError::kOversized);
  EventsFrame big;
  for (Seq s = 1; s <= 20; ++s)
    big.events.push_back(Event{s, PeerJoined{s, PeerRole::kViewer, std::string(1000, 'n')}});
  EXPECT_EQ(encode_error(big), FrameError::kOversized);
}

TEST(FrameCodec, UnknownFrameTypesAreRejected) {
  for (int type : {0x00, 0x18, 0x1F, 0x7F, 0x80, 0xFF}) {
    EXPECT_EQ(decode_error(bytes_of({type})), FrameError::kUnknownFrameType) << type;
    EXPECT_EQ(decode_error(bytes_of({type, 0x01, 0x00})), FrameError::kUnknownFrameType) << type;
  }
}

TEST(FrameCodec, UnknownVersionsAreRejectedBeforeTheRestOfTheFrame) {
  EXPECT_EQ(decode_error(bytes_of({0x01, 0x06, 0x00, 0x00})), FrameError::kUnknownVersion);
  EXPECT_EQ(decode_error(bytes_of({0x01, 0x00, 0x00, 0x00})), FrameError::kUnknownVersion);
  // A version-6 hello may lay out its fields differently: only the version is read.
  EXPECT_EQ(decode_error(bytes_of({0x01, 0x06})), FrameError::kUnknownVersion);
  EXPECT_EQ(decode_error(bytes_of({0x01, 0x06, 0xFF, 0xFF})), FrameError::kUnknownVersion);
  FrameBytes welcome = encode_ok(WelcomeFrame{kProtocolVersion, test_session_id()});
  welcome[1] = 0x06;
  EXPECT_EQ(decode_error(welcome), FrameError::kUnknownVersion);
  EXPECT_EQ(encode_error(HelloFrame{6, 0, ""}), FrameError::kUnknownVersion);
  EXPECT_EQ(encode_error(WelcomeFrame{0}), FrameError::kUnknownVersion);
}

// Version 5 (relaying): the hello ends with the relay capacity, the welcome with the relay
// stream flag; below version 5 neither is on the wire, and neither may be set.
TEST(FrameCodec, Version5CarriesRelayCapacityAndRelayStream) {
  HelloFrame hello{5, 7, "ab"};
  hello.relay_capacity = 300;
  EXPECT_EQ(to_hex(encode_ok(hello)), "010507026162ac02");
  auto decoded = decode_frame(from_hex("010507026162ac02"));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(std::get<HelloFrame>(*decoded), hello);
  EXPECT_EQ(decode_error(from_hex("010507026162")), FrameError::kTruncated);
  EXPECT_EQ(decode_error(from_hex("010507026162ac0200")), FrameError::kTrailingBytes);
  HelloFrame old{4, 7, "ab"};
  old.relay_capacity = 1;
  EXPECT_EQ(encode_error(old), FrameError::kBadEnum);

  WelcomeFrame welcome{5, SessionId{}, PeerRole::kViewer, 3, 9};
  welcome.relay_stream = true;
  const FrameBytes bytes = encode_ok(welcome);
  EXPECT_EQ(bytes.back(), 0x01);
  ASSERT_TRUE(decode_frame(bytes));
  EXPECT_EQ(std::get<WelcomeFrame>(*decode_frame(bytes)), welcome);
  FrameBytes two = bytes;
  two.back() = 0x02;
  EXPECT_EQ(decode_error(two), FrameError::kBadEnum);
  FrameBytes cut(bytes.begin(), bytes.end() - 1);
  EXPECT_EQ(decode_error(cut), FrameError::kTruncated);
  WelcomeFrame old_welcome{4, SessionId{}, PeerRole::kViewer, 3, 9};
  old_welcome.relay_stream = true;
  EXPECT_EQ(encode_error(old_welcome), FrameError::kBadEnum);
}

TEST(FrameCodec, UnknownEventTypesAreRejected) {
  for (int type : {0x00, 0x08, 0x42, 0xFF}) {
    EXPECT_EQ(decode_error(bytes_of({0x03, 0x01, 0x01, type, 0x00})),
              FrameError::kUnknownEventType);
  }
}

TEST(FrameCodec, BadVarintsAreRejectedInEveryVarintField) {
  // Each sample frame, with its first varint after the type byte made overlong: the value v
  // becomes (v | 0x80), 0x00 when it fit in one byte.
  for (const Frame& frame : sample_frames()) {
    if (std::holds_alternative<DeltaFrame>(frame)) continue;
    FrameBytes bytes = encode_ok(frame);
    if (bytes[1] >= 0x80) continue;  // multi-byte first varint: covered below
    bytes[1] |= 0x80;
    bytes.insert(bytes.begin() + 2, 0x00);
    EXPECT_EQ(decode_error(bytes), FrameError::kBadVarint) << to_hex(bytes);
  }
  EXPECT_EQ(decode_error(from_hex("07ffffffffffffffffff02")), FrameError::kBadVarint);
  EXPECT_EQ(decode_error(from_hex("0101ff8000")), FrameError::kBadVarint);  // last_seq
  // A string length, a turn id and a span inside an event.
  EXPECT_EQ(decode_error(from_hex("0101008000")), FrameError::kBadVarint);
  EXPECT_EQ(decode_error(from_hex("03010102810001016161")), FrameError::kBadVarint);
  EXPECT_EQ(decode_error(from_hex("030101020181000161")), FrameError::kBadVarint);
}

TEST(FrameCodec, LabelsAreBoundedAndValidUtf8) {
  const std::string longest(kMaxLabelBytes, 'x');
  EXPECT_TRUE(encode_frame(HelloFrame{kProtocolVersion, 0, longest}).has_value());
  EXPECT_EQ(encode_error(HelloFrame{kProtocolVersion, 0, longest + "x"}),
            FrameError::kStringTooLong);
  EXPECT_EQ(encode_error(ByeFrame{StatusCode::kNormal, longest + "x"}), FrameError::kStringTooLong);
  EXPECT_EQ(encode_error(EventsFrame{{Event{1, SessionMeta{"", longest + "x"}}}}),
            FrameError::kStringTooLong);
  EXPECT_EQ(encode_error(ErrorFrame{StatusCode::kInternal, "\xFF"}), FrameError::kInvalidUtf8);
  EXPECT_EQ(encode_error(PromptFrame{1, "\xC0\xAF"}), FrameError::kInvalidUtf8);
  EXPECT_EQ(encode_error(EventsFrame{{Event{1, PeerJoined{1, PeerRole::kViewer, "\xE2\x82"}}}}),
            FrameError::kInvalidUtf8);

  // Decoding: a length above the bound is refused before the bytes are read.
  EXPECT_EQ(decode_error(from_hex("01010081 08")), FrameError::kStringTooLong);
  FrameBytes hello = encode_ok(HelloFrame{4, 0, "ab"});
  hello.back() = 0xFF;
  EXPECT_EQ(decode_error(hello), FrameError::kInvalidUtf8);
}

TEST(FrameCodec, EnumsOutOfRangeAreRejected) {
  EXPECT_EQ(encode_error(WelcomeFrame{kProtocolVersion, {}, PeerRole::kHost}),
            FrameError::kBadEnum);
  EXPECT_EQ(encode_error(EventsFrame{{Event{1, TurnStarted{1, static_cast<TurnRole>(3), "", 0}}}}),
            FrameError::kBadEnum);
  EXPECT_EQ(encode_error(EventsFrame{{Event{1, TurnEnded{1, static_cast<TurnEnd>(3), "", 0, 0}}}}),
            FrameError::kBadEnum);
  EXPECT_EQ(decode_error(from_hex("030101040103 00")), FrameError::kBadEnum);
  FrameBytes welcome = encode_ok(WelcomeFrame{kProtocolVersion, {}, PeerRole::kViewer});
  welcome[18] = 0x02;  // type, version, 16 id bytes, then the role
  EXPECT_EQ(decode_error(welcome), FrameError::kBadEnum);
}

TEST(FrameCodec, StatusCodesAreOpenEnded) {
  auto decoded = decode_frame(from_hex("09e807 00"));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(static_cast<uint64_t>(std::get<ErrorFrame>(*decoded).code), 1000u);
}

TEST(FrameCodec, EventsFrameSequenceRules) {
  EXPECT_EQ(encode_error(EventsFrame{}), FrameError::kEmptyBatch);
  EXPECT_EQ(decode_error(from_hex("030100")), FrameError::kEmptyBatch);

  EXPECT_EQ(encode_error(EventsFrame{{Event{0, PeerLeft{1}}}}), FrameError::kBadSequence);
  EXPECT_EQ(decode_error(from_hex("0300010501")), FrameError::kBadSequence);
  EXPECT_EQ(encode_error(EventsFrame{{Event{kU64Max, TextDelta{1, ""}, 2}}}),
            FrameError::kBadSequence);
  EXPECT_EQ(encode_error(EventsFrame{{Event{kU64Max, PeerLeft{1}}, Event{0, PeerLeft{1}}}}),
            FrameError::kBadSequence);

  EXPECT_EQ(encode_error(EventsFrame{{Event{1, TextDelta{1, "a"}, 0}}}), FrameError::kBadSpan);
  EXPECT_EQ(encode_error(EventsFrame{{Event{1, PeerLeft{1}, 2}}}), FrameError::kBadSpan);
  EXPECT_EQ(decode_error(from_hex("03010102010000")), FrameError::kBadSpan);

  // Sequences inside a frame follow from the first and the spans; the encoder refuses others.
  EXPECT_EQ(encode_error(EventsFrame{{Event{1, PeerLeft{1}}, Event{3, PeerLeft{2}}}}),
            FrameError::kSequenceGap);
  EXPECT_EQ(encode_error(EventsFrame{{Event{1, TextDelta{1, "ab"}, 2}, Event{2, PeerLeft{2}}}}),
            FrameError::kSequenceGap);
  auto decoded = decode_frame(
      encode_ok(EventsFrame{{Event{5, TextDelta{1, "ab"}, 2}, Event{7, PeerLeft{2}}}}));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(std::get<EventsFrame>(*decoded).events[1].seq, 7u);
}

TEST(FrameCodec, HostSideRejectsHostOnlyFrames) {
  for (const Frame& frame : sample_frames()) {
    const bool host_only =
        std::holds_alternative<WelcomeFrame>(frame) || std::holds_alternative<EventsFrame>(frame) ||
        std::holds_alternative<DeltaFrame>(frame) || std::holds_alternative<SignatureFrame>(frame);
    auto decoded = decode_client_frame(encode_ok(frame));
    if (host_only) {
      ASSERT_FALSE(decoded.has_value());
      EXPECT_EQ(decoded.error(), FrameError::kUnexpectedFrame);
    } else {
      ASSERT_TRUE(decoded.has_value());
      EXPECT_EQ(*decoded, frame);
    }
  }
}

TEST(FrameCodec, ErrorCategoryNamesEveryError) {
  for (int v = 1; v <= 18; ++v) {
    const auto e = static_cast<FrameError>(v);
    EXPECT_STRNE(frame_error_name(e), "unknown") << v;
    std::error_code ec = e;
    EXPECT_EQ(ec.category().name(), std::string("tokencast.frame"));
    EXPECT_NE(ec.message(), "unknown frame error") << v;
  }
  EXPECT_STREQ(frame_error_name(static_cast<FrameError>(99)), "unknown");
}

// ---------------------------------------------------------------------------------------------
// Stateful client decoder

TEST(FrameDecoder, FillsInTheSequenceAndTurnOfLiveDeltas) {
  FrameDecoder decoder({10, TurnId{3}});
  auto frame = decoder.decode(encode_ok(DeltaFrame{"abc"}));
  ASSERT_TRUE(frame.has_value()) << frame.error().message();
  EXPECT_EQ(*frame, Frame(EventsFrame{{Event{11, TextDelta{3, "abc"}}}}));
  frame = decoder.decode(encode_ok(DeltaFrame{"d"}));
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(std::get<EventsFrame>(*frame).events[0].seq, 12u);
  EXPECT_EQ(decoder.position(), (StreamPosition{12, TurnId{3}}));
}

TEST(FrameDecoder, FollowsTurnsAndSpans) {
  FrameDecoder decoder;
  auto frame = decoder.decode(encode_ok(EventsFrame{{
      Event{1, TurnStarted{1, TurnRole::kAssistant, "m", 0}},
      Event{2, TextDelta{1, "merged"}, 40},
  }}));
  ASSERT_TRUE(frame.has_value()) << frame.error().message();
  EXPECT_EQ(decoder.position(), (StreamPosition{41, TurnId{1}}));
  frame =
      decoder.decode(encode_ok(EventsFrame{{Event{42, TurnEnded{1, TurnEnd::kDone, "", 40, 0}}}}));
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(decoder.position(), (StreamPosition{42, std::nullopt}));
  // Frames without events leave the position alone.
  ASSERT_TRUE(decoder.decode(encode_ok(PingFrame{1})).has_value());
  ASSERT_TRUE(decoder.decode(encode_ok(WelcomeFrame{})).has_value());
  EXPECT_EQ(decoder.position(), (StreamPosition{42, std::nullopt}));
}

std::error_code stream_error(FrameDecoder& decoder, const Frame& frame) {
  const StreamPosition before = decoder.position();
  auto decoded = decoder.decode(encode_ok(frame));
  EXPECT_FALSE(decoded.has_value());
  EXPECT_EQ(decoder.position(), before) << "an error must not move the position";
  return decoded.has_value() ? std::error_code{} : decoded.error();
}

TEST(FrameDecoder, ReportsSequenceGaps) {
  FrameDecoder decoder({5, std::nullopt});
  EXPECT_EQ(stream_error(decoder, EventsFrame{{Event{7, PeerLeft{1}}}}), FrameError::kSequenceGap);
  EXPECT_EQ(stream_error(decoder, EventsFrame{{Event{5, PeerLeft{1}}}}), FrameError::kSequenceGap);
  EXPECT_EQ(stream_error(decoder, EventsFrame{{Event{1, PeerLeft{1}}}}), FrameError::kSequenceGap);
  EXPECT_TRUE(decoder.decode(encode_ok(EventsFrame{{Event{6, PeerLeft{1}}}})).has_value());
}

TEST(FrameDecoder, EnforcesTheTurnRules) {
  FrameDecoder idle({3, std::nullopt});
  EXPECT_EQ(stream_error(idle, DeltaFrame{"x"}), FrameError::kNoOpenTurn);
  EXPECT_EQ(stream_error(idle, EventsFrame{{Event{4, TextDelta{1, "x"}}}}),
            FrameError::kNoOpenTurn);
  EXPECT_EQ(stream_error(idle, EventsFrame{{Event{4, TurnEnded{1, TurnEnd::kDone, "", 0, 0}}}}),
            FrameError::kNoOpenTurn);

  FrameDecoder open({3, TurnId{1}});
  EXPECT_EQ(stream_error(open, EventsFrame{{Event{4, TextDelta{2, "x"}}}}),
            FrameError::kTurnMismatch);
  EXPECT_EQ(stream_error(open, EventsFrame{{Event{4, TurnStarted{2, TurnRole::kUser, "", 0}}}}),
            FrameError::kTurnAlreadyOpen);
  // The whole batch is checked before any of it is applied.
  EXPECT_EQ(stream_error(open, EventsFrame{{Event{4, TurnEnded{1, TurnEnd::kDone, "", 0, 0}},
                                            Event{5, TextDelta{1, "late"}}}}),
            FrameError::kNoOpenTurn);
}

TEST(FrameDecoder, RejectsFramesOnlyClientsSend) {
  FrameDecoder decoder;
  EXPECT_EQ(stream_error(decoder, HelloFrame{}), FrameError::kUnexpectedFrame);
  EXPECT_EQ(stream_error(decoder, PromptFrame{1, "hi"}), FrameError::kUnexpectedFrame);
  EXPECT_EQ(stream_error(decoder, CancelFrame{1}), FrameError::kUnexpectedFrame);
}

TEST(FrameDecoder, PassesOnStatelessErrors) {
  FrameDecoder decoder;
  auto decoded = decoder.decode(bytes_of({0x03, 0x01, 0x00}));
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error(), FrameError::kEmptyBatch);
}

// ---------------------------------------------------------------------------------------------
// Known-answer vectors (tests/vectors/frames.json), shared with the TypeScript client.

using nlohmann::json;

uint64_t json_u64(const json& j) {
  return j.is_string() ? std::stoull(j.get<std::string>()) : j.get<uint64_t>();
}
int64_t json_i64(const json& j) {
  return j.is_string() ? std::stoll(j.get<std::string>()) : j.get<int64_t>();
}
json u64_json(uint64_t v) {
  if (v > (uint64_t{1} << 53) - 1) return std::to_string(v);
  return v;
}
json i64_json(int64_t v) {
  const int64_t safe = (int64_t{1} << 53) - 1;
  if (v > safe || v < -safe) return std::to_string(v);
  return v;
}
std::string hex_text(const std::string& s) { return to_hex(FrameBytes(s.begin(), s.end())); }
std::string text_hex(const json& j) {
  const FrameBytes b = from_hex(j.get<std::string>());
  return std::string(b.begin(), b.end());
}

FrameBytes vector_bytes(const json& j) {
  if (j.is_string()) return from_hex(j.get<std::string>());
  FrameBytes out = from_hex(j.at("hex").get<std::string>());
  const FrameBytes unit = from_hex(j.at("then_repeat").at("hex").get<std::string>());
  for (uint64_t i = 0; i < json_u64(j.at("then_repeat").at("times")); ++i) {
    out.insert(out.end(), unit.begin(), unit.end());
  }
  return out;
}

template <class E>
E enum_from(const json& j, std::initializer_list<const char*> names) {
  int i = 0;
  for (const char* name : names) {
    if (j.get<std::string>() == name) return static_cast<E>(i);
    ++i;
  }
  ADD_FAILURE() << "unknown enum name " << j;
  return static_cast<E>(0);
}
template <class E>
json enum_to(E value, std::initializer_list<const char*> names) {
  return *(names.begin() + static_cast<int>(value));
}
#define TURN_ROLES \
  { "user", "assistant", "system" }
#define TURN_ENDS \
  { "done", "cancelled", "error" }
#define PEER_ROLES \
  { "viewer", "participant", "host" }

Event event_from_json(const json& j) {
  Event e;
  e.seq = json_u64(j.at("seq"));
  const std::string type = j.at("type");
  if (type == "turn_started") {
    e.body = TurnStarted{json_u64(j.at("turn")), enum_from<TurnRole>(j.at("role"), TURN_ROLES),
                         j.at("author"), json_i64(j.at("at_ms"))};
  } else if (type == "text_delta") {
    e.body = TextDelta{json_u64(j.at("turn")), text_hex(j.at("bytes_hex"))};
    e.span = json_u64(j.at("span"));
  } else if (type == "thinking_delta") {
    e.body = ThinkingDelta{json_u64(j.at("turn")), text_hex(j.at("bytes_hex"))};
    e.span = json_u64(j.at("span"));
  } else if (type == "turn_ended") {
    e.body = TurnEnded{json_u64(j.at("turn")), enum_from<TurnEnd>(j.at("end"), TURN_ENDS),
                       j.at("reason"), json_u64(j.at("token_count")), json_i64(j.at("at_ms"))};
  } else if (type == "peer_joined") {
    e.body = PeerJoined{json_u64(j.at("peer")), enum_from<PeerRole>(j.at("role"), PEER_ROLES),
                        j.at("name")};
  } else if (type == "peer_left") {
    e.body = PeerLeft{json_u64(j.at("peer"))};
  } else if (type == "session_meta") {
    e.body = SessionMeta{j.at("title"), j.at("model")};
  } else {
    ADD_FAILURE() << "unknown event type " << type;
  }
  return e;
}

json event_to_json(const Event& e) {
  json j = {{"seq", u64_json(e.seq)}};
  if (const auto* v = std::get_if<TurnStarted>(&e.body)) {
    j.update({{"type", "turn_started"},
              {"turn", u64_json(v->turn)},
              {"role", enum_to(v->role, TURN_ROLES)},
              {"author", v->author},
              {"at_ms", i64_json(v->at_ms)}});
  } else if (const auto* v = std::get_if<TextDelta>(&e.body)) {
    j.update({{"type", "text_delta"},
              {"turn", u64_json(v->turn)},
              {"span", u64_json(e.span)},
              {"bytes_hex", hex_text(v->bytes)}});
  } else if (const auto* v = std::get_if<ThinkingDelta>(&e.body)) {
    j.update({{"type", "thinking_delta"},
              {"turn", u64_json(v->turn)},
              {"span", u64_json(e.span)},
              {"bytes_hex", hex_text(v->bytes)}});
  } else if (const auto* v = std::get_if<TurnEnded>(&e.body)) {
    j.update({{"type", "turn_ended"},
              {"turn", u64_json(v->turn)},
              {"end", enum_to(v->end, TURN_ENDS)},
              {"reason", v->reason},
              {"token_count", u64_json(v->token_count)},
              {"at_ms", i64_json(v->at_ms)}});
  } else if (const auto* v = std::get_if<PeerJoined>(&e.body)) {
    j.update({{"type", "peer_joined"},
              {"peer", u64_json(v->peer)},
              {"role", enum_to(v->role, PEER_ROLES)},
              {"name", v->name}});
  } else if (const auto* v = std::get_if<PeerLeft>(&e.body)) {
    j.update({{"type", "peer_left"}, {"peer", u64_json(v->peer)}});
  } else if (const auto* v = std::get_if<SessionMeta>(&e.body)) {
    j.update({{"type", "session_meta"}, {"title", v->title}, {"model", v->model}});
  }
  return j;
}

Frame frame_from_json(const json& j) {
  const std::string type = j.at("type");
  if (type == "hello") {
    return HelloFrame{json_u64(j.at("version")), json_u64(j.at("last_seq")), j.at("display_name")};
  }
  if (type == "welcome") {
    WelcomeFrame f{json_u64(j.at("version"))};
    const FrameBytes id = from_hex(j.at("session_id"));
    EXPECT_EQ(id.size(), f.session_id.bytes.size());
    std::copy_n(id.begin(), std::min(id.size(), f.session_id.bytes.size()),
                f.session_id.bytes.begin());
    f.role = enum_from<PeerRole>(j.at("role"), PEER_ROLES);
    f.peer = json_u64(j.at("peer"));
    f.head_seq = json_u64(j.at("head_seq"));
    return f;
  }
  if (type == "events") {
    EventsFrame f;
    for (const json& e : j.at("events")) f.events.push_back(event_from_json(e));
    return f;
  }
  if (type == "delta") return DeltaFrame{text_hex(j.at("bytes_hex"))};
  if (type == "thinking") return ThinkingFrame{text_hex(j.at("bytes_hex"))};
  if (type == "prompt") return PromptFrame{json_u64(j.at("prompt_id")), j.at("text")};
  if (type == "cancel") return CancelFrame{json_u64(j.at("turn"))};
  if (type == "ping") return PingFrame{json_u64(j.at("nonce"))};
  if (type == "pong") return PongFrame{json_u64(j.at("nonce"))};
  if (type == "error")
    return ErrorFrame{static_cast<StatusCode>(json_u64(j.at("code"))), j.at("text")};
  if (type == "bye")
    return ByeFrame{static_cast<StatusCode>(json_u64(j.at("reason"))), j.at("text")};
  if (type == "ack") return AckFrame{json_u64(j.at("last_seq"))};
  if (type == "signature") {
    SignatureFrame f{json_u64(j.at("seq")), json_u64(j.at("turns")), {}};
    FrameBytes sig = from_hex(j.at("signature_hex").get<std::string>());
    EXPECT_EQ(sig.size(), f.signature.size());
    std::copy_n(sig.begin(), std::min(sig.size(), f.signature.size()), f.signature.begin());
    return f;
  }
  ADD_FAILURE() << "unknown frame type " << type;
  return PingFrame{};
}

// The reverse mapping, so a decoded frame is compared with the vector's description as JSON:
// a field the C++ side drops or invents shows up as a difference.
json frame_to_json(const Frame& frame) {
  struct Visitor {
    json operator()(const HelloFrame& f) const {
      return {{"type", "hello"},
              {"version", u64_json(f.version)},
              {"last_seq", u64_json(f.last_seq)},
              {"display_name", f.display_name}};
    }
    json operator()(const WelcomeFrame& f) const {
      return {
          {"type", "welcome"},
          {"version", u64_json(f.version)},
          {"session_id", to_hex(FrameBytes(f.session_id.bytes.begin(), f.session_id.bytes.end()))},
          {"role", enum_to(f.role, PEER_ROLES)},
          {"peer", u64_json(f.peer)},
          {"head_seq", u64_json(f.head_seq)}};
    }
    json operator()(const EventsFrame& f) const {
      json events = json::array();
      for (const Event& e : f.events) events.push_back(event_to_json(e));
      return {{"type", "events"}, {"events", events}};
    }
    json operator()(const DeltaFrame& f) const {
      return {{"type", "delta"}, {"bytes_hex", hex_text(f.bytes)}};
    }
    json operator()(const ThinkingFrame& f) const {
      return {{"type", "thinking"}, {"bytes_hex", hex_text(f.bytes)}};
    }
    json operator()(const PromptFrame& f) const {
      return {{"type", "prompt"}, {"prompt_id", u64_json(f.prompt_id)}, {"text", f.text}};
    }
    json operator()(const CancelFrame& f) const {
      return {{"type", "cancel"}, {"turn", u64_json(f.turn)}};
    }
    json operator()(const PingFrame& f) const {
      return {{"type", "ping"}, {"nonce", u64_json(f.nonce)}};
    }
    json operator()(const PongFrame& f) const {
      return {{"type", "pong"}, {"nonce", u64_json(f.nonce)}};
    }
    json operator()(const ErrorFrame& f) const {
      return {
          {"type", "error"}, {"code", u64_json(static_cast<uint64_t>(f.code))}, {"text", f.text}};
    }
    json operator()(const ByeFrame& f) const {
      return {
          {"type", "bye"}, {"reason", u64_json(static_cast<uint64_t>(f.reason))}, {"text", f.text}};
    }
    json operator()(const AckFrame& f) const {
      return {{"type", "ack"}, {"last_seq", u64_json(f.last_seq)}};
    }
    // Version 5 frames are not in the shared frames.json (see relay_link.json).
    json operator()(const RelayIntroFrame& f) const {
      return {{"type", "relay_intro"}, {"child", u64_json(f.child)}, {"sdp", f.sdp}};
    }
    json operator()(const RelayAcceptFrame& f) const {
      return {{"type", "relay_accept"}, {"child", u64_json(f.child)}, {"sdp", f.sdp}};
    }
    json operator()(const RelayHelloFrame& f) const {
      return {{"type", "relay_hello"},
              {"version", u64_json(f.version)},
              {"last_index", u64_json(f.last_index)},
              {"chain_hash_hex", to_hex(FrameBytes(f.chain_hash.begin(), f.chain_hash.end()))}};
    }
    json operator()(const RelayWelcomeFrame& f) const {
      return {{"type", "relay_welcome"},
              {"version", u64_json(f.version)},
              {"session_id_hex",
               to_hex(FrameBytes(f.session_id.bytes.begin(), f.session_id.bytes.end()))},
              {"head_index", u64_json(f.head_index)}};
    }
    json operator()(const RelayRefuseFrame& f) const {
      return {{"type", "relay_refuse"},
              {"child", u64_json(f.child)},
              {"reason", static_cast<int>(f.reason)}};
    }
    json operator()(const RelayRouteFrame& f) const {
      return {{"type", "relay_route"},
              {"child", u64_json(f.child)},
              {"sealed", tokencast::testing::hex(f.sealed)}};
    }
    json operator()(const RelayRoutedFrame& f) const {
      return {{"type", "relay_routed"}, {"sealed", tokencast::testing::hex(f.sealed)}};
    }
    json operator()(const RelayOfferFrame& f) const {
      return {{"type", "relay_offer"}, {"capacity", u64_json(f.capacity)}};
    }
    json operator()(const RelayChildGoneFrame& f) const {
      return {{"type", "relay_child_gone"}, {"child", u64_json(f.child)}};
    }
    json operator()(const RelayCandidateFrame& f) const {
      return {{"type", "relay_candidate"},
              {"child", u64_json(f.child)},
              {"mline_index", f.mline_index},
              {"mid", f.mid},
              {"candidate", f.candidate}};
    }
    json operator()(const SignatureFrame& f) const {
      return {{"type", "signature"},
              {"seq", u64_json(f.seq)},
              {"turns", u64_json(f.turns)},
              {"signature_hex", to_hex(FrameBytes(f.signature.begin(), f.signature.end()))}};
    }
  };
  return std::visit(Visitor{}, frame);
}

StreamPosition position_from_json(const json& j) {
  StreamPosition p{json_u64(j.at("last_seq")), std::nullopt};
  if (!j.at("open_turn").is_null()) p.open_turn = json_u64(j.at("open_turn"));
  return p;
}

const char* error_name(const std::error_code& ec) {
  if (ec.category() != frame_category()) return "not a frame error";
  return frame_error_name(static_cast<FrameError>(ec.value()));
}

json load_vectors() {
  std::ifstream in(std::string(TOKENCAST_VECTORS_DIR) + "/frames.json");
  EXPECT_TRUE(in.good()) << "missing tests/vectors/frames.json";
  return json::parse(in);
}

TEST(FrameVectors, ValidVectorsDecodeAndEncodeExactly) {
  const json doc = load_vectors();
  // The shared vectors (C++ and TypeScript) cover versions 1 to 4; version 5's hello and
  // welcome (relaying, C++ only so far) are in tests/vectors/relay_link.json.
  ASSERT_EQ(json_u64(doc.at("protocol_version")), kSignatureVersion);
  ASSERT_EQ(json_u64(doc.at("max_frame_bytes")), kMaxFrameBytes);
  ASSERT_GE(doc.at("valid").size(), 20u);
  std::set<std::string> frame_types;
  std::set<std::string> event_types;
  for (const json& v : doc.at("valid")) {
    SCOPED_TRACE(v.at("name").get<std::string>());
    const FrameBytes bytes = vector_bytes(v.at("hex"));
    auto decoded = decode_frame(bytes);
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message();
    EXPECT_EQ(frame_to_json(*decoded), v.at("frame"));
    EXPECT_EQ(to_hex(encode_ok(frame_from_json(v.at("frame")))), to_hex(bytes));
    frame_types.insert(v.at("frame").at("type"));
    if (v.at("frame").contains("events")) {
      for (const json& e : v.at("frame").at("events")) event_types.insert(e.at("type"));
    }
  }
  EXPECT_EQ(frame_types.size(), 13u) << "a vector for every frame type";
  EXPECT_EQ(event_types.size(), 7u) << "a vector for every event type";
}

TEST(FrameVectors, InvalidVectorsFailWithTheirError) {
  const json doc = load_vectors();
  std::set<std::string> errors;
  for (const json& v : doc.at("invalid")) {
    SCOPED_TRACE(v.at("name").get<std::string>());
    const FrameBytes bytes = vector_bytes(v.at("hex"));
    Expected<Frame, std::error_code> decoded = Frame{PingFrame{}};
    if (v.contains("decoder")) {
      FrameDecoder decoder(position_from_json(v.at("decoder")));
      decoded = decoder.decode(bytes);
      EXPECT_EQ(decoder.position(), position_from_json(v.at("decoder")));
    } else {
      decoded = decode_frame(bytes);
    }
    ASSERT_FALSE(decoded.has_value()) << "decoded " << frame_to_json(*decoded);
    EXPECT_EQ(error_name(decoded.error()), v.at("error").get<std::string>());
    errors.insert(v.at("error"));
  }
  EXPECT_EQ(errors.size(), 18u) << "a vector for every FrameError";
}

TEST(FrameVectors, StreamsDecodeInOrder) {
  const json doc = load_vectors();
  ASSERT_FALSE(doc.at("streams").empty());
  for (const json& s : doc.at("streams")) {
    SCOPED_TRACE(s.at("name").get<std::string>());
    FrameDecoder decoder(position_from_json(s.at("start")));
    for (const json& f : s.at("frames")) {
      auto decoded = decoder.decode(vector_bytes(f.at("hex")));
      ASSERT_TRUE(decoded.has_value()) << f.at("hex") << ": " << decoded.error().message();
      EXPECT_EQ(frame_to_json(*decoded), f.at("decoded"));
    }
    EXPECT_EQ(decoder.position(), position_from_json(s.at("end")));
  }
}

}  // namespace
}  // namespace tokencast
