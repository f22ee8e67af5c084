// Token buckets per key (a client's address or address prefix), for the rates of new
// connections, JOINs and room creations. Pure: the caller passes the time and locks.
// Bounded: at most `max_keys` buckets; a bucket that has refilled carries no state and is
// forgotten when room is needed; when every bucket is still in use, new keys are refused
// (fail closed: an attacker with that many prefixes is what the limit is for).
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <map>

namespace tokencast::rendezvous {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  using Key = std::array<uint8_t, 16>;

  // `rate` events per second per key, `burst` at once.
  RateLimiter(double rate, double burst, size_t max_keys)
      : rate_(rate), burst_(std::max(burst, 1.0)), max_keys_(std::max<size_t>(max_keys, 1)) {}

  // Takes one token of `key`'s bucket; false (nothing taken) when it has none.
  bool allow(const Key& key, Clock::time_point now) {
    auto it = buckets_.find(key);
    if (it == buckets_.end()) {
      if (buckets_.size() >= max_keys_) forget_refilled(now);
      if (buckets_.size() >= max_keys_) return false;
      it = buckets_.emplace(key, Bucket{burst_, now}).first;
    }
    Bucket& b = it->second;
    refill(b, now);
    if (b.tokens < 1.0) return false;
    b.tokens -= 1.0;
    return true;
  }

  // Whether `key`'s bucket holds a token now, taking none. An unknown key has a full bucket (when
  // the table is full, allow() may still refuse it: fail closed).
  bool would_allow(const Key& key, Clock::time_point now) const {
    auto it = buckets_.find(key);
    if (it == buckets_.end()) return true;
    Bucket b = it->second;
    refill(b, now);
    return b.tokens >= 1.0;
  }

  size_t size() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens;
    Clock::time_point last;
  };
  void refill(Bucket& b, Clock::time_point now) const {
    if (now > b.last) {
      b.tokens =
          std::min(burst_, b.tokens + std::chrono::duration<double>(now - b.last).count() * rate_);
      b.last = now;
    }
  }
  void forget_refilled(Clock::time_point now) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      refill(it->second, now);
      it = it->second.tokens >= burst_ ? buckets_.erase(it) : std::next(it);
    }
  }

  double rate_;
  double burst_;
  size_t max_keys_;
  std::map<Key, Bucket> buckets_;  // ordered: keys are chosen by clients, no hash flooding
};

}  // namespace tokencast::rendezvous
