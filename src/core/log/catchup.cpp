#include "tokencast/core/catchup.hpp"

#include "log/catchup_batch.hpp"

namespace tokencast {

Expected<CatchupPlanner, std::error_code> CatchupPlanner::create(const SessionLog& log,
                                                                 Seq last_seq, bool thinking) {
  if (last_seq > log.head()) return unexpected(make_error_code(LogError::kBeyondHead));
  return CatchupPlanner(log, last_seq, thinking);
}

std::optional<PlannedFrame> CatchupPlanner::next() {
  const Seq head = log_->head();
  if (cursor_ >= head) return std::nullopt;
  codec::EventBatchBuilder batch;
  Seq seq = cursor_ + 1;
  // The first event always fits: the log bounds every event to fit a frame on its own.
  while (seq <= head &&
         batch.try_add(thinking_ ? log_->at(seq) : codec::without_thinking(log_->at(seq)))) {
    ++seq;
  }
  PlannedFrame frame{batch.finish(), cursor_ + 1, seq - 1};
  cursor_ = seq - 1;
  return frame;
}

Expected<std::vector<PlannedFrame>, std::error_code> plan_catchup(const SessionLog& log,
                                                                  Seq last_seq, bool thinking) {
  auto planner = CatchupPlanner::create(log, last_seq, thinking);
  if (!planner) return unexpected(planner.error());
  std::vector<PlannedFrame> frames;
  while (auto frame = planner->next()) frames.push_back(std::move(*frame));
  return frames;
}

}  // namespace tokencast
