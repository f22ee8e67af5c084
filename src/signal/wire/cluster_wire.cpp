#include "tokencast/signal/cluster_wire.hpp"

#include <openssl/sha.h>

#include <cstring>
#include <set>

#include "tokencast/core/big_endian.hpp"

namespace tokencast::rendezvous::cluster {

using big_endian::load_u16;
using big_endian::load_u64;
using big_endian::store_u16;
using big_endian::store_u64;

namespace {

constexpr size_t kIdSize = 8;
constexpr size_t kRelayFixedSize = kHeaderSize + kRoomHashSize + 2 * kIdSize;

std::vector<uint8_t> header(Type type, InstanceId from, size_t extra) {
  std::vector<uint8_t> out(kHeaderSize + extra);
  out[0] = kClusterVersion;
  out[1] = static_cast<uint8_t>(type);
  store_u64(out.data() + 2, from);
  return out;
}

std::vector<uint8_t> with_peer(Type type, InstanceId from, PeerId peer) {
  auto out = header(type, from, kIdSize);
  store_u64(out.data() + kHeaderSize, peer);
  return out;
}

std::string hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0f]);
  }
  return out;
}

// A message that is exactly the header and one non-zero peer id.
Expected<PeerId, WireError> peer_only(std::span<const uint8_t> rest) {
  if (rest.size() < kIdSize) return unexpected(WireError::kTruncated);
  if (rest.size() > kIdSize) return unexpected(WireError::kTrailingBytes);
  PeerId peer = load_u64(rest.data());
  if (peer == 0) return unexpected(WireError::kZeroPeerId);
  return peer;
}

}  // namespace

RoomHash room_hash(const RoomLocator& locator) {
  static constexpr char kLabel[] = "tokencast/v1/cluster-room";
  uint8_t input[sizeof kLabel + kLocatorSize];  // the label, its NUL, then the locator
  std::memcpy(input, kLabel, sizeof kLabel);
  std::memcpy(input + sizeof kLabel, locator.data(), kLocatorSize);
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(input, sizeof input, digest);
  RoomHash out{};
  std::memcpy(out.data(), digest, kRoomHashSize);
  return out;
}

Expected<Message, WireError> decode(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return unexpected(WireError::kEmpty);
  if (bytes.size() < kHeaderSize) return unexpected(WireError::kTruncated);
  if (bytes[0] != kClusterVersion) return unexpected(WireError::kUnsupportedVersion);
  Message m;
  m.from = load_u64(bytes.data() + 2);
  if (m.from == 0) return unexpected(WireError::kZeroPeerId);
  auto rest = bytes.subspan(kHeaderSize);
  switch (static_cast<Type>(bytes[1])) {
    case Type::kPeerHere: {
      auto peer = peer_only(rest);
      if (!peer) return unexpected(peer.error());
      m.body = PeerHere{*peer};
      return m;
    }
    case Type::kPeerGone: {
      auto peer = peer_only(rest);
      if (!peer) return unexpected(peer.error());
      m.body = PeerGone{*peer};
      return m;
    }
    case Type::kSync:
    case Type::kAlive:
      if (!rest.empty()) return unexpected(WireError::kTrailingBytes);
      if (bytes[1] == static_cast<uint8_t>(Type::kSync)) {
        m.body = Sync{};
      } else {
        m.body = Alive{};
      }
      return m;
    case Type::kMembers: {
      if (rest.size() < 2) return unexpected(WireError::kTruncated);
      const size_t count = load_u16(rest.data());
      if (count > kMaxListedPeers + 1) return unexpected(WireError::kTooManyPeers);
      if (rest.size() < 2 + count * kIdSize) return unexpected(WireError::kTruncated);
      if (rest.size() > 2 + count * kIdSize) return unexpected(WireError::kTrailingBytes);
      Members members;
      members.peers.reserve(count);
      std::set<PeerId> seen;
      for (size_t i = 0; i < count; ++i) {
        PeerId peer = load_u64(rest.data() + 2 + i * kIdSize);
        if (peer == 0) return unexpected(WireError::kZeroPeerId);
        if (!seen.insert(peer).second) return unexpected(WireError::kDuplicatePeer);
        members.peers.push_back(peer);
      }
      m.body = std::move(members);
      return m;
    }
    case Type::kRelay: {
      if (bytes.size() < kRelayFixedSize) return unexpected(WireError::kTruncated);
      Relay relay;
      std::memcpy(relay.room.data(), rest.data(), kRoomHashSize);
      relay.from = load_u64(rest.data() + kRoomHashSize);
      relay.to = load_u64(rest.data() + kRoomHashSize + kIdSize);
      if (relay.from == 0 || relay.to == 0) return unexpected(WireError::kZeroPeerId);
      relay.payload = bytes.subspan(kRelayFixedSize);
      if (relay.payload.empty()) return unexpected(WireError::kEmptyPayload);
      if (relay.payload.size() > kMaxEnvelopeSize) return unexpected(WireError::kPayloadTooLarge);
      m.body = relay;
      return m;
    }
  }
  return unexpected(WireError::kUnknownType);
}

std::vector<uint8_t> encode_peer_here(InstanceId from, PeerId peer) {
  return with_peer(Type::kPeerHere, from, peer);
}

std::vector<uint8_t> encode_peer_gone(InstanceId from, PeerId peer) {
  return with_peer(Type::kPeerGone, from, peer);
}

std::vector<uint8_t> encode_sync(InstanceId from) { return header(Type::kSync, from, 0); }

std::vector<uint8_t> encode_alive(InstanceId from) { return header(Type::kAlive, from, 0); }

Expected<std::vector<uint8_t>, WireError> encode_members(InstanceId from,
                                                         std::span<const PeerId> peers) {
  if (peers.size() > kMaxListedPeers + 1) return unexpected(WireError::kTooManyPeers);
  auto out = header(Type::kMembers, from, 2 + peers.size() * kIdSize);
  store_u16(out.data() + kHeaderSize, static_cast<uint16_t>(peers.size()));
  std::set<PeerId> seen;
  for (size_t i = 0; i < peers.size(); ++i) {
    if (peers[i] == 0) return unexpected(WireError::kZeroPeerId);
    if (!seen.insert(peers[i]).second) return unexpected(WireError::kDuplicatePeer);
    store_u64(out.data() + kHeaderSize + 2 + i * kIdSize, peers[i]);
  }
  return out;
}

Expected<std::vector<uint8_t>, WireError> encode_relay(InstanceId from, const RoomHash& room,
                                                       PeerId sender, PeerId to,
                                                       std::span<const uint8_t> payload) {
  if (sender == 0 || to == 0) return unexpected(WireError::kZeroPeerId);
  if (payload.empty()) return unexpected(WireError::kEmptyPayload);
  if (payload.size() > kMaxEnvelopeSize) return unexpected(WireError::kPayloadTooLarge);
  auto out = header(Type::kRelay, from, kRoomHashSize + 2 * kIdSize + payload.size());
  uint8_t* p = out.data() + kHeaderSize;
  std::memcpy(p, room.data(), kRoomHashSize);
  store_u64(p + kRoomHashSize, sender);
  store_u64(p + kRoomHashSize + kIdSize, to);
  std::memcpy(p + kRoomHashSize + 2 * kIdSize, payload.data(), payload.size());
  return out;
}

std::vector<uint8_t> encode(const Message& message) {
  struct Visitor {
    InstanceId from;
    std::vector<uint8_t> operator()(const PeerHere& m) const {
      return encode_peer_here(from, m.peer);
    }
    std::vector<uint8_t> operator()(const PeerGone& m) const {
      return encode_peer_gone(from, m.peer);
    }
    std::vector<uint8_t> operator()(const Sync&) const { return encode_sync(from); }
    std::vector<uint8_t> operator()(const Alive&) const { return encode_alive(from); }
    std::vector<uint8_t> operator()(const Members& m) const {
      auto out = encode_members(from, m.peers);
      return out ? std::move(*out) : std::vector<uint8_t>{};
    }
    std::vector<uint8_t> operator()(const Relay& m) const {
      auto out = encode_relay(from, m.room, m.from, m.to, m.payload);
      return out ? std::move(*out) : std::vector<uint8_t>{};
    }
  };
  return std::visit(Visitor{message.from}, message.body);
}

std::string room_subject(const RoomHash& room) { return "tokencast.room." + hex(room); }

std::string instance_subject(InstanceId instance) {
  uint8_t bytes[8];
  store_u64(bytes, instance);
  return "tokencast.inst." + hex(bytes);
}

}  // namespace tokencast::rendezvous::cluster
