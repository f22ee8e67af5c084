#include "tokencast/core/join_admission.hpp"

#include <algorithm>

namespace tokencast {

JoinAdmission::Decision JoinAdmission::offer(uint64_t id, PeerRole role, const JoinSender& sender,
                                             int64_t now_ms) {
  if (sender_busy(sender)) return {Verdict::kSenderBusy, std::nullopt};
  const bool participant = role == PeerRole::kParticipant;
  // Connected peers and pending joins together stay within max_peers; viewers also leave the
  // participants' reserve alone, so a flood of viewer links cannot keep participants out.
  const size_t total = entries_.size();
  const size_t viewer_limit = options_.max_peers > options_.participant_reserve
                                  ? options_.max_peers - options_.participant_reserve
                                  : 0;
  const size_t viewers = count(PeerRole::kViewer, true) + count(PeerRole::kViewer, false);
  std::optional<uint64_t> evict;
  if (count(role, false) >= pending_budget(role)) {
    evict = oldest_pending(role);
    if (!evict || now_ms - entries_.at(*evict).created_ms < options_.min_pending_age_ms) {
      return {Verdict::kFull, std::nullopt};
    }
  }
  const size_t after_evict = evict ? 1 : 0;
  if (total - after_evict >= options_.max_peers) return {Verdict::kFull, std::nullopt};
  if (!participant && viewers - after_evict >= viewer_limit) return {Verdict::kFull, std::nullopt};
  if (evict) closed(*evict);
  entries_[id] = Entry{role, sender, now_ms, false};
  by_sender_[sender] = id;
  return {Verdict::kAdmit, evict};
}

void JoinAdmission::opened(uint64_t id) {
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.open) return;
  it->second.open = true;
  by_sender_.erase(it->second.sender);
}

void JoinAdmission::closed(uint64_t id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  if (!it->second.open) by_sender_.erase(it->second.sender);
  entries_.erase(it);
}

std::vector<uint64_t> JoinAdmission::overdue(int64_t now_ms) const {
  std::vector<std::pair<int64_t, uint64_t>> late;
  for (const auto& [id, e] : entries_) {
    if (!e.open && now_ms - e.created_ms >= options_.pending_timeout_ms) {
      late.emplace_back(e.created_ms, id);
    }
  }
  std::sort(late.begin(), late.end());
  std::vector<uint64_t> ids;
  ids.reserve(late.size());
  for (const auto& [_, id] : late) ids.push_back(id);
  return ids;
}

size_t JoinAdmission::pending(PeerRole role) const { return count(role, false); }
size_t JoinAdmission::open(PeerRole role) const { return count(role, true); }

size_t JoinAdmission::pending_budget(PeerRole role) const {
  return role == PeerRole::kParticipant ? options_.max_pending_participants
                                        : options_.max_pending_viewers;
}

size_t JoinAdmission::count(PeerRole role, bool open) const {
  size_t n = 0;
  for (const auto& [_, e] : entries_) n += (e.role == role && e.open == open) ? 1 : 0;
  return n;
}

std::optional<uint64_t> JoinAdmission::oldest_pending(PeerRole role) const {
  std::optional<uint64_t> oldest;
  int64_t at = 0;
  for (const auto& [id, e] : entries_) {
    if (e.open || e.role != role) continue;
    if (!oldest || e.created_ms < at) {
      oldest = id;
      at = e.created_ms;
    }
  }
  return oldest;
}

}  // namespace tokencast
