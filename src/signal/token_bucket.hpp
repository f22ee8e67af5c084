// A token bucket for per-connection message rates. Pure: the caller passes the time.
// The rendezvous throttles with it: a message is always taken (the bucket may go one message
// into debt), and the connection is not read again until the debt is paid back.
#pragma once

#include <algorithm>
#include <chrono>

namespace tokencast::rendezvous {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // `rate` tokens per second refill a bucket of `burst` tokens, full at `now`.
  TokenBucket(double rate, double burst, Clock::time_point now)
      : rate_(rate), burst_(std::max(burst, 1.0)), tokens_(burst_), last_(now) {}

  // Takes one token, borrowing it when there is none. Returns how long to wait before the
  // next message may be taken: zero while the bucket holds a whole token.
  Clock::duration take_or_borrow(Clock::time_point now) {
    refill(now);
    tokens_ -= 1.0;
    if (tokens_ >= 0.0) return Clock::duration::zero();
    return std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(-tokens_ / rate_));
  }

 private:
  void refill(Clock::time_point now) {
    if (now > last_) {
      double elapsed = std::chrono::duration<double>(now - last_).count();
      tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
      last_ = now;
    }
  }

  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace tokencast::rendezvous
