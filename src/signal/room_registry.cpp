#include "room_registry.hpp"

#include "random_id.hpp"

namespace tokencast::rendezvous {

std::shared_ptr<RoomMember> Room::find(PeerId id) const {
  std::lock_guard lock(mu_);
  if (auto it = members_.find(id); it != members_.end()) return it->second;
  if (auto it = remote_.find(id); it != remote_.end()) return it->second.member;
  return nullptr;
}

std::shared_ptr<RoomMember> Room::find_local(PeerId id) const {
  std::lock_guard lock(mu_);
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : it->second;
}

size_t Room::size() const {
  std::lock_guard lock(mu_);
  return members_.size() + remote_.size();
}

std::vector<PeerId> Room::local_ids() const {
  std::lock_guard lock(mu_);
  std::vector<PeerId> ids;
  ids.reserve(members_.size());
  for (const auto& [id, member] : members_) ids.push_back(id);
  return ids;
}

namespace {

std::vector<std::shared_ptr<RoomMember>> locals_of(
    const std::unordered_map<PeerId, std::shared_ptr<RoomMember>>& members) {
  std::vector<std::shared_ptr<RoomMember>> out;
  out.reserve(members.size());
  for (const auto& [id, member] : members) out.push_back(member);
  return out;
}

}  // namespace

RoomRegistry::RoomRegistry(size_t max_rooms, size_t max_peers_per_room, Metrics& metrics)
    : max_rooms_(max_rooms), max_peers_(max_peers_per_room), metrics_(metrics) {}

Expected<RoomRegistry::Joined, RoomRegistry::JoinError> RoomRegistry::join(
    const RoomLocator& locator, std::shared_ptr<RoomMember> member,
    const std::function<bool()>& may_create) {
  std::lock_guard lock(mu_);
  bool created = false;
  auto it = rooms_.find(locator);
  if (it == rooms_.end()) {
    if (rooms_.size() >= max_rooms_) return unexpected(JoinError::kTooManyRooms);
    if (may_create && !may_create()) return unexpected(JoinError::kRoomRateLimited);
    it = rooms_.emplace(locator, std::make_shared<Room>(locator)).first;
    metrics_.rooms.store(rooms_.size(), std::memory_order_relaxed);
    created = true;
  }
  Room& room = *it->second;
  std::lock_guard room_lock(room.mu_);
  if (room.members_.size() + room.remote_.size() >= max_peers_) {
    if (room.members_.empty()) {  // only with max_peers_ 0, which validate() refuses
      rooms_.erase(it);
      metrics_.rooms.store(rooms_.size(), std::memory_order_relaxed);
    }
    return unexpected(JoinError::kRoomFull);
  }
  Joined joined;
  joined.room = it->second;
  joined.created = created;
  do {
    joined.id = random_peer_id();
  } while (room.members_.contains(joined.id) || room.remote_.contains(joined.id));
  joined.other_ids.reserve(room.members_.size() + room.remote_.size());
  joined.others.reserve(room.members_.size());
  for (const auto& [id, other] : room.members_) {
    joined.other_ids.push_back(id);
    joined.others.push_back(other);
  }
  for (const auto& [id, remote] : room.remote_) joined.other_ids.push_back(id);
  room.members_.emplace(joined.id, std::move(member));
  return joined;
}

RoomRegistry::Left RoomRegistry::leave(const std::shared_ptr<Room>& room, PeerId id) {
  Left left;
  std::lock_guard lock(mu_);
  std::lock_guard room_lock(room->mu_);
  if (room->members_.erase(id) == 0) return left;
  left.removed = true;
  if (room->members_.empty()) {
    auto it = rooms_.find(room->locator_);
    if (it != rooms_.end() && it->second == room) rooms_.erase(it);
    metrics_.rooms.store(rooms_.size(), std::memory_order_relaxed);
    room->remote_.clear();
    left.emptied = true;
    return left;
  }
  left.rest = locals_of(room->members_);
  return left;
}

std::shared_ptr<Room> RoomRegistry::find(const RoomLocator& locator) const {
  std::lock_guard lock(mu_);
  auto it = rooms_.find(locator);
  return it == rooms_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Room>> RoomRegistry::rooms() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<Room>> out;
  out.reserve(rooms_.size());
  for (const auto& [locator, room] : rooms_) out.push_back(room);
  return out;
}

std::vector<std::shared_ptr<RoomMember>> RoomRegistry::add_remote(
    const RoomLocator& locator, PeerId id, uint64_t instance, std::shared_ptr<RoomMember> member) {
  auto room = find(locator);
  if (!room) return {};
  std::lock_guard room_lock(room->mu_);
  if (room->members_.empty() || room->members_.contains(id) || room->remote_.contains(id)) {
    return {};
  }
  if (room->members_.size() + room->remote_.size() >= max_peers_) return {};
  room->remote_.emplace(id, Room::Remote{instance, std::move(member)});
  return locals_of(room->members_);
}

std::vector<std::shared_ptr<RoomMember>> RoomRegistry::remove_remote(const RoomLocator& locator,
                                                                     PeerId id, uint64_t instance) {
  auto room = find(locator);
  if (!room) return {};
  std::lock_guard room_lock(room->mu_);
  auto it = room->remote_.find(id);
  // Only the instance that announced a peer may take it away.
  if (it == room->remote_.end() || it->second.instance != instance) return {};
  room->remote_.erase(it);
  return locals_of(room->members_);
}

void RoomRegistry::remove_instance(
    uint64_t instance,
    const std::function<void(PeerId, std::vector<std::shared_ptr<RoomMember>>)>& tell) {
  for (const auto& room : rooms()) {
    std::vector<PeerId> gone;
    std::vector<std::shared_ptr<RoomMember>> locals;
    {
      std::lock_guard room_lock(room->mu_);
      for (auto it = room->remote_.begin(); it != room->remote_.end();) {
        if (it->second.instance == instance) {
          gone.push_back(it->first);
          it = room->remote_.erase(it);
        } else {
          ++it;
        }
      }
      if (!gone.empty()) locals = locals_of(room->members_);
    }
    for (PeerId id : gone) tell(id, locals);
  }
}

void RoomRegistry::remove_all_remote(
    const std::function<void(PeerId, std::vector<std::shared_ptr<RoomMember>>)>& tell) {
  for (const auto& room : rooms()) {
    std::vector<PeerId> gone;
    std::vector<std::shared_ptr<RoomMember>> locals;
    {
      std::lock_guard room_lock(room->mu_);
      for (const auto& [id, remote] : room->remote_) gone.push_back(id);
      room->remote_.clear();
      if (!gone.empty()) locals = locals_of(room->members_);
    }
    for (PeerId id : gone) tell(id, locals);
  }
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
      room->remote_.clear();
    }
  }
  // Destroyed here, outside the locks: members may hold their room.
}

}  // namespace tokencast::rendezvous
