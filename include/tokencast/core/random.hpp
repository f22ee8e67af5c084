// Randomness is a parameter of the core: every function that draws random bytes (signing keys,
// room secrets, join ids, the host's first envelope counter) takes a Random&, so that a run can
// be replayed byte for byte from a seed (as ngtcp2 takes randomness through a callback).
// Production code passes system_random(); tests and tools may pass a SeededRandom.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace tokencast {

class Random {
 public:
  virtual ~Random() = default;
  // Fills `out` with random bytes. A failure of the source itself (a broken libcrypto) throws
  // crypto::CryptoFailure (a std::runtime_error); no input can make it fail.
  virtual void fill(std::span<uint8_t> out) = 0;
  // Eight bytes from fill(), read as a big-endian integer.
  uint64_t next_u64();
};

// The OS CSPRNG through OpenSSL (RAND_bytes). One per process; safe from any thread.
Random& system_random();

// A deterministic stream for tests and reproducible runs: with k = SHA-256(seed) (a u64 seed as
// 8 big-endian bytes), block i is SHA-256(k || i), i a big-endian u64 counting from 0, and the
// stream is those blocks in order. The same seed gives
// the same bytes on every machine. Not a source of secrets: whoever knows the seed knows them.
// Not thread-safe.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed);
  explicit SeededRandom(std::span<const uint8_t> seed);
  void fill(std::span<uint8_t> out) override;

 private:
  std::array<uint8_t, 32> seed_{};
  uint64_t counter_ = 0;
  std::array<uint8_t, 32> block_{};
  size_t used_ = 32;  // bytes of block_ already handed out
};

}  // namespace tokencast
