#include "tokencast/core/flow_control.hpp"

#include <algorithm>
#include <string>

namespace tokencast {
namespace {

// BBR's horizon: a minimum round trip older than this may describe a path that changed. It is
// then measured again after a drain (see acked()), never replaced by a sample taken behind the
// queue the window let build.
constexpr int64_t kMinRttHorizonMs = 10'000;
// Each ack keeps this share of the rate estimate before taking the new sample's maximum, so an
// estimate from a burst (catch-up) fades within about a second of acks.
constexpr double kRateDecay = 0.95;

class FlowCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tokencast.flow"; }
  std::string message(int value) const override {
    switch (static_cast<FlowError>(value)) {
      case FlowError::kAckBeyondSent:
        return "ack for a sequence that was never sent";
      case FlowError::kAckWentBack:
        return "ack below an earlier ack";
    }
    return "unknown flow error";
  }
};

}  // namespace

const std::error_category& flow_category() {
  static const FlowCategory category;
  return category;
}

std::error_code make_error_code(FlowError e) { return {static_cast<int>(e), flow_category()}; }

FlowControl::FlowControl(FlowOptions options, bool acks, Seq start_seq)
    : options_(options),
      acks_(acks),
      window_(options.min_window_bytes),
      sent_seq_(start_seq),
      acked_seq_(start_seq) {}

FlowControl::Gate FlowControl::may_send(size_t bytes, bool paced, int64_t now_ms) const {
  if (acks_ && in_flight_ > 0 && in_flight_ + charge(bytes) > window_) return {};
  if (paced && options_.pace_interval_ms > 0 && last_paced_ms_) {
    const int64_t next = *last_paced_ms_ + options_.pace_interval_ms;
    if (now_ms < next) return {false, next};
  }
  return {true, std::nullopt};
}

void FlowControl::sent(Seq last_seq, size_t bytes, bool paced, int64_t now_ms) {
  if (paced) last_paced_ms_ = now_ms;
  sent_seq_ = std::max(sent_seq_, last_seq);
  if (!acks_) return;
  frames_.push_back(InFlight{last_seq, charge(bytes), now_ms, delivered_});
  in_flight_ += charge(bytes);
}

Expected<void, std::error_code> FlowControl::acked(Seq last_seq, int64_t now_ms) {
  if (last_seq > sent_seq_) return unexpected(make_error_code(FlowError::kAckBeyondSent));
  if (last_seq < acked_seq_) return unexpected(make_error_code(FlowError::kAckWentBack));
  acked_seq_ = last_seq;
  std::optional<InFlight> newest;
  while (!frames_.empty() && frames_.front().last_seq <= last_seq) {
    newest = frames_.front();
    in_flight_ -= newest->charged;
    delivered_ += newest->charged;
    frames_.pop_front();
  }
  if (!newest) return {};
  // Round trip and delivery rate from the newest frame this ack covers (BBR's delivery rate:
  // bytes delivered while that frame was out, over the time it was out).
  const int64_t rtt = std::max<int64_t>(1, now_ms - newest->sent_ms);
  if (!min_rtt_ms_ || rtt <= *min_rtt_ms_) {
    min_rtt_ms_ = rtt;
    min_rtt_at_ms_ = now_ms;
    drain_since_ms_.reset();
  } else if (drain_since_ms_) {
    // The first frame sent during the drain left with at most the floor ahead of it: its
    // round trip is the path's, without the standing queue.
    if (newest->sent_ms >= *drain_since_ms_) {
      min_rtt_ms_ = rtt;
      min_rtt_at_ms_ = now_ms;
      drain_since_ms_.reset();
    }
  } else if (now_ms - min_rtt_at_ms_ > kMinRttHorizonMs) {
    // The minimum expired. A sample taken now includes whatever queue the window keeps on a
    // slow path, and a window sized from it (2 x rate x round trip) lets that queue grow by
    // half again each horizon, for ever (a 64 kbit/s peer's lag grew 0.06 -> 1.5 s over 30 s;
    // docs/BENCHMARKS.md). So, as BBR's ProbeRTT: hold the window at its floor until a frame
    // sent from now on is acknowledged, and take its round trip.
    drain_since_ms_ = now_ms;
  }
  const double sample = static_cast<double>(delivered_ - newest->delivered_at_send) * 1000.0 /
                        static_cast<double>(rtt);
  rate_ = std::max(sample, rate_ * kRateDecay);
  update_window();
  return {};
}

// window = 2 x rate x (round trip + ack delay): twice what the path delivers between sending a
// frame and hearing about it, so a peer that keeps up is never held back, while one that falls
// behind has at most about two round trips of data queued in front of it. The minimum round
// trip (not the smoothed one) keeps a queue that the window itself builds out of the estimate;
// while the minimum is being measured again (a drain), the window is its floor.
void FlowControl::update_window() {
  if (drain_since_ms_) {
    window_ = options_.min_window_bytes;
    return;
  }
  const double horizon_s = static_cast<double>(min_rtt_ms_.value_or(0) + kAckDelayMs) / 1000.0;
  const double wanted = 2.0 * rate_ * horizon_s;
  window_ =
      std::clamp(static_cast<size_t>(wanted), options_.min_window_bytes, options_.max_window_bytes);
}

}  // namespace tokencast
