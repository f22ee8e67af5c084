#include "tokencast/core/session_id.hpp"

namespace tokencast {

std::string SessionId::hex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

std::optional<SessionId> SessionId::from_hex(std::string_view text) {
  if (text.size() != 32) return std::nullopt;
  SessionId id;
  for (size_t i = 0; i < 16; ++i) {
    int value = 0;
    for (char c : text.substr(i * 2, 2)) {
      int digit = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
      if (digit < 0) return std::nullopt;
      value = value * 16 + digit;
    }
    id.bytes[i] = static_cast<uint8_t>(value);
  }
  return id;
}

}  // namespace tokencast
