// One trickled ICE candidate, as RTCIceCandidate's (sdpMid, sdpMLineIndex, candidate). Shared by
// the handshake (which seals it) and the WebRTC adapter (which produces and applies it).
#pragma once

#include <cstdint>
#include <string>

namespace tokencast {

struct IceCandidate {
  std::string sdp_mid;
  uint16_t mline_index = 0;
  std::string candidate;  // the attribute without "a=", e.g. "candidate:1 1 udp 2122260223 ..."
  bool operator==(const IceCandidate&) const = default;
};

}  // namespace tokencast
