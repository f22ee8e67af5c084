// The host's queue of join envelopes between the rendezvous clients' threads and the event
// loop. Every link holder can send envelopes (authentic or junk) as fast as the rendezvous
// relays them, so the queue is bounded per sender and in total, drops what does not fit (the
// caller counts it), and hands envelopes out round-robin across senders: one sender's flood
// cannot delay another's offer by more than one envelope per turn. Sans-I/O, not
// thread-safe (the runtime guards it with a mutex).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "tokencast/core/join_admission.hpp"

namespace tokencast {

struct EnvelopeInboxOptions {
  size_t max_per_sender = 16;
  size_t max_envelopes = 1024;
  size_t max_bytes = 4 * 1024 * 1024;
};

class EnvelopeInbox {
 public:
  struct Item {
    JoinSender sender;
    std::vector<uint8_t> bytes;
  };

  explicit EnvelopeInbox(EnvelopeInboxOptions options = {}) : options_(options) {}

  // Queues `bytes` from `sender`. False (dropped, nothing queued) when the sender or the
  // inbox is at its bound.
  bool push(const JoinSender& sender, std::vector<uint8_t> bytes);
  // The next envelope, taking senders in turn.
  std::optional<Item> pop();

  size_t size() const { return count_; }
  size_t bytes() const { return bytes_; }
  uint64_t dropped() const { return dropped_; }

 private:
  EnvelopeInboxOptions options_;
  std::map<JoinSender, std::deque<std::vector<uint8_t>>> queues_;
  std::deque<JoinSender> turn_;  // senders with something queued, in the order they are served
  size_t count_ = 0;
  size_t bytes_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace tokencast
