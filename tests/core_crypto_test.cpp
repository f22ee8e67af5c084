// Primitives (against RFC known answers), the key schedule, Ed25519 keys, sealed envelopes
// (every refusal class), and tests/vectors/crypto.json: the known-answer file the TypeScript
// client runs too. The file is produced by build_crypto_vectors() below; regenerate it with
//   TOKENCAST_WRITE_VECTORS=1 build-*/tests/core_crypto_test --gtest_filter='CryptoVectors.*'
// and review the diff: a change means the wire format or a derivation changed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/primitives.hpp"
#include "join/sdp_fingerprint.hpp"
#include "support/hex.hpp"
#include "support/vector_file.hpp"
#include "tokencast/core/base64url.hpp"
#include "tokencast/core/envelope.hpp"
#include "tokencast/core/handshake.hpp"
#include "tokencast/core/handshake_messages.hpp"
#include "tokencast/core/invite.hpp"
#include "tokencast/core/key_schedule.hpp"
#include "tokencast/core/signing.hpp"

namespace {

using namespace tokencast;
using Bytes = std::vector<uint8_t>;
using Json = nlohmann::ordered_json;
using tokencast::testing::hex;
using tokencast::testing::unhex;

std::span<const uint8_t> text_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

template <size_t N>
std::array<uint8_t, N> arr(std::string_view h) {
  Bytes b = unhex(h);
  EXPECT_EQ(b.size(), N);
  std::array<uint8_t, N> a{};
  std::copy_n(b.begin(), std::min(N, b.size()), a.begin());
  return a;
}

// Sequential bytes start, start+1, ...: recognizable fixed inputs for vectors.
template <size_t N>
std::array<uint8_t, N> seq(uint8_t start) {
  std::array<uint8_t, N> a{};
  for (size_t i = 0; i < N; ++i) a[i] = static_cast<uint8_t>(start + i);
  return a;
}

RoomSecret secret_seq(uint8_t start) { return RoomSecret(seq<32>(start)); }

// A data-channel-only SDP as Chromium writes it, with the given DTLS fingerprint.
std::string make_sdp(std::string_view fingerprint, std::string_view setup, std::string_view ufrag,
                     std::string_view session_id) {
  std::string s;
  s += "v=0\r\n";
  s += "o=- " + std::string(session_id) + " 2 IN IP4 127.0.0.1\r\n";
  s += "s=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n";
  s += "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n";
  s += "a=ice-ufrag:" + std::string(ufrag) + "\r\n";
  s += "a=ice-pwd:Zm9yLXRlc3RzLW9ubHktcGFzc3dk\r\na=ice-options:trickle\r\n";
  s += "a=fingerprint:sha-256 " + std::string(fingerprint) + "\r\n";
  s += "a=setup:" + std::string(setup) + "\r\n";
  s += "a=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n";
  return s;
}

const char* kJoinerFp =
    "D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:CE:"
    "E6:0F";
const char* kHostFp =
    "7B:41:9C:05:EE:10:83:6A:D9:42:F1:0B:37:C8:5A:AE:61:24:0D:B3:9F:72:C6:18:E5:4D:2A:90:BB:07:"
    "33:F4";

std::string u64_string(uint64_t v) { return std::to_string(v); }

// --------------------------------------------------------------------------------------------
// RFC known answers: these anchor the primitives, so the generated vectors below can be trusted.

TEST(Rfc5869, HkdfSha256TestCase1) {
  Bytes okm(42);
  crypto::hkdf_sha256(unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"),
                      unhex("000102030405060708090a0b0c"), unhex("f0f1f2f3f4f5f6f7f8f9"), okm);
  EXPECT_EQ(hex(okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(Rfc5869, HkdfSha256TestCase3EmptySaltAndInfo) {
  Bytes okm(42);
  crypto::hkdf_sha256(unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), {}, {}, okm);
  EXPECT_EQ(hex(okm),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

const char* kSunscreen =
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
    "future, sunscreen would be it.";
const char* kSunscreenCiphertext =
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92"
    "728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b"
    "4831d7bc3ff4def08e4b7a9de576d26586cec64b6116";
const char* kSunscreenTag = "1ae10b594f09e26a7e902ecbd0600691";

TEST(Rfc8439, ChaCha20Poly1305Section282Seal) {
  const auto key = seq<32>(0x80);
  const auto nonce = arr<12>("070000004041424344454647");
  const Bytes aad = unhex("50515253c0c1c2c3c4c5c6c7");
  Bytes out(std::string_view(kSunscreen).size() + 16);
  crypto::aead_seal(key, nonce, aad, text_bytes(kSunscreen), out);
  EXPECT_EQ(hex(out), std::string(kSunscreenCiphertext) + kSunscreenTag);
}

TEST(Rfc8439, ChaCha20Poly1305Section282OpenAndTamper) {
  const auto key = seq<32>(0x80);
  const auto nonce = arr<12>("070000004041424344454647");
  const Bytes aad = unhex("50515253c0c1c2c3c4c5c6c7");
  Bytes sealed = unhex(std::string(kSunscreenCiphertext) + kSunscreenTag);
  Bytes out(sealed.size() - 16);
  ASSERT_TRUE(crypto::aead_open(key, nonce, aad, sealed, out));
  EXPECT_EQ(std::string(out.begin(), out.end()), kSunscreen);
  sealed[5] ^= 0x01;
  EXPECT_FALSE(crypto::aead_open(key, nonce, aad, sealed, out));
  EXPECT_EQ(out, Bytes(out.size(), 0));  // nothing released on failure
  sealed[5] ^= 0x01;
  Bytes other_aad = aad;
  other_aad[0] ^= 0x80;
  EXPECT_FALSE(crypto::aead_open(key, nonce, other_aad, sealed, out));
  EXPECT_FALSE(crypto::aead_open(key, nonce, aad, std::span<const uint8_t>(sealed).first(15),
                                 std::span<uint8_t>()));
}

struct Rfc8032Case {
  const char* seed;
  const char* public_key;
  const char* message;
  const char* signature;
};

const Rfc8032Case kRfc8032[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b"
     "46bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11"
     "d8c387b2eaeb4302aeeb00d291612bb0c00"},
};

TEST(Rfc8032, Ed25519Tests1And2) {
  for (const auto& c : kRfc8032) {
    const SigningKey key = SigningKey::from_seed(arr<32>(c.seed));
    EXPECT_EQ(hex(key.public_key()), c.public_key);
    const Bytes msg = unhex(c.message);
    const Ed25519Signature sig = key.sign(msg);
    EXPECT_EQ(hex(sig), c.signature);
    EXPECT_TRUE(ed25519_verify(key.public_key(), msg, sig));
  }
}

TEST(Sha256, EmptyAndAbc) {
  EXPECT_EQ(hex(crypto::sha256({})),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex(crypto::sha256(text_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// --------------------------------------------------------------------------------------------
// Ed25519 keys

TEST(Signing, SeedRoundTripAndVerifyFailures) {
  const SigningKey key = SigningKey::from_seed(seq<32>(0x40));
  std::array<uint8_t, 32> seed{};
  key.export_seed(seed);
  EXPECT_EQ(seed, seq<32>(0x40));
  const SigningKey copy = key;  // copies share the key
  EXPECT_EQ(copy.public_key(), key.public_key());

  const Bytes msg = {1, 2, 3};
  Ed25519Signature sig = key.sign(msg);
  EXPECT_TRUE(ed25519_verify(key.public_key(), msg, sig));
  EXPECT_FALSE(ed25519_verify(key.public_key(), Bytes{1, 2, 4}, sig));
  const SigningKey other = SigningKey::from_seed(seq<32>(0x41));
  EXPECT_FALSE(ed25519_verify(other.public_key(), msg, sig));
  for (size_t i = 0; i < sig.size(); i += 7) {
    Ed25519Signature bad = sig;
    bad[i] ^= 0x10;
    EXPECT_FALSE(ed25519_verify(key.public_key(), msg, bad)) << i;
  }
  // S >= L (here: S with its top bits set) must be refused, not reduced.
  Ed25519Signature high_s = sig;
  high_s[63] |= 0xF0;
  EXPECT_FALSE(ed25519_verify(key.public_key(), msg, high_s));
}

TEST(Signing, GarbagePublicKeyNeverVerifies) {
  const SigningKey key = SigningKey::generate(system_random());
  const Bytes msg = {9};
  const Ed25519Signature sig = key.sign(msg);
  Ed25519PublicKey junk{};
  junk.fill(0xFF);  // not a canonical point encoding
  EXPECT_FALSE(ed25519_verify(junk, msg, sig));
  EXPECT_FALSE(ed25519_verify(Ed25519PublicKey{}, msg, sig));
}

TEST(Signing, GeneratedKeysDiffer) {
  EXPECT_NE(SigningKey::generate(system_random()).public_key(),
            SigningKey::generate(system_random()).public_key());
}

// --------------------------------------------------------------------------------------------
// Key schedule

TEST(KeySchedule, LocatorDependsOnSecretRoleAndHostKey) {
  const auto pk = SigningKey::from_seed(seq<32>(0x40)).public_key();
  const auto pk2 = SigningKey::from_seed(seq<32>(0x41)).public_key();
  const RoomSecret s = secret_seq(0);
  const RoomLocator base = derive_room_locator(s, LinkRole::kViewer, pk);
  EXPECT_EQ(base, derive_room_locator(s, LinkRole::kViewer, pk));
  EXPECT_NE(base, derive_room_locator(secret_seq(1), LinkRole::kViewer, pk));
  EXPECT_NE(base, derive_room_locator(s, LinkRole::kParticipant, pk));
  EXPECT_NE(base, derive_room_locator(s, LinkRole::kViewer, pk2));
  EXPECT_EQ(room_locator_text(base).size(), 43u);
}

TEST(KeySchedule, SealKeysPerDirectionAndJoin) {
  const auto pk = SigningKey::from_seed(seq<32>(0x40)).public_key();
  const RoomKeys keys(secret_seq(0), LinkRole::kViewer, pk);
  const JoinId a = seq<16>(0x60), b = seq<16>(0x70);
  const SealKey ja = keys.seal_key(Direction::kJoinerToHost, a);
  EXPECT_TRUE(ja == keys.seal_key(Direction::kJoinerToHost, a));
  EXPECT_FALSE(ja == keys.seal_key(Direction::kHostToJoiner, a));
  EXPECT_FALSE(ja == keys.seal_key(Direction::kJoinerToHost, b));
  const RoomKeys participant(secret_seq(0), LinkRole::kParticipant, pk);
  EXPECT_FALSE(ja == participant.seal_key(Direction::kJoinerToHost, a));
  // The locator is not one of the keys.
  EXPECT_NE(hex(keys.locator()), hex(ja.bytes()));
}

TEST(KeySchedule, MatchesHkdfWithDocumentedLabels) {
  // Re-derive with the primitive and the labels as docs/PROTOCOL.md (section 1) spells them.
  const auto pk = SigningKey::from_seed(seq<32>(0x40)).public_key();
  const RoomSecret s = secret_seq(0);
  Bytes info(std::begin("tokencast/v1/room-locator"), std::end("tokencast/v1/room-locator"));
  // std::end includes the terminating NUL: exactly the 0x00 separator.
  info.push_back(0x01);
  info.insert(info.end(), pk.begin(), pk.end());
  Bytes out(32);
  crypto::hkdf_sha256(s.bytes(), text_bytes("tokencast/v1"), info, out);
  EXPECT_EQ(hex(out), hex(derive_room_locator(s, LinkRole::kParticipant, pk)));

  const JoinId j = seq<16>(0x60);
  Bytes info2(std::begin("tokencast/v1/seal/host-to-joiner"),
              std::end("tokencast/v1/seal/host-to-joiner"));
  info2.push_back(0x00);  // role: viewer (the NUL from std::end is the separator)
  info2.insert(info2.end(), pk.begin(), pk.end());
  info2.insert(info2.end(), j.begin(), j.end());
  crypto::hkdf_sha256(s.bytes(), text_bytes("tokencast/v1"), info2, out);
  EXPECT_EQ(hex(out),
            hex(derive_seal_key(s, LinkRole::kViewer, pk, Direction::kHostToJoiner, j).bytes()));
}

TEST(KeySchedule, GeneratedSecretsDiffer) {
  EXPECT_FALSE(generate_room_secret(system_random()) == generate_room_secret(system_random()));
  EXPECT_NE(generate_join_id(system_random()), generate_join_id(system_random()));
}

// --------------------------------------------------------------------------------------------
// Envelopes

struct EnvelopeFixture : ::testing::Test {
  Ed25519PublicKey pk = SigningKey::from_seed(seq<32>(0x40)).public_key();
  RoomKeys room{secret_seq(0), LinkRole::kViewer, pk};
  RoomKeys other_room{secret_seq(0x20), LinkRole::kViewer, pk};
  JoinId join = seq<16>(0x60);
  JoinId other_join = seq<16>(0x70);
  Bytes msg = bytes_of("offer: v=0 ..");

  Bytes seal(const RoomKeys& keys, Direction d, const JoinId& j, uint64_t counter,
             std::span<const uint8_t> plaintext) {
    auto e = seal_envelope(keys.seal_key(d, j), keys.locator(), {d, j, counter}, plaintext);
    EXPECT_TRUE(e.has_value());
    return e ? *e : Bytes{};
  }
  EnvelopeError open_error(std::span<const uint8_t> env, Direction d = Direction::kJoinerToHost) {
    EnvelopeOpener opener(room, d, join);
    auto r = opener.open(env);
    EXPECT_FALSE(r.has_value());
    return r ? EnvelopeError{} : r.error();
  }
};

TEST_F(EnvelopeFixture, RoundTripAndLayout) {
  EnvelopeSealer sealer(room, Direction::kJoinerToHost, join, 0);
  EnvelopeOpener opener(room, Direction::kJoinerToHost, join);
  for (uint64_t i = 0; i < 3; ++i) {
    auto env = sealer.seal(msg);
    ASSERT_TRUE(env.has_value());
    EXPECT_EQ(env->size(), msg.size() + kEnvelopeOverhead);
    EXPECT_EQ((*env)[0], 1);
    EXPECT_EQ((*env)[1], 0);
    EXPECT_TRUE(std::equal(join.begin(), join.end(), env->begin() + 2));
    auto h = peek_envelope_header(*env);
    ASSERT_TRUE(h.has_value());
    EXPECT_EQ(h->counter, i);
    auto pt = opener.open(*env);
    ASSERT_TRUE(pt.has_value());
    EXPECT_EQ(*pt, msg);
  }
  EXPECT_EQ(opener.guard().last(), 2u);
  // Empty plaintext is fine (end-of-candidates is one byte, but the layer allows zero).
  auto empty = sealer.seal({});
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->size(), kEnvelopeOverhead);
  EXPECT_TRUE(opener.open(*empty).has_value());
}

TEST_F(EnvelopeFixture, WrongSecretRefused) {
  const Bytes env = seal(other_room, Direction::kJoinerToHost, join, 0, msg);
  EXPECT_EQ(open_error(env), EnvelopeError::kOpenFailed);
}

TEST_F(EnvelopeFixture, SameSecretOtherLocatorRefused) {
  // Same key, different room locator in the associated data: the locator is authenticated.
  const SealKey key = room.seal_key(Direction::kJoinerToHost, join);
  RoomLocator other = room.locator();
  other[0] ^= 1;
  auto env = seal_envelope(key, other, {Direction::kJoinerToHost, join, 0}, msg);
  ASSERT_TRUE(env.has_value());
  EXPECT_EQ(open_error(*env), EnvelopeError::kOpenFailed);
}

TEST_F(EnvelopeFixture, EveryFlippedBitRefused) {
  const Bytes env = seal(room, Direction::kJoinerToHost, join, 5, msg);
  for (size_t i = 0; i < env.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes bad = env;
      bad[i] ^= static_cast<uint8_t>(1 << bit);
      EnvelopeOpener opener(room, Direction::kJoinerToHost, join);
      auto r = opener.open(bad);
      ASSERT_FALSE(r.has_value()) << "byte " << i << " bit " << bit;
      if (i == 0) {
        EXPECT_EQ(r.error(), EnvelopeError::kUnknownVersion);
      } else if (i == 1) {
        EXPECT_TRUE(r.error() == EnvelopeError::kUnknownDirection ||
                    r.error() == EnvelopeError::kWrongDirection);
      } else if (i < 18) {
        EXPECT_EQ(r.error(), EnvelopeError::kWrongJoinId);
      } else {
        EXPECT_EQ(r.error(), EnvelopeError::kOpenFailed) << "byte " << i;
      }
      // And without the receiver's routing checks, the AEAD alone refuses it too.
      if (i >= 2) {
        EXPECT_FALSE(
            open_envelope(room.seal_key(Direction::kJoinerToHost, join), room.locator(), bad)
                .has_value());
      }
    }
  }
}

TEST_F(EnvelopeFixture, ReplayRefused) {
  EnvelopeSealer sealer(room, Direction::kJoinerToHost, join, 10);
  EnvelopeOpener opener(room, Direction::kJoinerToHost, join);
  const Bytes first = *sealer.seal(msg);
  const Bytes second = *sealer.seal(msg);
  ASSERT_TRUE(opener.open(first).has_value());
  auto again = opener.open(first);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error(), EnvelopeError::kReplayed);
  ASSERT_TRUE(opener.open(second).has_value());
  EXPECT_EQ(opener.open(first).error(), EnvelopeError::kReplayed);  // going back
}

TEST_F(EnvelopeFixture, GapsAllowedReorderingRefused) {
  EnvelopeOpener opener(room, Direction::kJoinerToHost, join);
  EXPECT_TRUE(opener.open(seal(room, Direction::kJoinerToHost, join, 7, msg)).has_value());
  EXPECT_TRUE(opener.open(seal(room, Direction::kJoinerToHost, join, 9, msg)).has_value());
  EXPECT_EQ(opener.open(seal(room, Direction::kJoinerToHost, join, 8, msg)).error(),
            EnvelopeError::kReplayed);
}

TEST_F(EnvelopeFixture, ForgeryDoesNotAdvanceGuard) {
  EnvelopeOpener opener(room, Direction::kJoinerToHost, join);
  Bytes forged = seal(other_room, Direction::kJoinerToHost, join, 100, msg);
  EXPECT_EQ(opener.open(forged).error(), EnvelopeError::kOpenFailed);
  EXPECT_FALSE(opener.guard().last().has_value());
  EXPECT_TRUE(opener.open(seal(room, Direction::kJoinerToHost, join, 1, msg)).has_value());
}

TEST_F(EnvelopeFixture, OtherDirectionRefused) {
  const Bytes env = seal(room, Direction::kHostToJoiner, join, 0, msg);
  EXPECT_EQ(open_error(env, Direction::kJoinerToHost), EnvelopeError::kWrongDirection);
  // Rewriting the direction byte to pass the routing check still fails to open.
  Bytes rewritten = env;
  rewritten[1] = 0;
  EXPECT_EQ(open_error(rewritten, Direction::kJoinerToHost), EnvelopeError::kOpenFailed);
}

TEST_F(EnvelopeFixture, OtherJoinIdRefused) {
  const Bytes env = seal(room, Direction::kJoinerToHost, other_join, 0, msg);
  EXPECT_EQ(open_error(env), EnvelopeError::kWrongJoinId);
  Bytes rewritten = env;
  std::copy(join.begin(), join.end(), rewritten.begin() + 2);
  EXPECT_EQ(open_error(rewritten), EnvelopeError::kOpenFailed);
}

TEST_F(EnvelopeFixture, TruncatedRefused) {
  const Bytes env = seal(room, Direction::kJoinerToHost, join, 0, msg);
  for (size_t n = 0; n < env.size(); ++n) {
    const auto r = open_error(std::span<const uint8_t>(env).first(n));
    EXPECT_EQ(r, n < kEnvelopeOverhead ? EnvelopeError::kTooShort : EnvelopeError::kOpenFailed)
        << n;
  }
}

TEST_F(EnvelopeFixture, OversizeRefused) {
  Bytes big(kMaxEnvelopePlaintext + 1, 'x');
  auto r = seal_envelope(room.seal_key(Direction::kJoinerToHost, join), room.locator(),
                         {Direction::kJoinerToHost, join, 0}, big);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), EnvelopeError::kTooLarge);
  big.pop_back();
  const Bytes max = seal(room, Direction::kJoinerToHost, join, 0, big);
  EXPECT_EQ(max.size(), kMaxEnvelopeSize);
  EnvelopeOpener opener(room, Direction::kJoinerToHost, join);
  EXPECT_TRUE(opener.open(max).has_value());
  Bytes over = max;
  over.push_back(0);
  EXPECT_EQ(open_error(over), EnvelopeError::kTooLarge);
}

TEST_F(EnvelopeFixture, CounterExhaustion) {
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  EnvelopeSealer sealer(room, Direction::kHostToJoiner, join, max - 1);
  EXPECT_TRUE(sealer.seal(msg).has_value());
  auto r = sealer.seal(msg);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), EnvelopeError::kCounterExhausted);
}

TEST_F(EnvelopeFixture, MovedFromSealerCannotReuseCounters) {
  EnvelopeSealer a(room, Direction::kJoinerToHost, join, 0);
  EnvelopeSealer b = std::move(a);
  auto stale = a.seal(msg);  // NOLINT(bugprone-use-after-move): that is the point
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error(), EnvelopeError::kCounterExhausted);
  auto fresh = b.seal(msg);
  ASSERT_TRUE(fresh.has_value());
  EXPECT_EQ(peek_envelope_header(*fresh)->counter, 0u);
}

TEST_F(EnvelopeFixture, NonceIsCounter) {
  // The envelope body is exactly ChaCha20-Poly1305 with nonce 0^4 || counter and
  // aad = header || locator, as documented.
  const uint64_t counter = 0x0102030405060708ull;
  const Bytes env = seal(room, Direction::kHostToJoiner, join, counter, msg);
  const SealKey key = room.seal_key(Direction::kHostToJoiner, join);
  Bytes aad(env.begin(), env.begin() + kEnvelopeHeaderSize);
  aad.insert(aad.end(), room.locator().begin(), room.locator().end());
  Bytes out(msg.size());
  ASSERT_TRUE(crypto::aead_open(key.bytes(), arr<12>("000000000102030405060708"), aad,
                                std::span<const uint8_t>(env).subspan(kEnvelopeHeaderSize), out));
  EXPECT_EQ(out, msg);
}

TEST(EnvelopeErrors, NamesAndCategory) {
  EXPECT_EQ(envelope_error_name(EnvelopeError::kOpenFailed), "open_failed");
  const std::error_code ec = EnvelopeError::kReplayed;
  EXPECT_EQ(ec.category().name(), std::string("tokencast.envelope"));
  EXPECT_NE(ec.message().find("replayed"), std::string::npos);
}

// --------------------------------------------------------------------------------------------
// crypto.json

struct VectorInputs {
  SigningKey host = SigningKey::from_seed(seq<32>(0x40));
  RoomSecret viewer = secret_seq(0x00);
  RoomSecret participant = secret_seq(0x20);
  JoinId join = seq<16>(0x60);
  JoinId join2 = seq<16>(0x70);
  std::string base_url = "https://rv.example.net:8443";
  int64_t now_ms = 1767225600000;  // 2026-01-01T00:00:00Z
  std::string name = "Ada";
  std::string offer_sdp = make_sdp(kJoinerFp, "actpass", "8hhY", "4611731400430051336");
  std::string answer_sdp = make_sdp(kHostFp, "active", "Qx2v", "7039523315484281766");
  uint64_t host_random = 0x9e3779b97f4a7c15ull;
  uint64_t host_random2 = 0x243f6a8885a308d3ull;
};

Bytes info_bytes(std::string_view label, LinkRole role, const Ed25519PublicKey& pk,
                 const JoinId* join) {
  Bytes info(label.begin(), label.end());
  info.push_back(0);
  info.push_back(static_cast<uint8_t>(role));
  info.insert(info.end(), pk.begin(), pk.end());
  if (join) info.insert(info.end(), join->begin(), join->end());
  return info;
}

Json key_schedule_vector(const char* name, const RoomSecret& secret, LinkRole role,
                         const Ed25519PublicKey& pk, const JoinId& join) {
  const RoomKeys keys(secret, role, pk);
  Json j;
  j["name"] = name;
  j["secret_hex"] = hex(secret.bytes());
  j["role"] = static_cast<int>(role);
  j["host_public_key_hex"] = hex(pk);
  j["hkdf_salt_hex"] = hex(text_bytes(kHkdfSalt));
  j["locator_info_hex"] = hex(info_bytes(kLocatorLabel, role, pk, nullptr));
  j["room_locator_hex"] = hex(keys.locator());
  j["room_locator_b64url"] = keys.locator_text();
  j["join_id_hex"] = hex(join);
  j["joiner_to_host_info_hex"] = hex(info_bytes(kSealJoinerToHostLabel, role, pk, &join));
  j["joiner_to_host_key_hex"] = hex(keys.seal_key(Direction::kJoinerToHost, join).bytes());
  j["host_to_joiner_info_hex"] = hex(info_bytes(kSealHostToJoinerLabel, role, pk, &join));
  j["host_to_joiner_key_hex"] = hex(keys.seal_key(Direction::kHostToJoiner, join).bytes());
  return j;
}

Json envelope_vectors(const VectorInputs& in) {
  const auto pk = in.host.public_key();
  const RoomKeys room(in.viewer, LinkRole::kViewer, pk);
  const RoomKeys other(in.participant, LinkRole::kParticipant, pk);
  auto seal_with = [](const RoomKeys& keys, Direction d, const JoinId& j, uint64_t counter,
                      const Bytes& pt) {
    return *seal_envelope(keys.seal_key(d, j), keys.locator(), {d, j, counter}, pt);
  };
  const Bytes offer_like = bytes_of("hello, host");
  const Bytes answer_like = bytes_of("hello, joiner");
  const uint64_t big_counter = (uint64_t{1} << 61) + 5;

  Json s;
  s["about"] =
      "Envelopes of the viewer room below. A receiver is one (direction, join id) with the last "
      "counter it accepted (null: none yet); it checks, in order: size (too_short / too_large), "
      "version, direction byte, its direction, its join id, counter > last (replayed), then "
      "opens (open_failed).";
  s["room"] = {{"secret_hex", hex(in.viewer.bytes())},
               {"role", 0},
               {"host_public_key_hex", hex(pk)},
               {"room_locator_hex", hex(room.locator())}};
  Json valid = Json::array();
  auto add_valid = [&](const char* name, Direction d, const JoinId& j, uint64_t counter,
                       const Bytes& pt) {
    const SealKey key = room.seal_key(d, j);
    const Bytes env = seal_with(room, d, j, counter, pt);
    Bytes nonce(4, 0);
    for (int i = 7; i >= 0; --i) nonce.push_back(static_cast<uint8_t>(counter >> (8 * i)));
    Bytes aad(env.begin(), env.begin() + kEnvelopeHeaderSize);
    aad.insert(aad.end(), room.locator().begin(), room.locator().end());
    Json v;
    v["name"] = name;
    v["direction"] = static_cast<int>(d);
    v["join_id_hex"] = hex(j);
    v["counter"] = u64_string(counter);
    v["key_hex"] = hex(key.bytes());
    v["nonce_hex"] = hex(nonce);
    v["aad_hex"] = hex(aad);
    v["plaintext_hex"] = hex(pt);
    v["envelope_hex"] = hex(env);
    valid.push_back(v);
  };
  add_valid("joiner to host, counter 0", Direction::kJoinerToHost, in.join, 0, offer_like);
  add_valid("host to joiner, large counter", Direction::kHostToJoiner, in.join, big_counter,
            answer_like);
  add_valid("empty plaintext", Direction::kJoinerToHost, in.join2, 3, {});
  s["valid"] = valid;

  const Bytes good = seal_with(room, Direction::kJoinerToHost, in.join, 1, offer_like);
  Json invalid = Json::array();
  auto add_invalid = [&](const char* name, const Bytes& env, Direction receiver_dir,
                         const JoinId& receiver_join, std::optional<uint64_t> last,
                         EnvelopeError expected) {
    Json v;
    v["name"] = name;
    v["receiver"] = {{"direction", static_cast<int>(receiver_dir)},
                     {"join_id_hex", hex(receiver_join)},
                     {"last_counter", last ? Json(u64_string(*last)) : Json(nullptr)}};
    v["envelope_hex"] = hex(env);
    v["expected_error"] = envelope_error_name(expected);
    invalid.push_back(v);
  };
  const Direction j2h = Direction::kJoinerToHost;
  auto flipped = [&](size_t i, uint8_t mask) {
    Bytes b = good;
    b[i] ^= mask;
    return b;
  };
  add_invalid("reference: this one opens (counter 1)", good, j2h, in.join, 0, EnvelopeError{});
  invalid.back()["expected_error"] = nullptr;
  add_invalid("ciphertext byte flipped", flipped(30, 0x01), j2h, in.join, std::nullopt,
              EnvelopeError::kOpenFailed);
  add_invalid("tag byte flipped", flipped(good.size() - 1, 0x80), j2h, in.join, std::nullopt,
              EnvelopeError::kOpenFailed);
  add_invalid("counter in header altered", flipped(25, 0x02), j2h, in.join, std::nullopt,
              EnvelopeError::kOpenFailed);
  Bytes join_altered = flipped(2, 0x01);
  JoinId altered_id = in.join;
  altered_id[0] ^= 0x01;
  add_invalid("join id altered, receiver of the altered id", join_altered, j2h, altered_id,
              std::nullopt, EnvelopeError::kOpenFailed);
  add_invalid("join id altered, receiver of the original id", join_altered, j2h, in.join,
              std::nullopt, EnvelopeError::kWrongJoinId);
  add_invalid("sealed for another room (participant secret)",
              seal_with(other, j2h, in.join, 1, offer_like), j2h, in.join, std::nullopt,
              EnvelopeError::kOpenFailed);
  add_invalid("sealed for the other direction",
              seal_with(room, Direction::kHostToJoiner, in.join, 1, offer_like), j2h, in.join,
              std::nullopt, EnvelopeError::kWrongDirection);
  Bytes dir_rewritten = seal_with(room, Direction::kHostToJoiner, in.join, 1, offer_like);
  dir_rewritten[1] = 0;
  add_invalid("sealed for the other direction, direction byte rewritten", dir_rewritten, j2h,
              in.join, std::nullopt, EnvelopeError::kOpenFailed);
  add_invalid("sealed for another join id", seal_with(room, j2h, in.join2, 1, offer_like), j2h,
              in.join, std::nullopt, EnvelopeError::kWrongJoinId);
  add_invalid("replayed (receiver already accepted counter 1)", good, j2h, in.join, 1,
              EnvelopeError::kReplayed);
  add_invalid("older counter (receiver already accepted counter 2)", good, j2h, in.join, 2,
              EnvelopeError::kReplayed);
  add_invalid("truncated to 41 bytes", Bytes(good.begin(), good.begin() + 41), j2h, in.join,
              std::nullopt, EnvelopeError::kTooShort);
  add_invalid("last byte cut", Bytes(good.begin(), good.end() - 1), j2h, in.join, std::nullopt,
              EnvelopeError::kOpenFailed);
  add_invalid("version 2", flipped(0, 0x03), j2h, in.join, std::nullopt,
              EnvelopeError::kUnknownVersion);
  add_invalid("direction byte 2", flipped(1, 0x02), j2h, in.join, std::nullopt,
              EnvelopeError::kUnknownDirection);
  s["invalid"] = invalid;
  // 65537 bytes would bloat the file: described instead of listed.
  s["oversize"] = {{"about",
                    "envelope_prefix_hex followed by zero bytes up to total_length; "
                    "every receiver refuses it before anything else"},
                   {"envelope_prefix_hex", hex(std::span<const uint8_t>(good).first(26))},
                   {"total_length", kMaxEnvelopeSize + 1},
                   {"expected_error", "too_large"}};
  return s;
}

Json sdp_vectors() {
  Json a = Json::array();
  auto add = [&](const char* name, const std::string& sdp) {
    Json v;
    v["name"] = name;
    v["sdp"] = sdp;
    auto fp = extract_sdp_fingerprint(sdp);
    if (fp) {
      v["fingerprint_hex"] = hex(*fp);
    } else {
      static const char* names[] = {"", "missing", "malformed", "unsupported_hash", "conflicting"};
      v["expected_error"] = names[static_cast<int>(fp.error())];
    }
    a.push_back(v);
  };
  const std::string fp = kJoinerFp;
  std::string lower = fp;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  add("chromium offer", make_sdp(fp, "actpass", "8hhY", "1"));
  add("lower-case hex and LF line ends", "v=0\na=fingerprint:SHA-256 " + lower + "\n");
  add("session and media level, identical", "v=0\r\na=fingerprint:sha-256 " + fp +
                                                "\r\nm=application 9 x\r\na=fingerprint:sha-256 " +
                                                fp + "\r\n");
  add("no fingerprint", "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n");
  add("two different fingerprints",
      "a=fingerprint:sha-256 " + fp + "\r\na=fingerprint:sha-256 " + kHostFp + "\r\n");
  add("sha-1 only",
      "a=fingerprint:sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB\r\n");
  add("31 bytes", "a=fingerprint:sha-256 " + fp.substr(0, fp.size() - 3) + "\r\n");
  add("trailing space", "a=fingerprint:sha-256 " + fp + " \r\n");
  add("dash instead of colon",
      "a=fingerprint:sha-256 " + fp.substr(0, 2) + "-" + fp.substr(3) + "\r\n");
  add("not at line start (ignored)", "x a=fingerprint:sha-256 " + fp + "\r\n");
  return a;
}

Json handshake_vectors(const VectorInputs& in) {
  namespace hw = handshake_wire;
  auto host = HostHandshake::create(in.host, in.viewer, in.participant);
  EXPECT_TRUE(host.has_value());
  const auto link_text =
      *format_invite_link(in.base_url, LinkRole::kViewer, in.viewer, in.host.public_key());
  const InviteLink link = *parse_invite_link(link_text);
  auto joiner = JoinerHandshake::start(link, in.name, in.offer_sdp, in.now_ms, in.join);
  EXPECT_TRUE(joiner.has_value());

  const Bytes offer_plaintext = *hw::encode(hw::Offer{in.now_ms, in.name, in.offer_sdp});
  const auto offer_hash = crypto::sha256(offer_plaintext);
  auto event = host->receive(joiner->offer_envelope(), in.now_ms + 1500);
  EXPECT_TRUE(event.has_value());

  const IceCandidate joiner_candidate{
      "0", 0, "candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host generation 0"};
  const Bytes joiner_candidate_env = *joiner->seal_candidate(joiner_candidate);
  const Bytes joiner_eoc_env = *joiner->seal_end_of_candidates();

  const Bytes answer_env = *host->seal_answer(in.join, in.answer_sdp, in.host_random);
  const RoomLocator locator = host->locator(LinkRole::kViewer);
  const Bytes transcript = hw::answer_transcript(locator, in.join, offer_hash, in.answer_sdp,
                                                 *extract_sdp_fingerprint(in.offer_sdp),
                                                 *extract_sdp_fingerprint(in.answer_sdp));
  const Ed25519Signature sig = in.host.sign(transcript);
  const IceCandidate host_candidate{
      "0", 0, "candidate:2 1 udp 2122260223 192.168.1.10 40000 typ host generation 0"};
  const Bytes host_candidate_env = *host->seal_candidate(in.join, host_candidate);
  const Bytes host_eoc_env = *host->seal_end_of_candidates(in.join);

  // A second attempt, on the participant link, that the host turns down.
  const InviteLink plink = *parse_invite_link(*format_invite_link(
      in.base_url, LinkRole::kParticipant, in.participant, in.host.public_key()));
  auto joiner2 = JoinerHandshake::start(plink, "Bob", in.offer_sdp, in.now_ms, in.join2);
  EXPECT_TRUE(host->receive(joiner2->offer_envelope(), in.now_ms).has_value());
  const Bytes offer2_plaintext = *hw::encode(hw::Offer{in.now_ms, "Bob", in.offer_sdp});
  const Bytes rejection_env =
      *host->seal_rejection(in.join2, RejectReason::kRoomFull, in.host_random2);
  const Bytes rejection_transcript =
      hw::rejection_transcript(host->locator(LinkRole::kParticipant), in.join2,
                               crypto::sha256(offer2_plaintext), RejectReason::kRoomFull);

  Json h;
  h["about"] =
      "One complete exchange on the viewer link, and a rejected attempt on the participant "
      "link. Host counters start at (host_random >> 2). Replaying the host side needs "
      "host_random; the joiner side is deterministic given join_id and now_ms.";
  h["host_seed_hex"] = hex(seq<32>(0x40));
  h["host_public_key_hex"] = hex(in.host.public_key());
  h["viewer_secret_hex"] = hex(in.viewer.bytes());
  h["participant_secret_hex"] = hex(in.participant.bytes());
  h["viewer_link"] = link_text;
  h["viewer_room_locator_b64url"] = room_locator_text(locator);
  h["participant_room_locator_b64url"] = room_locator_text(host->locator(LinkRole::kParticipant));
  h["join_id_hex"] = hex(in.join);
  h["now_ms"] = in.now_ms;
  h["host_now_ms"] = in.now_ms + 1500;
  h["display_name"] = in.name;
  h["offer_sdp"] = in.offer_sdp;
  h["offer_plaintext_hex"] = hex(offer_plaintext);
  h["offer_plaintext_sha256_hex"] = hex(offer_hash);
  h["offer_envelope_hex"] = hex(joiner->offer_envelope());
  h["joiner_candidate"] = {{"mid", joiner_candidate.sdp_mid},
                           {"mline_index", joiner_candidate.mline_index},
                           {"candidate", joiner_candidate.candidate},
                           {"plaintext_hex", hex(*hw::encode(joiner_candidate))},
                           {"envelope_hex", hex(joiner_candidate_env)}};
  h["joiner_end_of_candidates_envelope_hex"] = hex(joiner_eoc_env);
  h["answer_sdp"] = in.answer_sdp;
  h["joiner_fingerprint_hex"] = hex(*extract_sdp_fingerprint(in.offer_sdp));
  h["host_fingerprint_hex"] = hex(*extract_sdp_fingerprint(in.answer_sdp));
  h["host_random_hex"] = hex(std::array<uint8_t, 8>{
      static_cast<uint8_t>(in.host_random >> 56), static_cast<uint8_t>(in.host_random >> 48),
      static_cast<uint8_t>(in.host_random >> 40), static_cast<uint8_t>(in.host_random >> 32),
      static_cast<uint8_t>(in.host_random >> 24), static_cast<uint8_t>(in.host_random >> 16),
      static_cast<uint8_t>(in.host_random >> 8), static_cast<uint8_t>(in.host_random)});
  h["host_first_counter"] = u64_string(in.host_random >> 2);
  h["answer_transcript_hex"] = hex(transcript);
  h["answer_signature_hex"] = hex(sig);
  h["answer_plaintext_hex"] = hex(*hw::encode(hw::Answer{sig, in.answer_sdp}));
  h["answer_envelope_hex"] = hex(answer_env);
  h["host_candidate"] = {{"mid", host_candidate.sdp_mid},
                         {"mline_index", host_candidate.mline_index},
                         {"candidate", host_candidate.candidate},
                         {"envelope_hex", hex(host_candidate_env)}};
  h["host_end_of_candidates_envelope_hex"] = hex(host_eoc_env);
  h["rejection"] = {{"join_id_hex", hex(in.join2)},
                    {"display_name", "Bob"},
                    {"participant_link", *format_invite_link(in.base_url, LinkRole::kParticipant,
                                                             in.participant, in.host.public_key())},
                    {"offer_envelope_hex", hex(joiner2->offer_envelope())},
                    {"reason", static_cast<int>(RejectReason::kRoomFull)},
                    {"host_first_counter", u64_string(in.host_random2 >> 2)},
                    {"transcript_hex", hex(rejection_transcript)},
                    {"signature_hex", hex(in.host.sign(rejection_transcript))},
                    {"envelope_hex", hex(rejection_env)}};
  return h;
}

Json build_crypto_vectors() {
  const VectorInputs in;
  Json root;
  root["format"] = "tokencast crypto vectors, protocol v1";
  root["about"] =
      "Known answers for the security core (docs/PROTOCOL.md (section 1)). *_hex: lower-case hex; "
      "*_b64url: unpadded base64url; 64-bit counters are decimal strings (JSON numbers lose "
      "precision above 2^53). Generated by tests/core_crypto_test.cpp; the RFC entries are "
      "copied from the RFCs and checked there too.";

  Json hkdf = Json::array();
  auto add_hkdf = [&](const char* name, const Bytes& ikm, const Bytes& salt, const Bytes& info,
                      size_t len) {
    Bytes okm(len);
    crypto::hkdf_sha256(ikm, salt, info, okm);
    hkdf.push_back({{"name", name},
                    {"ikm_hex", hex(ikm)},
                    {"salt_hex", hex(salt)},
                    {"info_hex", hex(info)},
                    {"length", len},
                    {"okm_hex", hex(okm)}});
  };
  add_hkdf("RFC 5869 A.1", unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"),
           unhex("000102030405060708090a0b0c"), unhex("f0f1f2f3f4f5f6f7f8f9"), 42);
  add_hkdf("RFC 5869 A.3 (empty salt and info)",
           unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), {}, {}, 42);
  root["hkdf_sha256"] = hkdf;

  const auto pk = in.host.public_key();
  root["key_schedule"] = Json::array(
      {key_schedule_vector("viewer room", in.viewer, LinkRole::kViewer, pk, in.join),
       key_schedule_vector("participant room", in.participant, LinkRole::kParticipant, pk, in.join),
       key_schedule_vector("viewer secret with the participant role byte", in.viewer,
                           LinkRole::kParticipant, pk, in.join)});

  Json aead = Json::array();
  {
    const Bytes pt = bytes_of(kSunscreen);
    aead.push_back({{"name", "RFC 8439 2.8.2"},
                    {"key_hex", hex(seq<32>(0x80))},
                    {"nonce_hex", "070000004041424344454647"},
                    {"aad_hex", "50515253c0c1c2c3c4c5c6c7"},
                    {"plaintext_hex", hex(pt)},
                    {"ciphertext_hex", kSunscreenCiphertext},
                    {"tag_hex", kSunscreenTag}});
  }
  root["chacha20_poly1305"] = aead;

  Json ed = Json::array();
  for (const auto& c : kRfc8032) {
    ed.push_back({{"name", ed.empty() ? "RFC 8032 7.1 test 1" : "RFC 8032 7.1 test 2"},
                  {"seed_hex", c.seed},
                  {"public_key_hex", c.public_key},
                  {"message_hex", c.message},
                  {"signature_hex", c.signature}});
  }
  {
    const Bytes msg = bytes_of("tokencast");
    ed.push_back({{"name", "vector host key"},
                  {"seed_hex", hex(seq<32>(0x40))},
                  {"public_key_hex", hex(pk)},
                  {"message_hex", hex(msg)},
                  {"signature_hex", hex(in.host.sign(msg))}});
  }
  root["ed25519"] = ed;
  root["envelopes"] = envelope_vectors(in);
  root["sdp_fingerprints"] = sdp_vectors();
  root["handshake"] = handshake_vectors(in);
  return root;
}

std::string vectors_path() { return std::string(TOKENCAST_VECTORS_DIR) + "/crypto.json"; }

Json load_vectors() {
  std::ifstream f(vectors_path());
  EXPECT_TRUE(f.good()) << vectors_path();
  return Json::parse(f);
}

TEST(CryptoVectors, FileIsCurrent) {
  tokencast::testing::expect_vector_file_current(vectors_path(),
                                                 build_crypto_vectors().dump(2) + "\n");
}

TEST(CryptoVectors, HkdfEntries) {
  const Json v = load_vectors();
  ASSERT_GE(v["hkdf_sha256"].size(), 2u);
  for (const auto& e : v["hkdf_sha256"]) {
    Bytes okm(e["length"].get<size_t>());
    crypto::hkdf_sha256(unhex(e["ikm_hex"].get<std::string>()),
                        unhex(e["salt_hex"].get<std::string>()),
                        unhex(e["info_hex"].get<std::string>()), okm);
    EXPECT_EQ(hex(okm), e["okm_hex"]) << e["name"];
  }
}

TEST(CryptoVectors, KeyScheduleEntries) {
  const Json v = load_vectors();
  for (const auto& e : v["key_schedule"]) {
    const RoomSecret s(arr<32>(e["secret_hex"].get<std::string>()));
    const auto role = static_cast<LinkRole>(e["role"].get<int>());
    const auto pk = arr<32>(e["host_public_key_hex"].get<std::string>());
    const JoinId j = arr<16>(e["join_id_hex"].get<std::string>());
    // Both through the API and through raw HKDF with the listed salt and info strings.
    EXPECT_EQ(hex(derive_room_locator(s, role, pk)), e["room_locator_hex"]);
    EXPECT_EQ(room_locator_text(derive_room_locator(s, role, pk)), e["room_locator_b64url"]);
    Bytes out(32);
    crypto::hkdf_sha256(s.bytes(), unhex(e["hkdf_salt_hex"].get<std::string>()),
                        unhex(e["locator_info_hex"].get<std::string>()), out);
    EXPECT_EQ(hex(out), e["room_locator_hex"]);
    crypto::hkdf_sha256(s.bytes(), unhex(e["hkdf_salt_hex"].get<std::string>()),
                        unhex(e["joiner_to_host_info_hex"].get<std::string>()), out);
    EXPECT_EQ(hex(out), e["joiner_to_host_key_hex"]);
    EXPECT_EQ(hex(derive_seal_key(s, role, pk, Direction::kHostToJoiner, j).bytes()),
              e["host_to_joiner_key_hex"]);
  }
}

TEST(CryptoVectors, AeadEntries) {
  const Json v = load_vectors();
  for (const auto& e : v["chacha20_poly1305"]) {
    const Bytes pt = unhex(e["plaintext_hex"].get<std::string>());
    Bytes out(pt.size() + 16);
    crypto::aead_seal(arr<32>(e["key_hex"].get<std::string>()),
                      arr<12>(e["nonce_hex"].get<std::string>()),
                      unhex(e["aad_hex"].get<std::string>()), pt, out);
    EXPECT_EQ(hex(out), e["ciphertext_hex"].get<std::string>() + e["tag_hex"].get<std::string>());
  }
}

TEST(CryptoVectors, Ed25519Entries) {
  const Json v = load_vectors();
  for (const auto& e : v["ed25519"]) {
    const SigningKey k = SigningKey::from_seed(arr<32>(e["seed_hex"].get<std::string>()));
    EXPECT_EQ(hex(k.public_key()), e["public_key_hex"]);
    const Bytes msg = unhex(e["message_hex"].get<std::string>());
    EXPECT_EQ(hex(k.sign(msg)), e["signature_hex"]);
    EXPECT_TRUE(
        ed25519_verify(k.public_key(), msg, arr<64>(e["signature_hex"].get<std::string>())));
  }
}

TEST(CryptoVectors, EnvelopeEntries) {
  const Json v = load_vectors()["envelopes"];
  const RoomKeys room(RoomSecret(arr<32>(v["room"]["secret_hex"].get<std::string>())),
                      static_cast<LinkRole>(v["room"]["role"].get<int>()),
                      arr<32>(v["room"]["host_public_key_hex"].get<std::string>()));
  ASSERT_EQ(hex(room.locator()), v["room"]["room_locator_hex"]);
  for (const auto& e : v["valid"]) {
    const auto d = static_cast<Direction>(e["direction"].get<int>());
    const JoinId j = arr<16>(e["join_id_hex"].get<std::string>());
    const uint64_t counter = std::stoull(e["counter"].get<std::string>());
    const Bytes pt = unhex(e["plaintext_hex"].get<std::string>());
    auto env = seal_envelope(room.seal_key(d, j), room.locator(), {d, j, counter}, pt);
    ASSERT_TRUE(env.has_value());
    EXPECT_EQ(hex(*env), e["envelope_hex"]) << e["name"];
    EnvelopeOpener opener(room, d, j);
    auto opened = opener.open(unhex(e["envelope_hex"].get<std::string>()));
    ASSERT_TRUE(opened.has_value()) << e["name"];
    EXPECT_EQ(*opened, pt);
  }
  for (const auto& e : v["invalid"]) {
    const auto& r = e["receiver"];
    EnvelopeOpener opener(room, static_cast<Direction>(r["direction"].get<int>()),
                          arr<16>(r["join_id_hex"].get<std::string>()));
    if (!r["last_counter"].is_null()) {
      // Bring the guard to last_counter by opening a genuine envelope with that counter.
      const auto d = static_cast<Direction>(r["direction"].get<int>());
      const JoinId j = arr<16>(r["join_id_hex"].get<std::string>());
      const uint64_t last = std::stoull(r["last_counter"].get<std::string>());
      auto primer = seal_envelope(room.seal_key(d, j), room.locator(), {d, j, last}, {});
      ASSERT_TRUE(opener.open(*primer).has_value());
    }
    auto res = opener.open(unhex(e["envelope_hex"].get<std::string>()));
    if (e["expected_error"].is_null()) {
      EXPECT_TRUE(res.has_value()) << e["name"];
    } else {
      ASSERT_FALSE(res.has_value()) << e["name"];
      EXPECT_EQ(envelope_error_name(res.error()), e["expected_error"]) << e["name"];
    }
  }
  const auto& o = v["oversize"];
  Bytes big = unhex(o["envelope_prefix_hex"].get<std::string>());
  big.resize(o["total_length"].get<size_t>(), 0);
  EnvelopeOpener opener(room, Direction::kJoinerToHost, seq<16>(0x60));
  EXPECT_EQ(envelope_error_name(opener.open(big).error()), o["expected_error"]);
}

TEST(CryptoVectors, SdpFingerprintEntries) {
  const Json v = load_vectors();
  for (const auto& e : v["sdp_fingerprints"]) {
    auto fp = extract_sdp_fingerprint(e["sdp"].get<std::string>());
    if (e.contains("fingerprint_hex")) {
      ASSERT_TRUE(fp.has_value()) << e["name"];
      EXPECT_EQ(hex(*fp), e["fingerprint_hex"]);
    } else {
      EXPECT_FALSE(fp.has_value()) << e["name"];
    }
  }
}

// Prints the sizes the integration cares about (visible with --gtest_also_run_disabled_tests
// or in the test log).
TEST(CryptoVectors, TypicalSizes) {
  const Json h = load_vectors()["handshake"];
  const size_t offer_sdp = h["offer_sdp"].get<std::string>().size();
  const size_t offer_env = h["offer_envelope_hex"].get<std::string>().size() / 2;
  const size_t answer_sdp = h["answer_sdp"].get<std::string>().size();
  const size_t answer_env = h["answer_envelope_hex"].get<std::string>().size() / 2;
  const size_t cand_env = h["joiner_candidate"]["envelope_hex"].get<std::string>().size() / 2;
  EXPECT_EQ(offer_env, kEnvelopeOverhead + 1 + 8 + 1 + 3 + offer_sdp);
  EXPECT_EQ(answer_env, kEnvelopeOverhead + 1 + 64 + answer_sdp);
  std::printf(
      "offer SDP %zu B -> envelope %zu B; answer SDP %zu B -> envelope %zu B; "
      "candidate envelope %zu B\n",
      offer_sdp, offer_env, answer_sdp, answer_env, cand_env);
}

}  // namespace
