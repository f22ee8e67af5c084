#include "server_context.hpp"

#include <algorithm>
#include <cstring>

namespace tokencast::rendezvous {

AddressTable::Key AddressTable::key_of(const net::ip::address& address, unsigned ipv6_prefix_bits) {
  if (address.is_v4()) {
    return net::ip::make_address_v6(net::ip::v4_mapped, address.to_v4()).to_bytes();
  }
  net::ip::address_v6 v6 = address.to_v6();
  Key key = v6.to_bytes();
  if (v6.is_v4_mapped()) return key;  // an IPv4 client of a dual-stack socket
  for (unsigned bit = std::min(ipv6_prefix_bits, 128u); bit < 128; ++bit) {
    key[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  }
  return key;
}

namespace {
// Keys each limiter remembers at most (a few MB); see RateLimiter.
constexpr size_t kMaxLimiterKeys = 65536;
constexpr double kBurstSeconds = 5;
// The room reserve: a tenth of the global room rate, and one room per address per minute.
constexpr double kReserveShare = 0.1;
constexpr double kReservePerAddressPerSecond = 1.0 / 60;
}  // namespace

RateLimits::RateLimits(const ServerOptions& o)
    : connects_(o.connect_rate, o.connect_rate * kBurstSeconds, kMaxLimiterKeys),
      joins_(o.join_rate, o.join_rate * kBurstSeconds, kMaxLimiterKeys),
      rooms_(o.room_rate, o.room_rate * kBurstSeconds, kMaxLimiterKeys),
      all_rooms_(o.global_room_rate, o.global_room_rate * kBurstSeconds, 1),
      reserve_(o.global_room_rate * kReserveShare,
               o.global_room_rate * kReserveShare * kBurstSeconds, 1),
      reserve_by_address_(kReservePerAddressPerSecond, 1, kMaxLimiterKeys) {}

bool RateLimits::allow_connect(const AddressTable::Key& key, SteadyClock::time_point now) {
  std::lock_guard lock(mu_);
  return connects_.allow(key, now);
}

bool RateLimits::allow_join(const AddressTable::Key& key, SteadyClock::time_point now) {
  std::lock_guard lock(mu_);
  return joins_.allow(key, now);
}

bool RateLimits::allow_new_room(const AddressTable::Key& key, bool per_address,
                                SteadyClock::time_point now) {
  std::lock_guard lock(mu_);
  if (per_address && !rooms_.allow(key, now)) return false;
  if (all_rooms_.allow(AddressTable::Key{}, now)) return true;
  // The server-wide budget is spent: many addresses open rooms as fast as their own rate lets
  // them (a botnet). A reserve serves each address at most one room a minute, so those addresses
  // drain it at one room per address per minute, while a new host on an address of its own still
  // gets its room. Behind a proxy (no per-address limits) every client shares one address, which
  // the reserve cannot tell apart: it is not used there.
  if (!per_address || !reserve_by_address_.would_allow(key, now)) return false;
  if (!reserve_.allow(AddressTable::Key{}, now)) return false;
  return reserve_by_address_.allow(key, now);
}

size_t AddressTable::KeyHash::operator()(const Key& k) const noexcept {
  // Addresses are chosen by clients, but the table is bounded by max_connections.
  uint64_t a = 0;
  uint64_t b = 0;
  std::memcpy(&a, k.data(), 8);
  std::memcpy(&b, k.data() + 8, 8);
  return std::hash<uint64_t>{}(a * 0x9E3779B97F4A7C15ull ^ b);
}

size_t AddressTable::acquire(const Key& key) {
  std::lock_guard lock(mu_);
  return ++counts_[key];
}

void AddressTable::release(const Key& key) {
  std::lock_guard lock(mu_);
  auto it = counts_.find(key);
  if (it != counts_.end() && --it->second == 0) counts_.erase(it);
}

ServerContext::ServerContext(ServerOptions o)
    : options(std::move(o)),
      rooms(options.max_rooms, options.max_peers_per_room, metrics),
      limits(options),
      files(options.web_root) {}

namespace {

// Connections past a limit but within this slack get a proper refusal; beyond it, a reset.
size_t slack(size_t limit) { return std::max<size_t>(16, limit / 16); }

}  // namespace

ConnectionSlot::ConnectionSlot(ServerContext& ctx, const net::ip::address& remote)
    : ctx_(&ctx),
      key_(AddressTable::key_of(remote, ctx.options.ipv6_prefix_bits)),
      accepted_at_(SteadyClock::now()) {
  bump(ctx.metrics.connections_total);
  uint64_t open = ctx.metrics.connections.fetch_add(1, std::memory_order_relaxed) + 1;
  const size_t max = ctx.options.max_connections;
  if (open > max) {
    refusal_ = CloseCode::kServerFull;
    hard_ = open > max + slack(max);
    ctx.metrics.reject(Rejection::kServerFull);
    return;
  }
  const size_t per_ip = ctx.options.max_connections_per_ip;
  if (per_ip > 0 && !ctx.limits.allow_connect(key_, accepted_at_)) {
    // Opening connections faster than a page load ever does: not worth an answer.
    refusal_ = CloseCode::kRateLimited;
    hard_ = true;
    ctx.metrics.reject(Rejection::kConnectRate);
    return;
  }
  if (per_ip > 0) {
    per_address_ = true;
    size_t n = ctx.addresses.acquire(key_);
    if (n > per_ip) {
      refusal_ = CloseCode::kTooManyFromAddress;
      hard_ = n > per_ip + slack(per_ip);
      ctx.metrics.reject(Rejection::kTooManyFromAddress);
    }
  }
}

ConnectionSlot::ConnectionSlot(ConnectionSlot&& other) noexcept { *this = std::move(other); }

ConnectionSlot& ConnectionSlot::operator=(ConnectionSlot&& other) noexcept {
  if (this != &other) {
    release();
    ctx_ = std::exchange(other.ctx_, nullptr);
    per_address_ = std::exchange(other.per_address_, false);
    key_ = other.key_;
    refusal_ = other.refusal_;
    hard_ = other.hard_;
    accepted_at_ = other.accepted_at_;
  }
  return *this;
}

ConnectionSlot::~ConnectionSlot() { release(); }

void ConnectionSlot::release() {
  if (ctx_ == nullptr) return;
  ctx_->metrics.connections.fetch_sub(1, std::memory_order_relaxed);
  if (per_address_) ctx_->addresses.release(key_);
  ctx_ = nullptr;
  per_address_ = false;
}

}  // namespace tokencast::rendezvous
