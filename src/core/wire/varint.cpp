#include "wire/varint.hpp"

namespace tokencast::codec {

size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void put_varint(std::vector<uint8_t>& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}

VarintStatus get_varint(std::span<const uint8_t> in, size_t& pos, uint64_t& value) {
  uint64_t result = 0;
  for (size_t i = 0; i < kMaxVarintBytes; ++i) {
    if (pos + i >= in.size()) return VarintStatus::kTruncated;
    const uint8_t byte = in[pos + i];
    // The 10th group holds bit 63 only; anything more would not fit in 64 bits.
    if (i == kMaxVarintBytes - 1 && byte > 0x01) return VarintStatus::kBadVarint;
    result |= static_cast<uint64_t>(byte & 0x7F) << (7 * i);
    if ((byte & 0x80) == 0) {
      // A final group of zero after the first byte means a shorter encoding existed.
      if (byte == 0 && i > 0) return VarintStatus::kBadVarint;
      pos += i + 1;
      value = result;
      return VarintStatus::kOk;
    }
  }
  return VarintStatus::kBadVarint;  // unreachable: the 10th byte check stops first
}

}  // namespace tokencast::codec
