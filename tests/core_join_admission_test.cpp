// The host's join admission (issue 14, finding 1): a holder of the public viewer link must not
// be able to lock anyone out by sealing authentic offers.
#include <gtest/gtest.h>

#include "tokencast/core/join_admission.hpp"

namespace tokencast {
namespace {

using Verdict = JoinAdmission::Verdict;

JoinSender viewer_sender(uint64_t peer) { return JoinSender{0, peer}; }
JoinSender participant_sender(uint64_t peer) { return JoinSender{1, peer}; }

TEST(JoinAdmission, OneSendersFloodHoldsOnePendingSlot) {
  JoinAdmission admission;
  uint64_t id = 1;
  EXPECT_EQ(admission.offer(id++, PeerRole::kViewer, viewer_sender(7), 0).verdict, Verdict::kAdmit);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(admission.offer(id++, PeerRole::kViewer, viewer_sender(7), i).verdict,
              Verdict::kSenderBusy);
  }
  EXPECT_TRUE(admission.sender_busy(viewer_sender(7)));
  EXPECT_EQ(admission.pending(PeerRole::kViewer), 1u);
  // A newcomer is not affected.
  EXPECT_EQ(admission.offer(id++, PeerRole::kViewer, viewer_sender(8), 1000).verdict,
            Verdict::kAdmit);
}

TEST(JoinAdmission, OpenedJoinFreesItsSendersPendingSlot) {
  JoinAdmission admission;
  ASSERT_EQ(admission.offer(1, PeerRole::kViewer, viewer_sender(7), 0).verdict, Verdict::kAdmit);
  admission.opened(1);
  EXPECT_FALSE(admission.sender_busy(viewer_sender(7)));
  EXPECT_EQ(admission.pending(PeerRole::kViewer), 0u);
  EXPECT_EQ(admission.open(PeerRole::kViewer), 1u);
  EXPECT_EQ(admission.offer(2, PeerRole::kViewer, viewer_sender(7), 1).verdict, Verdict::kAdmit);
  admission.closed(1);
  EXPECT_EQ(admission.open(PeerRole::kViewer), 0u);
}

TEST(JoinAdmission, ViewersCannotTakeTheParticipantsReserve) {
  JoinAdmissionOptions o;
  o.max_peers = 10;
  o.participant_reserve = 2;
  JoinAdmission admission(o);
  uint64_t id = 1;
  for (; id <= 8; ++id) {
    ASSERT_EQ(admission.offer(id, PeerRole::kViewer, viewer_sender(id), 0).verdict,
              Verdict::kAdmit);
    admission.opened(id);
  }
  EXPECT_EQ(admission.offer(id++, PeerRole::kViewer, viewer_sender(100), 0).verdict,
            Verdict::kFull);
  EXPECT_EQ(admission.offer(id++, PeerRole::kParticipant, participant_sender(1), 0).verdict,
            Verdict::kAdmit);
  EXPECT_EQ(admission.offer(id++, PeerRole::kParticipant, participant_sender(2), 0).verdict,
            Verdict::kAdmit);
  // max_peers holds for everyone.
  EXPECT_EQ(admission.offer(id++, PeerRole::kParticipant, participant_sender(3), 0).verdict,
            Verdict::kFull);
}

TEST(JoinAdmission, PendingBudgetEvictsOnlyJoinsOlderThanAHandshake) {
  JoinAdmissionOptions o;
  o.max_pending_viewers = 2;
  o.min_pending_age_ms = 2'000;
  JoinAdmission admission(o);
  ASSERT_EQ(admission.offer(1, PeerRole::kViewer, viewer_sender(1), 0).verdict, Verdict::kAdmit);
  ASSERT_EQ(admission.offer(2, PeerRole::kViewer, viewer_sender(2), 500).verdict, Verdict::kAdmit);
  // Both pending joins are young: the newcomer waits (room_full, it retries).
  EXPECT_EQ(admission.offer(3, PeerRole::kViewer, viewer_sender(3), 1'000).verdict, Verdict::kFull);
  // The viewers' pending budget does not touch the participants'.
  EXPECT_EQ(admission.offer(4, PeerRole::kParticipant, participant_sender(1), 1'000).verdict,
            Verdict::kAdmit);
  // The oldest has had its time: it makes way.
  auto later = admission.offer(5, PeerRole::kViewer, viewer_sender(3), 2'000);
  EXPECT_EQ(later.verdict, Verdict::kAdmit);
  EXPECT_EQ(later.evict, std::optional<uint64_t>(1));
  EXPECT_FALSE(admission.sender_busy(viewer_sender(1)));
  EXPECT_EQ(admission.pending(PeerRole::kViewer), 2u);
}

TEST(JoinAdmission, PendingJoinsAreOverdueAfterTheirDeadline) {
  JoinAdmissionOptions o;
  o.pending_timeout_ms = 10'000;
  JoinAdmission admission(o);
  ASSERT_EQ(admission.offer(1, PeerRole::kViewer, viewer_sender(1), 0).verdict, Verdict::kAdmit);
  ASSERT_EQ(admission.offer(2, PeerRole::kViewer, viewer_sender(2), 5'000).verdict,
            Verdict::kAdmit);
  ASSERT_EQ(admission.offer(3, PeerRole::kViewer, viewer_sender(3), 0).verdict, Verdict::kAdmit);
  admission.opened(3);  // open peers have no deadline
  EXPECT_TRUE(admission.overdue(9'999).empty());
  EXPECT_EQ(admission.overdue(10'000), std::vector<uint64_t>{1});
  EXPECT_EQ(admission.overdue(15'000), (std::vector<uint64_t>{1, 2}));
}

}  // namespace
}  // namespace tokencast
