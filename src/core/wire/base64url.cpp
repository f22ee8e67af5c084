#include "tokencast/core/base64url.hpp"

#include <array>
#include <string>

namespace tokencast {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// 0xFF marks characters outside the alphabet.
constexpr std::array<uint8_t, 256> make_decode_table() {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = 0xFF;
  for (uint8_t i = 0; i < 64; ++i) t[static_cast<uint8_t>(kAlphabet[i])] = i;
  return t;
}
constexpr auto kDecode = make_decode_table();

class Base64UrlCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "tokencast.base64url"; }
  std::string message(int ev) const override {
    switch (static_cast<Base64UrlError>(ev)) {
      case Base64UrlError::kInvalidCharacter:
        return "base64url: character outside A-Z a-z 0-9 - _ (padding, '+', '/' and "
               "whitespace are not accepted)";
      case Base64UrlError::kInvalidLength:
        return "base64url: impossible length";
      case Base64UrlError::kNonCanonical:
        return "base64url: non-canonical encoding (unused bits set)";
    }
    return "base64url: unknown error";
  }
};

}  // namespace

const std::error_category& base64url_category() {
  static const Base64UrlCategory category;
  return category;
}

std::error_code make_error_code(Base64UrlError e) {
  return {static_cast<int>(e), base64url_category()};
}

std::string_view base64url_error_name(Base64UrlError e) {
  switch (e) {
    case Base64UrlError::kInvalidCharacter:
      return "invalid_character";
    case Base64UrlError::kInvalidLength:
      return "invalid_length";
    case Base64UrlError::kNonCanonical:
      return "non_canonical";
  }
  return "unknown";
}

std::string base64url_encode(std::span<const uint8_t> data) {
  std::string out;
  out.reserve((data.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  const size_t rest = data.size() - i;
  if (rest == 1) {
    const uint32_t v = uint32_t{data[i]} << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
  } else if (rest == 2) {
    const uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

Expected<std::vector<uint8_t>, Base64UrlError> base64url_decode(std::string_view text) {
  // Characters first, so that "abc=" reports the padding rather than a length problem.
  for (char c : text) {
    if (kDecode[static_cast<uint8_t>(c)] == 0xFF) {
      return unexpected(Base64UrlError::kInvalidCharacter);
    }
  }
  if (text.size() % 4 == 1) return unexpected(Base64UrlError::kInvalidLength);

  std::vector<uint8_t> out;
  out.reserve(text.size() / 4 * 3 + 2);
  size_t i = 0;
  for (; i + 4 <= text.size(); i += 4) {
    const uint32_t v = (uint32_t{kDecode[static_cast<uint8_t>(text[i])]} << 18) |
                       (uint32_t{kDecode[static_cast<uint8_t>(text[i + 1])]} << 12) |
                       (uint32_t{kDecode[static_cast<uint8_t>(text[i + 2])]} << 6) |
                       kDecode[static_cast<uint8_t>(text[i + 3])];
    out.push_back(static_cast<uint8_t>(v >> 16));
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
  }
  const size_t rest = text.size() - i;
  if (rest == 2) {
    const uint32_t v = (uint32_t{kDecode[static_cast<uint8_t>(text[i])]} << 18) |
                       (uint32_t{kDecode[static_cast<uint8_t>(text[i + 1])]} << 12);
    // 12 bits carry 8: the low 4 bits of the second character must be zero.
    if ((v & 0xFFFF) != 0) return unexpected(Base64UrlError::kNonCanonical);
    out.push_back(static_cast<uint8_t>(v >> 16));
  } else if (rest == 3) {
    const uint32_t v = (uint32_t{kDecode[static_cast<uint8_t>(text[i])]} << 18) |
                       (uint32_t{kDecode[static_cast<uint8_t>(text[i + 1])]} << 12) |
                       (uint32_t{kDecode[static_cast<uint8_t>(text[i + 2])]} << 6);
    // 18 bits carry 16: the low 2 bits of the third character must be zero.
    if ((v & 0xFF) != 0) return unexpected(Base64UrlError::kNonCanonical);
    out.push_back(static_cast<uint8_t>(v >> 16));
    out.push_back(static_cast<uint8_t>(v >> 8));
  }
  return out;
}

}  // namespace tokencast
