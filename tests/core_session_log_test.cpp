// SessionLog: sequencing, the turn rules, value checks, access by range, and rebuilding from
// stored events.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tokencast/core/session_log.hpp"

namespace tokencast {
namespace {

TurnStarted started(TurnId turn, TurnRole role = TurnRole::kAssistant) {
  return TurnStarted{turn, role, "model", 1700000000000};
}
TurnEnded ended(TurnId turn, TurnEnd end = TurnEnd::kDone) {
  return TurnEnded{turn, end, "", 3, 1700000000500};
}

void append_ok(SessionLog& log, EventBody body) {
  auto seq = log.append(std::move(body));
  ASSERT_TRUE(seq.has_value()) << seq.error().message();
}

std::error_code append_error(SessionLog& log, EventBody body) {
  const Seq head = log.head();
  auto seq = log.append(std::move(body));
  EXPECT_FALSE(seq.has_value());
  EXPECT_EQ(log.head(), head) << "a rejected event must not be appended";
  return seq.has_value() ? std::error_code{} : seq.error();
}

TEST(SessionLog, AppendAssignsConsecutiveSequencesFromOne) {
  SessionLog log;
  EXPECT_EQ(log.head(), 0u);
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(*log.append(SessionMeta{"title", "model"}), 1u);
  EXPECT_EQ(*log.append(started(1)), 2u);
  EXPECT_EQ(*log.append(TextDelta{1, "Hel"}), 3u);
  EXPECT_EQ(*log.append(TextDelta{1, "lo"}), 4u);
  EXPECT_EQ(*log.append(ended(1)), 5u);
  EXPECT_EQ(log.head(), 5u);
  for (Seq s = 1; s <= 5; ++s) {
    EXPECT_EQ(log.at(s).seq, s);
    EXPECT_EQ(log.at(s).span, 1u);
  }
  EXPECT_EQ(log.at(3).body, EventBody(TextDelta{1, "Hel"}));
}

TEST(SessionLog, TracksTheOpenTurnAndTheLastTurnId) {
  SessionLog log;
  EXPECT_FALSE(log.open_turn().has_value());
  append_ok(log, started(4));
  EXPECT_EQ(log.open_turn(), TurnId{4});
  EXPECT_EQ(log.last_turn(), 4u);
  append_ok(log, ended(4, TurnEnd::kCancelled));
  EXPECT_FALSE(log.open_turn().has_value());
  EXPECT_EQ(log.last_turn(), 4u);
}

TEST(SessionLog, RejectsASecondOpenTurn) {
  SessionLog log;
  append_ok(log, started(1));
  EXPECT_EQ(append_error(log, started(2)), LogError::kTurnAlreadyOpen);
}

TEST(SessionLog, RejectsDeltaOrEndWithoutOpenTurn) {
  SessionLog log;
  EXPECT_EQ(append_error(log, TextDelta{1, "x"}), LogError::kNoOpenTurn);
  EXPECT_EQ(append_error(log, ended(1)), LogError::kNoOpenTurn);
  append_ok(log, started(1));
  append_ok(log, ended(1));
  EXPECT_EQ(append_error(log, TextDelta{1, "late"}), LogError::kNoOpenTurn);
}

TEST(SessionLog, RejectsDeltaOrEndForAnotherTurn) {
  SessionLog log;
  append_ok(log, started(2));
  EXPECT_EQ(append_error(log, TextDelta{1, "x"}), LogError::kTurnMismatch);
  EXPECT_EQ(append_error(log, ended(3)), LogError::kTurnMismatch);
}

TEST(SessionLog, TurnIdsMustIncrease) {
  SessionLog log;
  EXPECT_EQ(append_error(log, started(0)), LogError::kStaleTurnId) << "0 means no turn";
  append_ok(log, started(5));
  append_ok(log, ended(5));
  EXPECT_EQ(append_error(log, started(5)), LogError::kStaleTurnId);
  EXPECT_EQ(append_error(log, started(4)), LogError::kStaleTurnId);
  append_ok(log, started(6));
}

TEST(SessionLog, PeerAndSessionEventsMayComeDuringATurn) {
  SessionLog log;
  append_ok(log, started(1));
  append_ok(log, PeerJoined{7, PeerRole::kViewer, "bob"});
  append_ok(log, TextDelta{1, "a"});
  append_ok(log, PeerLeft{7});
  append_ok(log, SessionMeta{"t", "m"});
  append_ok(log, ended(1));
  EXPECT_EQ(log.head(), 6u);
}

TEST(SessionLog, BoundsDeltaSize) {
  SessionLog log;
  append_ok(log, started(1));
  append_ok(log, TextDelta{1, std::string(kMaxDeltaBytes, 'a')});
  EXPECT_EQ(append_error(log, TextDelta{1, std::string(kMaxDeltaBytes + 1, 'a')}),
            LogError::kDeltaTooLarge);
}

TEST(SessionLog, DeltaBytesMaySplitACharacter) {
  SessionLog log;
  append_ok(log, started(1));
  append_ok(log, TextDelta{1, "\xE2\x82"});  // first two bytes of U+20AC
  append_ok(log, TextDelta{1, "\xAC"});
}

TEST(SessionLog, ChecksLabels) {
  SessionLog log;
  const std::string longest(kMaxLabelBytes, 'n');
  append_ok(log, PeerJoined{1, PeerRole::kViewer, longest});
  EXPECT_EQ(append_error(log, PeerJoined{1, PeerRole::kViewer, longest + "n"}),
            LogError::kStringTooLong);
  EXPECT_EQ(append_error(log, SessionMeta{"ok", "\xC0\xAF"}), LogError::kInvalidUtf8);
  EXPECT_EQ(append_error(log, TurnStarted{1, TurnRole::kUser, "\xFF", 0}), LogError::kInvalidUtf8);
  append_ok(log, started(1));
  EXPECT_EQ(append_error(log, TurnEnded{1, TurnEnd::kError, std::string(1025, 'r'), 0, 0}),
            LogError::kStringTooLong);
}

TEST(SessionLog, ChecksEnums) {
  SessionLog log;
  EXPECT_EQ(append_error(log, TurnStarted{1, static_cast<TurnRole>(3), "a", 0}),
            LogError::kBadEnum);
  EXPECT_EQ(append_error(log, PeerJoined{1, static_cast<PeerRole>(9), "a"}), LogError::kBadEnum);
  append_ok(log, started(1));
  EXPECT_EQ(append_error(log, TurnEnded{1, static_cast<TurnEnd>(3), "", 0, 0}), LogError::kBadEnum);
}

TEST(SessionLog, RangeIsInclusiveAndClamped) {
  SessionLog log;
  for (int i = 0; i < 5; ++i) append_ok(log, PeerLeft{static_cast<PeerId>(i)});
  auto r = log.range(2, 4);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r.front().seq, 2u);
  EXPECT_EQ(r.back().seq, 4u);
  EXPECT_EQ(log.range(0, 100).size(), 5u);
  EXPECT_TRUE(log.range(4, 3).empty());
  EXPECT_TRUE(log.range(6, 9).empty());
  EXPECT_EQ(log.after(0).size(), 5u);
  EXPECT_EQ(log.after(3).front().seq, 4u);
  EXPECT_TRUE(log.after(5).empty());
}

TEST(SessionLog, PositionAtKnowsTheOpenTurn) {
  SessionLog log;
  append_ok(log, SessionMeta{"t", "m"});  // 1
  append_ok(log, started(1));             // 2
  append_ok(log, TextDelta{1, "a"});      // 3
  append_ok(log, PeerLeft{1});            // 4
  append_ok(log, ended(1));               // 5
  append_ok(log, PeerLeft{2});            // 6
  append_ok(log, started(2));             // 7
  EXPECT_EQ(log.position_at(0), (StreamPosition{0, std::nullopt}));
  EXPECT_EQ(log.position_at(1), (StreamPosition{1, std::nullopt}));
  EXPECT_EQ(log.position_at(2), (StreamPosition{2, TurnId{1}}));
  EXPECT_EQ(log.position_at(4), (StreamPosition{4, TurnId{1}}));
  EXPECT_EQ(log.position_at(5), (StreamPosition{5, std::nullopt}));
  EXPECT_EQ(log.position_at(6), (StreamPosition{6, std::nullopt}));
  EXPECT_EQ(log.position_at(7), (StreamPosition{7, TurnId{2}}));
}

std::vector<Event> stored_session() {
  return {
      Event{1, SessionMeta{"t", "m"}},
      Event{2, started(1)},
      Event{3, TextDelta{1, "hi"}},
      Event{4, ended(1)},
      Event{5, started(2)},
      Event{6, TextDelta{2, "half an ans"}},
  };
}

TEST(SessionLog, FromEventsRebuildsTheLogAndItsState) {
  auto log = SessionLog::from_events(stored_session());
  ASSERT_TRUE(log.has_value()) << log.error().message();
  EXPECT_EQ(log->head(), 6u);
  EXPECT_EQ(log->open_turn(), TurnId{2});
  EXPECT_EQ(log->last_turn(), 2u);
  EXPECT_EQ(log->at(6).body, EventBody(TextDelta{2, "half an ans"}));
  // The host ends the turn that was open when it stopped, then goes on.
  EXPECT_EQ(*log->append(TurnEnded{2, TurnEnd::kError, "host restarted", 1, 0}), 7u);
  EXPECT_EQ(log->append(started(2)).error(), LogError::kStaleTurnId);
}

TEST(SessionLog, FromEventsAcceptsNothing) {
  auto log = SessionLog::from_events({});
  ASSERT_TRUE(log.has_value());
  EXPECT_EQ(log->head(), 0u);
}

TEST(SessionLog, FromEventsRejectsGaps) {
  auto events = stored_session();
  events.erase(events.begin() + 2);
  EXPECT_EQ(SessionLog::from_events(events).error(), LogError::kSequenceGap);
  events = stored_session();
  for (Event& e : events) e.seq -= 1;  // starts at 0
  EXPECT_EQ(SessionLog::from_events(events).error(), LogError::kSequenceGap);
  events = stored_session();
  events[3].seq = 3;  // duplicate
  EXPECT_EQ(SessionLog::from_events(events).error(), LogError::kSequenceGap);
}

TEST(SessionLog, FromEventsRejectsSpans) {
  auto events = stored_session();
  events[2].span = 2;
  EXPECT_EQ(SessionLog::from_events(events).error(), LogError::kBadSpan);
}

TEST(SessionLog, FromEventsAppliesTheTurnAndValueRules) {
  auto events = stored_session();
  events[2].body = TextDelta{9, "x"};
  EXPECT_EQ(SessionLog::from_events(events).error(), LogError::kTurnMismatch);
  events = stored_session();
  events[4].body = started(1);
  EXPECT_EQ(SessionLog::from_events(events).error(), LogError::kStaleTurnId);
  events = stored_session();
  events[0].body = SessionMeta{"\xED\xA0\x80", ""};  // a UTF-16 surrogate
  EXPECT_EQ(SessionLog::from_events(events).error(), LogError::kInvalidUtf8);
}

TEST(SessionLog, ErrorCodesHaveACategoryAndMessages) {
  std::error_code ec = LogError::kTurnAlreadyOpen;
  EXPECT_EQ(ec.category().name(), std::string("tokencast.log"));
  EXPECT_EQ(ec.message(), "a turn is already open");
  EXPECT_NE(std::error_code(LogError::kNoOpenTurn), std::error_code(FrameError::kNoOpenTurn));
}

}  // namespace
}  // namespace tokencast
