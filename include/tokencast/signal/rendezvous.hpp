// The rendezvous server: introduces the peers of one opaque room locator to each other by
// relaying sealed envelopes (see tokencast/rendezvous_wire.hpp), and serves the web client.
// It sees locators, random peer ids and ciphertext, nothing else.
//
// One port serves:
//   GET /ws        WebSocket upgrade: the rendezvous protocol (binary messages only)
//   GET /healthz   "ok"
//   GET /metrics   Prometheus text format
//   GET /, /j      index.html of the web root (invite links are <base>/j#<payload>)
//   GET /<path>    a regular file under the web root (strict path rules, no traversal)
// Without a web root a small built-in placeholder page is served at / and /j.
//
// Used by `tokencast rendezvous` and embedded in-process by `tokencast host` on a LAN.
// With a certificate and key (ServerOptions::tls_cert_file) the port speaks only TLS.
// Operating notes (flags, limits, metrics, TLS): docs/rendezvous.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "tokencast/core/expected.hpp"
#include "tokencast/signal/cluster_bus.hpp"
#include "tokencast/signal/rendezvous_wire.hpp"
#include "tokencast/turn_credentials.hpp"

namespace tokencast::rendezvous {

struct ServerOptions {
  // Address to listen on; port 0 picks a free port (see Server::port()).
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8787;
  // Directory of static files (the built web client). Empty: the built-in placeholder page.
  std::string web_root;
  // TLS: a PEM certificate chain and its PEM private key. With both, the port serves only
  // https and wss; with neither, plain http and ws (for a TLS proxy in front, or a LAN).
  // Read once by start() (a new certificate takes a restart).
  std::string tls_cert_file;
  std::string tls_key_file;
  // I/O threads. Connections are spread over them; rooms are shared (locked) between them.
  unsigned threads = 1;

  // Limits. Every rejection is counted in /metrics under its reason.
  size_t max_connections = 16384;               // TCP connections (HTTP and WebSocket)
  size_t max_connections_per_ip = 1024;         // 0: no per-address cap (use behind a proxy)
  size_t max_rooms = 16384;                     // rooms with at least one peer
  size_t max_peers_per_room = 4096;             // <= kMaxRoomPeers
  size_t max_envelope_size = kMaxEnvelopeSize;  // payload bytes, <= kMaxEnvelopeSize
  // Messages a connection may send per second, with a bucket this deep; a faster sender is
  // throttled (its socket is not read until the bucket refills), not disconnected. A host
  // answering 1,000 joiners at once sends ~4,000 messages.
  double rate_per_second = 1000;
  double rate_burst = 2000;
  // Per-connection write queue. One sender may fill at most half of it: over its share, or
  // over the whole, the message is dropped (the sender pays), unless the recipient's reading
  // has stalled (a write pending for write_stall_timeout): then the recipient is dropped.
  size_t max_queued_bytes = 1 << 20;
  std::chrono::milliseconds write_stall_timeout{10'000};
  // Per-address limits count an IPv4 address, or an IPv6 prefix of this many bits (one
  // subscriber usually holds a whole /64).
  unsigned ipv6_prefix_bits = 64;
  // New connections and JOINs per second per address (prefix); new rooms per second per
  // address and in all. Each bucket holds 5x its rate (a lecture hall behind one NAT joins at
  // once). Over: a connection is dropped unanswered, a JOIN (or the room it would create) is
  // closed with 4002 "rate limit exceeded". The per-address ones apply only with a per-address
  // cap (behind a proxy every client has the proxy's address).
  double connect_rate = 300;
  double join_rate = 300;
  double room_rate = 20;
  double global_room_rate = 2000;
  std::chrono::milliseconds handshake_timeout{10'000};  // accept -> JOIN (and per HTTP request)
  // An HTTP connection ends this long after it was accepted, however many requests it keeps
  // alive with (a WebSocket it upgrades to has its own timers).
  std::chrono::milliseconds http_deadline{60'000};
  std::chrono::milliseconds idle_timeout{60'000};  // silence that closes; pinged at half of it
  std::chrono::milliseconds close_timeout{2'000};  // closing handshake before a hard close

  // STUN/TURN servers handed to every peer right after JOINED (ICE_SERVERS), with fresh TURN
  // credentials at each join. Empty: no ICE_SERVERS message. At most kMaxIceServers URLs.
  IceGrant ice;

  // A cluster: rooms shared with other instances over this bus (`tokencast rendezvous --nats`,
  // tokencast/nats/nats_bus.hpp). Null: a single instance. Without the bus an instance takes no
  // new rooms and /healthz answers 503. An instance silent for cluster_expiry (it says ALIVE
  // every cluster_heartbeat) loses its peers on the others.
  std::shared_ptr<ClusterBus> cluster;
  std::chrono::milliseconds cluster_heartbeat{1000};
  std::chrono::milliseconds cluster_expiry{5000};

  // Log sink for one-line events (connections refused, limits hit, errors). Null: silent.
  // Called from I/O threads, possibly concurrently.
  std::function<void(std::string_view line)> log;
};

// Returns a description of the first invalid option, or nullopt when all are usable.
std::optional<std::string> validate(const ServerOptions& options);

// A snapshot of the counters served at /metrics.
struct ServerStats {
  uint64_t connections = 0;  // open TCP connections, HTTP and WebSocket
  uint64_t peers = 0;        // joined WebSocket peers
  uint64_t rooms = 0;
  uint64_t connections_total = 0;
  uint64_t joins_total = 0;
  uint64_t envelopes_relayed_total = 0;
  uint64_t envelope_bytes_relayed_total = 0;  // payload bytes
  uint64_t rejections_total = 0;              // all reasons together
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();  // stop()s
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Validates the options, binds, listens and starts the I/O threads. Fails with
  // std::errc::invalid_argument on bad options (see validate()), or the bind/listen error.
  // Call once.
  Expected<void, std::error_code> start();

  // The bound port (useful with listen_port 0); 0 before start().
  uint16_t port() const;

  // Stops accepting, closes every WebSocket with 1001 "server shutting down" and every HTTP
  // connection, waits up to close_timeout for the closing handshakes, then joins the threads.
  // Idempotent; call from any thread but not from inside a `log` callback.
  void stop();

  ServerStats stats() const;
  // The /metrics body.
  std::string metrics_text() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tokencast::rendezvous
