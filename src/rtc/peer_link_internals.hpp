// Private to src/rtc and its benchmark: hooks that bypass PeerLink's design on purpose, to measure
// the alternative. No libwebrtc types here.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "tokencast/rtc/peer_link.hpp"

namespace tokencast {

struct PeerLinkInternals {
  // A sender that calls libwebrtc's DataChannel proxy directly from the calling thread, without
  // PeerLink's queue and accounting (each call blocks for a hop to the signaling thread). The
  // link's channel must exist (offerer, or answerer once open). Benchmark use only.
  static std::function<bool(std::span<const uint8_t>)> direct_proxy_sender(PeerLink& link);
};

}  // namespace tokencast
