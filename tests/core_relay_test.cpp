// The relay stream (docs/PROTOCOL.md section 6): the host's RelayStreamWriter, a viewer's
// RelayVerifier fed by a relay that forwards the frames faithfully or tampers with them (drops,
// reorders, replays, alters, forges), resuming under a new parent and joining late from an
// anchor; the known answers in tests/vectors/relay.json; and the host's RelayTree planner
// (placement, depth bound, re-parenting with subtrees and resume points, random churn).
// Regenerate that file with TOKENCAST_WRITE_VECTORS=1 build/tests/core_relay_test.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "support/hex.hpp"
#include "support/vector_file.hpp"
#include "tokencast/core/frame.hpp"
#include "tokencast/core/relay_fanout.hpp"
#include "tokencast/core/relay_route.hpp"
#include "tokencast/core/relay_stream.hpp"
#include "tokencast/core/relay_tree.hpp"

namespace tokencast {
namespace {

using Bytes = std::vector<uint8_t>;
using testing::hex;
using testing::unhex;

SigningKey host_key(uint8_t fill = 7) {
  std::array<uint8_t, kEd25519SeedSize> seed{};
  seed.fill(fill);
  return SigningKey::from_seed(seed);
}

SessionId session(uint8_t first = 0) {
  SessionId id;
  for (size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<uint8_t>(first + i);
  return id;
}

Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }

// `n` records of the stream "0", "1", ... as the host writes them with `options` (one record
// every 10 ms), a checkpoint after the last when it is unsigned.
std::vector<Bytes> write_stream(RelayStreamWriter& writer, size_t n, int64_t start_ms = 0) {
  std::vector<Bytes> frames;
  for (size_t i = 0; i < n; ++i) {
    auto frame = writer.append(text(std::to_string(i)), start_ms + static_cast<int64_t>(i) * 10);
    EXPECT_TRUE(frame);
    frames.push_back(*frame);
  }
  if (auto cp = writer.checkpoint()) frames.push_back(*cp);
  return frames;
}

// Feeds frames; returns the released payloads as strings, or the first error.
struct Fed {
  std::vector<std::string> released;
  std::optional<std::error_code> error;
  size_t error_at = 0;
};
Fed feed(RelayVerifier& verifier, const std::vector<Bytes>& frames) {
  Fed fed;
  for (size_t i = 0; i < frames.size(); ++i) {
    auto out = verifier.accept(frames[i]);
    if (!out) {
      fed.error = out.error();
      fed.error_at = i;
      return fed;
    }
    for (auto& r : *out) fed.released.emplace_back(r.payload.begin(), r.payload.end());
  }
  return fed;
}

std::vector<std::string> numbers(size_t from, size_t to) {
  std::vector<std::string> out;
  for (size_t i = from; i < to; ++i) out.push_back(std::to_string(i));
  return out;
}

TEST(RelayFrames, RoundTripAndStrictDecoding) {
  RelayFrame record{RelayFrame::Kind::kRecord, 300, std::nullopt, std::nullopt, text("hi")};
  EXPECT_EQ(hex(encode_relay_frame(record)), "20ac026869");
  EXPECT_EQ(*decode_relay_frame(encode_relay_frame(record)), record);
  RelayFrame signed_record{
      RelayFrame::Kind::kSignedRecord, 1, Ed25519Signature{}, std::nullopt, {}};
  signed_record.signature->fill(0xab);
  EXPECT_EQ(*decode_relay_frame(encode_relay_frame(signed_record)), signed_record);
  RelayFrame checkpoint{RelayFrame::Kind::kCheckpoint, 2, Ed25519Signature{}, RelayChainHash{}, {}};
  checkpoint.chain->fill(0xcd);
  const Bytes cp = encode_relay_frame(checkpoint);
  EXPECT_EQ(cp.size(), 1u + 1 + 32 + 64);
  EXPECT_EQ(*decode_relay_frame(cp), checkpoint);

  auto error = [](const Bytes& b) {
    auto f = decode_relay_frame(b);
    return f ? RelayError{} : f.error();
  };
  EXPECT_EQ(error({}), RelayError::kTruncated);
  EXPECT_EQ(error(Bytes(kMaxRelayFrameBytes + 1, 0x20)), RelayError::kOversized);
  EXPECT_EQ(error({0x04, 0x01}), RelayError::kUnknownFrameType);
  EXPECT_EQ(error({0x20}), RelayError::kTruncated);
  EXPECT_EQ(error({0x20, 0x80}), RelayError::kTruncated);
  EXPECT_EQ(error({0x20, 0x80, 0x00}), RelayError::kBadVarint);
  EXPECT_EQ(error({0x20, 0x00}), RelayError::kBadIndex);
  EXPECT_EQ(error({0x21, 0x01, 0x00}), RelayError::kTruncated);  // signature cut short
  Bytes long_cp = cp;
  long_cp.push_back(0);
  EXPECT_EQ(error(long_cp), RelayError::kTrailingBytes);
  EXPECT_EQ(error(Bytes(cp.begin(), cp.end() - 1)), RelayError::kTruncated);
  // Every strict prefix of a checkpoint or signed record (up to its payload) is truncated.
  for (size_t n = 1; n < cp.size(); ++n) {
    EXPECT_EQ(error(Bytes(cp.begin(), cp.begin() + static_cast<std::ptrdiff_t>(n))),
              RelayError::kTruncated);
  }
}

RelayWriterOptions sign_every_record() {
  RelayWriterOptions o;
  o.sign_interval_ms = 0;
  return o;
}

// Paced signing as a host does it, with bounds small enough that a short stream mixes unsigned
// records, signed records and checkpoints: records 1, 2 unsigned, 3 signed, ...
RelayWriterOptions sign_every_third_record() {
  RelayWriterOptions o;
  o.sign_interval_ms = 25;
  o.max_unsigned_records = 3;
  return o;
}

TEST(RelayStream, EveryRecordSignedIsReleasedOnArrival) {
  RelayStreamWriter writer(session(), host_key(), sign_every_record());
  RelayVerifier verifier(session(), host_key().public_key());
  for (size_t i = 0; i < 5; ++i) {
    auto frame = writer.append(text(std::to_string(i)), 0);
    ASSERT_TRUE(frame);
    EXPECT_EQ((*frame)[0], kRelaySignedRecordType);
    auto out = verifier.accept(*frame);
    ASSERT_TRUE(out) << out.error().message();
    ASSERT_EQ(out->size(), 1u);
    EXPECT_EQ((*out)[0].index, i + 1);
    EXPECT_EQ((*out)[0].payload, text(std::to_string(i)));
  }
  EXPECT_FALSE(writer.checkpoint());  // nothing unsigned
  EXPECT_EQ(verifier.verified(), writer.head());
  EXPECT_EQ(writer.signatures(), 5u);
}

TEST(RelayStream, UnsignedRecordsWaitForTheNextSignature) {
  RelayWriterOptions options;
  options.sign_interval_ms = 50;
  options.max_unsigned_records = 4;
  RelayStreamWriter writer(session(), host_key(), options);
  RelayVerifier verifier(session(), host_key().public_key());

  auto a = writer.append(text("a"), 0);
  ASSERT_TRUE(a);
  EXPECT_EQ((*a)[0], kRelayRecordType);
  EXPECT_EQ(writer.checkpoint_due_at(), 50);
  auto out = verifier.accept(*a);
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->empty());  // held until a signature covers it
  EXPECT_EQ(verifier.unverified_records(), 1u);
  EXPECT_EQ(verifier.verified().index, 0u);

  auto b = writer.append(text("b"), 50);  // the oldest unsigned record is due: signed inline
  ASSERT_TRUE(b);
  EXPECT_EQ((*b)[0], kRelaySignedRecordType);
  EXPECT_FALSE(writer.checkpoint_due_at());
  out = verifier.accept(*b);
  ASSERT_TRUE(out);
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[0].payload, text("a"));
  EXPECT_EQ((*out)[1].payload, text("b"));

  // A quiet stream: the tail is signed by a checkpoint when it falls due.
  ASSERT_TRUE(writer.append(text("c"), 60));
  auto cp = writer.checkpoint();
  ASSERT_TRUE(cp);
  EXPECT_EQ((*cp)[0], kRelayCheckpointType);
  EXPECT_FALSE(writer.checkpoint());

  // A burst: every 4th record is signed whatever the time.
  RelayStreamWriter burst(session(), host_key(), options);
  std::string kinds;
  for (int i = 0; i < 8; ++i) kinds += (*burst.append(text("x"), 100))[0] == 0x21 ? 'S' : 'u';
  EXPECT_EQ(kinds, "uuuSuuuS");
}

TEST(RelayStream, WriterRefusesAPayloadThatDoesNotFitAFrame) {
  RelayStreamWriter writer(session(), host_key(), sign_every_record());
  auto too_big = writer.append(Bytes(kMaxRelayPayloadBytes + 1, 'x'), 0);
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error(), RelayError::kPayloadTooLarge);
  auto fits = writer.append(Bytes(kMaxRelayPayloadBytes, 'x'), 0);
  ASSERT_TRUE(fits);
  EXPECT_EQ(fits->size(), kMaxRelayFrameBytes - 9);  // index 1 takes one varint byte
  RelayVerifier verifier(session(), host_key().public_key());
  EXPECT_TRUE(verifier.accept(*fits));
}

// The relay tampers with the frames between the host and the viewer; each way is caught, the
// record is never released, and the verifier stays failed.
class Tampering : public ::testing::Test {
 protected:
  Tampering() {
    RelayStreamWriter writer(session(), host_key(), sign_every_third_record());
    frames = write_stream(writer, 7);
  }
  Fed run(const std::vector<Bytes>& tampered) {
    RelayVerifier verifier(session(), host_key().public_key());
    Fed fed = feed(verifier, tampered);
    if (fed.error) {
      EXPECT_EQ(verifier.failed(), fed.error);
      EXPECT_EQ(verifier.accept(frames[0]).error(), *fed.error);  // failed for good
    }
    return fed;
  }
  std::vector<Bytes> frames;
};

TEST_F(Tampering, FaithfulRelayDeliversEverything) {
  ASSERT_EQ(frames.size(), 8u);  // 7 records and the closing checkpoint
  Fed fed = run(frames);
  EXPECT_FALSE(fed.error);
  EXPECT_EQ(fed.released, numbers(0, 7));
}

TEST_F(Tampering, AlteredPayloadOfASignedRecord) {
  auto t = frames;
  t[2].back() ^= 1;  // record 3 is signed
  ASSERT_EQ(t[2][0], kRelaySignedRecordType);
  Fed fed = run(t);
  EXPECT_EQ(fed.error, RelayError::kBadSignature);
  EXPECT_EQ(fed.error_at, 2u);
  EXPECT_TRUE(fed.released.empty());  // records 1 and 2 were waiting: never released
}

TEST_F(Tampering, AlteredPayloadOfAnUnsignedRecord) {
  auto t = frames;
  ASSERT_EQ(t[0][0], kRelayRecordType);
  t[0].push_back('!');
  Fed fed = run(t);
  EXPECT_EQ(fed.error, RelayError::kBadSignature);
  EXPECT_EQ(fed.error_at, 2u);
  EXPECT_TRUE(fed.released.empty());
}

TEST_F(Tampering, DroppedRecord) {
  auto t = frames;
  t.erase(t.begin() + 1);
  Fed fed = run(t);
  EXPECT_EQ(fed.error, RelayError::kOutOfOrder);
  EXPECT_EQ(fed.error_at, 1u);
}

TEST_F(Tampering, DroppedTail) {
  // Dropping the last records and the checkpoint cannot be told from a slow host by the frames
  // alone: the records stay unreleased (the application's stall timer moves the viewer).
  RelayVerifier verifier(session(), host_key().public_key());
  Fed fed = feed(verifier, {frames.begin(), frames.begin() + 4});
  EXPECT_FALSE(fed.error);
  EXPECT_EQ(fed.released, numbers(0, 3));
  EXPECT_EQ(verifier.unverified_records(), 1u);
}

TEST_F(Tampering, ReorderedRecords) {
  auto t = frames;
  std::swap(t[3], t[4]);
  Fed fed = run(t);
  EXPECT_EQ(fed.error, RelayError::kOutOfOrder);
  EXPECT_EQ(fed.error_at, 3u);
  EXPECT_EQ(fed.released, numbers(0, 3));  // the part before the reorder was genuine
}

TEST_F(Tampering, ReplayedRecord) {
  auto t = frames;
  t.insert(t.begin() + 3, t[2]);
  Fed fed = run(t);
  EXPECT_EQ(fed.error, RelayError::kOutOfOrder);
  EXPECT_EQ(fed.error_at, 3u);
}

TEST_F(Tampering, ReplayedCheckpoint) {
  RelayWriterOptions options;
  options.sign_interval_ms = 1000;
  RelayStreamWriter writer(session(), host_key(), options);
  std::vector<Bytes> t = write_stream(writer, 1);  // record 1, checkpoint 1
  auto more = write_stream(writer, 1);             // record 2, checkpoint 2
  t.push_back(more[0]);
  t.push_back(t[1]);  // checkpoint 1 again, in place of checkpoint 2
  Fed fed = run(t);
  EXPECT_EQ(fed.error, RelayError::kOutOfOrder);
  EXPECT_EQ(fed.error_at, 3u);
  EXPECT_EQ(fed.released, std::vector<std::string>{"0"});
}

TEST_F(Tampering, CheckpointWithAnotherChain) {
  auto t = frames;
  ASSERT_EQ(t.back()[0], kRelayCheckpointType);
  t.back()[3] ^= 1;  // a byte of the chain hash
  Fed fed = run(t);
  EXPECT_EQ(fed.error, RelayError::kChainMismatch);
}

TEST_F(Tampering, RelayThatRebuildsTheChainCannotSign) {
  // The relay rewrites record 1 and recomputes the whole chain correctly, but must sign the
  // new checkpoints with a key of its own.
  RelayStreamWriter forger(session(), host_key(99), sign_every_third_record());
  auto forged = write_stream(forger, 7);
  Fed fed = run(forged);
  EXPECT_EQ(fed.error, RelayError::kBadSignature);
  EXPECT_EQ(fed.error_at, 2u);
  EXPECT_TRUE(fed.released.empty());
}

TEST_F(Tampering, StreamOfAnotherSessionOfTheSameHost) {
  RelayVerifier verifier(session(1), host_key().public_key());
  Fed fed = feed(verifier, frames);
  EXPECT_EQ(fed.error, RelayError::kBadSignature);
  EXPECT_TRUE(fed.released.empty());
}

TEST_F(Tampering, FloodOfUnsignedRecordsIsBounded) {
  RelayVerifierOptions small;
  small.max_unverified_records = 2;
  RelayVerifier verifier(session(), host_key().public_key(), small);
  std::vector<Bytes> flood;
  for (uint64_t i = 1; i <= 3; ++i) {
    flood.push_back(encode_relay_frame({RelayFrame::Kind::kRecord, i, {}, {}, text("x")}));
  }
  Fed fed = feed(verifier, flood);
  EXPECT_EQ(fed.error, RelayError::kBacklogFull);
  EXPECT_EQ(fed.error_at, 2u);
}

TEST(RelayStream, ChildResumesUnderANewParentWithNoGapAndNoDuplicate) {
  RelayStreamWriter writer(session(), host_key(), sign_every_third_record());
  const auto frames = write_stream(writer, 10);
  // Parent A forwards frames 0..4 (records 1..5; 1..3 verified, 4..5 waiting) and dies.
  RelayVerifier child(session(), host_key().public_key());
  Fed first = feed(child, {frames.begin(), frames.begin() + 5});
  ASSERT_FALSE(first.error);
  const RelayPosition resume = child.verified();
  EXPECT_EQ(resume.index, 3u);
  // Parent B (which verified the whole stream itself) sends everything after resume.index.
  RelayVerifier again(session(), host_key().public_key(), resume);
  std::vector<Bytes> rest;
  for (const auto& f : frames) {
    if (decode_relay_frame(f)->index > resume.index) rest.push_back(f);
  }
  Fed second = feed(again, rest);
  ASSERT_FALSE(second.error) << second.error->message();
  auto all = first.released;
  all.insert(all.end(), second.released.begin(), second.released.end());
  EXPECT_EQ(all, numbers(0, 10));
}

TEST(RelayStream, LateJoinerStartsFromItsParentsAnchor) {
  RelayStreamWriter writer(session(), host_key(), sign_every_record());
  const auto frames = write_stream(writer, 6);
  RelayVerifier parent(session(), host_key().public_key());
  EXPECT_FALSE(parent.anchor());
  ASSERT_FALSE(feed(parent, {frames.begin(), frames.begin() + 4}).error);
  auto anchor = parent.anchor();
  ASSERT_TRUE(anchor);
  auto child = RelayVerifier::from_anchor(session(), host_key().public_key(), *anchor);
  ASSERT_TRUE(child);
  EXPECT_EQ(child->verified(), parent.verified());
  Fed fed = feed(*child, {frames.begin() + 4, frames.end()});
  EXPECT_FALSE(fed.error);
  EXPECT_EQ(fed.released, numbers(4, 6));
  ASSERT_TRUE(child->anchor());  // and it can hand its own late joiners an anchor
  EXPECT_EQ(decode_relay_frame(*child->anchor())->index, 6u);

  // A relay cannot invent an anchor.
  Bytes forged = *anchor;
  forged[2] ^= 1;
  auto bad = RelayVerifier::from_anchor(session(), host_key().public_key(), forged);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), RelayError::kBadSignature);
  auto not_anchor = RelayVerifier::from_anchor(session(), host_key().public_key(), frames[0]);
  ASSERT_FALSE(not_anchor);
  EXPECT_EQ(not_anchor.error(), RelayError::kNoAnchor);
}

TEST(RelayForwarder, KeepsTheStreamInOrderSkipsResentFramesAndResumesChildren) {
  RelayStreamWriter writer(session(), host_key(), sign_every_third_record());
  const auto frames = write_stream(writer, 10);
  RelayForwarder relay;
  for (const auto& f : frames) EXPECT_EQ(*relay.add(f), RelayForwarder::Added::kForward);
  EXPECT_EQ(relay.head(), 10u);
  EXPECT_EQ(relay.oldest(), 1u);
  // Moved under a new parent, the relay gets records it holds again: none is forwarded twice.
  for (size_t i = 3; i < frames.size(); ++i) {
    EXPECT_EQ(*relay.add(frames[i]), RelayForwarder::Added::kDuplicate) << i;
  }
  // A child that verified up to record 3 gets everything after it and verifies it all.
  auto rest = relay.since(3);
  ASSERT_TRUE(rest);
  RelayVerifier full(session(), host_key().public_key());
  ASSERT_FALSE(feed(full, {frames.begin(), frames.begin() + 3}).error);
  ASSERT_EQ(full.verified().index, 3u);
  RelayVerifier child(session(), host_key().public_key(), full.verified());
  std::vector<Bytes> sent;
  for (auto f : *rest) sent.emplace_back(f.begin(), f.end());
  Fed fed = feed(child, sent);
  EXPECT_FALSE(fed.error);
  EXPECT_EQ(fed.released, numbers(3, 10));
  EXPECT_TRUE(relay.since(10)->empty());
  EXPECT_TRUE(relay.since(99)->empty());  // a child ahead of its parent waits for live frames
  // A gap from the parent is refused.
  RelayForwarder gap;
  ASSERT_TRUE(gap.add(frames[0]));
  EXPECT_EQ(gap.add(frames[2]).error(), RelayError::kOutOfOrder);
}

TEST(RelayForwarder, RingIsBoundedAndSaysWhenItCannotResumeAChild) {
  RelayStreamWriter writer(session(), host_key(), sign_every_record());
  RelayForwarder relay({.max_frames = 4, .max_bytes = 1 << 20});
  for (const auto& f : write_stream(writer, 10)) ASSERT_TRUE(relay.add(f));
  EXPECT_EQ(relay.frames(), 4u);
  EXPECT_EQ(relay.oldest(), 7u);
  EXPECT_EQ(relay.since(6)->size(), 4u);
  EXPECT_FALSE(relay.since(5));  // record 6 is gone: resume from the host
}

// ------------------------------------------------------------------ a relay serving children

std::vector<Bytes> copies(const std::vector<std::vector<uint8_t>>& frames) {
  return {frames.begin(), frames.end()};
}

TEST(RelayFanout, ServesEveryChildPositionItCanVouchFor) {
  RelayStreamWriter writer(session(), host_key(), sign_every_third_record());
  const auto frames = write_stream(writer, 12);
  RelayFanout fanout(session(), host_key().public_key());
  for (const auto& f : frames) EXPECT_EQ(*fanout.add(f), RelayForwarder::Added::kForward);
  for (const auto& f : frames) EXPECT_EQ(*fanout.add(f), RelayForwarder::Added::kDuplicate);
  EXPECT_EQ(fanout.head(), 12u);
  const RelayChainHash genesis = relay_chain_genesis(session(), host_key().public_key());

  // From the genesis, or all zero (a child that was never welcomed does not know the session
  // id): the whole stream, which the child verifies from h_0.
  for (const RelayChainHash& hash : {genesis, RelayChainHash{}}) {
    auto serving = fanout.serve(RelayHelloFrame{kRelayVersion, 0, hash});
    ASSERT_TRUE(serving);
    EXPECT_EQ(serving->welcome, (RelayWelcomeFrame{kRelayVersion, session(), 12}));
    EXPECT_FALSE(serving->anchor);
    RelayVerifier child(session(), host_key().public_key());
    Fed fed = feed(child, copies(serving->frames));
    ASSERT_FALSE(fed.error) << fed.error->message();
    EXPECT_EQ(fed.released, numbers(0, 12));
  }
  RelayChainHash other = genesis;
  other[0] ^= 1;
  EXPECT_FALSE(fanout.serve(RelayHelloFrame{kRelayVersion, 0, other}));

  // Resuming from a position the child verified: the records after it.
  RelayVerifier part(session(), host_key().public_key());
  ASSERT_FALSE(feed(part, {frames.begin(), frames.begin() + 5}).error);
  const RelayPosition at = part.verified();
  ASSERT_GT(at.index, 0u);
  EXPECT_EQ(fanout.chain_at(at.index), at.chain);
  auto resumed = fanout.serve(RelayHelloFrame{kRelayVersion, at.index, at.chain});
  ASSERT_TRUE(resumed);
  EXPECT_FALSE(resumed->anchor);
  RelayVerifier child(session(), host_key().public_key(), at);
  Fed fed = feed(child, copies(resumed->frames));
  ASSERT_FALSE(fed.error);
  EXPECT_EQ(fed.released, numbers(at.index, 12));
  // Another chain at that index, or an index past the relay's head: not servable.
  RelayChainHash forged = at.chain;
  forged[5] ^= 1;
  EXPECT_FALSE(fanout.serve(RelayHelloFrame{kRelayVersion, at.index, forged}));
  EXPECT_FALSE(fanout.serve(RelayHelloFrame{kRelayVersion, 13, *fanout.chain_at(12)}));

  // Events held up to an unsigned index L, no chain position (all-zero hash): an anchor at the
  // newest signed index S < L, then the records after S (the child skips those up to L).
  uint64_t unsigned_index = 0;
  for (const auto& f : frames) {
    auto d = decode_relay_frame(f);
    if (d->kind == RelayFrame::Kind::kRecord && d->index > 3) {
      unsigned_index = d->index;
      break;
    }
  }
  ASSERT_GT(unsigned_index, 0u);
  auto anchored = fanout.serve(RelayHelloFrame{kRelayVersion, unsigned_index, {}});
  ASSERT_TRUE(anchored);
  ASSERT_TRUE(anchored->anchor);
  const uint64_t s = decode_relay_frame(*anchored->anchor)->index;
  EXPECT_LT(s, unsigned_index);
  EXPECT_GE(s, 1u);
  auto from_anchor =
      RelayVerifier::from_anchor(session(), host_key().public_key(), *anchored->anchor);
  ASSERT_TRUE(from_anchor);
  Fed rest = feed(*from_anchor, copies(anchored->frames));
  ASSERT_FALSE(rest.error);
  EXPECT_EQ(rest.released, numbers(s, 12));
  // A child ahead of the relay with no chain position is anchored at the relay's newest
  // signed record and gets what comes next.
  auto ahead = fanout.serve(RelayHelloFrame{kRelayVersion, 40, {}});
  ASSERT_TRUE(ahead);
  EXPECT_EQ(decode_relay_frame(*ahead->anchor)->index, 12u);
  EXPECT_TRUE(ahead->frames.empty());
}

TEST(RelayFanout, RingIsBoundedAndARelayThatJoinedFromAnAnchorServesFromThere) {
  RelayStreamWriter writer(session(), host_key(), sign_every_record());
  const auto frames = write_stream(writer, 10);
  RelayFanout small(session(), host_key().public_key(), {{.max_frames = 4, .max_bytes = 1 << 20}});
  for (const auto& f : frames) ASSERT_TRUE(small.add(f));
  EXPECT_FALSE(small.serve(RelayHelloFrame{kRelayVersion, 0, {}}));  // record 1 is gone
  ASSERT_TRUE(small.chain_at(6));
  EXPECT_EQ(small.serve(RelayHelloFrame{kRelayVersion, 6, *small.chain_at(6)})->frames.size(), 4u);
  EXPECT_FALSE(small.chain_at(5));
  // Held up to 3 without a chain: no signed index the ring continues from.
  EXPECT_FALSE(small.serve(RelayHelloFrame{kRelayVersion, 3, {}}));

  // A relay whose own link started from its parent's anchor at 4 (it held 1..4 as plain
  // events): the anchor is the base of its chain, not a frame to forward.
  RelayVerifier parent(session(), host_key().public_key());
  ASSERT_FALSE(feed(parent, {frames.begin(), frames.begin() + 4}).error);
  RelayFanout late(session(), host_key().public_key());
  late.set_base(RelayPosition{});  // what it knew at its welcome: nothing
  EXPECT_EQ(*late.add(*parent.anchor()), RelayForwarder::Added::kDuplicate);
  for (size_t i = 4; i < frames.size(); ++i) {
    EXPECT_EQ(*late.add(frames[i]), RelayForwarder::Added::kForward);
  }
  EXPECT_FALSE(late.serve(RelayHelloFrame{kRelayVersion, 0, {}}));
  auto from_four = late.serve(RelayHelloFrame{kRelayVersion, 4, parent.verified().chain});
  ASSERT_TRUE(from_four);
  EXPECT_EQ(from_four->frames.size(), 6u);
  auto zero = late.serve(RelayHelloFrame{kRelayVersion, 4, {}});
  ASSERT_TRUE(zero);
  EXPECT_EQ(*zero->anchor, *parent.anchor());
  // A gap from the parent is refused (the caller starts over).
  RelayFanout gap(session(), host_key().public_key());
  ASSERT_TRUE(gap.add(frames[0]));
  EXPECT_EQ(gap.add(frames[2]).error(), RelayError::kOutOfOrder);
}

// ----------------------------------------------------------------------------- the relay tree

TEST(RelayTree, FillsTheHostThenRelaysBreadthFirst) {
  RelayTree tree({.host_children = 2, .max_children = 2, .max_depth = 8, .max_viewers = 100});
  EXPECT_EQ(tree.join(1, 2)->parent, kRelayHost);
  EXPECT_EQ(tree.join(2, 5)->parent, kRelayHost);  // capacity above k counts as k
  EXPECT_EQ(tree.join(3, 0)->parent, 1u);          // a leaf: never a parent
  EXPECT_EQ(tree.join(4, 2)->parent, 1u);
  auto p5 = tree.join(5, 2);
  EXPECT_EQ(p5->parent, 2u);
  EXPECT_EQ(p5->depth, 2u);
  EXPECT_EQ(p5->resume_after, 0u);
  EXPECT_EQ(tree.join(6, 1)->parent, 2u);
  EXPECT_EQ(tree.join(7, 1)->parent, 4u);  // depth 2, ids in order: 4 before 5 and 6
  EXPECT_EQ(tree.depth(7), 3u);
  EXPECT_EQ(tree.size(), 7u);
  EXPECT_EQ(tree.height(), 3u);
  EXPECT_TRUE(tree.consistent());
  EXPECT_EQ(tree.join(7, 1).error(), RelayTreeError::kDuplicate);
  EXPECT_EQ(tree.join(kRelayHost, 1).error(), RelayTreeError::kDuplicate);
  EXPECT_EQ(tree.leave(99).error(), RelayTreeError::kUnknown);
  EXPECT_EQ(tree.progress(99, 1).error(), RelayTreeError::kUnknown);
}

TEST(RelayTree, NeverDeeperThanTheBoundAndRefusesWhenFull) {
  RelayTree tree({.host_children = 1, .max_children = 1, .max_depth = 3, .max_viewers = 100});
  for (RelayNodeId id = 1; id <= 3; ++id) EXPECT_EQ(tree.join(id, 1)->depth, id);
  EXPECT_EQ(tree.join(4, 1).error(), RelayTreeError::kFull);  // 3 would be a parent at depth 3
  RelayTree small({.host_children = 4, .max_children = 4, .max_depth = 8, .max_viewers = 2});
  ASSERT_TRUE(small.join(1, 4));
  ASSERT_TRUE(small.join(2, 4));
  EXPECT_EQ(small.join(3, 4).error(), RelayTreeError::kFull);
}

TEST(RelayTree, ACapacityLearnedAfterJoiningOpensTheViewerToChildren) {
  // The host places a viewer at its offer; its hello says later what it relays for.
  RelayTree tree({.host_children = 1, .max_children = 2, .max_depth = 2, .max_viewers = 100});
  ASSERT_EQ(tree.join(1, 0)->parent, kRelayHost);
  EXPECT_EQ(tree.join(2, 0).error(), RelayTreeError::kFull);  // the host is full, 1 a leaf
  ASSERT_TRUE(tree.set_capacity(1, 9));                       // capped at k = 2
  EXPECT_EQ(tree.join(2, 0)->parent, 1u);
  EXPECT_EQ(tree.join(3, 0)->parent, 1u);
  EXPECT_EQ(tree.join(4, 0).error(), RelayTreeError::kFull);
  ASSERT_TRUE(tree.set_capacity(1, 1));  // lower: keeps both children, takes no more
  EXPECT_EQ(tree.children(1).size(), 2u);
  ASSERT_TRUE(tree.leave(3));
  EXPECT_EQ(tree.join(4, 0).error(), RelayTreeError::kFull);
  ASSERT_TRUE(tree.set_capacity(2, 1));  // depth 2 = max_depth: never a parent
  EXPECT_EQ(tree.join(4, 0).error(), RelayTreeError::kFull);
  EXPECT_TRUE(tree.consistent());
  EXPECT_EQ(tree.set_capacity(99, 1).error(), RelayTreeError::kUnknown);
  EXPECT_EQ(tree.set_capacity(kRelayHost, 1).error(), RelayTreeError::kUnknown);
}

TEST(RelayTree, ChildrenOfALeavingRelayMoveWithTheirSubtreesAndResumePoints) {
  RelayTree tree({.host_children = 2, .max_children = 2, .max_depth = 4, .max_viewers = 100});
  for (RelayNodeId id = 1; id <= 14; ++id) ASSERT_TRUE(tree.join(id, 2)) << id;
  // 1, 2 at depth 1; 3..6 at 2; 7..14 at 3.
  ASSERT_EQ(tree.children(1), (std::vector<RelayNodeId>{3, 4}));
  ASSERT_EQ(tree.children(3), (std::vector<RelayNodeId>{7, 8}));
  ASSERT_TRUE(tree.progress(3, 41));
  ASSERT_TRUE(tree.progress(4, 40));
  ASSERT_TRUE(tree.progress(4, 12));  // progress never goes back
  auto gone = tree.leave(1);
  ASSERT_TRUE(gone);
  EXPECT_TRUE(gone->dropped.empty());
  ASSERT_EQ(gone->moved.size(), 2u);
  // The host's freed slot takes the first orphan; the other goes where its subtree still fits.
  EXPECT_EQ(gone->moved[0], (RelayPlacement{3, kRelayHost, 1, 41}));
  EXPECT_EQ(gone->moved[1].viewer, 4u);
  EXPECT_EQ(gone->moved[1].resume_after, 40u);
  EXPECT_LE(gone->moved[1].depth + 1, 4u);  // its children stay within the bound
  EXPECT_EQ(tree.depth(7), 2u);             // 3's subtree moved up with it
  EXPECT_FALSE(tree.contains(1));
  EXPECT_EQ(tree.size(), 13u);
  EXPECT_TRUE(tree.consistent());
}

TEST(RelayTree, OrphansTakeTheFreedSlotThenHangBelowEachOther) {
  // Only the host's freed slot and the orphans themselves have room: the first orphan takes
  // the slot, the second hangs below the first (outside its own subtree).
  RelayTree tree({.host_children = 1, .max_children = 3, .max_depth = 6, .max_viewers = 100});
  ASSERT_TRUE(tree.join(1, 2));  // depth 1, 2 children
  ASSERT_TRUE(tree.join(2, 3));  // under 1
  ASSERT_TRUE(tree.join(3, 3));  // under 1
  auto gone = tree.leave(1);
  ASSERT_TRUE(gone);
  ASSERT_EQ(gone->moved.size(), 2u);
  EXPECT_EQ(gone->moved[0].parent, kRelayHost);
  EXPECT_EQ(gone->moved[1].parent, gone->moved[0].viewer);
  EXPECT_TRUE(tree.consistent());
}

TEST(RelayTree, DropsOrphansNoParentCanTake) {
  RelayTree tree({.host_children = 1, .max_children = 2, .max_depth = 2, .max_viewers = 100});
  ASSERT_TRUE(tree.join(1, 2));
  ASSERT_TRUE(tree.join(2, 0));  // leaves: they relay to no one
  ASSERT_TRUE(tree.join(3, 0));
  auto gone = tree.leave(1);
  ASSERT_TRUE(gone);
  ASSERT_EQ(gone->moved.size(), 1u);  // 2 takes the host's slot; 3 fits nowhere
  EXPECT_EQ(gone->moved[0].viewer, 2u);
  EXPECT_EQ(gone->dropped, std::vector<RelayNodeId>{3});
  EXPECT_FALSE(tree.contains(3));
  EXPECT_TRUE(tree.consistent());
}

TEST(RelayTree, RandomChurnKeepsEveryInvariant) {
  RelayTree tree({.host_children = 8, .max_children = 3, .max_depth = 5, .max_viewers = 5000});
  std::mt19937_64 rng(15);
  std::vector<RelayNodeId> present;
  RelayNodeId next = 1;
  size_t moved = 0;
  for (int step = 0; step < 4000; ++step) {
    if (present.empty() || rng() % 3 != 0) {
      const size_t capacity = rng() % 4;  // 0..3
      if (auto placed = tree.join(next, capacity)) {
        EXPECT_EQ(tree.parent(next), placed->parent);
        present.push_back(next);
      }
      ++next;
    } else {
      const size_t at = rng() % present.size();
      const RelayNodeId id = present[at];
      const auto children = tree.children(id);
      auto gone = tree.leave(id);
      ASSERT_TRUE(gone);
      EXPECT_EQ(gone->moved.size() + gone->dropped.size(), children.size());
      moved += gone->moved.size();
      for (const auto& m : gone->moved) EXPECT_EQ(tree.parent(m.viewer), m.parent);
      std::erase_if(present, [&](RelayNodeId v) { return !tree.contains(v); });
    }
    ASSERT_TRUE(tree.consistent()) << "step " << step;
    ASSERT_LE(tree.height(), 5u);
    ASSERT_EQ(tree.size(), present.size());
  }
  EXPECT_GT(moved, 100u);  // the churn did exercise re-parenting
}

// ------------------------------------------------------------------- tests/vectors/relay.json

const char* error_name(RelayError e) {
  switch (e) {
    case RelayError::kTruncated:
      return "truncated";
    case RelayError::kOversized:
      return "oversized";
    case RelayError::kUnknownFrameType:
      return "unknown_frame_type";
    case RelayError::kBadVarint:
      return "bad_varint";
    case RelayError::kTrailingBytes:
      return "trailing_bytes";
    case RelayError::kBadIndex:
      return "bad_index";
    case RelayError::kOutOfOrder:
      return "out_of_order";
    case RelayError::kBadSignature:
      return "bad_signature";
    case RelayError::kChainMismatch:
      return "chain_mismatch";
    case RelayError::kBacklogFull:
      return "backlog_full";
    case RelayError::kPayloadTooLarge:
      return "payload_too_large";
    case RelayError::kNoAnchor:
      return "no_anchor";
  }
  return "?";
}

nlohmann::ordered_json build_relay_vectors() {
  using Json = nlohmann::ordered_json;
  std::array<uint8_t, kEd25519SeedSize> seed{};
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(0x40 + i);
  const SigningKey key = SigningKey::from_seed(seed);
  const SessionId sid = session(0xa0);
  Json root;
  root["about"] =
      "Relay stream (docs/PROTOCOL.md section 6). stream: the host's writer with "
      "writer_options, appending each payload at at_ms (then checkpoint() where the step says "
      "so); frames in order with the records each releases to a verifier from genesis. "
      "tampered: feed frames (indexes into stream.frames, or hex) to a fresh verifier; the "
      "frame at error_at fails with error, nothing at or after it is released. invalid: "
      "stateless decoding errors.";
  root["host_key_seed_hex"] = hex(seed);
  root["host_public_key_hex"] = hex(key.public_key());
  root["session_id_hex"] = hex(sid.bytes);
  root["genesis_hex"] = hex(relay_chain_genesis(sid, key.public_key()));
  RelayWriterOptions options;
  options.sign_interval_ms = 50;
  options.max_unsigned_records = 3;
  root["writer_options"] = {{"sign_interval_ms", options.sign_interval_ms},
                            {"max_unsigned_records", options.max_unsigned_records}};

  struct Step {
    int64_t at_ms;
    std::optional<std::string> payload;  // nullopt: checkpoint()
  };
  // Payloads are section 4 host frames, as the host will relay them, one stream a client
  // decoder takes from position (0, none): a turn_started events frame, deltas, a thinking
  // delta, an empty delta, a turn_ended (RelayVectors.ReleasedPayloadsAreTheHostsFrames).
  const std::vector<Step> steps = {
      {0, "030101010101016d0a"},   {10, "0448656c"},   {60, "046c6f"},  {70, "0c686d"},
      {120, std::nullopt},         {130, "04"},        {131, "042c20"}, {132, "04776f726c64"},
      {170, "03080103010000060c"}, {250, std::nullopt}};
  RelayStreamWriter writer(sid, key, options);
  RelayVerifier verifier(sid, key.public_key());
  Json frames = Json::array();
  Json chain = Json::array();
  for (const auto& step : steps) {
    Json f;
    f["at_ms"] = step.at_ms;
    Bytes bytes;
    if (step.payload) {
      f["append_hex"] = *step.payload;
      bytes = *writer.append(unhex(*step.payload), step.at_ms);
      chain.push_back(hex(writer.head().chain));
    } else {
      f["checkpoint"] = true;
      auto cp = writer.checkpoint();
      EXPECT_TRUE(cp);
      bytes = *cp;
    }
    f["hex"] = hex(bytes);
    Json released = Json::array();
    auto out = verifier.accept(bytes);
    EXPECT_TRUE(out);
    for (const auto& r : *out)
      released.push_back({{"index", r.index}, {"payload_hex", hex(r.payload)}});
    f["released"] = released;
    frames.push_back(f);
  }
  root["stream"] = {{"frames", frames}, {"chain_hex", chain}};
  root["checkpoint_message"] = {
      {"index", writer.head().index},
      {"chain_hex", hex(writer.head().chain)},
      {"message_hex",
       hex(relay_checkpoint_message(sid, writer.head().index, writer.head().chain))}};

  std::vector<Bytes> all;
  for (const auto& f : frames) all.push_back(unhex(f["hex"].get<std::string>()));
  Json tampered = Json::array();
  auto add = [&](const char* name, std::vector<Json> seq) {
    std::vector<Bytes> bytes;
    for (const auto& s : seq)
      bytes.push_back(s.is_number() ? all[s.get<size_t>()] : unhex(s.get<std::string>()));
    RelayVerifier v(sid, key.public_key());
    Fed fed = feed(v, bytes);
    EXPECT_TRUE(fed.error) << name;
    Json released = Json::array();
    for (const auto& r : fed.released) released.push_back(hex(text(r)));
    tampered.push_back(
        {{"name", name},
         {"frames", seq},
         {"error", fed.error ? error_name(static_cast<RelayError>(fed.error->value())) : "none"},
         {"error_at", fed.error_at},
         {"released_payloads_hex", released}});
  };
  auto flip_last = [&](size_t i) {
    Bytes b = all[i];
    b.back() ^= 1;
    return Json(hex(b));
  };
  add("altered_signed_record", {0, 1, flip_last(2)});
  add("altered_unsigned_record", {0, flip_last(1), 2});
  add("dropped_record", {0, 2});
  add("reordered_records", {0, 1, 2, 5, 4});
  add("replayed_record", {0, 1, 2, 2});
  add("replayed_checkpoint", {0, 1, 2, 3, 4, 5, 6, 7, 8, 4});
  {
    Bytes cp = all[4];
    cp[3] ^= 1;
    add("checkpoint_with_another_chain", {0, 1, 2, 3, Json(hex(cp))});
  }
  {
    RelayStreamWriter forger(sid, host_key(99), options);
    std::vector<Json> seq;
    for (const auto& step : steps) {
      Bytes b =
          step.payload ? *forger.append(unhex(*step.payload), step.at_ms) : *forger.checkpoint();
      seq.push_back(hex(b));
    }
    add("signed_by_another_key", seq);
  }
  root["tampered"] = tampered;

  Json invalid = Json::array();
  auto bad = [&](const char* name, const std::string& h) {
    auto f = decode_relay_frame(unhex(h));
    EXPECT_FALSE(f) << name;
    invalid.push_back({{"name", name}, {"hex", h}, {"error", f ? "none" : error_name(f.error())}});
  };
  bad("empty", "");
  bad("unknown_type", "0401");
  bad("no_index", "20");
  bad("index_cut_short", "2080");
  bad("non_canonical_index", "208000");
  bad("eleven_byte_index", "20ffffffffffffffffffff01");
  bad("index_zero", "2100");
  bad("signature_cut_short", "2101" + std::string(126, 'a'));
  bad("checkpoint_cut_short", "2201" + std::string(2 * 95, 'b'));
  bad("checkpoint_trailing_byte", "2201" + std::string(2 * 97, 'c'));
  root["invalid"] = invalid;
  root["max_frame_bytes"] = kMaxRelayFrameBytes;
  return root;
}

// What the verifier releases is the host's section 4 stream: a client decoder takes it from
// the start with no error and ends after the turn.
TEST(RelayVectors, ReleasedPayloadsAreTheHostsFrames) {
  const auto v = build_relay_vectors();
  FrameDecoder decoder;
  std::string text;
  for (const auto& f : v["stream"]["frames"]) {
    for (const auto& r : f["released"]) {
      auto frame = decoder.decode(unhex(r["payload_hex"].get<std::string>()));
      ASSERT_TRUE(frame) << frame.error().message();
      if (const auto* events = std::get_if<EventsFrame>(&*frame)) {
        for (const auto& e : events->events) {
          if (const auto* d = std::get_if<TextDelta>(&e.body)) text += d->bytes;
        }
      }
    }
  }
  EXPECT_EQ(text, "Hello, world");
  EXPECT_EQ(decoder.position().last_seq, 8u);
  EXPECT_FALSE(decoder.position().open_turn);
}

TEST(RelayVectors, RelayJsonIsCurrent) {
  testing::expect_vector_file_current(std::string(TOKENCAST_VECTORS_DIR) + "/relay.json",
                                      build_relay_vectors().dump(2) + "\n");
}

// --- Route seals (relay_route.hpp) ----------------------------------------------------------

RoomKeys route_test_room(uint8_t fill) {
  std::array<uint8_t, kRoomSecretSize> secret_bytes{};
  secret_bytes.fill(fill);
  Ed25519PublicKey host_key{};
  host_key.fill(0x42);
  return RoomKeys(RoomSecret(std::span<const uint8_t, kRoomSecretSize>(secret_bytes)),
                  LinkRole::kViewer, host_key);
}

JoinId route_test_join(uint8_t fill) {
  JoinId id{};
  id.fill(fill);
  return id;
}

TEST(RouteSeal, TheHostAndTheRelayOfOneJoinOpenEachOthersSeals) {
  const RoomKeys room = route_test_room(1);
  RouteChannel host = RouteChannel::for_host(room, route_test_join(9));
  RouteChannel relay = RouteChannel::for_relay(room, route_test_join(9));
  const Bytes intro = encode_frame(RelayIntroFrame{7, "v=0"}).value();
  for (int i = 0; i < 3; ++i) {
    auto down = host.sealer.seal(intro);
    ASSERT_TRUE(down.has_value());
    EXPECT_EQ(down->size(), intro.size() + kRouteSealOverhead);
    EXPECT_EQ(relay.opener.open(*down).value(), intro);
    auto up = relay.sealer.seal(encode_frame(RelayOfferFrame{3}).value());
    EXPECT_EQ(decode_frame(host.opener.open(up.value()).value()).value(),
              Frame(RelayOfferFrame{3}));
  }
  // A direction's seal never opens in the other direction (its own sender's opener).
  auto down = host.sealer.seal(intro).value();
  EXPECT_EQ(host.opener.open(down).error(), EnvelopeError::kOpenFailed);
}

TEST(RouteSeal, AParentCannotReadAlterReplayOrReorderWhatItPasses) {
  const RoomKeys room = route_test_room(1);
  RouteChannel host = RouteChannel::for_host(room, route_test_join(9));
  const Bytes plain = {1, 2, 3, 4};
  const Bytes first = host.sealer.seal(plain).value();
  const Bytes second = host.sealer.seal(plain).value();
  EXPECT_NE(first, second);  // a fresh counter each time: nothing repeats on the wire
  // Another join of the same room (what a parent holding the room secret could derive without
  // the join id) opens nothing, nor does the right join in another room.
  EXPECT_EQ(RouteChannel::for_relay(room, route_test_join(8)).opener.open(first).error(),
            EnvelopeError::kOpenFailed);
  EXPECT_EQ(
      RouteChannel::for_relay(route_test_room(2), route_test_join(9)).opener.open(first).error(),
      EnvelopeError::kOpenFailed);
  RouteChannel relay = RouteChannel::for_relay(room, route_test_join(9));
  for (size_t i = 0; i < first.size(); ++i) {
    Bytes altered = first;
    altered[i] ^= 0x01;
    EXPECT_FALSE(relay.opener.open(altered).has_value()) << i;
  }
  // Forgeries burn no counter: the genuine seal still opens, then neither it nor an older one.
  EXPECT_EQ(relay.opener.open(second).value(), plain);
  EXPECT_EQ(relay.opener.open(second).error(), EnvelopeError::kReplayed);
  EXPECT_EQ(relay.opener.open(first).error(), EnvelopeError::kReplayed);
  EXPECT_EQ(relay.opener.open(Bytes(kRouteSealOverhead - 1, 0)).error(), EnvelopeError::kTooShort);
  EXPECT_EQ(relay.opener.open(Bytes(kMaxRouteSealBytes + 1, 0)).error(), EnvelopeError::kTooLarge);
  EXPECT_EQ(host.sealer.seal(Bytes(kMaxRoutePlaintext + 1, 0)).error(), EnvelopeError::kTooLarge);
  // The largest plaintext fits a relay_route frame whatever the child token.
  const Bytes largest = host.sealer.seal(Bytes(kMaxRoutePlaintext, 0)).value();
  EXPECT_TRUE(
      encode_frame(RelayRouteFrame{std::numeric_limits<uint64_t>::max(), largest}).has_value());
}

}  // namespace
}  // namespace tokencast
