// Big-endian integers at any (unaligned) byte position: the one set of byte-order helpers that
// every fixed-layout format here is built on (envelopes, handshake messages, beacons, the
// rendezvous wire codec). Header-only; the caller checks that the bytes are there.
#pragma once

#include <cstdint>

namespace tokencast::big_endian {

inline void store_u16(uint8_t* out, uint16_t v) {
  out[0] = static_cast<uint8_t>(v >> 8);
  out[1] = static_cast<uint8_t>(v);
}

inline void store_u64(uint8_t* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

inline uint16_t load_u16(const uint8_t* in) {
  return static_cast<uint16_t>((static_cast<unsigned>(in[0]) << 8) | in[1]);
}

inline uint64_t load_u64(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}

}  // namespace tokencast::big_endian
