// Unsigned LEB128 varints and zigzag, as used by every frame field (docs/PROTOCOL.md,
// "Encoding primitives"). Internal to the core.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace tokencast::codec {

// A u64 needs at most 10 groups of 7 bits; the 10th group may only hold bit 63.
inline constexpr size_t kMaxVarintBytes = 10;

// Bytes put_varint() writes for v (1..10).
size_t varint_size(uint64_t v);

// Appends the canonical (shortest) encoding of v.
void put_varint(std::vector<uint8_t>& out, uint64_t v);

enum class VarintStatus { kOk, kTruncated, kBadVarint };

// Reads one varint at in[pos], advancing pos past it on success. kTruncated: input ends while a
// continuation bit is set. kBadVarint: a non-canonical encoding (a last group of 0 after the
// first byte, e.g. 0x80 0x00) or more than 64 bits (11+ bytes, or a 10th byte above 0x01).
// On error pos and value are unchanged.
VarintStatus get_varint(std::span<const uint8_t> in, size_t& pos, uint64_t& value);

// Zigzag maps signed to unsigned so that small magnitudes stay short: 0,-1,1,-2 -> 0,1,2,3.
inline uint64_t zigzag_encode(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t zigzag_decode(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

}  // namespace tokencast::codec
