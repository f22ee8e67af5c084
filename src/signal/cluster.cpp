#include "cluster.hpp"

#include <cstring>
#include <optional>
#include <string>

#include "metrics.hpp"
#include "random_id.hpp"
#include "tokencast/core/big_endian.hpp"

namespace tokencast::rendezvous {

namespace {

using SteadyClock = std::chrono::steady_clock;

OutMessage notice(Expected<std::vector<uint8_t>, WireError> bytes) {
  return bytes ? OutMessage::copy_of(*bytes) : OutMessage{};
}

void tell_all(const std::vector<std::shared_ptr<RoomMember>>& members, const OutMessage& message) {
  if (message.size == 0) return;
  for (const auto& member : members) member->deliver(message);
}

// A peer of the room held by another instance. The registry hands it what a local member would
// get; only envelopes concern it (presence travels as PEER_HERE / PEER_GONE on the room
// subject), and they go to its instance's subject, in the order the sender's SENDs arrived.
class RemoteMember final : public RoomMember {
 public:
  RemoteMember(std::shared_ptr<ClusterBus> bus, Metrics& metrics, cluster::InstanceId self,
               cluster::InstanceId instance, const cluster::RoomHash& room, PeerId peer)
      : bus_(std::move(bus)),
        metrics_(metrics),
        self_(self),
        subject_(cluster::instance_subject(instance)),
        room_(room),
        peer_(peer) {}

  void deliver(OutMessage message) override {
    auto bytes = message.bytes();
    if (bytes.size() <= kEnvelopeHeaderSize ||
        bytes[0] != static_cast<uint8_t>(MessageType::kEnvelope)) {
      return;
    }
    const PeerId from = big_endian::load_u64(bytes.data() + 1);
    auto relay =
        cluster::encode_relay(self_, room_, from, peer_, bytes.subspan(kEnvelopeHeaderSize));
    if (!relay) return;
    bus_->publish(subject_, *relay);
    bump(metrics_.cluster_relays_out_total);
  }

 private:
  std::shared_ptr<ClusterBus> bus_;
  Metrics& metrics_;
  cluster::InstanceId self_;
  std::string subject_;
  cluster::RoomHash room_;
  PeerId peer_;
};

}  // namespace

Cluster::Cluster(std::shared_ptr<ClusterBus> bus, RoomRegistry& rooms, Metrics& metrics,
                 Timing timing, Log log)
    : bus_(std::move(bus)),
      rooms_(rooms),
      metrics_(metrics),
      timing_(timing),
      log_(std::move(log)),
      self_(random_peer_id()) {}

Cluster::~Cluster() { stop(); }

void Cluster::start() {
  if (started_) return;
  started_ = true;
  bus_->on_status([this](bool connected) { on_status(connected); });
  instance_sub_ = bus_->subscribe(cluster::instance_subject(self_),
                                  [this](std::span<const uint8_t> m) { on_instance_message(m); });
  alive_sub_ =
      bus_->subscribe(cluster::kAliveSubject, [this](std::span<const uint8_t> m) { on_alive(m); });
  metrics_.cluster_connected.store(bus_->connected() ? 1 : 0, std::memory_order_relaxed);
  heartbeat_ = std::thread([this] { heartbeat_loop(); });
}

void Cluster::stop() {
  if (!started_) return;
  {
    std::lock_guard lock(stop_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
  bus_->on_status(nullptr);  // the bus may outlive this cluster
  bus_->unsubscribe(instance_sub_);
  bus_->unsubscribe(alive_sub_);
  std::lock_guard lock(held_mu_);
  for (auto& [hash, held] : held_) bus_->unsubscribe(held.subscription);
  held_.clear();
}

bool Cluster::healthy() const { return bus_->connected(); }

void Cluster::local_joined(const std::shared_ptr<Room>& room, PeerId peer, bool created) {
  const auto hash = cluster::room_hash(room->locator());
  const auto subject = cluster::room_subject(hash);
  {
    std::lock_guard lock(held_mu_);
    auto [it, fresh] = held_.try_emplace(hash);
    Held& held = it->second;
    if (fresh) {
      held.locator = room->locator();
      const RoomLocator locator = held.locator;
      held.subscription = bus_->subscribe(
          subject, [this, locator](std::span<const uint8_t> m) { on_room_message(locator, m); });
    }
    ++held.local_peers;
    // A room the registry made anew has no remote members yet, even when its subscription
    // outlived the previous room of that locator (emptied and refilled at the same moment).
    if (fresh || created) bus_->publish(subject, cluster::encode_sync(self_));
  }
  bus_->publish(subject, cluster::encode_peer_here(self_, peer));
}

void Cluster::local_left(const RoomLocator& locator, PeerId peer) {
  const auto hash = cluster::room_hash(locator);
  bus_->publish(cluster::room_subject(hash), cluster::encode_peer_gone(self_, peer));
  std::lock_guard lock(held_mu_);
  auto it = held_.find(hash);
  if (it == held_.end()) return;
  if (--it->second.local_peers == 0) {
    bus_->unsubscribe(it->second.subscription);
    held_.erase(it);
  }
}

bool Cluster::seen(cluster::InstanceId instance) {
  std::lock_guard lock(seen_mu_);
  auto it = last_seen_.find(instance);
  if (it != last_seen_.end()) {
    it->second = SteadyClock::now();
    return true;
  }
  // Bounded: whoever can publish on the bus could otherwise invent instances without end. The
  // peers of an instance not tracked are not taken in (nothing would expire them).
  if (last_seen_.size() >= kMaxInstances) return false;
  last_seen_.emplace(instance, SteadyClock::now());
  metrics_.cluster_instances.store(last_seen_.size(), std::memory_order_relaxed);
  return true;
}

void Cluster::add_remote(const RoomLocator& locator, const cluster::RoomHash& hash, PeerId peer,
                         cluster::InstanceId instance) {
  auto member = std::make_shared<RemoteMember>(bus_, metrics_, self_, instance, hash, peer);
  tell_all(rooms_.add_remote(locator, peer, instance, std::move(member)),
           notice(encode_peer_joined(peer)));
}

void Cluster::on_room_message(const RoomLocator& locator, std::span<const uint8_t> bytes) {
  auto message = cluster::decode(bytes);
  if (!message) {
    bump(metrics_.cluster_messages_refused_total);
    return;
  }
  if (message->from == self_) return;
  if (!seen(message->from)) return;
  const auto hash = cluster::room_hash(locator);
  if (const auto* here = std::get_if<cluster::PeerHere>(&message->body)) {
    add_remote(locator, hash, here->peer, message->from);
  } else if (const auto* gone = std::get_if<cluster::PeerGone>(&message->body)) {
    tell_all(rooms_.remove_remote(locator, gone->peer, message->from),
             notice(encode_peer_left(gone->peer)));
  } else if (std::holds_alternative<cluster::Sync>(message->body)) {
    auto room = rooms_.find(locator);
    if (!room) return;
    auto ids = room->local_ids();
    if (ids.empty()) return;
    if (auto members = cluster::encode_members(self_, ids)) {
      bus_->publish(cluster::room_subject(hash), *members);
    }
  } else if (const auto* members = std::get_if<cluster::Members>(&message->body)) {
    for (PeerId peer : members->peers) add_remote(locator, hash, peer, message->from);
  } else {
    bump(metrics_.cluster_messages_refused_total);  // a relay or alive on a room subject
  }
}

void Cluster::on_instance_message(std::span<const uint8_t> bytes) {
  auto message = cluster::decode(bytes);
  const auto* relay = message ? std::get_if<cluster::Relay>(&message->body) : nullptr;
  if (relay == nullptr) {
    bump(metrics_.cluster_messages_refused_total);
    return;
  }
  seen(message->from);
  std::optional<RoomLocator> locator;
  {
    std::lock_guard lock(held_mu_);
    if (auto it = held_.find(relay->room); it != held_.end()) locator = it->second.locator;
  }
  auto room = locator ? rooms_.find(*locator) : nullptr;
  // Only to a local member: a relay never travels on.
  auto target = room ? room->find_local(relay->to) : nullptr;
  if (!target) {
    bump(metrics_.cluster_relays_undeliverable_total);
    return;
  }
  auto envelope = encode_envelope(relay->from, relay->payload);
  if (!envelope) return;
  OutMessage out = OutMessage::copy_of(*envelope);
  out.from = relay->from;
  bump(metrics_.cluster_relays_in_total);
  target->deliver(std::move(out));
}

void Cluster::on_alive(std::span<const uint8_t> bytes) {
  auto message = cluster::decode(bytes);
  if (!message || !std::holds_alternative<cluster::Alive>(message->body)) {
    bump(metrics_.cluster_messages_refused_total);
    return;
  }
  if (message->from != self_) seen(message->from);
}

void Cluster::on_status(bool connected) {
  metrics_.cluster_connected.store(connected ? 1 : 0, std::memory_order_relaxed);
  if (log_)
    log_(connected ? "rendezvous: connected to the cluster bus"
                   : "rendezvous: lost the cluster bus: no new rooms until it is back");
  if (connected) {
    announce_all();
  } else {
    drop_all_remote();
  }
}

// After a reconnect the others may have expired this instance, and it may have missed their
// news: say who is here and ask who is there, room by room.
void Cluster::announce_all() {
  std::lock_guard lock(held_mu_);
  for (const auto& [hash, held] : held_) {
    const auto subject = cluster::room_subject(hash);
    bus_->publish(subject, cluster::encode_sync(self_));
    auto room = rooms_.find(held.locator);
    if (!room) continue;
    auto ids = room->local_ids();
    if (ids.empty()) continue;
    if (auto members = cluster::encode_members(self_, ids)) bus_->publish(subject, *members);
  }
}

void Cluster::drop_all_remote() {
  rooms_.remove_all_remote([](PeerId peer, std::vector<std::shared_ptr<RoomMember>> locals) {
    tell_all(locals, notice(encode_peer_left(peer)));
  });
  std::lock_guard lock(seen_mu_);
  last_seen_.clear();
  metrics_.cluster_instances.store(0, std::memory_order_relaxed);
}

void Cluster::heartbeat_loop() {
  std::unique_lock lock(stop_mu_);
  while (!stopping_) {
    lock.unlock();
    if (bus_->connected()) bus_->publish(cluster::kAliveSubject, cluster::encode_alive(self_));
    std::vector<cluster::InstanceId> silent;
    {
      std::lock_guard seen_lock(seen_mu_);
      const auto now = SteadyClock::now();
      for (auto it = last_seen_.begin(); it != last_seen_.end();) {
        if (now - it->second > timing_.expiry) {
          silent.push_back(it->first);
          it = last_seen_.erase(it);
        } else {
          ++it;
        }
      }
      metrics_.cluster_instances.store(last_seen_.size(), std::memory_order_relaxed);
    }
    for (auto instance : silent) {
      if (log_) log_("rendezvous: a cluster instance went silent; its peers have left");
      rooms_.remove_instance(instance,
                             [](PeerId peer, std::vector<std::shared_ptr<RoomMember>> locals) {
                               tell_all(locals, notice(encode_peer_left(peer)));
                             });
    }
    lock.lock();
    stop_cv_.wait_for(lock, timing_.heartbeat, [this] { return stopping_; });
  }
}

}  // namespace tokencast::rendezvous
