#include "join/sdp_fingerprint.hpp"

#include <optional>

namespace tokencast {
namespace {

constexpr std::string_view kPrefix = "a=fingerprint:";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (x != b[i]) return false;
  }
  return true;
}

Expected<DtlsFingerprint, SdpFingerprintError> parse_value(std::string_view value) {
  const size_t space = value.find(' ');
  if (space == std::string_view::npos) return unexpected(SdpFingerprintError::kMalformed);
  const std::string_view hash = value.substr(0, space);
  const std::string_view hex = value.substr(space + 1);
  if (!equals_ignore_case(hash, "sha-256")) {
    // Another (syntactically plausible) hash function vs. garbage.
    for (char c : hash) {
      const bool token =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!token) return unexpected(SdpFingerprintError::kMalformed);
    }
    return unexpected(hash.empty() ? SdpFingerprintError::kMalformed
                                   : SdpFingerprintError::kUnsupportedHash);
  }
  DtlsFingerprint fp{};
  // 32 pairs and 31 colons: 95 characters exactly; no trailing space or second value.
  if (hex.size() != fp.size() * 3 - 1) return unexpected(SdpFingerprintError::kMalformed);
  for (size_t i = 0; i < fp.size(); ++i) {
    const int hi = hex_value(hex[3 * i]);
    const int lo = hex_value(hex[3 * i + 1]);
    if (hi < 0 || lo < 0) return unexpected(SdpFingerprintError::kMalformed);
    if (i + 1 < fp.size() && hex[3 * i + 2] != ':') {
      return unexpected(SdpFingerprintError::kMalformed);
    }
    fp[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return fp;
}

}  // namespace

Expected<DtlsFingerprint, SdpFingerprintError> extract_sdp_fingerprint(std::string_view sdp) {
  std::optional<DtlsFingerprint> found;
  size_t pos = 0;
  while (pos < sdp.size()) {
    size_t end = sdp.find('\n', pos);
    if (end == std::string_view::npos) end = sdp.size();
    std::string_view line = sdp.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.substr(0, kPrefix.size()) != kPrefix) continue;
    auto fp = parse_value(line.substr(kPrefix.size()));
    if (!fp) return unexpected(fp.error());
    if (found && *found != *fp) return unexpected(SdpFingerprintError::kConflicting);
    found = *fp;
  }
  if (!found) return unexpected(SdpFingerprintError::kMissing);
  return *found;
}

}  // namespace tokencast
