#include "tokencast/core/invite.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "crypto/bytes.hpp"
#include "crypto/primitives.hpp"
#include "tokencast/core/base64url.hpp"

namespace tokencast {
namespace {

class InviteCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "tokencast.invite"; }
  std::string message(int ev) const override {
    switch (static_cast<InviteError>(ev)) {
      case InviteError::kTooLong:
        return "invite link too long";
      case InviteError::kBadScheme:
        return "invite link must start with http:// or https://";
      case InviteError::kUserinfo:
        return "invite link must not contain user@ before the host";
      case InviteError::kBadHost:
        return "invite link has an invalid host";
      case InviteError::kBadPort:
        return "invite link has an invalid port";
      case InviteError::kQuery:
        return "invite link must not contain a ?query";
      case InviteError::kBadPath:
        return "invite link has an invalid path";
      case InviteError::kWrongPath:
        return "invite link path must end in /j";
      case InviteError::kNoFragment:
        return "invite link has no #payload (was it cut off?)";
      case InviteError::kWrongLength:
        return "invite link payload must be exactly 88 characters";
      case InviteError::kBadBase64url:
        return "invite link payload is not valid base64url";
      case InviteError::kUnknownVersion:
        return "invite link version not supported (update tokencast?)";
      case InviteError::kUnknownRole:
        return "invite link role unknown";
      case InviteError::kBadAlternate:
        return "invite link has an invalid alternate rendezvous (r=)";
      case InviteError::kTooManyAlternates:
        return "invite link has too many alternate rendezvous (at most 4)";
      case InviteError::kDuplicateAlternate:
        return "invite link repeats a rendezvous in its alternates";
    }
    return "invite link invalid";
  }
};

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// RFC 3986 pchar minus pct-encoded (checked separately): unreserved / sub-delims / ":" / "@".
bool is_pchar(char c) {
  if (is_alpha(c) || is_digit(c)) return true;
  constexpr std::string_view kOthers =
      "-._~"         // unreserved
      "!$&'()*+,;="  // sub-delims
      ":@";
  return kOthers.find(c) != std::string_view::npos;
}

struct ParsedUrl {
  std::string_view fragment;  // after '#', if any
  bool has_fragment = false;
  bool secure = false;
  std::string authority;        // normalized host[:port]
  std::string base_path;        // "" or "/a/b"
  std::string_view alternates;  // after "?r=" (links only), if any
  bool has_alternates = false;
};

// Host: a DNS-style name or IPv4 dotted form (letters, digits, '-', '.'), or "[IPv6]".
// Lower-cased. Percent-encoded and internationalized (non-ASCII) hosts are refused: the QR
// code carries the punycode form if it needs one.
Expected<std::string, InviteError> parse_host(std::string_view host) {
  if (host.empty()) return unexpected(InviteError::kBadHost);
  std::string out;
  out.reserve(host.size());
  if (host.front() == '[') {
    if (host.size() < 4 || host.back() != ']') return unexpected(InviteError::kBadHost);
    for (size_t i = 1; i + 1 < host.size(); ++i) {
      const char c = host[i];
      if (!(is_hex(c) || c == ':' || c == '.')) return unexpected(InviteError::kBadHost);
    }
    for (char c : host) out.push_back(lower(c));
    return out;
  }
  for (char c : host) {
    if (!(is_alpha(c) || is_digit(c) || c == '-' || c == '.')) {
      return unexpected(InviteError::kBadHost);
    }
    out.push_back(lower(c));
  }
  // Empty labels ("a..b", ".a") are not host names; a single trailing dot (FQDN) is refused too
  // so that one host has one spelling.
  if (out.front() == '.' || out.back() == '.' || out.find("..") != std::string::npos) {
    return unexpected(InviteError::kBadHost);
  }
  return out;
}

Expected<std::string, InviteError> parse_port(std::string_view port) {
  if (port.empty() || port.size() > 5) return unexpected(InviteError::kBadPort);
  uint32_t v = 0;
  for (char c : port) {
    if (!is_digit(c)) return unexpected(InviteError::kBadPort);
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  // A leading zero would give the same port two spellings.
  if (v == 0 || v > 65535 || port.front() == '0') return unexpected(InviteError::kBadPort);
  return std::string(port);
}

// Path "" or "/seg/seg..." with non-empty segments of pchar / %HH.
bool valid_path(std::string_view path) {
  if (path.empty()) return true;
  if (path.front() != '/') return false;
  size_t seg_len = 0;
  for (size_t i = 1; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '/') {
      if (seg_len == 0) return false;
      seg_len = 0;
    } else if (c == '%') {
      if (i + 2 >= path.size() || !is_hex(path[i + 1]) || !is_hex(path[i + 2])) return false;
      i += 2;
      ++seg_len;
    } else if (is_pchar(c)) {
      ++seg_len;
    } else {
      return false;
    }
  }
  return seg_len != 0;
}

// Splits and validates "scheme://authority[path][#fragment]". `allow_fragment` is false for
// bare base URLs. Leaves the path unnormalized in `base_path` (trailing '/' handled by callers).
Expected<ParsedUrl, InviteError> parse_url(std::string_view url, bool allow_fragment) {
  if (url.size() > kMaxInviteLinkLength) return unexpected(InviteError::kTooLong);
  ParsedUrl p;
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) return unexpected(InviteError::kBadScheme);
  std::string scheme;
  for (char c : url.substr(0, sep)) scheme.push_back(lower(c));
  if (scheme == "https") {
    p.secure = true;
  } else if (scheme != "http") {
    return unexpected(InviteError::kBadScheme);
  }
  std::string_view rest = url.substr(sep + 3);

  const size_t auth_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, auth_end);
  rest = auth_end == std::string_view::npos ? std::string_view{} : rest.substr(auth_end);
  if (authority.find('@') != std::string_view::npos) return unexpected(InviteError::kUserinfo);

  std::string_view host = authority;
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return unexpected(InviteError::kBadHost);
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return unexpected(InviteError::kBadHost);
      port = after.substr(1);
      has_port = true;
    }
  } else {
    const size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      has_port = true;
    }
  }
  auto h = parse_host(host);
  if (!h) return unexpected(h.error());
  p.authority = std::move(*h);
  if (has_port) {
    auto pt = parse_port(port);
    if (!pt) return unexpected(pt.error());
    p.authority += ":" + *pt;
  }

  const size_t hash = rest.find('#');
  std::string_view path_and_query = rest.substr(0, hash);
  if (hash != std::string_view::npos) {
    if (!allow_fragment) return unexpected(InviteError::kBadPath);
    p.has_fragment = true;
    p.fragment = rest.substr(hash + 1);
  }
  const size_t question = path_and_query.find('?');
  if (question != std::string_view::npos) {
    // A link's only query is its alternates, "?r=..." (checked after the payload).
    constexpr std::string_view kAlternates = "?r=";
    if (!allow_fragment || path_and_query.substr(question, kAlternates.size()) != kAlternates) {
      return unexpected(InviteError::kQuery);
    }
    p.has_alternates = true;
    p.alternates = path_and_query.substr(question + kAlternates.size());
    path_and_query = path_and_query.substr(0, question);
  }
  p.base_path = std::string(path_and_query);
  return p;
}

std::string assemble(const ParsedUrl& p, std::string_view path) {
  std::string out = p.secure ? "https://" : "http://";
  out += p.authority;
  out += path;
  return out;
}

// One alternate as written in a link: a normalized base URL of the link's scheme, without '&'
// (the separator). Returns it normalized (for a link: unchanged, or an error).
Expected<std::string, InviteError> check_alternate(std::string_view alt, bool secure) {
  if (alt.empty() || alt.size() > kMaxInviteAlternateLength ||
      alt.find('&') != std::string_view::npos) {
    return unexpected(InviteError::kBadAlternate);
  }
  auto n = normalize_base_url(alt);
  if (!n) return unexpected(InviteError::kBadAlternate);
  if (n->starts_with("https://") != secure) return unexpected(InviteError::kBadAlternate);
  return n;
}

// "alt&r=alt&r=alt" after "?r=": every item exactly in normalized form.
Expected<std::vector<std::string>, InviteError> parse_alternates(std::string_view text, bool secure,
                                                                 const std::string& base) {
  std::vector<std::string> out;
  while (true) {
    const size_t amp = text.find('&');
    const std::string_view item = text.substr(0, amp);
    if (out.size() == kMaxInviteAlternates) return unexpected(InviteError::kTooManyAlternates);
    auto n = check_alternate(item, secure);
    if (!n) return unexpected(n.error());
    if (*n != item) return unexpected(InviteError::kBadAlternate);  // one spelling per link
    if (*n == base || std::find(out.begin(), out.end(), *n) != out.end()) {
      return unexpected(InviteError::kDuplicateAlternate);
    }
    out.push_back(std::move(*n));
    if (amp == std::string_view::npos) return out;
    text = text.substr(amp + 1);
    if (!text.starts_with("r=")) return unexpected(InviteError::kBadAlternate);
    text.remove_prefix(2);
  }
}

}  // namespace

const std::error_category& invite_category() {
  static const InviteCategory category;
  return category;
}

std::error_code make_error_code(InviteError e) { return {static_cast<int>(e), invite_category()}; }

std::string_view invite_error_name(InviteError e) {
  switch (e) {
    case InviteError::kTooLong:
      return "too_long";
    case InviteError::kBadScheme:
      return "bad_scheme";
    case InviteError::kUserinfo:
      return "userinfo";
    case InviteError::kBadHost:
      return "bad_host";
    case InviteError::kBadPort:
      return "bad_port";
    case InviteError::kQuery:
      return "query";
    case InviteError::kBadPath:
      return "bad_path";
    case InviteError::kWrongPath:
      return "wrong_path";
    case InviteError::kNoFragment:
      return "no_fragment";
    case InviteError::kWrongLength:
      return "wrong_length";
    case InviteError::kBadBase64url:
      return "bad_base64url";
    case InviteError::kUnknownVersion:
      return "unknown_version";
    case InviteError::kUnknownRole:
      return "unknown_role";
    case InviteError::kBadAlternate:
      return "bad_alternate";
    case InviteError::kTooManyAlternates:
      return "too_many_alternates";
    case InviteError::kDuplicateAlternate:
      return "duplicate_alternate";
  }
  return "unknown";
}

Expected<std::string, InviteError> normalize_base_url(std::string_view base_url) {
  auto p = parse_url(base_url, /*allow_fragment=*/false);
  if (!p) return unexpected(p.error());
  std::string_view path = p->base_path;
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (!valid_path(path)) return unexpected(InviteError::kBadPath);
  return assemble(*p, path);
}

Expected<InviteLink, InviteError> parse_invite_link(std::string_view link) {
  auto p = parse_url(link, /*allow_fragment=*/true);
  if (!p) return unexpected(p.error());
  const std::string& path = p->base_path;
  if (!valid_path(path)) return unexpected(InviteError::kBadPath);
  // The last segment must be exactly "j"; what precedes it is the base path.
  constexpr std::string_view kJoinSegment = "/j";
  if (path.size() < kJoinSegment.size() ||
      path.compare(path.size() - kJoinSegment.size(), kJoinSegment.size(), kJoinSegment) != 0) {
    return unexpected(InviteError::kWrongPath);
  }
  if (!p->has_fragment || p->fragment.empty()) return unexpected(InviteError::kNoFragment);
  if (p->fragment.size() != kInvitePayloadChars) return unexpected(InviteError::kWrongLength);
  auto payload = base64url_decode(p->fragment);
  if (!payload) return unexpected(InviteError::kBadBase64url);
  // 88 characters always decode to 66 bytes (no partial group), so this cannot fail; checked
  // anyway so the layout below never reads out of bounds.
  if (payload->size() != kInvitePayloadSize) return unexpected(InviteError::kWrongLength);
  const std::vector<uint8_t>& b = *payload;
  if (b[0] != kInviteVersion) return unexpected(InviteError::kUnknownVersion);
  if (b[1] > static_cast<uint8_t>(LinkRole::kParticipant)) {
    return unexpected(InviteError::kUnknownRole);
  }
  InviteLink out;
  out.base_url = assemble(*p, std::string_view(path).substr(0, path.size() - kJoinSegment.size()));
  out.role = static_cast<LinkRole>(b[1]);
  std::copy(b.begin() + 2, b.begin() + 34, out.secret.mutable_bytes().begin());
  std::copy(b.begin() + 34, b.end(), out.host_key.begin());
  crypto::wipe(payload->data(), payload->size());
  if (p->has_alternates) {
    auto alts = parse_alternates(p->alternates, p->secure, out.base_url);
    if (!alts) return unexpected(alts.error());
    out.alternates = std::move(*alts);
  }
  return out;
}

Expected<std::string, InviteError> format_invite_link(std::string_view base_url, LinkRole role,
                                                      const RoomSecret& secret,
                                                      const Ed25519PublicKey& host_key) {
  return format_invite_link(base_url, role, secret, host_key, {});
}

Expected<std::string, InviteError> format_invite_link(std::string_view base_url, LinkRole role,
                                                      const RoomSecret& secret,
                                                      const Ed25519PublicKey& host_key,
                                                      const std::vector<std::string>& alternates) {
  auto base = normalize_base_url(base_url);
  if (!base) return unexpected(base.error());
  if (alternates.size() > kMaxInviteAlternates) {
    return unexpected(InviteError::kTooManyAlternates);
  }
  std::string query;
  std::vector<std::string> seen{*base};
  for (const std::string& alt : alternates) {
    auto n = check_alternate(alt, base->starts_with("https://"));
    if (!n) return unexpected(n.error());
    if (std::find(seen.begin(), seen.end(), *n) != seen.end()) {
      return unexpected(InviteError::kDuplicateAlternate);
    }
    query += query.empty() ? "?r=" : "&r=";
    query += *n;
    seen.push_back(std::move(*n));
  }
  std::array<uint8_t, kInvitePayloadSize> payload{};
  payload[0] = kInviteVersion;
  payload[1] = static_cast<uint8_t>(role);
  std::copy(secret.bytes().begin(), secret.bytes().end(), payload.begin() + 2);
  std::copy(host_key.begin(), host_key.end(), payload.begin() + 34);
  std::string link = *base + "/j" + query + "#" + base64url_encode(payload);
  crypto::wipe(payload.data(), payload.size());
  if (link.size() > kMaxInviteLinkLength) return unexpected(InviteError::kTooLong);
  return link;
}

Expected<std::string, InviteError> rendezvous_websocket_url(std::string_view base_url) {
  auto base = normalize_base_url(base_url);
  if (!base) return unexpected(base.error());
  // "http..." -> "ws...": the authority and path are kept byte for byte.
  std::string url = *base;
  url.replace(0, 4, "ws");
  return url + "/ws";
}

Expected<std::vector<std::string>, InviteError> parse_invite_alternates(std::string_view query) {
  if (query.size() > kMaxInviteLinkLength) return unexpected(InviteError::kTooLong);
  if (!query.starts_with("r=")) return unexpected(InviteError::kQuery);
  query.remove_prefix(2);
  return parse_alternates(query, query.starts_with("https://"), std::string());
}

std::vector<std::string> invite_rendezvous_bases(const InviteLink& link) {
  std::vector<std::string> out{link.base_url};
  out.insert(out.end(), link.alternates.begin(), link.alternates.end());
  return out;
}

std::string redact_invite_link(std::string_view link) {
  const size_t hash = link.find('#');
  if (hash == std::string_view::npos) return std::string(link);
  return std::string(link.substr(0, hash + 1)) + "<redacted>";
}

}  // namespace tokencast
