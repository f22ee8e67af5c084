// The host's bounded, fair envelope queue (issue 14, finding 2).
#include <gtest/gtest.h>

#include "tokencast/core/envelope_inbox.hpp"

namespace tokencast {
namespace {

TEST(EnvelopeInbox, OneSendersFloodIsBoundedAndDoesNotStarveOthers) {
  EnvelopeInboxOptions o;
  o.max_per_sender = 4;
  o.max_envelopes = 100;
  EnvelopeInbox inbox(o);
  const JoinSender flood{0, 1};
  const JoinSender polite{0, 2};
  int queued = 0;
  for (int i = 0; i < 1000; ++i) queued += inbox.push(flood, {1, 2, 3}) ? 1 : 0;
  EXPECT_EQ(queued, 4);
  EXPECT_EQ(inbox.dropped(), 996u);
  ASSERT_TRUE(inbox.push(polite, {9}));
  // The polite sender's envelope comes out second, not after the whole flood.
  EXPECT_EQ(inbox.pop()->sender, flood);
  auto second = inbox.pop();
  EXPECT_EQ(second->sender, polite);
  EXPECT_EQ(second->bytes, std::vector<uint8_t>{9});
  size_t rest = 0;
  while (inbox.pop()) ++rest;
  EXPECT_EQ(rest, 3u);
  EXPECT_EQ(inbox.size(), 0u);
  EXPECT_EQ(inbox.bytes(), 0u);
}

TEST(EnvelopeInbox, TotalsAreBoundedAcrossSenders) {
  EnvelopeInboxOptions o;
  o.max_per_sender = 4;
  o.max_envelopes = 3;
  o.max_bytes = 10;
  EnvelopeInbox inbox(o);
  EXPECT_TRUE(inbox.push({0, 1}, std::vector<uint8_t>(4)));
  EXPECT_TRUE(inbox.push({0, 2}, std::vector<uint8_t>(4)));
  EXPECT_FALSE(inbox.push({0, 3}, std::vector<uint8_t>(4)));  // over max_bytes
  EXPECT_TRUE(inbox.push({1, 3}, std::vector<uint8_t>(2)));
  EXPECT_FALSE(inbox.push({1, 4}, std::vector<uint8_t>(1)));  // over max_envelopes
  EXPECT_EQ(inbox.dropped(), 2u);
  EXPECT_EQ(inbox.size(), 3u);
  EXPECT_EQ(inbox.bytes(), 10u);
}

}  // namespace
}  // namespace tokencast
