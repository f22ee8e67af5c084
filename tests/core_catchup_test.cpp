// Catch-up planner: decoding the plan from any last sequence gives the log's text per turn and
// its other events exactly; deltas are merged as far as frames allow; a 100,000-token session
// catches up in at most 1.05x its text bytes.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "log/catchup_batch.hpp"
#include "tokencast/core/catchup.hpp"
#include "tokencast/core/frame.hpp"
#include "tokencast/core/session_log.hpp"

namespace tokencast {
namespace {

// What a client ends up with: the text of each turn (bytes received after its start point) and
// every other event with its sequence.
struct Received {
  std::map<TurnId, std::string> text;
  std::vector<Event> others;
  size_t delta_events = 0;
  StreamPosition end;
};

Received decode_all(const std::vector<PlannedFrame>& frames, StreamPosition start) {
  Received got;
  FrameDecoder decoder(start);
  Seq expected_first = start.last_seq + 1;
  for (const PlannedFrame& frame : frames) {
    EXPECT_LE(frame.bytes.size(), kMaxFrameBytes);
    EXPECT_EQ(frame.first_seq, expected_first);
    auto decoded = decoder.decode(frame.bytes);
    if (!decoded.has_value()) {
      ADD_FAILURE() << "frame " << frame.first_seq << ": " << decoded.error().message();
      break;
    }
    for (const Event& event : std::get<EventsFrame>(*decoded).events) {
      if (const auto* delta = std::get_if<TextDelta>(&event.body)) {
        got.text[delta->turn] += delta->bytes;
        ++got.delta_events;
      } else {
        got.others.push_back(event);
      }
    }
    EXPECT_EQ(decoder.position().last_seq, frame.last_seq);
    expected_first = frame.last_seq + 1;
  }
  got.end = decoder.position();
  return got;
}

Received expected_after(const SessionLog& log, Seq last_seq) {
  Received want;
  bool previous_was_delta = false;
  for (const Event& event : log.after(last_seq)) {
    if (const auto* delta = std::get_if<TextDelta>(&event.body)) {
      want.text[delta->turn] += delta->bytes;
      if (!previous_was_delta) ++want.delta_events;  // one per run of consecutive deltas
      previous_was_delta = true;
    } else {
      want.others.push_back(event);
      previous_was_delta = false;
    }
  }
  want.end = log.position_at(log.head());
  return want;
}

std::vector<PlannedFrame> plan(const SessionLog& log, Seq last_seq) {
  auto frames = plan_catchup(log, last_seq);
  EXPECT_TRUE(frames.has_value()) << frames.error().message();
  return frames.has_value() ? std::move(*frames) : std::vector<PlannedFrame>{};
}

void append(SessionLog& log, EventBody body) {
  auto seq = log.append(std::move(body));
  ASSERT_TRUE(seq.has_value()) << seq.error().message();
}

// Tokens as an LLM streams them: words, spaces, punctuation, multi-byte characters, some split
// across two deltas.
class TokenSource {
 public:
  explicit TokenSource(uint32_t seed) : rng_(seed) {}
  std::vector<std::string> next_tokens() {
    static const std::vector<std::string> words = {" the",
                                                   " of",
                                                   " tokens",
                                                   " stream",
                                                   ",",
                                                   ".",
                                                   " caf\xC3\xA9",
                                                   " \xE2\x82\xAC"
                                                   "5",
                                                   " na\xC3\xAFve",
                                                   "\n",
                                                   " \xF0\x9F\x98\x80",
                                                   " protocol",
                                                   " a",
                                                   " 42",
                                                   " data"};
    const std::string& word = words[rng_() % words.size()];
    // Split a multi-byte word inside a character now and then.
    if (word.size() > 3 && static_cast<unsigned char>(word[2]) >= 0x80 && rng_() % 3 == 0) {
      return {word.substr(0, 3), word.substr(3)};
    }
    return {word};
  }
  uint32_t below(uint32_t n) { return rng_() % n; }

 private:
  std::mt19937 rng_;
};

// A session with every kind of event: metadata, joins and leaves (also inside turns), prompts,
// answers, a cancelled and a failed turn, and an answer still streaming at the head.
SessionLog small_session() {
  SessionLog log;
  TokenSource tokens(7);
  append(log, SessionMeta{"demo", "model-x"});
  append(log, PeerJoined{1, PeerRole::kParticipant, "alice"});
  TurnId turn = 0;
  for (int t = 0; t < 6; ++t) {
    append(log, TurnStarted{++turn, TurnRole::kUser, "alice", 1000 + t});
    append(log, TextDelta{turn, "question " + std::to_string(t) + "?"});
    append(log, TurnEnded{turn, TurnEnd::kDone, "", 1, 1001 + t});
    append(log, TurnStarted{++turn, TurnRole::kAssistant, "model-x", 1002 + t});
    const int n = 3 + static_cast<int>(tokens.below(12));
    for (int i = 0; i < n; ++i) {
      for (auto& piece : tokens.next_tokens()) append(log, TextDelta{turn, piece});
      if (i == 2 && t % 2 == 1) append(log, PeerJoined{10u + t, PeerRole::kViewer, "v"});
      if (i == 4 && t % 3 == 2) append(log, PeerLeft{10u + t - 1});
    }
    if (t == 5) break;  // the last answer is still streaming
    const TurnEnd end = t == 2 ? TurnEnd::kCancelled : t == 3 ? TurnEnd::kError : TurnEnd::kDone;
    append(log, TurnEnded{turn, end, end == TurnEnd::kDone ? "" : "stopped", 9, 2000 + t});
  }
  return log;
}

TEST(Catchup, FromEveryLastSequenceTheClientGetsExactlyTheLog) {
  const SessionLog log = small_session();
  ASSERT_GT(log.head(), 80u);
  ASSERT_TRUE(log.open_turn().has_value());
  for (Seq last = 0; last <= log.head(); ++last) {
    SCOPED_TRACE("last_seq " + std::to_string(last));
    const auto frames = plan(log, last);
    const Received got = decode_all(frames, log.position_at(last));
    const Received want = expected_after(log, last);
    EXPECT_EQ(got.text, want.text);
    EXPECT_EQ(got.others, want.others);
    EXPECT_EQ(got.end, want.end);
    EXPECT_EQ(got.delta_events, want.delta_events) << "each run of deltas merged into one";
    if (last == log.head()) {
      EXPECT_TRUE(frames.empty());
    } else {
      EXPECT_EQ(frames.size(), 1u) << "a small log fits one frame";
    }
  }
}

TEST(Catchup, MergedTextReassemblesCharactersSplitAcrossDeltas) {
  SessionLog log;
  append(log, TurnStarted{1, TurnRole::kAssistant, "m", 0});
  append(log, TextDelta{1, "\xE2"});
  append(log, TextDelta{1, "\x82"});
  append(log, TextDelta{1, "\xAC!"});
  append(log, TurnEnded{1, TurnEnd::kDone, "", 3, 0});
  const auto frames = plan(log, 0);
  ASSERT_EQ(frames.size(), 1u);
  FrameDecoder decoder;
  auto decoded = decoder.decode(frames[0].bytes);
  ASSERT_TRUE(decoded.has_value());
  const auto& events = std::get<EventsFrame>(*decoded).events;
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1], (Event{2, TextDelta{1, "\xE2\x82\xAC!"}, 3}));
  EXPECT_EQ(events[2].seq, 5u);
}

// A reasoning turn: its thinking merges into one thinking_delta, its text into one text_delta,
// never one into the other. A peer older than version 3 gets the thinking's sequences as an
// empty text delta that merges with the text, so its position stays exact.
TEST(Catchup, ThinkingMergesApartFromTextAndOlderPeersGetItEmpty) {
  SessionLog log;
  append(log, TurnStarted{1, TurnRole::kAssistant, "r1", 0});
  append(log, ThinkingDelta{1, "Let "});
  append(log, ThinkingDelta{1, "me see"});
  append(log, TextDelta{1, "Four"});
  append(log, TextDelta{1, "."});
  append(log, TurnEnded{1, TurnEnd::kDone, "", 4, 0});

  auto planned = plan_catchup(log, 0);
  ASSERT_TRUE(planned.has_value());
  ASSERT_EQ(planned->size(), 1u);
  FrameDecoder decoder;
  auto decoded = decoder.decode((*planned)[0].bytes);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message();
  const auto& events = std::get<EventsFrame>(*decoded).events;
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[1], (Event{2, ThinkingDelta{1, "Let me see"}, 2}));
  EXPECT_EQ(events[2], (Event{4, TextDelta{1, "Four."}, 2}));
  EXPECT_EQ(decoder.position(), log.position_at(log.head()));

  auto old_peer = plan_catchup(log, 0, /*thinking=*/false);
  ASSERT_TRUE(old_peer.has_value());
  ASSERT_EQ(old_peer->size(), 1u);
  FrameDecoder old_decoder;
  auto old_decoded = old_decoder.decode((*old_peer)[0].bytes);
  ASSERT_TRUE(old_decoded.has_value()) << old_decoded.error().message();
  const auto& old_events = std::get<EventsFrame>(*old_decoded).events;
  ASSERT_EQ(old_events.size(), 3u);
  EXPECT_EQ(old_events[1], (Event{2, TextDelta{1, "Four."}, 4}));
  EXPECT_EQ(old_decoder.position(), log.position_at(log.head()));
  for (const auto& frame : *old_peer) {
    for (uint8_t b : frame.bytes) EXPECT_NE(b, static_cast<uint8_t>(EventType::kThinkingDelta));
  }
}

TEST(Catchup, LongTurnsSplitOnlyAtTheFrameLimitAndBetweenDeltas) {
  SessionLog log;
  append(log, TurnStarted{1, TurnRole::kAssistant, "m", 0});
  const std::string piece = "seven b";
  const int deltas = 10000;
  for (int i = 0; i < deltas; ++i) append(log, TextDelta{1, piece});
  append(log, TurnEnded{1, TurnEnd::kDone, "", deltas, 0});

  const auto frames = plan(log, 0);
  ASSERT_GE(frames.size(), 5u);
  Seq span_total = 0;
  for (size_t i = 0; i < frames.size(); ++i) {
    if (i + 1 < frames.size()) {
      // Full up to less than one more delta.
      EXPECT_GT(frames[i].bytes.size() + piece.size() + 4, kMaxFrameBytes) << i;
    }
    FrameDecoder decoder(log.position_at(frames[i].first_seq - 1));
    auto decoded = decoder.decode(frames[i].bytes);
    ASSERT_TRUE(decoded.has_value());
    for (const Event& e : std::get<EventsFrame>(*decoded).events) {
      if (const auto* d = std::get_if<TextDelta>(&e.body)) {
        span_total += e.span;
        EXPECT_EQ(d->bytes.size(), e.span * piece.size()) << "split only between deltas";
      }
    }
  }
  EXPECT_EQ(span_total, static_cast<Seq>(deltas));
  const Received got = decode_all(frames, {});
  EXPECT_EQ(got.text.at(1).size(), piece.size() * deltas);
  EXPECT_EQ(got.delta_events, frames.size()) << "one merged delta per frame";
}

TEST(Catchup, LargestDeltasStillFit) {
  SessionLog log;
  append(log, TurnStarted{~TurnId{0} - 1, TurnRole::kAssistant, std::string(kMaxLabelBytes, 'a'),
                          std::numeric_limits<int64_t>::min()});
  for (int i = 0; i < 3; ++i)
    append(log, TextDelta{~TurnId{0} - 1, std::string(kMaxDeltaBytes, 'x')});
  const auto frames = plan(log, 0);
  ASSERT_EQ(frames.size(), 4u);
  const Received got = decode_all(frames, {});
  EXPECT_EQ(got.text.begin()->second.size(), 3 * kMaxDeltaBytes);
}

TEST(Catchup, PlannerIsIncrementalAndFollowsTheLog) {
  SessionLog log;
  append(log, TurnStarted{1, TurnRole::kAssistant, "m", 0});
  append(log, TextDelta{1, "a"});
  auto planner = CatchupPlanner::create(log, 0);
  ASSERT_TRUE(planner.has_value());
  EXPECT_FALSE(planner->level());
  auto first = planner->next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->first_seq, 1u);
  EXPECT_EQ(first->last_seq, 2u);
  EXPECT_TRUE(planner->level());
  EXPECT_FALSE(planner->next().has_value());

  append(log, TextDelta{1, "b"});
  append(log, TextDelta{1, "c"});
  EXPECT_FALSE(planner->level());
  auto second = planner->next();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->first_seq, 3u);
  EXPECT_EQ(second->last_seq, 4u);
  FrameDecoder decoder({2, TurnId{1}});
  auto decoded = decoder.decode(second->bytes);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, Frame(EventsFrame{{Event{3, TextDelta{1, "bc"}, 2}}}));
}

TEST(EventBatchBuilder, MergesSpannedDeltasAndStopsAtTheFrameLimit) {
  codec::EventBatchBuilder batch;
  EXPECT_TRUE(batch.empty());
  ASSERT_TRUE(batch.try_add(Event{10, TextDelta{2, "abc"}, 3}));
  ASSERT_TRUE(batch.try_add(Event{13, TextDelta{2, "de"}, 4}));
  ASSERT_TRUE(batch.try_add(Event{17, PeerLeft{1}}));
  ASSERT_TRUE(batch.try_add(Event{18, TextDelta{2, "f"}}));
  EXPECT_EQ(batch.first_seq(), 10u);
  EXPECT_EQ(batch.last_seq(), 18u);
  const size_t size = batch.frame_size();
  const FrameBytes bytes = batch.finish();
  EXPECT_EQ(bytes.size(), size);
  EXPECT_TRUE(batch.empty());
  auto decoded = decode_frame(bytes);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, Frame(EventsFrame{{Event{10, TextDelta{2, "abcde"}, 7},
                                         Event{17, PeerLeft{1}}, Event{18, TextDelta{2, "f"}}}}));

  // Filled to the byte: the frame takes text until exactly kMaxFrameBytes, then refuses.
  ASSERT_TRUE(batch.try_add(Event{1, TextDelta{1, std::string(16000, 'a')}}));
  const size_t room = kMaxFrameBytes - batch.frame_size();
  EXPECT_FALSE(batch.try_add(Event{2, TextDelta{1, std::string(room + 1, 'b')}}));
  ASSERT_TRUE(batch.try_add(Event{2, TextDelta{1, std::string(room, 'b')}}));
  EXPECT_EQ(batch.frame_size(), kMaxFrameBytes);
  EXPECT_FALSE(batch.try_add(Event{3, PeerLeft{1}}));
  EXPECT_EQ(batch.finish().size(), kMaxFrameBytes);
}

TEST(EventBatchBuilder, CountsTheEventCountVarintInTheLimit) {
  // 127 events, then the 128th makes the count varint 2 bytes: the builder must charge it.
  auto fill = [](codec::EventBatchBuilder& batch, size_t text) {
    EXPECT_TRUE(batch.try_add(Event{1, TextDelta{1, std::string(text, 't')}}));
    for (Seq s = 2; s <= 127; ++s) EXPECT_TRUE(batch.try_add(Event{s, PeerLeft{1}}));
  };
  codec::EventBatchBuilder probe;
  fill(probe, 15000);
  const size_t room = kMaxFrameBytes - probe.frame_size();
  codec::EventBatchBuilder batch;
  fill(batch, 15000 + room - 2);  // exactly a 2-byte PeerLeft of room left
  EXPECT_EQ(batch.frame_size(), kMaxFrameBytes - 2);
  EXPECT_FALSE(batch.try_add(Event{128, PeerLeft{1}})) << "the count grows to 2 bytes too";
  const FrameBytes bytes = batch.finish();
  EXPECT_EQ(bytes.size(), kMaxFrameBytes - 2);
  EXPECT_TRUE(decode_frame(bytes).has_value());
}

TEST(Catchup, RefusesAPeerAheadOfTheLog) {
  SessionLog log;
  append(log, PeerLeft{1});
  EXPECT_EQ(plan_catchup(log, 2).error(), LogError::kBeyondHead);
  EXPECT_EQ(CatchupPlanner::create(log, 5).error(), LogError::kBeyondHead);
  EXPECT_TRUE(plan(log, 1).empty());
}

// A long chat: prompts of 20-200 bytes, answers of 200-1500 tokens, peers coming and going.
SessionLog long_session(uint64_t total_tokens, size_t& text_bytes) {
  SessionLog log;
  TokenSource tokens(2024);
  text_bytes = 0;
  uint64_t produced = 0;
  TurnId turn = 0;
  append(log, SessionMeta{"long session", "model-x"});
  while (produced < total_tokens) {
    append(log, TurnStarted{++turn, TurnRole::kUser, "participant",
                            1700000000000 + static_cast<int64_t>(turn)});
    const std::string prompt(20 + tokens.below(180), 'q');
    append(log, TextDelta{turn, prompt});
    text_bytes += prompt.size();
    append(log, TurnEnded{turn, TurnEnd::kDone, "", 1, 1700000000001 + static_cast<int64_t>(turn)});
    if (turn % 7 == 0) append(log, PeerJoined{turn, PeerRole::kViewer, "viewer"});
    append(log, TurnStarted{++turn, TurnRole::kAssistant, "model-x",
                            1700000000002 + static_cast<int64_t>(turn)});
    const uint64_t n = 200 + tokens.below(1300);
    for (uint64_t i = 0; i < n && produced < total_tokens; ++i, ++produced) {
      for (auto& piece : tokens.next_tokens()) {
        text_bytes += piece.size();
        append(log, TextDelta{turn, piece});
      }
    }
    append(log, TurnEnded{turn, TurnEnd::kDone, "", n, 1700000000003 + static_cast<int64_t>(turn)});
  }
  return log;
}

TEST(Catchup, HundredThousandTokensCostAtMost105PercentOfTheText) {
  size_t text_bytes = 0;
  const SessionLog log = long_session(100000, text_bytes);

  const auto started = std::chrono::steady_clock::now();
  const auto frames = plan(log, 0);
  const auto elapsed = std::chrono::steady_clock::now() - started;

  size_t wire_bytes = 0;
  for (size_t i = 0; i < frames.size(); ++i) {
    wire_bytes += frames[i].bytes.size();
    // Frames are filled: only the last may be short by more than one prompt.
    if (i + 1 < frames.size()) {
      EXPECT_GT(frames[i].bytes.size(), kMaxFrameBytes - 256) << i;
    }
  }
  const double ratio = static_cast<double>(wire_bytes) / static_cast<double>(text_bytes);
  std::printf(
      "catch-up of %llu events (100000 tokens): %zu text bytes, %zu frame bytes in %zu "
      "frames, ratio %.4f, planned in %.1f ms\n",
      static_cast<unsigned long long>(log.head()), text_bytes, wire_bytes, frames.size(), ratio,
      std::chrono::duration<double, std::milli>(elapsed).count());
  EXPECT_LE(ratio, 1.05);

  const Received got = decode_all(frames, {});
  const Received want = expected_after(log, 0);
  EXPECT_EQ(got.text, want.text);
  EXPECT_EQ(got.others, want.others);
  EXPECT_EQ(got.end, want.end);

  // Resuming from inside a finished turn deep into the session.
  Seq middle = log.head() / 2;
  while (!std::holds_alternative<TextDelta>(log.at(middle).body)) ++middle;
  const Received resumed = decode_all(plan(log, middle), log.position_at(middle));
  const Received want_resumed = expected_after(log, middle);
  EXPECT_EQ(resumed.text, want_resumed.text);
  EXPECT_EQ(resumed.others, want_resumed.others);
}

}  // namespace
}  // namespace tokencast
