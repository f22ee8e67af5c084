// Host beacons, plain and with ICE servers: see handshake.hpp and docs/PROTOCOL.md section 2.
#include <algorithm>

#include "crypto/bytes.hpp"
#include "crypto/primitives.hpp"
#include "tokencast/core/handshake.hpp"

namespace tokencast {
namespace {

constexpr size_t kSignatureSize = 64;
constexpr size_t kSealedStart = 1 + kSignatureSize;  // nonce | ciphertext | tag

std::vector<uint8_t> beacon_transcript(const RoomLocator& locator, uint64_t to, uint64_t from) {
  crypto::Bytes t;
  t.reserve(kBeaconTranscriptLabel.size() + 1 + locator.size() + 16);
  crypto::append(t, kBeaconTranscriptLabel);
  crypto::append_u8(t, 0x00);
  crypto::append(t, locator);
  crypto::append_u64_be(t, to);
  crypto::append_u64_be(t, from);
  return t;
}

// What an ICE beacon's signature covers: its own label, so that it is never mistaken for a
// plain beacon's, and the hash of the sealed part, so that the servers cannot be swapped.
std::vector<uint8_t> ice_beacon_transcript(const RoomLocator& locator, uint64_t to, uint64_t from,
                                           std::span<const uint8_t> sealed) {
  crypto::Bytes t;
  t.reserve(kIceBeaconTranscriptLabel.size() + 1 + locator.size() + 16 + crypto::kSha256Size);
  crypto::append(t, kIceBeaconTranscriptLabel);
  crypto::append_u8(t, 0x00);
  crypto::append(t, locator);
  crypto::append_u64_be(t, to);
  crypto::append_u64_be(t, from);
  crypto::append(t, crypto::sha256(sealed));
  return t;
}

Ed25519Signature signature_of(std::span<const uint8_t> bytes) {
  Ed25519Signature signature{};
  std::copy(bytes.begin() + 1, bytes.begin() + kSealedStart, signature.begin());
  return signature;
}

std::optional<std::vector<IceServerEntry>> open_ice_beacon(const InviteLink& link,
                                                           std::span<const uint8_t> bytes,
                                                           uint64_t self, uint64_t from) {
  const RoomLocator locator = invite_room_locator(link);
  const auto sealed = bytes.subspan(kSealedStart);
  if (!ed25519_verify(link.host_key, ice_beacon_transcript(locator, self, from, sealed),
                      signature_of(bytes))) {
    return std::nullopt;
  }
  const auto nonce = sealed.first<kIceBeaconNonceSize>();
  const auto ciphertext = sealed.subspan(kIceBeaconNonceSize);
  std::vector<uint8_t> list(ciphertext.size() - crypto::kAeadTagSize);
  const SealKey key = derive_beacon_key(link.secret, link.role, link.host_key);
  if (!crypto::aead_open(key.bytes(), nonce, locator, ciphertext, list)) return std::nullopt;
  auto servers = decode_ice_list(list);
  if (!servers) return std::nullopt;
  return std::move(*servers);
}

}  // namespace

bool looks_like_beacon(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return false;
  if (bytes[0] == kBeaconTag) return bytes.size() == kBeaconSize;
  return bytes[0] == kIceBeaconTag && bytes.size() >= kMinIceBeaconSize &&
         bytes.size() <= kMaxIceBeaconSize;
}

std::optional<std::vector<IceServerEntry>> open_host_beacon(const InviteLink& link,
                                                            std::span<const uint8_t> bytes,
                                                            uint64_t self, uint64_t from) {
  if (!looks_like_beacon(bytes)) return std::nullopt;
  if (bytes[0] == kIceBeaconTag) return open_ice_beacon(link, bytes, self, from);
  if (!ed25519_verify(link.host_key, beacon_transcript(invite_room_locator(link), self, from),
                      signature_of(bytes))) {
    return std::nullopt;
  }
  return std::vector<IceServerEntry>{};
}

bool verify_host_beacon(const InviteLink& link, std::span<const uint8_t> bytes, uint64_t self,
                        uint64_t from) {
  return open_host_beacon(link, bytes, self, from).has_value();
}

std::vector<uint8_t> HostHandshake::beacon(LinkRole role, uint64_t to, uint64_t from) const {
  Ed25519Signature signature = host_key_.sign(beacon_transcript(locator(role), to, from));
  std::vector<uint8_t> out;
  out.reserve(kBeaconSize);
  out.push_back(kBeaconTag);
  out.insert(out.end(), signature.begin(), signature.end());
  return out;
}

Expected<std::vector<uint8_t>, HandshakeError> HostHandshake::ice_beacon(
    LinkRole role, uint64_t to, uint64_t from, std::span<const IceServerEntry> ice,
    Random& random) const {
  std::array<uint8_t, kIceBeaconNonceSize> nonce{};
  random.fill(nonce);
  return ice_beacon(role, to, from, ice, nonce);
}

Expected<std::vector<uint8_t>, HandshakeError> HostHandshake::ice_beacon(
    LinkRole role, uint64_t to, uint64_t from, std::span<const IceServerEntry> ice,
    std::span<const uint8_t, kIceBeaconNonceSize> nonce) const {
  auto list = encode_ice_list(ice);
  if (!list) return unexpected(HandshakeError::kInvalidArgument);
  const RoomKeys& keys = room(role);
  std::vector<uint8_t> out(kSealedStart + kIceBeaconNonceSize + list->size() +
                           crypto::kAeadTagSize);
  out[0] = kIceBeaconTag;
  const auto sealed = std::span<uint8_t>(out).subspan(kSealedStart);
  std::copy(nonce.begin(), nonce.end(), sealed.begin());
  const SealKey key = keys.beacon_key();
  crypto::aead_seal(key.bytes(), nonce, keys.locator(), *list, sealed.subspan(kIceBeaconNonceSize));
  crypto::wipe(list->data(), list->size());  // the credentials, in clear
  const Ed25519Signature signature =
      host_key_.sign(ice_beacon_transcript(keys.locator(), to, from, sealed));
  std::copy(signature.begin(), signature.end(), out.begin() + 1);
  return out;
}

}  // namespace tokencast
