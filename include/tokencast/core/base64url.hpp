// base64url (RFC 4648 section 5) without padding, decoded strictly: an encoding has exactly
// one accepted spelling, so the same bytes never travel as two different strings (links, room
// locators). Rejected: '=' padding, '+' and '/', whitespace and every other character outside
// [A-Za-z0-9_-], a length of 4k+1 characters, and non-zero unused bits in the last character.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "tokencast/core/expected.hpp"

namespace tokencast {

enum class Base64UrlError {
  kInvalidCharacter = 1,  // a character outside [A-Za-z0-9_-] (padding, '+', '/', space, ...)
  kInvalidLength,         // 4k+1 characters: no byte string encodes to that
  kNonCanonical,          // the last character carries non-zero unused bits
};

const std::error_category& base64url_category();
std::error_code make_error_code(Base64UrlError e);
// Stable snake_case name ("invalid_character", ...), for test vectors and metrics labels.
std::string_view base64url_error_name(Base64UrlError e);

// Encodes without padding: ceil(4n/3) characters.
std::string base64url_encode(std::span<const uint8_t> data);

// Decodes the canonical unpadded form; errors as listed in Base64UrlError.
Expected<std::vector<uint8_t>, Base64UrlError> base64url_decode(std::string_view text);

}  // namespace tokencast

template <>
struct std::is_error_code_enum<tokencast::Base64UrlError> : std::true_type {};
