#include "room_registry.hpp"

#include "random_id.hpp"

namespace tokencast::rendezvous {

std::shared_ptr<RoomMember> Room::find(PeerId id) const {
  std::lock_guard lock(mu_);
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : it->second;
}

size_t Room::size() const {
  std::lock_guard lock(mu_);
  return members_.size();
}

RoomRegistry::RoomRegistry(size_t max_rooms, size_t max_peers_per_room, Metrics& metrics)
    : max_rooms_(max_rooms), max_peers_(max_peers_per_room), metrics_(metrics) {}

Expected<RoomRegistry::Joined, RoomRegistry::JoinError> RoomRegistry::join(
    const RoomLocator& locator, std::shared_ptr<RoomMember> member,
    const std::function<bool()>& may_create) {
  std::lock_guard lock(mu_);
  auto it = rooms_.find(locator);
  if (it == rooms_.end()) {
    if (rooms_.size() >= max_rooms_) return unexpected(JoinError::kTooManyRooms);
    if (may_create && !may_create()) return unexpected(JoinError::kRoomRateLimited);
    it = rooms_.emplace(locator, std::make_shared<Room>(locator)).first;
    metrics_.rooms.store(rooms_.size(), std::memory_order_relaxed);
  }
  Room& room = *it->second;
  std::lock_guard room_lock(room.mu_);
  if (room.members_.size() >= max_peers_) {
    if (room.members_.empty()) {  // only with max_peers_ 0, which validate() refuses
      rooms_.erase(it);
      metrics_.rooms.store(rooms_.size(), std::memory_order_relaxed);
    }
    return unexpected(JoinError::kRoomFull);
  }
  Joined joined;
  joined.room = it->second;
  do {
    joined.id = random_peer_id();
  } while (room.members_.contains(joined.id));
  joined.other_ids.reserve(room.members_.size());
  joined.others.reserve(room.members_.size());
  for (const auto& [id, other] : room.members_) {
    joined.other_ids.push_back(id);
    joined.others.push_back(other);
  }
  room.members_.emplace(joined.id, std::move(member));
  return joined;
}

std::vector<std::shared_ptr<RoomMember>> RoomRegistry::leave(const std::shared_ptr<Room>& room,
                                                             PeerId id) {
  std::vector<std::shared_ptr<RoomMember>> rest;
  std::lock_guard lock(mu_);
  std::lock_guard room_lock(room->mu_);
  if (room->members_.erase(id) == 0) return rest;
  if (room->members_.empty()) {
    auto it = rooms_.find(room->locator_);
    if (it != rooms_.end() && it->second == room) rooms_.erase(it);
    metrics_.rooms.store(rooms_.size(), std::memory_order_relaxed);
    return rest;
  }
  rest.reserve(room->members_.size());
  for (const auto& [other_id, other] : room->members_) rest.push_back(other);
  return rest;
}

size_t RoomRegistry::room_count() const {
  std::lock_guard lock(mu_);
  return rooms_.size();
}

void RoomRegistry::clear() {
  std::map<RoomLocator, std::shared_ptr<Room>> rooms;
  std::vector<std::unordered_map<PeerId, std::shared_ptr<RoomMember>>> members;
  {
    std::lock_guard lock(mu_);
    rooms.swap(rooms_);
    metrics_.rooms.store(0, std::memory_order_relaxed);
    for (auto& [locator, room] : rooms) {
      std::lock_guard room_lock(room->mu_);
      members.push_back(std::move(room->members_));
      room->members_.clear();
    }
  }
  // Destroyed here, outside the locks: members may hold their room.
}

}  // namespace tokencast::rendezvous
