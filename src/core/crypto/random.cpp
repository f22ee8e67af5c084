#include "tokencast/core/random.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <climits>

#include "crypto/bytes.hpp"
#include "crypto/primitives.hpp"

namespace tokencast {
namespace {

class OpenSslRandom final : public Random {
 public:
  void fill(std::span<uint8_t> out) override {
    // RAND_bytes takes an int length; fill large spans in pieces.
    while (!out.empty()) {
      const size_t n = std::min<size_t>(out.size(), INT_MAX);
      if (RAND_bytes(out.data(), static_cast<int>(n)) != 1) {
        throw crypto::CryptoFailure("libcrypto: RAND_bytes");
      }
      out = out.subspan(n);
    }
  }
};

}  // namespace

uint64_t Random::next_u64() {
  uint8_t b[8];
  fill(b);
  return crypto::load_u64_be(b);
}

Random& system_random() {
  static OpenSslRandom random;
  return random;
}

SeededRandom::SeededRandom(uint64_t seed) {
  crypto::Bytes bytes;
  crypto::append_u64_be(bytes, seed);
  seed_ = crypto::sha256(bytes);
}

SeededRandom::SeededRandom(std::span<const uint8_t> seed) : seed_(crypto::sha256(seed)) {}

void SeededRandom::fill(std::span<uint8_t> out) {
  while (!out.empty()) {
    if (used_ == block_.size()) {
      crypto::Bytes input(seed_.begin(), seed_.end());
      crypto::append_u64_be(input, counter_++);
      block_ = crypto::sha256(input);
      used_ = 0;
    }
    const size_t n = std::min(out.size(), block_.size() - used_);
    std::copy_n(block_.begin() + static_cast<std::ptrdiff_t>(used_), n, out.begin());
    used_ += n;
    out = out.subspan(n);
  }
}

}  // namespace tokencast
