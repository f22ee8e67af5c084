#include "tokencast/core/relay_route.hpp"

#include <array>
#include <limits>

#include "crypto/primitives.hpp"

namespace tokencast {
namespace {

std::array<uint8_t, crypto::kAeadNonceSize> route_nonce(uint64_t counter) {
  std::array<uint8_t, crypto::kAeadNonceSize> nonce{};
  for (size_t i = 0; i < kRouteCounterSize; ++i) {
    nonce[4 + i] = static_cast<uint8_t>(counter >> (56 - 8 * i));
  }
  return nonce;
}

}  // namespace

Expected<std::vector<uint8_t>, EnvelopeError> RouteSealer::seal(
    std::span<const uint8_t> plaintext) {
  if (plaintext.size() > kMaxRoutePlaintext) return unexpected(EnvelopeError::kTooLarge);
  if (next_ == std::numeric_limits<uint64_t>::max()) {
    return unexpected(EnvelopeError::kCounterExhausted);
  }
  const uint64_t counter = next_++;
  std::vector<uint8_t> out(kRouteCounterSize + plaintext.size() + kRouteTagSize);
  for (size_t i = 0; i < kRouteCounterSize; ++i) {
    out[i] = static_cast<uint8_t>(counter >> (56 - 8 * i));
  }
  const auto nonce = route_nonce(counter);
  crypto::aead_seal(key_.bytes(), nonce, {}, plaintext,
                    std::span<uint8_t>(out).subspan(kRouteCounterSize));
  return out;
}

Expected<std::vector<uint8_t>, EnvelopeError> RouteOpener::open(std::span<const uint8_t> sealed) {
  if (sealed.size() > kMaxRouteSealBytes) return unexpected(EnvelopeError::kTooLarge);
  if (sealed.size() < kRouteSealOverhead) return unexpected(EnvelopeError::kTooShort);
  uint64_t counter = 0;
  for (size_t i = 0; i < kRouteCounterSize; ++i) counter = (counter << 8) | sealed[i];
  if (!guard_.fresh(counter)) return unexpected(EnvelopeError::kReplayed);
  std::vector<uint8_t> plaintext(sealed.size() - kRouteSealOverhead);
  const auto nonce = route_nonce(counter);
  if (!crypto::aead_open(key_.bytes(), nonce, {}, sealed.subspan(kRouteCounterSize), plaintext)) {
    return unexpected(EnvelopeError::kOpenFailed);
  }
  guard_.accept(counter);
  return plaintext;
}

RouteChannel RouteChannel::for_host(const RoomKeys& keys, const JoinId& join_id) {
  return RouteChannel{RouteSealer(keys.route_key(Direction::kHostToJoiner, join_id)),
                      RouteOpener(keys.route_key(Direction::kJoinerToHost, join_id))};
}

RouteChannel RouteChannel::for_relay(const RoomKeys& keys, const JoinId& join_id) {
  return RouteChannel{RouteSealer(keys.route_key(Direction::kJoinerToHost, join_id)),
                      RouteOpener(keys.route_key(Direction::kHostToJoiner, join_id))};
}

}  // namespace tokencast
