// Which join attempts the host takes on: a sans-I/O admission policy (time passed in) that the
// host runtime consults before it creates a PeerConnection for an authentic offer.
//
// A viewer link is public (projected on a wall), so every link holder may be an attacker who
// seals as many authentic offers as it likes. Each accepted offer costs a PeerConnection, so
// the policy keeps such offers from locking anyone out (docs/SECURITY.md, "Hostile link
// holders"):
//  - pending joins (offer accepted, channel not open yet) have their own budget per role,
//    separate from connected peers, and a short deadline;
//  - one pending join per rendezvous sender: a sender's further offers are dropped while its
//    first is pending (a well-behaved joiner sends one offer per attempt);
//  - when a role's pending budget is full, the oldest pending join is evicted if it has had
//    longer than a handshake needs; otherwise the newcomer is told room_full;
//  - participants have capacity of their own that viewers cannot consume.
// Single-threaded, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "tokencast/core/events.hpp"

namespace tokencast {

struct JoinAdmissionOptions {
  size_t max_peers = 1000;          // pending + open, both roles
  size_t participant_reserve = 50;  // of max_peers: viewers never use these
  size_t max_pending_viewers = 64;  // offers accepted, channel not yet open
  size_t max_pending_participants = 16;
  int64_t pending_timeout_ms = 10'000;  // a join whose channel is not open by then is dropped
  // A pending join younger than this is never evicted for a newcomer: a well-behaved
  // handshake completes well within it, so a flood cannot push real joiners out.
  int64_t min_pending_age_ms = 2'000;
};

// Who sent an offer at the rendezvous: the room (0 viewer, 1 participant) and its peer id.
struct JoinSender {
  size_t room = 0;
  uint64_t peer = 0;
  auto operator<=>(const JoinSender&) const = default;
};

class JoinAdmission {
 public:
  enum class Verdict {
    kAdmit,       // create the PeerConnection (after dropping `evict`, if set)
    kSenderBusy,  // this sender already has a pending join: drop the offer silently
    kFull,        // answer with a signed room_full rejection
  };
  struct Decision {
    Verdict verdict = Verdict::kFull;
    std::optional<uint64_t> evict;  // a pending join to drop first (its joiner may retry)
  };

  explicit JoinAdmission(JoinAdmissionOptions options = {}) : options_(options) {}

  // True when `sender` already has a pending join: the runtime drops its offers unopened.
  bool sender_busy(const JoinSender& sender) const { return by_sender_.count(sender) != 0; }

  // An authentic offer from `sender` for `role`. When the verdict is kAdmit, the join is
  // recorded as pending under `id` (the runtime's link id) and `evict`, if any, is forgotten.
  Decision offer(uint64_t id, PeerRole role, const JoinSender& sender, int64_t now_ms);
  // The join's data channel opened: it moves from the pending budget to the peers.
  void opened(uint64_t id);
  // The join ended (closed, failed, given up): its slot is free.
  void closed(uint64_t id);
  // Pending joins past their deadline at `now_ms`, oldest first; the runtime drops them (and
  // reports each with closed()).
  std::vector<uint64_t> overdue(int64_t now_ms) const;

  size_t pending(PeerRole role) const;
  size_t open(PeerRole role) const;

 private:
  struct Entry {
    PeerRole role = PeerRole::kViewer;
    JoinSender sender;
    int64_t created_ms = 0;
    bool open = false;
  };
  size_t pending_budget(PeerRole role) const;
  size_t count(PeerRole role, bool open) const;
  std::optional<uint64_t> oldest_pending(PeerRole role) const;

  JoinAdmissionOptions options_;
  std::map<uint64_t, Entry> entries_;
  std::map<JoinSender, uint64_t> by_sender_;  // pending joins only
};

}  // namespace tokencast
