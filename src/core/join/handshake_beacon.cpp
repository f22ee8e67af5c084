// Host beacons: see handshake.hpp.
#include "crypto/bytes.hpp"
#include "tokencast/core/handshake.hpp"

namespace tokencast {
namespace {

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

}  // namespace

bool looks_like_beacon(std::span<const uint8_t> bytes) {
  return bytes.size() == kBeaconSize && bytes[0] == kBeaconTag;
}

bool verify_host_beacon(const InviteLink& link, std::span<const uint8_t> bytes, uint64_t self,
                        uint64_t from) {
  if (!looks_like_beacon(bytes)) return false;
  Ed25519Signature signature{};
  std::copy(bytes.begin() + 1, bytes.end(), signature.begin());
  return ed25519_verify(link.host_key, beacon_transcript(invite_room_locator(link), self, from),
                        signature);
}

std::vector<uint8_t> HostHandshake::beacon(LinkRole role, uint64_t to, uint64_t from) const {
  Ed25519Signature signature = host_key_.sign(beacon_transcript(locator(role), to, from));
  std::vector<uint8_t> out;
  out.reserve(kBeaconSize);
  out.push_back(kBeaconTag);
  out.insert(out.end(), signature.begin(), signature.end());
  return out;
}

}  // namespace tokencast
