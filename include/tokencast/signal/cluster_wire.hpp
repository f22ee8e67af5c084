// The cluster wire: what rendezvous instances tell each other over NATS so that the peers of one
// room may sit on different instances. Pure codec (sans-I/O), strict like the rendezvous wire:
// exact lengths, known types, bounded sizes, canonical encodings only. Specification:
// docs/PROTOCOL.md, section 3, "Between rendezvous instances (NATS)".
//
// It carries only what one rendezvous already sees: random ids, a hash of the room locator and
// sealed envelopes. Every message starts with version(1) type(1) instance(8), the sender.
//
//   subject tokencast.room.<room hash, hex>     subject tokencast.inst.<instance, hex>
//   0x01 PEER_HERE   peer(8)                    0x05 RELAY  room(16) from(8) to(8) payload
//   0x02 PEER_GONE   peer(8)
//   0x03 SYNC                                   subject tokencast.alive
//   0x04 MEMBERS     count(2) peer(8)*count     0x06 ALIVE
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "tokencast/core/expected.hpp"
#include "tokencast/signal/rendezvous_wire.hpp"

namespace tokencast::rendezvous::cluster {

using InstanceId = uint64_t;  // random, never 0; a restarted instance has a new one
inline constexpr uint8_t kClusterVersion = 1;
inline constexpr size_t kRoomHashSize = 16;
// SHA-256("tokencast/v1/cluster-room" | 0x00 | locator), first 16 bytes: names the room on NATS
// without the locator itself.
using RoomHash = std::array<uint8_t, kRoomHashSize>;
RoomHash room_hash(const RoomLocator& locator);

inline constexpr size_t kHeaderSize = 1 + 1 + 8;
// Largest message: a RELAY with a full envelope (MEMBERS is smaller at kMaxListedPeers + 1).
inline constexpr size_t kMaxClusterMessageSize =
    kHeaderSize + kRoomHashSize + 16 + kMaxEnvelopeSize;

enum class Type : uint8_t {
  kPeerHere = 0x01,
  kPeerGone = 0x02,
  kSync = 0x03,
  kMembers = 0x04,
  kRelay = 0x05,
  kAlive = 0x06,
};

// A peer of the room joined on the sending instance (or is still there, after a reconnect).
struct PeerHere {
  PeerId peer = 0;
  bool operator==(const PeerHere&) const = default;
};
// It left (or its connection closed) on the sending instance.
struct PeerGone {
  PeerId peer = 0;
  bool operator==(const PeerGone&) const = default;
};
// The sender holds the room now: every other instance holding it answers with MEMBERS.
struct Sync {
  bool operator==(const Sync&) const = default;
};
// The room's peers on the sending instance (at most kMaxListedPeers + 1, no id twice).
struct Members {
  std::vector<PeerId> peers;
  bool operator==(const Members&) const = default;
};
// An envelope from a peer on the sender to a peer on the receiving instance. `payload` views the
// decoded input.
struct Relay {
  RoomHash room{};
  PeerId from = 0;
  PeerId to = 0;
  std::span<const uint8_t> payload;
};
// The sender is up; instances silent for longer than the expiry lose their peers everywhere.
struct Alive {
  bool operator==(const Alive&) const = default;
};

using Body = std::variant<PeerHere, PeerGone, Sync, Members, Relay, Alive>;
struct Message {
  InstanceId from = 0;
  Body body;
};

Expected<Message, WireError> decode(std::span<const uint8_t> bytes);
// Encoders; the ones that can be handed out-of-range values return an error.
std::vector<uint8_t> encode_peer_here(InstanceId from, PeerId peer);
std::vector<uint8_t> encode_peer_gone(InstanceId from, PeerId peer);
std::vector<uint8_t> encode_sync(InstanceId from);
Expected<std::vector<uint8_t>, WireError> encode_members(InstanceId from,
                                                         std::span<const PeerId> peers);
Expected<std::vector<uint8_t>, WireError> encode_relay(InstanceId from, const RoomHash& room,
                                                       PeerId sender, PeerId to,
                                                       std::span<const uint8_t> payload);
std::vector<uint8_t> encode_alive(InstanceId from);
// Re-encodes a decoded message (tests and the fuzzer check canonical form with it).
std::vector<uint8_t> encode(const Message& message);

// NATS subjects.
std::string room_subject(const RoomHash& room);
std::string instance_subject(InstanceId instance);
inline constexpr const char* kAliveSubject = "tokencast.alive";

}  // namespace tokencast::rendezvous::cluster
