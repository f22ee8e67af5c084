// Thin, typed wrappers over the OpenSSL 3 libcrypto primitives the security core uses:
// HKDF-SHA256, SHA-256, ChaCha20-Poly1305, constant-time compare and wiping (the OS random
// generator is behind tokencast/core/random.hpp). Internal to src/core: OpenSSL types stay in
// primitives.cpp so that no public header (and no caller) depends on them.
//
// Errors: a primitive given valid sizes can only fail if libcrypto itself is broken (a missing
// provider, an allocation failure). That is not input-dependent, so it is reported by throwing
// CryptoFailure rather than threading an error through every caller; AEAD authentication
// failure is an ordinary result (open() returns false).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>

#include "tokencast/core/big_endian.hpp"

namespace tokencast::crypto {

struct CryptoFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline constexpr size_t kSha256Size = 32;
inline constexpr size_t kAeadKeySize = 32;
inline constexpr size_t kAeadNonceSize = 12;
inline constexpr size_t kAeadTagSize = 16;

using Sha256Digest = std::array<uint8_t, kSha256Size>;

// HKDF-SHA256 (RFC 5869), extract then expand, writing out.size() bytes (1..8160).
void hkdf_sha256(std::span<const uint8_t> ikm, std::span<const uint8_t> salt,
                 std::span<const uint8_t> info, std::span<uint8_t> out);

Sha256Digest sha256(std::span<const uint8_t> data);
// SHA-256 of first || second, without joining them.
Sha256Digest sha256(std::span<const uint8_t> first, std::span<const uint8_t> second);

// ChaCha20-Poly1305 (RFC 8439). `out` must hold plaintext.size() + kAeadTagSize bytes and
// receives ciphertext || tag. `out` may not overlap the inputs.
void aead_seal(std::span<const uint8_t, kAeadKeySize> key,
               std::span<const uint8_t, kAeadNonceSize> nonce, std::span<const uint8_t> aad,
               std::span<const uint8_t> plaintext, std::span<uint8_t> out);

// Opens ciphertext || tag into `out` (ciphertext size bytes). Returns false, and wipes `out`,
// when the input is shorter than a tag or does not authenticate; no plaintext is released then.
bool aead_open(std::span<const uint8_t, kAeadKeySize> key,
               std::span<const uint8_t, kAeadNonceSize> nonce, std::span<const uint8_t> aad,
               std::span<const uint8_t> sealed, std::span<uint8_t> out);

// The nonce of a counter-based ChaCha20-Poly1305 stream (sealed envelopes, route seals): four
// zero bytes, then the counter big-endian. Each key's counters never repeat.
inline std::array<uint8_t, kAeadNonceSize> counter_nonce(uint64_t counter) {
  std::array<uint8_t, kAeadNonceSize> nonce{};
  big_endian::store_u64(nonce.data() + 4, counter);
  return nonce;
}

// Overwrites memory in a way the compiler may not elide.
void wipe(void* data, size_t size);

}  // namespace tokencast::crypto
