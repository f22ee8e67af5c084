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

class Room {
 public:
  explicit Room(const RoomLocator& locator) : locator_(locator) {}
  const RoomLocator& locator() const { return locator_; }
  // The member with `id`, or null.
  std::shared_ptr<RoomMember> find(PeerId id) const;
  size_t size() const;

 private:
  friend class RoomRegistry;
  RoomLocator locator_;
  mutable std::mutex mu_;
  std::unordered_map<PeerId, std::shared_ptr<RoomMember>> members_;
};

class RoomRegistry {
 public:
  RoomRegistry(size_t max_rooms, size_t max_peers_per_room, Metrics& metrics);

  enum class JoinError { kRoomFull, kTooManyRooms, kRoomRateLimited };
  struct Joined {
    std::shared_ptr<Room> room;
    PeerId id = 0;
    std::vector<PeerId> other_ids;                    // for JOINED
    std::vector<std::shared_ptr<RoomMember>> others;  // to tell PEER_JOINED
  };
  // Adds `member` to the room of `locator` (made if new, when `may_create` allows it: the
  // room-creation rate limits) under a fresh random id that no other member of the room has.
  Expected<Joined, JoinError> join(const RoomLocator& locator, std::shared_ptr<RoomMember> member,
                                   const std::function<bool()>& may_create = {});
  // Removes `id` (dropping the room when it empties); returns the members left, to tell
  // PEER_LEFT. Removing an absent id returns nothing.
  std::vector<std::shared_ptr<RoomMember>> leave(const std::shared_ptr<Room>& room, PeerId id);

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
