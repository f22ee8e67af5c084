#include "tokencast/core/envelope_inbox.hpp"

namespace tokencast {

bool EnvelopeInbox::push(const JoinSender& sender, std::vector<uint8_t> bytes) {
  auto& queue = queues_[sender];
  if (queue.size() >= options_.max_per_sender || count_ >= options_.max_envelopes ||
      bytes_ + bytes.size() > options_.max_bytes) {
    if (queue.empty()) queues_.erase(sender);
    dropped_ += 1;
    return false;
  }
  if (queue.empty()) turn_.push_back(sender);
  count_ += 1;
  bytes_ += bytes.size();
  queue.push_back(std::move(bytes));
  return true;
}

std::optional<EnvelopeInbox::Item> EnvelopeInbox::pop() {
  if (turn_.empty()) return std::nullopt;
  JoinSender sender = turn_.front();
  turn_.pop_front();
  auto it = queues_.find(sender);
  Item item{sender, std::move(it->second.front())};
  it->second.pop_front();
  if (it->second.empty()) {
    queues_.erase(it);
  } else {
    turn_.push_back(sender);
  }
  count_ -= 1;
  bytes_ -= item.bytes.size();
  return item;
}

}  // namespace tokencast
