// State shared by the sessions of one rendezvous server, and the per-thread shards.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "cluster.hpp"
#include "metrics.hpp"
#include "rate_limiter.hpp"
#include "room_registry.hpp"
#include "static_files.hpp"
#include "tokencast/signal/rendezvous.hpp"

namespace tokencast::rendezvous {

namespace net = boost::asio;
using SteadyClock = std::chrono::steady_clock;

// Open connections per remote address: an IPv4 address (as v4-mapped IPv6), or an IPv6
// prefix (the bits past it zeroed: one subscriber holds a whole /64, not one address).
class AddressTable {
 public:
  using Key = std::array<uint8_t, 16>;
  static Key key_of(const net::ip::address& address, unsigned ipv6_prefix_bits);
  size_t acquire(const Key& key);  // returns the count including this one
  void release(const Key& key);

 private:
  struct KeyHash {
    size_t operator()(const Key& k) const noexcept;
  };
  std::mutex mu_;
  std::unordered_map<Key, size_t, KeyHash> counts_;
};

// The rate limits shared by every shard (one lock; each check is a map lookup).
class RateLimits {
 public:
  explicit RateLimits(const ServerOptions& o);
  bool allow_connect(const AddressTable::Key& key, SteadyClock::time_point now);
  bool allow_join(const AddressTable::Key& key, SteadyClock::time_point now);
  // Per address (when `per_address`), then in all; when the server-wide budget is spent, from
  // the reserve (see the .cpp).
  bool allow_new_room(const AddressTable::Key& key, bool per_address, SteadyClock::time_point now);

 private:
  std::mutex mu_;
  RateLimiter connects_;
  RateLimiter joins_;
  RateLimiter rooms_;
  RateLimiter all_rooms_;
  RateLimiter reserve_;             // server-wide, a tenth of the global room rate
  RateLimiter reserve_by_address_;  // one reserve room per address per minute
};

struct ServerContext {
  explicit ServerContext(ServerOptions o);

  ServerOptions options;
  Metrics metrics;
  RoomRegistry rooms;
  AddressTable addresses;
  RateLimits limits;
  StaticFiles files;
  // Set by Server::start() when the options name a certificate: every connection is TLS.
  std::unique_ptr<net::ssl::context> tls;
  std::atomic<bool> stopping{false};  // set by Server::stop()
  // Set by Server::start() when the options name a cluster bus.
  std::unique_ptr<Cluster> cluster;

  bool logging() const { return static_cast<bool>(options.log); }
  void log(std::string_view line) const {
    if (options.log) options.log(line);
  }
};

// Holds one counted connection (and its per-address count) until destroyed. Thread-safe to
// destroy anywhere.
class ConnectionSlot {
 public:
  ConnectionSlot() = default;
  // Counts the connection; see refusal() and hard_refused() for the limits it exceeds.
  ConnectionSlot(ServerContext& ctx, const net::ip::address& remote);
  ConnectionSlot(ConnectionSlot&& other) noexcept;
  ConnectionSlot& operator=(ConnectionSlot&& other) noexcept;
  ~ConnectionSlot();

  // Over a limit by a little: the session answers with this close code (or HTTP 503).
  std::optional<CloseCode> refusal() const { return refusal_; }
  // Over a limit by a lot: drop the socket without a word.
  bool hard_refused() const { return hard_; }
  SteadyClock::time_point accepted_at() const { return accepted_at_; }
  // The remote address (prefix) the per-address limits count.
  const AddressTable::Key& address_key() const { return key_; }

 private:
  void release();
  ServerContext* ctx_ = nullptr;
  bool per_address_ = false;
  AddressTable::Key key_{};
  std::optional<CloseCode> refusal_;
  bool hard_ = false;
  SteadyClock::time_point accepted_at_{};
};

class ShardSession;

// One I/O thread's io_context and the sessions living on it (touched only on that thread).
struct Shard {
  // Declared before ioc so that it outlives the handlers (and sessions) ioc destroys.
  std::unordered_map<ShardSession*, std::weak_ptr<ShardSession>> sessions;
  bool stopping = false;
  net::io_context ioc{1};
};

// A connection's session, registered with its shard so that stop() can reach it.
class ShardSession : public std::enable_shared_from_this<ShardSession> {
 public:
  explicit ShardSession(Shard& shard) : shard_(shard) {}
  virtual ~ShardSession() = default;
  // Ends the session promptly (server stopping). On the shard's thread.
  virtual void shutdown() = 0;

 protected:
  void register_in_shard() { shard_.sessions.emplace(this, weak_from_this()); }
  void unregister_from_shard() { shard_.sessions.erase(this); }
  Shard& shard_;
};

}  // namespace tokencast::rendezvous
