// Ed25519 (RFC 8032, pure, no pre-hash): the host's session identity. Its public key rides in
// every invite link; the host signs each answer's transcript with it, so a holder of a link
// (who knows the room secret and can therefore seal envelopes) still cannot pose as the host.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "tokencast/core/random.hpp"

namespace tokencast {

inline constexpr size_t kEd25519SeedSize = 32;
inline constexpr size_t kEd25519PublicKeySize = 32;
inline constexpr size_t kEd25519SignatureSize = 64;

using Ed25519PublicKey = std::array<uint8_t, kEd25519PublicKeySize>;
using Ed25519Signature = std::array<uint8_t, kEd25519SignatureSize>;

// An Ed25519 private key. Copies share one immutable key object; the key material is wiped
// when the last copy goes away. Nothing here prints or logs it.
// Failures of libcrypto itself (not of any input) throw crypto::CryptoFailure
// (a std::runtime_error); every seed of 32 bytes is a valid key.
class SigningKey {
 public:
  // A fresh key whose seed is 32 bytes drawn from `random` (system_random() in production).
  static SigningKey generate(Random& random);
  // The key whose RFC 8032 private key (seed) is `seed`; deterministic, for persistence,
  // tests and vectors.
  static SigningKey from_seed(std::span<const uint8_t, kEd25519SeedSize> seed);

  const Ed25519PublicKey& public_key() const;

  // Writes the 32-byte seed to `out`, for storage by the host (the caller wipes its copy).
  void export_seed(std::span<uint8_t, kEd25519SeedSize> out) const;

  // Deterministic RFC 8032 signature of `message`.
  Ed25519Signature sign(std::span<const uint8_t> message) const;

 private:
  struct Impl;
  explicit SigningKey(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

// True only when `signature` is a valid RFC 8032 Ed25519 signature of `message` under
// `public_key` (OpenSSL's checks: S < L, canonical encodings). A public key that is not a
// curve point makes every signature invalid. Never throws for bad input.
bool ed25519_verify(const Ed25519PublicKey& public_key, std::span<const uint8_t> message,
                    const Ed25519Signature& signature);

}  // namespace tokencast
