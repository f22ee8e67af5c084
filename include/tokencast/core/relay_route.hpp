// Route seals: how the host speaks to a relay it has no data channel to (docs/PROTOCOL.md
// section 6, "Relays below relays"). A viewer the host placed below a relay may itself relay;
// the host then introduces children to it through its parents, as relay_route / relay_routed
// frames (frame.hpp) carrying a route seal around one section 4 frame. The parents pass the
// seal on without being able to read or alter it: its key comes from the room secret and the
// join id of the join that placed the relay, which they never see.
//
//   route seal = counter u64 (big-endian) | ChaCha20-Poly1305(key, nonce, aad = "", frame) | tag
//   nonce      = 0x00000000 | counter
//   key        = RoomKeys::route_key(direction, join id)   (kHostToJoiner: host -> relay)
//
// Each sender counts from 0, one per seal; a receiver takes only counters above the last one it
// opened, so a parent cannot replay or reorder what it passes on (it can drop it: the host's
// answer timeout covers that).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "tokencast/core/envelope.hpp"
#include "tokencast/core/expected.hpp"
#include "tokencast/core/key_schedule.hpp"

namespace tokencast {

inline constexpr size_t kRouteCounterSize = 8;
inline constexpr size_t kRouteTagSize = 16;
inline constexpr size_t kRouteSealOverhead = kRouteCounterSize + kRouteTagSize;
// A sealed frame must fit a relay_route frame (type, child varint up to 10 bytes).
inline constexpr size_t kMaxRouteSealBytes = 16384 - 11;
inline constexpr size_t kMaxRoutePlaintext = kMaxRouteSealBytes - kRouteSealOverhead;

// One direction of one route: seals with a fresh counter each time. Errors: kTooLarge (a
// plaintext over kMaxRoutePlaintext), kCounterExhausted.
class RouteSealer {
 public:
  explicit RouteSealer(const SealKey& key) : key_(key) {}
  Expected<std::vector<uint8_t>, EnvelopeError> seal(std::span<const uint8_t> plaintext);

 private:
  SealKey key_;
  uint64_t next_ = 0;
};

// The other end: opens seals whose counter is above the last one opened. Errors: kTooShort,
// kTooLarge, kReplayed (a counter not above the last), kOpenFailed (wrong key or altered).
class RouteOpener {
 public:
  explicit RouteOpener(const SealKey& key) : key_(key) {}
  Expected<std::vector<uint8_t>, EnvelopeError> open(std::span<const uint8_t> sealed);

 private:
  SealKey key_;
  ReplayGuard guard_;
};

// Both directions of a route, as one end holds them.
struct RouteChannel {
  RouteSealer sealer;
  RouteOpener opener;
  // The host's end of the route to the relay that `join_id` placed.
  static RouteChannel for_host(const RoomKeys& keys, const JoinId& join_id);
  // The relay's end of its route to the host, for the join that placed it.
  static RouteChannel for_relay(const RoomKeys& keys, const JoinId& join_id);
};

}  // namespace tokencast
