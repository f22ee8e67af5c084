// The key schedule: everything a room needs is derived with HKDF-SHA256 (RFC 5869) from the
// 32-byte room secret carried in an invite link. Two links per session (viewer, participant),
// each with its own secret, so a viewer cannot turn its link into a participant's.
//
//   key = HKDF-SHA256(IKM = secret, salt = "tokencast/v1", info, L = 32)
//
//   room locator  info = "tokencast/v1/room-locator" 0x00 role host_public_key
//   sealing key   info = "tokencast/v1/seal/joiner-to-host" 0x00 role host_public_key join_id
//                 info = "tokencast/v1/seal/host-to-joiner" 0x00 role host_public_key join_id
//   beacon key    info = "tokencast/v1/seal/beacon" 0x00 role host_public_key
//
// (role: one byte, 0 viewer / 1 participant; host_public_key: 32 bytes; join_id: 16 bytes.)
// The role and the host key are inputs so that a link with a flipped role byte or a swapped
// key leads to a different, empty room instead of a confusing half-working one. Sealing keys
// are per join attempt (the joiner picks a fresh random join id) and per direction, so the
// envelope counters used as nonces never repeat under one key although every joiner of a room
// shares its secret. docs/PROTOCOL.md (section 1) has the byte-level specification.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "tokencast/core/signing.hpp"

namespace tokencast {

namespace detail {
// Overwrites memory in a way the compiler may not elide (OPENSSL_cleanse).
void secure_wipe(void* data, size_t size);
}  // namespace detail

// Fixed-size secret key material: wiped on destruction, compared in constant time, never
// printed. Tag keeps room secrets and derived keys from being mixed up.
template <class Tag, size_t N>
class SecretBytes {
 public:
  static constexpr size_t kSize = N;
  SecretBytes() = default;
  explicit SecretBytes(std::span<const uint8_t, N> bytes) {
    for (size_t i = 0; i < N; ++i) bytes_[i] = bytes[i];
  }
  SecretBytes(const SecretBytes&) = default;
  SecretBytes& operator=(const SecretBytes&) = default;
  ~SecretBytes() { detail::secure_wipe(bytes_.data(), N); }

  std::span<const uint8_t, N> bytes() const { return bytes_; }
  std::span<uint8_t, N> mutable_bytes() { return bytes_; }

  friend bool operator==(const SecretBytes& a, const SecretBytes& b) {
    uint8_t diff = 0;
    for (size_t i = 0; i < N; ++i) diff |= static_cast<uint8_t>(a.bytes_[i] ^ b.bytes_[i]);
    return diff == 0;
  }

 private:
  std::array<uint8_t, N> bytes_{};
};

struct RoomSecretTag {};
struct SealKeyTag {};

inline constexpr size_t kRoomSecretSize = 32;
inline constexpr size_t kRoomLocatorSize = 32;
inline constexpr size_t kJoinIdSize = 16;
inline constexpr size_t kSealKeySize = 32;

// The 256-bit secret of one room (one per role per session).
using RoomSecret = SecretBytes<RoomSecretTag, kRoomSecretSize>;
// A ChaCha20-Poly1305 key for one direction of one join attempt.
using SealKey = SecretBytes<SealKeyTag, kSealKeySize>;
// What the rendezvous sees of a room: 32 pseudo-random bytes, shown as base64url (43 chars).
// Reveals nothing about the secret and links to nothing else.
using RoomLocator = std::array<uint8_t, kRoomLocatorSize>;
// Chosen at random by the joiner for each join attempt; in clear in every envelope header.
using JoinId = std::array<uint8_t, kJoinIdSize>;

enum class LinkRole : uint8_t { kViewer = 0, kParticipant = 1 };
// "viewer" / "participant".
std::string_view link_role_name(LinkRole role);

enum class Direction : uint8_t { kJoinerToHost = 0, kHostToJoiner = 1 };

// The exact HKDF labels (ASCII, no terminator; the info strings add a 0x00 after the label).
inline constexpr std::string_view kHkdfSalt = "tokencast/v1";
inline constexpr std::string_view kLocatorLabel = "tokencast/v1/room-locator";
inline constexpr std::string_view kSealJoinerToHostLabel = "tokencast/v1/seal/joiner-to-host";
inline constexpr std::string_view kSealHostToJoinerLabel = "tokencast/v1/seal/host-to-joiner";
inline constexpr std::string_view kSealBeaconLabel = "tokencast/v1/seal/beacon";
inline constexpr std::string_view kRouteHostToRelayLabel = "tokencast/v1/route/host-to-relay";
inline constexpr std::string_view kRouteRelayToHostLabel = "tokencast/v1/route/relay-to-host";

// A fresh room secret / join id drawn from `random` (system_random() in production).
RoomSecret generate_room_secret(Random& random);
JoinId generate_join_id(Random& random);

// The derivations above. They cannot fail on any input; a broken libcrypto throws
// crypto::CryptoFailure.
RoomLocator derive_room_locator(const RoomSecret& secret, LinkRole role,
                                const Ed25519PublicKey& host_key);
SealKey derive_seal_key(const RoomSecret& secret, LinkRole role, const Ed25519PublicKey& host_key,
                        Direction direction, const JoinId& join_id);
// The key of the room's ICE beacons (handshake.hpp): one per room, not per join, because the
// host greets a peer before it knows the join id; every beacon has its own random nonce.
SealKey derive_beacon_key(const RoomSecret& secret, LinkRole role,
                          const Ed25519PublicKey& host_key);

// The key of one direction of the route between the host and a relay below a relay
// (relay_route.hpp), for the join that placed that relay: kHostToJoiner is host -> relay. Its
// parents relay these seals without being able to derive the key: they hold the room secret
// but never see the join id (only the rendezvous does, in envelope headers).
SealKey derive_route_key(const RoomSecret& secret, LinkRole role, const Ed25519PublicKey& host_key,
                         Direction direction, const JoinId& join_id);

// base64url (no padding) of the locator: the text form used in logs and by the browser client.
std::string room_locator_text(const RoomLocator& locator);

// One room's key schedule, holding its secret: the room locator computed once, and the
// per-join sealing keys on demand.
class RoomKeys {
 public:
  RoomKeys(const RoomSecret& secret, LinkRole role, const Ed25519PublicKey& host_key);

  LinkRole role() const { return role_; }
  const Ed25519PublicKey& host_key() const { return host_key_; }
  const RoomLocator& locator() const { return locator_; }
  std::string locator_text() const { return room_locator_text(locator_); }
  SealKey seal_key(Direction direction, const JoinId& join_id) const;
  SealKey beacon_key() const;
  SealKey route_key(Direction direction, const JoinId& join_id) const;

 private:
  RoomSecret secret_;
  LinkRole role_;
  Ed25519PublicKey host_key_;
  RoomLocator locator_;
};

}  // namespace tokencast
