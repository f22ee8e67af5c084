#include "tokencast/core/envelope.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <string>
#include <utility>

#include "crypto/bytes.hpp"
#include "crypto/primitives.hpp"

namespace tokencast {
namespace {

class EnvelopeCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "tokencast.envelope"; }
  std::string message(int ev) const override {
    switch (static_cast<EnvelopeError>(ev)) {
      case EnvelopeError::kTooShort:
        return "envelope truncated";
      case EnvelopeError::kTooLarge:
        return "envelope too large";
      case EnvelopeError::kUnknownVersion:
        return "envelope version unknown";
      case EnvelopeError::kUnknownDirection:
        return "envelope direction unknown";
      case EnvelopeError::kWrongDirection:
        return "envelope sent in the other direction";
      case EnvelopeError::kWrongJoinId:
        return "envelope belongs to another join attempt";
      case EnvelopeError::kReplayed:
        return "envelope replayed (counter not increasing)";
      case EnvelopeError::kOpenFailed:
        return "envelope does not authenticate (wrong room or altered)";
      case EnvelopeError::kCounterExhausted:
        return "envelope counter exhausted";
    }
    return "envelope error";
  }
};

crypto::Bytes make_aad(std::span<const uint8_t> header, const RoomLocator& locator) {
  crypto::Bytes aad;
  aad.reserve(kEnvelopeHeaderSize + locator.size());
  crypto::append(aad, header);
  crypto::append(aad, locator);
  return aad;
}

}  // namespace

const std::error_category& envelope_category() {
  static const EnvelopeCategory category;
  return category;
}

std::error_code make_error_code(EnvelopeError e) {
  return {static_cast<int>(e), envelope_category()};
}

std::string_view envelope_error_name(EnvelopeError e) {
  switch (e) {
    case EnvelopeError::kTooShort:
      return "too_short";
    case EnvelopeError::kTooLarge:
      return "too_large";
    case EnvelopeError::kUnknownVersion:
      return "unknown_version";
    case EnvelopeError::kUnknownDirection:
      return "unknown_direction";
    case EnvelopeError::kWrongDirection:
      return "wrong_direction";
    case EnvelopeError::kWrongJoinId:
      return "wrong_join_id";
    case EnvelopeError::kReplayed:
      return "replayed";
    case EnvelopeError::kOpenFailed:
      return "open_failed";
    case EnvelopeError::kCounterExhausted:
      return "counter_exhausted";
  }
  return "unknown";
}

Expected<EnvelopeHeader, EnvelopeError> peek_envelope_header(std::span<const uint8_t> envelope) {
  if (envelope.size() > kMaxEnvelopeSize) return unexpected(EnvelopeError::kTooLarge);
  if (envelope.size() < kEnvelopeOverhead) return unexpected(EnvelopeError::kTooShort);
  if (envelope[0] != kEnvelopeVersion) return unexpected(EnvelopeError::kUnknownVersion);
  if (envelope[1] > static_cast<uint8_t>(Direction::kHostToJoiner)) {
    return unexpected(EnvelopeError::kUnknownDirection);
  }
  EnvelopeHeader h;
  h.direction = static_cast<Direction>(envelope[1]);
  std::copy(envelope.begin() + 2, envelope.begin() + 18, h.join_id.begin());
  h.counter = crypto::load_u64_be(envelope.subspan(18, 8));
  return h;
}

Expected<std::vector<uint8_t>, EnvelopeError> seal_envelope(const SealKey& key,
                                                            const RoomLocator& locator,
                                                            const EnvelopeHeader& header,
                                                            std::span<const uint8_t> plaintext) {
  if (plaintext.size() > kMaxEnvelopePlaintext) return unexpected(EnvelopeError::kTooLarge);
  crypto::Bytes out;
  out.reserve(kEnvelopeOverhead + plaintext.size());
  crypto::append_u8(out, kEnvelopeVersion);
  crypto::append_u8(out, static_cast<uint8_t>(header.direction));
  crypto::append(out, header.join_id);
  crypto::append_u64_be(out, header.counter);
  const crypto::Bytes aad =
      make_aad(std::span<const uint8_t>(out.data(), kEnvelopeHeaderSize), locator);
  out.resize(kEnvelopeOverhead + plaintext.size());
  const auto nonce = crypto::counter_nonce(header.counter);
  crypto::aead_seal(key.bytes(), nonce, aad, plaintext,
                    std::span<uint8_t>(out).subspan(kEnvelopeHeaderSize));
  return out;
}

Expected<std::vector<uint8_t>, EnvelopeError> open_envelope(const SealKey& key,
                                                            const RoomLocator& locator,
                                                            std::span<const uint8_t> envelope,
                                                            EnvelopeHeader* header_out) {
  auto header = peek_envelope_header(envelope);
  if (!header) return unexpected(header.error());
  const crypto::Bytes aad = make_aad(envelope.first(kEnvelopeHeaderSize), locator);
  const auto nonce = crypto::counter_nonce(header->counter);
  std::vector<uint8_t> plaintext(envelope.size() - kEnvelopeOverhead);
  if (!crypto::aead_open(key.bytes(), nonce, aad, envelope.subspan(kEnvelopeHeaderSize),
                         plaintext)) {
    return unexpected(EnvelopeError::kOpenFailed);
  }
  if (header_out != nullptr) *header_out = *header;
  return plaintext;
}

EnvelopeSealer::EnvelopeSealer(const RoomKeys& keys, Direction direction, const JoinId& join_id,
                               uint64_t first_counter)
    : key_(keys.seal_key(direction, join_id)),
      locator_(keys.locator()),
      direction_(direction),
      join_id_(join_id),
      next_(first_counter) {}

EnvelopeSealer::EnvelopeSealer(EnvelopeSealer&& other) noexcept
    : key_(other.key_),
      locator_(other.locator_),
      direction_(other.direction_),
      join_id_(other.join_id_),
      next_(std::exchange(other.next_, std::numeric_limits<uint64_t>::max())) {}

EnvelopeSealer& EnvelopeSealer::operator=(EnvelopeSealer&& other) noexcept {
  if (this != &other) {
    key_ = other.key_;
    locator_ = other.locator_;
    direction_ = other.direction_;
    join_id_ = other.join_id_;
    next_ = std::exchange(other.next_, std::numeric_limits<uint64_t>::max());
  }
  return *this;
}

Expected<std::vector<uint8_t>, EnvelopeError> EnvelopeSealer::seal(
    std::span<const uint8_t> plaintext) {
  // The last value is never used, so next_ + 1 cannot wrap to a counter already spent.
  if (next_ == std::numeric_limits<uint64_t>::max()) {
    return unexpected(EnvelopeError::kCounterExhausted);
  }
  auto out = seal_envelope(key_, locator_, EnvelopeHeader{direction_, join_id_, next_}, plaintext);
  if (out) ++next_;
  return out;
}

EnvelopeOpener::EnvelopeOpener(const RoomKeys& keys, Direction direction, const JoinId& join_id)
    : key_(keys.seal_key(direction, join_id)),
      locator_(keys.locator()),
      direction_(direction),
      join_id_(join_id) {}

Expected<std::vector<uint8_t>, EnvelopeError> EnvelopeOpener::open(
    std::span<const uint8_t> envelope) {
  auto header = peek_envelope_header(envelope);
  if (!header) return unexpected(header.error());
  if (header->direction != direction_) return unexpected(EnvelopeError::kWrongDirection);
  if (header->join_id != join_id_) return unexpected(EnvelopeError::kWrongJoinId);
  if (!guard_.fresh(header->counter)) return unexpected(EnvelopeError::kReplayed);
  auto plaintext = open_envelope(key_, locator_, envelope);
  if (!plaintext) return unexpected(plaintext.error());
  guard_.accept(header->counter);
  return plaintext;
}

}  // namespace tokencast
