// A rendezvous instance's part in a cluster: its rooms are shared with the other instances over
// a message bus (NATS), so a host on one instance and joiners on others find each other.
//
// Each instance subscribes to the subject of every room it holds (one with a local member) and
// tells the others who joined and left there (PEER_HERE, PEER_GONE); the others' peers become
// remote members of its room (RoomRegistry), announced to local peers with PEER_JOINED and
// PEER_LEFT like local ones. An instance that takes a room asks for its members (SYNC, answered
// with MEMBERS). An envelope to a remote member is relayed to its instance's own subject, in
// order per sender. Every instance says ALIVE each heartbeat; one silent for the expiry loses
// its peers everywhere (PEER_LEFT), which is how an instance's death is seen. While this
// instance is cut off from the bus it drops every remote member, refuses new rooms and says so
// in /healthz; on reconnecting it announces its peers again.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "room_registry.hpp"
#include "tokencast/signal/cluster_bus.hpp"
#include "tokencast/signal/cluster_wire.hpp"

namespace tokencast::rendezvous {

struct Metrics;

class Cluster {
 public:
  struct Timing {
    std::chrono::milliseconds heartbeat{1000};
    std::chrono::milliseconds expiry{5000};
  };
  using Log = std::function<void(std::string_view)>;

  Cluster(std::shared_ptr<ClusterBus> bus, RoomRegistry& rooms, Metrics& metrics, Timing timing,
          Log log);
  ~Cluster();  // stop()s
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  void start();
  void stop();
  // Connected to the bus: new rooms may be taken.
  bool healthy() const;
  cluster::InstanceId instance() const { return self_; }

  // A local peer joined `room` (after RoomRegistry::join; `created`: the registry made the room
  // for it) / left it (after leave()).
  void local_joined(const std::shared_ptr<Room>& room, PeerId peer, bool created);
  void local_left(const RoomLocator& locator, PeerId peer);

 private:
  struct Held {
    RoomLocator locator{};
    uint64_t subscription = 0;
    size_t local_peers = 0;
  };

  void on_room_message(const RoomLocator& locator, std::span<const uint8_t> bytes);
  void on_instance_message(std::span<const uint8_t> bytes);
  void on_alive(std::span<const uint8_t> bytes);
  void on_status(bool connected);
  void heartbeat_loop();
  // Notes that `instance` spoke; false when it is not tracked (over kMaxInstances).
  bool seen(cluster::InstanceId instance);
  void add_remote(const RoomLocator& locator, const cluster::RoomHash& hash, PeerId peer,
                  cluster::InstanceId instance);
  void announce_all();
  void drop_all_remote();

  std::shared_ptr<ClusterBus> bus_;
  RoomRegistry& rooms_;
  Metrics& metrics_;
  Timing timing_;
  Log log_;
  const cluster::InstanceId self_;

  // Rooms held here by hash. Handlers of room subjects never take held_mu_ (unsubscribing under
  // it waits for them).
  std::mutex held_mu_;
  std::map<cluster::RoomHash, Held> held_;

  static constexpr size_t kMaxInstances = 1024;
  std::mutex seen_mu_;
  std::map<cluster::InstanceId, std::chrono::steady_clock::time_point> last_seen_;

  uint64_t instance_sub_ = 0;
  uint64_t alive_sub_ = 0;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  bool started_ = false;
  std::thread heartbeat_;
};

}  // namespace tokencast::rendezvous
