// Fuzzes the rendezvous' parsers of request headers for static files (src/signal/
// content_coding.hpp): Accept-Encoding and If-None-Match. Input: the header value. Properties:
// no crash or undefined behaviour; a coding is never allowed unless the value names it or "*";
// an over-long value allows nothing; an entity tag matches only a value that holds it or "*".
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "signal/content_coding.hpp"

namespace rv = tokencast::rendezvous;

namespace {

bool contains_ci(std::string_view hay, std::string_view needle) {
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    bool same = true;
    for (size_t j = 0; j < needle.size() && same; ++j) {
      char c = hay[i + j];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      same = c == needle[j];
    }
    if (same) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view header(reinterpret_cast<const char*>(data), size);
  rv::AcceptedCodings accepted = rv::parse_accept_encoding(header);
  const bool wildcard = header.find('*') != std::string_view::npos;
  if (accepted.brotli && !wildcard && !contains_ci(header, "br")) std::abort();
  if (accepted.gzip && !wildcard && !contains_ci(header, "gzip")) std::abort();
  if (size > rv::kMaxAcceptEncoding && (accepted.brotli || accepted.gzip)) std::abort();
  rv::ContentCoding chosen = rv::choose_coding(accepted, true, true);
  if (chosen == rv::ContentCoding::kBrotli && !accepted.brotli) std::abort();

  constexpr std::string_view kTag = "\"0123456789abcdef0123456789abcdef-br\"";
  if (rv::if_none_match_matches(header, kTag) && !wildcard &&
      header.find(kTag) == std::string_view::npos) {
    std::abort();
  }
  return 0;
}
