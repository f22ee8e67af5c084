// Sealed envelopes: the only thing the rendezvous relays between a joiner and the host.
//
//   envelope = header(26) | ChaCha20-Poly1305 ciphertext | tag(16)
//   header   = version(1) = 1 | direction(1) | join_id(16) | counter(8, big-endian)
//   key      = the sealing key of (room, direction, join_id)   (see key_schedule.hpp)
//   nonce    = 0x00000000 | counter(8, big-endian)              (12 bytes)
//   aad      = header(26) | room_locator(32)
//
// The header is in clear (the host routes on the join id before it can open anything) and
// authenticated: a flipped bit anywhere, an envelope spliced from another room (other locator
// and key), from the other direction or from another join attempt (other key, other header)
// fails to open. Counters only grow per (join id, direction), so a nonce never repeats under a
// key, and a receiver refuses any counter not above the last one it accepted (replays).
// An envelope is at most 64 KiB in all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "tokencast/core/expected.hpp"
#include "tokencast/core/key_schedule.hpp"

namespace tokencast {

inline constexpr uint8_t kEnvelopeVersion = 1;
inline constexpr size_t kEnvelopeHeaderSize = 26;
inline constexpr size_t kEnvelopeTagSize = 16;
inline constexpr size_t kEnvelopeOverhead = kEnvelopeHeaderSize + kEnvelopeTagSize;  // 42
inline constexpr size_t kMaxEnvelopeSize = size_t{64} * 1024;
inline constexpr size_t kMaxEnvelopePlaintext = kMaxEnvelopeSize - kEnvelopeOverhead;

enum class EnvelopeError {
  kTooShort = 1,      // shorter than header + tag (truncated)
  kTooLarge,          // over kMaxEnvelopeSize (or a plaintext over kMaxEnvelopePlaintext)
  kUnknownVersion,    // header version is not kEnvelopeVersion
  kUnknownDirection,  // header direction byte is neither 0 nor 1
  kWrongDirection,    // a valid direction, but not the one this receiver opens
  kWrongJoinId,       // the header names another join attempt than this receiver's
  kReplayed,          // counter not above the last accepted one (replay or reordering)
  kOpenFailed,        // does not authenticate: wrong key or room, or altered in transit
  kCounterExhausted,  // the sender has used every counter value (never in practice)
};

const std::error_category& envelope_category();
std::error_code make_error_code(EnvelopeError e);
// Stable snake_case name ("open_failed", ...): test vectors and metrics labels.
std::string_view envelope_error_name(EnvelopeError e);

struct EnvelopeHeader {
  Direction direction = Direction::kJoinerToHost;
  JoinId join_id{};
  uint64_t counter = 0;
  bool operator==(const EnvelopeHeader&) const = default;
};

// Reads the clear header WITHOUT authenticating anything: for routing only (which join
// attempt, which direction). Errors: kTooShort, kTooLarge, kUnknownVersion, kUnknownDirection.
Expected<EnvelopeHeader, EnvelopeError> peek_envelope_header(std::span<const uint8_t> envelope);

// Seals `plaintext` under `key` with `header`. The caller guarantees that (key, counter) is
// never used twice (EnvelopeSealer does). Errors: kTooLarge.
Expected<std::vector<uint8_t>, EnvelopeError> seal_envelope(const SealKey& key,
                                                            const RoomLocator& locator,
                                                            const EnvelopeHeader& header,
                                                            std::span<const uint8_t> plaintext);

// Opens an envelope and returns its plaintext; no replay check (see EnvelopeOpener). The header
// is written to *header_out when given and the envelope opens. Errors: those of
// peek_envelope_header, then kOpenFailed.
Expected<std::vector<uint8_t>, EnvelopeError> open_envelope(const SealKey& key,
                                                            const RoomLocator& locator,
                                                            std::span<const uint8_t> envelope,
                                                            EnvelopeHeader* header_out = nullptr);

// Receiver-side replay protection for one (join id, direction): counters must strictly grow.
// Gaps are allowed (a lost envelope does not stall the handshake); going back is not. The
// relay (one WebSocket per peer) preserves order, so reordering only happens under attack.
class ReplayGuard {
 public:
  // True when `counter` is above every counter accepted so far (or none was accepted yet).
  bool fresh(uint64_t counter) const { return !last_ || counter > *last_; }
  // Records an authenticated envelope's counter. Call only after it opened.
  void accept(uint64_t counter) { last_ = counter; }
  std::optional<uint64_t> last() const { return last_; }

 private:
  std::optional<uint64_t> last_;
};

// The sending half of one (room, direction, join id): owns the key and the counter.
class EnvelopeSealer {
 public:
  // `first_counter`: the joiner starts at 0 (its join id, hence its key, is fresh); the host
  // starts at a random value below 2^62 (see HostHandshake: a host restarted within the offer
  // window could otherwise answer a replayed offer under the same key and counter).
  EnvelopeSealer(const RoomKeys& keys, Direction direction, const JoinId& join_id,
                 uint64_t first_counter);

  // Move-only: two copies would seal different plaintexts under the same key and counter
  // (a nonce reuse). A moved-from sealer refuses to seal (kCounterExhausted).
  EnvelopeSealer(const EnvelopeSealer&) = delete;
  EnvelopeSealer& operator=(const EnvelopeSealer&) = delete;
  EnvelopeSealer(EnvelopeSealer&& other) noexcept;
  EnvelopeSealer& operator=(EnvelopeSealer&& other) noexcept;

  // Seals the next envelope. Errors: kTooLarge, kCounterExhausted.
  Expected<std::vector<uint8_t>, EnvelopeError> seal(std::span<const uint8_t> plaintext);

  uint64_t next_counter() const { return next_; }
  Direction direction() const { return direction_; }
  const JoinId& join_id() const { return join_id_; }

 private:
  SealKey key_;
  RoomLocator locator_;
  Direction direction_;
  JoinId join_id_;
  uint64_t next_;
};

// The receiving half of one (room, direction, join id): owns the key and a ReplayGuard.
class EnvelopeOpener {
 public:
  EnvelopeOpener(const RoomKeys& keys, Direction direction, const JoinId& join_id);

  // Opens the next envelope. Errors, in this order: those of peek_envelope_header,
  // kWrongDirection, kWrongJoinId, kReplayed, kOpenFailed. The guard advances only when the
  // envelope opened, so forged envelopes cannot burn counters.
  Expected<std::vector<uint8_t>, EnvelopeError> open(std::span<const uint8_t> envelope);

  const ReplayGuard& guard() const { return guard_; }
  Direction direction() const { return direction_; }
  const JoinId& join_id() const { return join_id_; }

 private:
  SealKey key_;
  RoomLocator locator_;
  Direction direction_;
  JoinId join_id_;
  ReplayGuard guard_;
};

}  // namespace tokencast

template <>
struct std::is_error_code_enum<tokencast::EnvelopeError> : std::true_type {};
