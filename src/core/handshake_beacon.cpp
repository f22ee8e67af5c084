// Host beacons: see handshake.hpp.
#include "tokencast/handshake.hpp"

namespace tokencast {
namespace {

std::vector<uint8_t> beacon_transcript(const RoomLocator& locator, uint64_t to, uint64_t from) {
  std::vector<uint8_t> t;
  t.reserve(kBeaconTranscriptLabel.size() + 1 + locator.size() + 16);
  t.insert(t.end(), kBeaconTranscriptLabel.begin(), kBeaconTranscriptLabel.end());
  t.push_back(0x00);
  t.insert(t.end(), locator.begin(), locator.end());
  for (uint64_t id : {to, from}) {
    for (int shift = 56; shift >= 0; shift -= 8) t.push_back(static_cast<uint8_t>(id >> shift));
  }
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
