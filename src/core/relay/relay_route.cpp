#include "tokencast/core/relay_route.hpp"

#include <limits>

#include "crypto/primitives.hpp"

namespace tokencast {

Expected<std::vector<uint8_t>, EnvelopeError> RouteSealer::seal(
    std::span<const uint8_t> plaintext) {
  if (plaintext.size() > kMaxRoutePlaintext) return unexpected(EnvelopeError::kTooLarge);
  if (next_ == std::numeric_limits<uint64_t>::max()) {
    return unexpected(EnvelopeError::kCounterExhausted);
  }
  const uint64_t counter = next_++;
  std::vector<uint8_t> out(kRouteCounterSize + plaintext.size() + kRouteTagSize);
  big_endian::store_u64(out.data(), counter);
  const auto nonce = crypto::counter_nonce(counter);
  crypto::aead_seal(key_.bytes(), nonce, {}, plaintext,
                    std::span<uint8_t>(out).subspan(kRouteCounterSize));
  return out;
}

Expected<std::vector<uint8_t>, EnvelopeError> RouteOpener::open(std::span<const uint8_t> sealed) {
  if (sealed.size() > kMaxRouteSealBytes) return unexpected(EnvelopeError::kTooLarge);
  if (sealed.size() < kRouteSealOverhead) return unexpected(EnvelopeError::kTooShort);
  const uint64_t counter = big_endian::load_u64(sealed.data());
  if (!guard_.fresh(counter)) return unexpected(EnvelopeError::kReplayed);
  std::vector<uint8_t> plaintext(sealed.size() - kRouteSealOverhead);
  const auto nonce = crypto::counter_nonce(counter);
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
