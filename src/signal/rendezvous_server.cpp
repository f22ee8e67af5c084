// The rendezvous server: an acceptor on shard 0 spreading connections over the shards, one
// I/O thread per shard.
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <thread>
#include <vector>

#include "http_session.hpp"
#include "server_context.hpp"
#include "tls_context.hpp"
#include "tokencast/signal/rendezvous.hpp"

namespace tokencast::rendezvous {

using boost::system::error_code;
using tcp = net::ip::tcp;

namespace {

std::optional<std::string> validate_ice_grant(const IceGrant& g) {
  if (g.stun_urls.size() + g.turn_urls.size() > kMaxIceServers) {
    return "at most " + std::to_string(kMaxIceServers) + " STUN and TURN URLs together";
  }
  if (!g.turn_urls.empty() && g.turn_secret.empty()) return "TURN URLs need the TURN secret";
  if (g.turn_ttl_seconds < 60 || g.turn_ttl_seconds > 7 * 86400) {
    return "TURN credential lifetime must be 60 s .. 7 days";
  }
  // A sample grant must encode (URL scheme, characters, lengths).
  if (!g.empty() && !encode_ice_servers(grant_ice_servers(g, 0, "0123456789abcdef"))) {
    return "a STUN/TURN URL is invalid (stun:, stuns:, turn: or turns:, at most 255 visible "
           "ASCII characters)";
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> validate(const ServerOptions& o) {
  if (o.threads < 1 || o.threads > 256) return "threads must be 1..256";
  if (o.max_connections < 1) return "max connections must be at least 1";
  if (o.max_rooms < 1) return "max rooms must be at least 1";
  if (o.max_peers_per_room < 1 || o.max_peers_per_room > kMaxRoomPeers) {
    return "max peers per room must be 1.." + std::to_string(kMaxRoomPeers);
  }
  if (o.max_envelope_size < 1 || o.max_envelope_size > kMaxEnvelopeSize) {
    return "max envelope size must be 1.." + std::to_string(kMaxEnvelopeSize);
  }
  if (!(o.rate_per_second > 0) || !(o.rate_burst >= 1)) {
    return "rate must be > 0 and burst >= 1";
  }
  // A peer must be able to receive one full envelope and a full JOINED.
  size_t min_queue = std::max(kEnvelopeHeaderSize + o.max_envelope_size,
                              kJoinedHeaderSize + 8 * (o.max_peers_per_room - 1)) +
                     1024;
  min_queue *= 2;  // each sender's share (half the queue) holds a full envelope
  if (o.max_queued_bytes < min_queue) {
    return "max queued bytes must be at least " + std::to_string(min_queue) + " with these limits";
  }
  using std::chrono::milliseconds;
  if (o.handshake_timeout < milliseconds(10)) return "handshake timeout must be >= 10 ms";
  if (o.idle_timeout < milliseconds(20)) return "idle timeout must be >= 20 ms";
  if (o.close_timeout < milliseconds(1)) return "close timeout must be >= 1 ms";
  if (auto problem = validate_ice_grant(o.ice)) return problem;
  if (o.write_stall_timeout < milliseconds(10)) return "write stall timeout must be >= 10 ms";
  if (o.http_deadline < milliseconds(10)) return "HTTP deadline must be >= 10 ms";
  if (o.cluster &&
      (o.cluster_heartbeat < milliseconds(10) || o.cluster_expiry < 2 * o.cluster_heartbeat)) {
    return "cluster heartbeat must be >= 10 ms and the expiry at least twice the heartbeat";
  }
  if (o.ipv6_prefix_bits < 16 || o.ipv6_prefix_bits > 128) return "IPv6 prefix must be 16..128";
  for (double rate : {o.connect_rate, o.join_rate, o.room_rate, o.global_room_rate}) {
    if (!(rate > 0)) return "connect, join and room rates must be > 0";
  }
  if (!o.web_root.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(o.web_root, ec)) {
      return "web root '" + o.web_root + "' is not a directory";
    }
  }
  if (o.tls_cert_file.empty() != o.tls_key_file.empty()) {
    return "TLS needs both a certificate file and a key file";
  }
  if (!o.tls_cert_file.empty()) {
    auto tls = make_server_tls_context(o.tls_cert_file, o.tls_key_file);
    if (!tls) return tls.error();
  }
  error_code ec;
  net::ip::make_address(o.listen_host, ec);
  if (ec) return "listen address '" + o.listen_host + "' is not an IP address";
  return std::nullopt;
}

struct Server::Impl {
  explicit Impl(ServerOptions options) : ctx(std::move(options)) {}

  ServerContext ctx;  // outlives the shards (declared first)
  std::vector<std::unique_ptr<Shard>> shards;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<net::steady_timer> retry_timer;
  size_t next_shard = 0;
  std::atomic<uint16_t> port{0};
  bool started = false;
  std::atomic<bool> stopped{false};

  Expected<void, std::error_code> start();
  void do_accept();
  void on_accept(error_code ec, tcp::socket socket, Shard& shard);
  void stop();
  void run(Shard& shard);
};

Expected<void, std::error_code> Server::Impl::start() {
  if (started) return unexpected(std::make_error_code(std::errc::operation_not_permitted));
  if (auto problem = validate(ctx.options)) {
    ctx.log("rendezvous: " + *problem);
    return unexpected(std::make_error_code(std::errc::invalid_argument));
  }
  if (!ctx.options.tls_cert_file.empty()) {
    auto tls = make_server_tls_context(ctx.options.tls_cert_file, ctx.options.tls_key_file);
    if (!tls) {
      ctx.log("rendezvous: " + tls.error());
      return unexpected(std::make_error_code(std::errc::invalid_argument));
    }
    ctx.tls = std::move(*tls);
  }
  for (unsigned i = 0; i < ctx.options.threads; ++i) shards.push_back(std::make_unique<Shard>());
  error_code ec;
  tcp::endpoint endpoint(net::ip::make_address(ctx.options.listen_host), ctx.options.listen_port);
  acceptor = std::make_unique<tcp::acceptor>(shards[0]->ioc);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor.reset();
    shards.clear();
    return unexpected(std::error_code(ec.value(), std::system_category()));
  }
  port = acceptor->local_endpoint().port();
  if (ctx.options.cluster) {
    ctx.metrics.clustered = true;
    ctx.cluster = std::make_unique<Cluster>(
        ctx.options.cluster, ctx.rooms, ctx.metrics,
        Cluster::Timing{ctx.options.cluster_heartbeat, ctx.options.cluster_expiry},
        ctx.options.log);
    ctx.cluster->start();
  }
  retry_timer = std::make_unique<net::steady_timer>(shards[0]->ioc);
  started = true;
  do_accept();
  for (auto& shard : shards) guards.push_back(net::make_work_guard(shard->ioc));
  for (auto& shard : shards) threads.emplace_back([this, s = shard.get()] { run(*s); });
  return {};
}

void Server::Impl::run(Shard& shard) {
  for (;;) {
    try {
      shard.ioc.run();
      return;
    } catch (const std::exception& e) {
      ctx.log(std::string("rendezvous: error in an I/O handler: ") + e.what());
    }
  }
}

void Server::Impl::do_accept() {
  Shard& shard = *shards[next_shard];
  next_shard = (next_shard + 1) % shards.size();
  acceptor->async_accept(shard.ioc, [this, &shard](error_code ec, tcp::socket socket) {
    on_accept(ec, std::move(socket), shard);
  });
}

void Server::Impl::on_accept(error_code ec, tcp::socket socket, Shard& shard) {
  if (!acceptor->is_open()) return;
  if (ec) {
    if (ec == net::error::operation_aborted) return;
    // Out of descriptors or memory: back off briefly instead of spinning.
    if (ctx.logging()) ctx.log("rendezvous: accept failed: " + ec.message());
    retry_timer->expires_after(std::chrono::milliseconds(50));
    retry_timer->async_wait([this](error_code e) {
      if (!e && acceptor->is_open()) do_accept();
    });
    return;
  }
  error_code ignored;
  auto remote = socket.remote_endpoint(ignored);
  if (ignored) {
    do_accept();
    return;
  }
  ConnectionSlot slot(ctx, remote.address());
  if (slot.hard_refused()) {
    if (ctx.logging()) ctx.log("rendezvous: connection refused (limit)");
    socket.close(ignored);
    do_accept();
    return;
  }
  socket.set_option(tcp::no_delay(true), ignored);
  net::post(shard.ioc, [this, &shard, s = std::move(socket), slot = std::move(slot)]() mutable {
    std::make_shared<HttpSession>(shard, ctx, std::move(s), std::move(slot))->start();
  });
  do_accept();
}

void Server::Impl::stop() {
  if (!started || stopped.exchange(true)) return;
  ctx.stopping = true;
  net::post(shards[0]->ioc, [this] {
    error_code ignored;
    acceptor->close(ignored);
    retry_timer->cancel();
  });
  for (auto& shard : shards) {
    net::post(shard->ioc, [s = shard.get()] {
      s->stopping = true;
      std::vector<std::weak_ptr<ShardSession>> sessions;
      sessions.reserve(s->sessions.size());
      for (auto& [ptr, weak] : s->sessions) sessions.push_back(weak);
      for (auto& weak : sessions) {
        if (auto session = weak.lock()) session->shutdown();
      }
    });
  }
  guards.clear();
  // Closing handshakes get close_timeout (each session also enforces it); then force.
  auto deadline = SteadyClock::now() + ctx.options.close_timeout + std::chrono::milliseconds(200);
  while (ctx.metrics.connections.load() > 0 && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (auto& shard : shards) shard->ioc.stop();
  for (auto& t : threads) t.join();
  threads.clear();
  // Whatever the deadline cut short still sits in rooms (and in handlers the io_contexts
  // drop as they are destroyed): release it while the io_contexts exist.
  acceptor.reset();
  retry_timer.reset();
  if (ctx.cluster) ctx.cluster->stop();
  ctx.rooms.clear();
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() { stop(); }

Expected<void, std::error_code> Server::start() { return impl_->start(); }

uint16_t Server::port() const { return impl_->port.load(); }

void Server::stop() { impl_->stop(); }

ServerStats Server::stats() const {
  const Metrics& m = impl_->ctx.metrics;
  auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  ServerStats s;
  s.connections = get(m.connections);
  s.peers = get(m.peers);
  s.rooms = get(m.rooms);
  s.connections_total = get(m.connections_total);
  s.joins_total = get(m.joins_total);
  s.envelopes_relayed_total = get(m.envelopes_relayed_total);
  s.envelope_bytes_relayed_total = get(m.envelope_bytes_relayed_total);
  s.rejections_total = m.rejections_sum();
  return s;
}

std::string Server::metrics_text() const { return impl_->ctx.metrics.render(); }

}  // namespace tokencast::rendezvous
