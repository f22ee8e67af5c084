// Counters of the rendezvous server, rendered in the Prometheus text format at /metrics.
// Lock-free (relaxed atomics): updated from every I/O thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace tokencast::rendezvous {

// Why a connection, message or request was refused; the label of rejections_total.
enum class Rejection : uint8_t {
  kProtocolError,
  kEnvelopeTooLarge,
  kRoomFull,
  kTooManyRooms,
  kHandshakeTimeout,
  kIdleTimeout,
  kServerFull,
  kTooManyFromAddress,
  kSlowReader,
  kOverSenderShare,
  kConnectRate,
  kJoinRate,
  kRoomRate,
  kUnknownPeer,
  kSelfAddressed,
  kBadHttpRequest,
  kCount,
};
inline constexpr size_t kRejectionCount = static_cast<size_t>(Rejection::kCount);
std::string_view rejection_label(Rejection r);

// HTTP responses by status, for the statuses the server produces.
inline constexpr std::array<unsigned, 7> kHttpStatuses{101, 200, 400, 404, 405, 500, 503};

struct Metrics {
  // Gauges.
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> peers{0};
  std::atomic<uint64_t> rooms{0};
  // Counters.
  std::atomic<uint64_t> connections_total{0};
  std::atomic<uint64_t> joins_total{0};
  std::atomic<uint64_t> joins_in_upgrade_total{0};  // of joins_total: JOIN in the upgrade
  std::atomic<uint64_t> envelopes_relayed_total{0};
  std::atomic<uint64_t> envelope_bytes_relayed_total{0};
  std::atomic<uint64_t> messages_received_total{0};
  std::atomic<uint64_t> throttled_total{0};
  // Cluster (rendezvous --nats); rendered only when `clustered`.
  bool clustered = false;
  std::atomic<uint64_t> cluster_connected{0};
  std::atomic<uint64_t> cluster_instances{0};
  std::atomic<uint64_t> cluster_relays_out_total{0};
  std::atomic<uint64_t> cluster_relays_in_total{0};
  std::atomic<uint64_t> cluster_relays_undeliverable_total{0};
  std::atomic<uint64_t> cluster_messages_refused_total{0};
  std::array<std::atomic<uint64_t>, kRejectionCount> rejections{};
  std::array<std::atomic<uint64_t>, kHttpStatuses.size()> http_responses{};

  void reject(Rejection r) {
    rejections[static_cast<size_t>(r)].fetch_add(1, std::memory_order_relaxed);
  }
  void http_response(unsigned status);
  uint64_t rejections_sum() const;
  std::string render() const;
};

inline void bump(std::atomic<uint64_t>& counter, uint64_t n = 1) {
  counter.fetch_add(n, std::memory_order_relaxed);
}

}  // namespace tokencast::rendezvous
