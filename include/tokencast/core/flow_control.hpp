// Per-peer flow control and pacing on the host, sans I/O (time is a parameter).
//
// libwebrtc reports a message as sent once SCTP has queued it, so a host that sends whenever
// the data channel takes a frame builds its backlog where it cannot see it. With protocol
// version 2 each peer acknowledges the last sequence it holds (AckFrame); this class keeps the
// bytes sent but not yet acknowledged (charged with a per-message header estimate) under a
// window sized from the measured delivery rate and round trip, so everything behind the window
// waits in the peer's OutboundQueue, where consecutive deltas merge: a slow peer gets fewer,
// larger frames instead of a queue inside libwebrtc.
//
// Pacing: live frames go out at most one per pace interval (about one display frame). The first
// frame after an idle interval goes at once; what arrives within the interval waits and merges.
//
// A version 1 peer never acknowledges: it gets pacing only (no window), as before.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <system_error>

#include "tokencast/core/events.hpp"
#include "tokencast/core/expected.hpp"

namespace tokencast {

// A v2 client acknowledges within this long of receiving a frame that carries events, and at
// once when this many bytes of such frames are unacknowledged (docs/PROTOCOL.md §4.8).
inline constexpr int64_t kAckDelayMs = 50;
inline constexpr size_t kAckBytes = 4096;

struct FlowOptions {
  // The window never goes below this (it must let a few small frames through before the first
  // round trip is measured) nor above max_window_bytes.
  size_t min_window_bytes = 1024;
  size_t max_window_bytes = size_t{256} * 1024;
  // Charged per frame on top of its payload: SCTP DATA chunk and common header (28), DTLS
  // record (~29), UDP (8), IPv4 (20). Makes many tiny frames cost what they cost on the wire.
  size_t per_frame_overhead_bytes = 85;
  // At most one live frame per this many ms (0: no pacing).
  int64_t pace_interval_ms = 16;
};

enum class FlowError {
  kAckBeyondSent = 1,  // the peer acknowledged a sequence the host never sent it
  kAckWentBack = 2,    // an ack below an earlier one
};
const std::error_category& flow_category();
std::error_code make_error_code(FlowError e);

class FlowControl {
 public:
  // `acks`: the peer speaks version 2 and acknowledges. `start_seq`: what it holds already.
  FlowControl(FlowOptions options, bool acks, Seq start_seq);

  struct Gate {
    bool send = false;
    // When !send and only pacing holds the frame back: ask again at this time. (A frame held
    // by the window waits for the next ack instead.)
    std::optional<int64_t> retry_at_ms;
  };
  // May a frame carrying events, of about `bytes` bytes, go now? `paced`: a live frame (pacing
  // applies); catch-up frames are not paced. A frame always fits when nothing is in flight.
  Gate may_send(size_t bytes, bool paced, int64_t now_ms) const;

  // A frame carrying events up to `last_seq` went out.
  void sent(Seq last_seq, size_t bytes, bool paced, int64_t now_ms);

  // The peer holds everything up to `last_seq`. Updates the round trip, rate and window.
  // Errors: kAckBeyondSent, kAckWentBack.
  Expected<void, std::error_code> acked(Seq last_seq, int64_t now_ms);

  bool acks() const { return acks_; }
  size_t in_flight() const { return in_flight_; }
  size_t window() const { return window_; }
  Seq acked_seq() const { return acked_seq_; }
  std::optional<int64_t> min_rtt_ms() const { return min_rtt_ms_; }
  // True while the window is held at its floor to measure the minimum round trip again (it
  // expired: 10 s old); ends with the ack of the first frame sent since.
  bool draining() const { return drain_since_ms_.has_value(); }
  double rate_bytes_per_s() const { return rate_; }

 private:
  struct InFlight {
    Seq last_seq = 0;
    size_t charged = 0;
    int64_t sent_ms = 0;
    uint64_t delivered_at_send = 0;  // bytes acknowledged when this frame left
  };

  size_t charge(size_t bytes) const { return bytes + options_.per_frame_overhead_bytes; }
  void update_window();

  FlowOptions options_;
  bool acks_ = false;
  std::deque<InFlight> frames_;  // bounded: at most window / per_frame_overhead entries
  size_t in_flight_ = 0;
  size_t window_ = 0;
  Seq sent_seq_ = 0;
  Seq acked_seq_ = 0;
  uint64_t delivered_ = 0;
  double rate_ = 0;  // delivered bytes per second, a decaying maximum of the samples
  std::optional<int64_t> min_rtt_ms_;
  int64_t min_rtt_at_ms_ = 0;
  std::optional<int64_t> drain_since_ms_;
  std::optional<int64_t> last_paced_ms_;
};

}  // namespace tokencast

template <>
struct std::is_error_code_enum<tokencast::FlowError> : std::true_type {};
