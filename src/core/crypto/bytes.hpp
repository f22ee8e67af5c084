// Small byte-string helpers for the security core's fixed layouts: appending big-endian integers
// (tokencast/core/big_endian.hpp), a bounds-checked reader, and the strict text checks applied
// to strings that cross the wire.
// Header-only and internal to src/core.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokencast/core/big_endian.hpp"
#include "tokencast/core/text.hpp"

namespace tokencast::crypto {

using Bytes = std::vector<uint8_t>;

inline void append(Bytes& out, std::span<const uint8_t> data) {
  out.insert(out.end(), data.begin(), data.end());
}

inline void append(Bytes& out, std::string_view text) {
  out.insert(out.end(), text.begin(), text.end());
}

inline void append_u8(Bytes& out, uint8_t v) { out.push_back(v); }

inline void append_u16_be(Bytes& out, uint16_t v) {
  out.resize(out.size() + 2);
  big_endian::store_u16(out.data() + out.size() - 2, v);
}

inline void append_u64_be(Bytes& out, uint64_t v) {
  out.resize(out.size() + 8);
  big_endian::store_u64(out.data() + out.size() - 8, v);
}

// The first 8 bytes of `in` (which must hold them) as a big-endian integer.
inline uint64_t load_u64_be(std::span<const uint8_t> in) { return big_endian::load_u64(in.data()); }

inline std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Reads fixed-size fields front to back; every read checks the remaining length, so parsers
// built on it cannot run off the end of attacker-controlled input.
class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> data) : data_(data) {}

  size_t remaining() const { return data_.size() - pos_; }

  std::optional<uint8_t> u8() {
    if (remaining() < 1) return std::nullopt;
    return data_[pos_++];
  }
  std::optional<uint16_t> u16_be() {
    if (remaining() < 2) return std::nullopt;
    uint16_t v = big_endian::load_u16(data_.data() + pos_);
    pos_ += 2;
    return v;
  }
  std::optional<uint64_t> u64_be() {
    if (remaining() < 8) return std::nullopt;
    uint64_t v = load_u64_be(data_.subspan(pos_, 8));
    pos_ += 8;
    return v;
  }
  std::optional<std::span<const uint8_t>> take(size_t n) {
    if (remaining() < n) return std::nullopt;
    auto s = data_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  std::span<const uint8_t> rest() {
    auto s = data_.subspan(pos_);
    pos_ = data_.size();
    return s;
  }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

// Strict UTF-8 (tokencast::is_valid_utf8: RFC 3629, no overlong forms, no surrogates, nothing
// above U+10FFFF). When `reject_controls` is set, C0 controls, DEL and C1 controls
// (U+0080..U+009F) are refused too: a display name must not be able to move a cursor or smuggle
// terminal escapes.
inline bool valid_utf8(std::string_view s, bool reject_controls) {
  if (!is_valid_utf8(s)) return false;
  if (!reject_controls) return true;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto b = static_cast<uint8_t>(s[i]);
    if (b < 0x20 || b == 0x7F) return false;
    // In valid UTF-8, U+0080..U+009F is exactly 0xC2 followed by 0x80..0x9F.
    if (b == 0xC2 && i + 1 < s.size() && static_cast<uint8_t>(s[i + 1]) <= 0x9F) return false;
  }
  return true;
}

// Printable ASCII only (0x20..0x7E): ICE candidate strings and media ids are ASCII tokens.
inline bool printable_ascii(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

}  // namespace tokencast::crypto
