#include "server_context.hpp"

#include <algorithm>
#include <cstring>

namespace tokencast::rendezvous {

AddressTable::Key AddressTable::key_of(const net::ip::address& address) {
  net::ip::address_v6 v6 = address.is_v4()
                               ? net::ip::make_address_v6(net::ip::v4_mapped, address.to_v4())
                               : address.to_v6();
  return v6.to_bytes();
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
      files(options.web_root) {}

namespace {

// Connections past a limit but within this slack get a proper refusal; beyond it, a reset.
size_t slack(size_t limit) { return std::max<size_t>(16, limit / 16); }

}  // namespace

ConnectionSlot::ConnectionSlot(ServerContext& ctx, const net::ip::address& remote)
    : ctx_(&ctx), accepted_at_(SteadyClock::now()) {
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
  if (per_ip > 0) {
    key_ = AddressTable::key_of(remote);
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
