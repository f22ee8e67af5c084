#include "metrics.hpp"

namespace tokencast::rendezvous {

std::string_view rejection_label(Rejection r) {
  switch (r) {
    case Rejection::kProtocolError:
      return "protocol_error";
    case Rejection::kEnvelopeTooLarge:
      return "envelope_too_large";
    case Rejection::kRoomFull:
      return "room_full";
    case Rejection::kTooManyRooms:
      return "too_many_rooms";
    case Rejection::kHandshakeTimeout:
      return "handshake_timeout";
    case Rejection::kIdleTimeout:
      return "idle_timeout";
    case Rejection::kServerFull:
      return "server_full";
    case Rejection::kTooManyFromAddress:
      return "too_many_from_address";
    case Rejection::kSlowReader:
      return "slow_reader";
    case Rejection::kOverSenderShare:
      return "over_sender_share";
    case Rejection::kConnectRate:
      return "connect_rate";
    case Rejection::kJoinRate:
      return "join_rate";
    case Rejection::kRoomRate:
      return "room_rate";
    case Rejection::kUnknownPeer:
      return "unknown_peer";
    case Rejection::kSelfAddressed:
      return "self_addressed";
    case Rejection::kBadHttpRequest:
      return "bad_http_request";
    case Rejection::kCount:
      break;
  }
  return "other";
}

void Metrics::http_response(unsigned status) {
  for (size_t i = 0; i < kHttpStatuses.size(); ++i) {
    if (kHttpStatuses[i] == status) {
      bump(http_responses[i]);
      return;
    }
  }
}

uint64_t Metrics::rejections_sum() const {
  uint64_t sum = 0;
  for (const auto& r : rejections) sum += r.load(std::memory_order_relaxed);
  return sum;
}

namespace {

void metric(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            uint64_t value) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  out.append(name).append(" ").append(std::to_string(value)).append("\n");
}

}  // namespace

std::string Metrics::render() const {
  auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  std::string out;
  out.reserve(4096);
  metric(out, "tokencast_rendezvous_connections", "gauge",
         "Open TCP connections (HTTP and WebSocket).", get(connections));
  metric(out, "tokencast_rendezvous_peers", "gauge", "WebSocket connections joined to a room.",
         get(peers));
  metric(out, "tokencast_rendezvous_rooms", "gauge", "Rooms with at least one peer.", get(rooms));
  metric(out, "tokencast_rendezvous_connections_total", "counter", "TCP connections accepted.",
         get(connections_total));
  metric(out, "tokencast_rendezvous_joins_total", "counter", "Successful room joins.",
         get(joins_total));
  metric(out, "tokencast_rendezvous_joins_in_upgrade_total", "counter",
         "Joins carried in the WebSocket upgrade (the join subprotocol).",
         get(joins_in_upgrade_total));
  metric(out, "tokencast_rendezvous_messages_received_total", "counter",
         "WebSocket messages received from peers.", get(messages_received_total));
  metric(out, "tokencast_rendezvous_throttled_total", "counter",
         "Times a connection over its message rate had its reading paused.", get(throttled_total));
  metric(out, "tokencast_rendezvous_envelopes_relayed_total", "counter",
         "Envelopes relayed to a peer.", get(envelopes_relayed_total));
  metric(out, "tokencast_rendezvous_envelope_bytes_relayed_total", "counter",
         "Payload bytes of the envelopes relayed.", get(envelope_bytes_relayed_total));
  if (clustered) {
    metric(out, "tokencast_rendezvous_cluster_connected", "gauge",
           "1 while connected to the cluster bus (NATS), else 0.", get(cluster_connected));
    metric(out, "tokencast_rendezvous_cluster_instances", "gauge",
           "Other rendezvous instances heard from within the expiry.", get(cluster_instances));
    metric(out, "tokencast_rendezvous_cluster_relays_out_total", "counter",
           "Envelopes relayed to a peer on another instance.", get(cluster_relays_out_total));
    metric(out, "tokencast_rendezvous_cluster_relays_in_total", "counter",
           "Envelopes from a peer on another instance delivered here.",
           get(cluster_relays_in_total));
    metric(out, "tokencast_rendezvous_cluster_relays_undeliverable_total", "counter",
           "Relayed envelopes whose recipient was no longer here.",
           get(cluster_relays_undeliverable_total));
    metric(out, "tokencast_rendezvous_cluster_messages_refused_total", "counter",
           "Cluster messages that did not decode or came on the wrong subject.",
           get(cluster_messages_refused_total));
  }
  out.append(
      "# HELP tokencast_rendezvous_rejections_total Connections, messages or requests refused, "
      "by reason.\n"
      "# TYPE tokencast_rendezvous_rejections_total counter\n");
  for (size_t i = 0; i < kRejectionCount; ++i) {
    out.append("tokencast_rendezvous_rejections_total{reason=\"")
        .append(rejection_label(static_cast<Rejection>(i)))
        .append("\"} ")
        .append(std::to_string(get(rejections[i])))
        .append("\n");
  }
  out.append(
      "# HELP tokencast_rendezvous_http_responses_total HTTP responses by status code.\n"
      "# TYPE tokencast_rendezvous_http_responses_total counter\n");
  for (size_t i = 0; i < kHttpStatuses.size(); ++i) {
    out.append("tokencast_rendezvous_http_responses_total{code=\"")
        .append(std::to_string(kHttpStatuses[i]))
        .append("\"} ")
        .append(std::to_string(get(http_responses[i])))
        .append("\n");
  }
  return out;
}

}  // namespace tokencast::rendezvous
