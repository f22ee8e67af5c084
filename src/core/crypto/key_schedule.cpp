#include "tokencast/core/key_schedule.hpp"

#include "crypto/bytes.hpp"
#include "crypto/primitives.hpp"
#include "tokencast/core/base64url.hpp"

namespace tokencast {

namespace detail {
void secure_wipe(void* data, size_t size) { crypto::wipe(data, size); }
}  // namespace detail

namespace {

crypto::Bytes info_prefix(std::string_view label, LinkRole role, const Ed25519PublicKey& host_key) {
  crypto::Bytes info;
  info.reserve(label.size() + 1 + 1 + host_key.size() + kJoinIdSize);
  crypto::append(info, label);
  crypto::append_u8(info, 0x00);
  crypto::append_u8(info, static_cast<uint8_t>(role));
  crypto::append(info, host_key);
  return info;
}

// A per-join key: HKDF info = label | 0x00 | role | host key | join id.
SealKey derive_join_key(std::string_view label, const RoomSecret& secret, LinkRole role,
                        const Ed25519PublicKey& host_key, const JoinId& join_id) {
  crypto::Bytes info = info_prefix(label, role, host_key);
  crypto::append(info, join_id);
  SealKey key;
  crypto::hkdf_sha256(secret.bytes(), crypto::as_bytes(kHkdfSalt), info, key.mutable_bytes());
  return key;
}

}  // namespace

std::string_view link_role_name(LinkRole role) {
  switch (role) {
    case LinkRole::kViewer:
      return "viewer";
    case LinkRole::kParticipant:
      return "participant";
  }
  return "unknown";
}

RoomSecret generate_room_secret(Random& random) {
  RoomSecret secret;
  random.fill(secret.mutable_bytes());
  return secret;
}

JoinId generate_join_id(Random& random) {
  JoinId id{};
  random.fill(id);
  return id;
}

RoomLocator derive_room_locator(const RoomSecret& secret, LinkRole role,
                                const Ed25519PublicKey& host_key) {
  const crypto::Bytes info = info_prefix(kLocatorLabel, role, host_key);
  RoomLocator locator{};
  crypto::hkdf_sha256(secret.bytes(), crypto::as_bytes(kHkdfSalt), info, locator);
  return locator;
}

SealKey derive_seal_key(const RoomSecret& secret, LinkRole role, const Ed25519PublicKey& host_key,
                        Direction direction, const JoinId& join_id) {
  return derive_join_key(
      direction == Direction::kJoinerToHost ? kSealJoinerToHostLabel : kSealHostToJoinerLabel,
      secret, role, host_key, join_id);
}

SealKey derive_route_key(const RoomSecret& secret, LinkRole role, const Ed25519PublicKey& host_key,
                         Direction direction, const JoinId& join_id) {
  return derive_join_key(
      direction == Direction::kHostToJoiner ? kRouteHostToRelayLabel : kRouteRelayToHostLabel,
      secret, role, host_key, join_id);
}

SealKey derive_beacon_key(const RoomSecret& secret, LinkRole role,
                          const Ed25519PublicKey& host_key) {
  const crypto::Bytes info = info_prefix(kSealBeaconLabel, role, host_key);
  SealKey key;
  crypto::hkdf_sha256(secret.bytes(), crypto::as_bytes(kHkdfSalt), info, key.mutable_bytes());
  return key;
}

std::string room_locator_text(const RoomLocator& locator) { return base64url_encode(locator); }

RoomKeys::RoomKeys(const RoomSecret& secret, LinkRole role, const Ed25519PublicKey& host_key)
    : secret_(secret),
      role_(role),
      host_key_(host_key),
      locator_(derive_room_locator(secret, role, host_key)) {}

SealKey RoomKeys::seal_key(Direction direction, const JoinId& join_id) const {
  return derive_seal_key(secret_, role_, host_key_, direction, join_id);
}

SealKey RoomKeys::route_key(Direction direction, const JoinId& join_id) const {
  return derive_route_key(secret_, role_, host_key_, direction, join_id);
}

SealKey RoomKeys::beacon_key() const { return derive_beacon_key(secret_, role_, host_key_); }

}  // namespace tokencast
