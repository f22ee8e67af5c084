// The rooms of a rendezvous server: locator -> the peers joined to it. Shared by every I/O
// thread: the room map has one lock, each room's member table another (lock order: map, then
// room). Relaying takes only the room's lock.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "metrics.hpp"
#include "out_message.hpp"
#include "tokencast/core/expected.hpp"
#include "tokencast/signal/rendezvous_wire.hpp"

namespace tokencast::rendezvous {

// What the registry knows of a joined connection: how to hand it a message. deliver() may be
// called from any thread.
class RoomMember {
 public:
  virtual ~RoomMember() = default;
  virtual void deliver(OutMessage message) = 0;
};

// A room's members are its local connections and, in a cluster, the peers other instances hold
// (remote members: their deliver() relays over the bus). A room lives while it has a local member.
class Room {
 public:
  explicit Room(const RoomLocator& locator) : locator_(locator) {}
  const RoomLocator& locator() const { return locator_; }
  // The member with `id`, local or remote, or null.
  std::shared_ptr<RoomMember> find(PeerId id) const;
  // The local member with `id`, or null.
  std::shared_ptr<RoomMember> find_local(PeerId id) const;
  size_t size() const;  // local and remote members
  std::vector<PeerId> local_ids() const;

 private:
  friend class RoomRegistry;
  RoomLocator locator_;
  mutable std::mutex mu_;
  std::unordered_map<PeerId, std::shared_ptr<RoomMember>> members_;
  struct Remote {
    uint64_t instance = 0;
    std::shared_ptr<RoomMember> member;
  };
  std::unordered_map<PeerId, Remote> remote_;
};

class RoomRegistry {
 public:
  RoomRegistry(size_t max_rooms, size_t max_peers_per_room, Metrics& metrics);

  enum class JoinError { kRoomFull, kTooManyRooms, kRoomRateLimited };
  struct Joined {
    std::shared_ptr<Room> room;
    PeerId id = 0;
    std::vector<PeerId> other_ids;                    // for JOINED (local and remote)
    std::vector<std::shared_ptr<RoomMember>> others;  // local ones, to tell PEER_JOINED
    bool created = false;                             // the room is new on this instance
  };
  // Adds `member` to the room of `locator` (made if new, when `may_create` allows it: the
  // room-creation rate limits) under a fresh random id that no other member of the room has.
  Expected<Joined, JoinError> join(const RoomLocator& locator, std::shared_ptr<RoomMember> member,
                                   const std::function<bool()>& may_create = {});
  // Removes local member `id` (dropping the room, remote members included, when no local one is
  // left); `rest` are the local members left, to tell PEER_LEFT. Removing an absent id does
  // nothing.
  struct Left {
    std::vector<std::shared_ptr<RoomMember>> rest;
    bool removed = false;  // `id` was a member
    bool emptied = false;  // the room is gone from this instance
  };
  Left leave(const std::shared_ptr<Room>& room, PeerId id);

  // Remote members (cluster). Each returns the local members to tell PEER_JOINED / PEER_LEFT:
  // none when the room is not held here, or nothing changed (a peer already known, an id that
  // is a local member's, a room that would be over its size).
  std::vector<std::shared_ptr<RoomMember>> add_remote(const RoomLocator& locator, PeerId id,
                                                      uint64_t instance,
                                                      std::shared_ptr<RoomMember> member);
  std::vector<std::shared_ptr<RoomMember>> remove_remote(const RoomLocator& locator, PeerId id,
                                                         uint64_t instance);
  // Removes every remote member of `instance` (it went silent); calls tell(peer, locals) for
  // each one removed.
  void remove_instance(
      uint64_t instance,
      const std::function<void(PeerId, std::vector<std::shared_ptr<RoomMember>>)>& tell);
  // Removes every remote member of every room (this instance lost the bus), as remove_instance.
  void remove_all_remote(
      const std::function<void(PeerId, std::vector<std::shared_ptr<RoomMember>>)>& tell);
  std::shared_ptr<Room> find(const RoomLocator& locator) const;
  std::vector<std::shared_ptr<Room>> rooms() const;

  size_t room_count() const;
  // Drops every room and member (server teardown).
  void clear();

 private:
  size_t max_rooms_;
  size_t max_peers_;
  Metrics& metrics_;
  mutable std::mutex mu_;
  std::map<RoomLocator, std::shared_ptr<Room>> rooms_;  // ordered: no hash flooding
};

}  // namespace tokencast::rendezvous
