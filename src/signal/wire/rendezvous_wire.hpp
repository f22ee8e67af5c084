// Internals of the rendezvous codec shared with the server's relay path: big-endian field access
// without alignment assumptions. The public API is include/tokencast/signal/rendezvous_wire.hpp.
#pragma once

#include <cstdint>

#include "tokencast/signal/rendezvous_wire.hpp"

namespace tokencast::rendezvous::wire_detail {

inline void put_u64(uint8_t* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

inline uint64_t get_u64(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}

inline void put_u16(uint8_t* out, uint16_t v) {
  out[0] = static_cast<uint8_t>(v >> 8);
  out[1] = static_cast<uint8_t>(v);
}

inline uint16_t get_u16(const uint8_t* in) {
  return static_cast<uint16_t>((static_cast<unsigned>(in[0]) << 8) | in[1]);
}

}  // namespace tokencast::rendezvous::wire_detail
