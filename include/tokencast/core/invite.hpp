// Invite links (the content of the QR code):
//
//   <base-url>/j[?r=<alternate>[&r=<alternate>...]]#<payload>
//   payload = base64url(no padding) of  version(1) = 1 | role(1) | secret(32) | host key(32)
//           = 66 bytes = exactly 88 characters
//
// The payload rides in the URL fragment, which browsers never send to a server; the base URL
// is the rendezvous (it serves the web client at <base-url>/j and the WebSocket at
// <base-url>/ws). Parsing is strict: one accepted spelling per link, a specific error per
// defect, nothing trimmed or guessed. The host key is not checked to be a curve point here; a
// link with a bad key simply never sees a valid answer (and leads to an empty room, because the
// key is an input of the room locator).
//
// Alternates (optional, docs/PROTOCOL.md section 1 "Alternate rendezvous"): more base URLs of
// the same rendezvous cluster, tried in order when the link's own rendezvous is lost. They ride
// in the query, not the fragment: they are not secret, and the rendezvous serving the page must
// see them to allow exactly them in the page's Content-Security-Policy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "tokencast/core/expected.hpp"
#include "tokencast/core/key_schedule.hpp"
#include "tokencast/core/signing.hpp"

namespace tokencast {

inline constexpr uint8_t kInviteVersion = 1;
inline constexpr size_t kInvitePayloadSize = 66;
inline constexpr size_t kInvitePayloadChars = 88;
// Longest link accepted (base URL included); QR codes stay readable well below this.
inline constexpr size_t kMaxInviteLinkLength = 2048;
// At most this many alternate rendezvous base URLs in one link, each at most this long.
inline constexpr size_t kMaxInviteAlternates = 4;
inline constexpr size_t kMaxInviteAlternateLength = 200;

enum class InviteError {
  kTooLong = 1,     // over kMaxInviteLinkLength characters
  kBadScheme,       // no "scheme://", or a scheme other than http / https
  kUserinfo,        // "user@" in the authority: refused (a classic phishing disguise)
  kBadHost,         // empty host, or characters not allowed in a host name / IP literal
  kBadPort,         // port empty, not decimal, 0, or over 65535
  kQuery,           // a "?query": links have none
  kBadPath,         // a path character outside RFC 3986 pchar, or an empty segment
  kWrongPath,       // the path does not end in the segment "/j"
  kNoFragment,      // no "#payload" (or an empty one)
  kWrongLength,     // the payload is not exactly 88 characters
  kBadBase64url,    // the payload is not canonical unpadded base64url
  kUnknownVersion,  // the version byte is not kInviteVersion
  kUnknownRole,     // the role byte is neither 0 (viewer) nor 1 (participant)
  // Alternates (checked last, after the payload):
  kBadAlternate,        // "r=" item empty, over 200 characters, not a normalized base URL, or
                        // of another scheme than the link (or not "r=<url>" after the first)
  kTooManyAlternates,   // more than kMaxInviteAlternates
  kDuplicateAlternate,  // an alternate equal to the link's base URL or to an earlier one
};

const std::error_category& invite_category();
std::error_code make_error_code(InviteError e);
// Stable snake_case name ("no_fragment", ...): test vectors and metrics labels.
std::string_view invite_error_name(InviteError e);

struct InviteLink {
  // Normalized base URL: lower-case scheme and host, no trailing '/', e.g.
  // "https://rv.example.net:8443" or "http://192.168.1.20:8080/tokencast".
  std::string base_url;
  LinkRole role = LinkRole::kViewer;
  RoomSecret secret;
  Ed25519PublicKey host_key{};
  // Normalized alternate base URLs, in the link's order (empty for most links).
  std::vector<std::string> alternates;
};

// Parses a complete link. Errors: every InviteError, checked in the order listed there
// (URL structure first, then the payload, then the alternates; a query that does not start with
// "r=" is kQuery). Surrounding whitespace is an error (kBadScheme or
// kWrongLength): callers that read links from a terminal trim first.
Expected<InviteLink, InviteError> parse_invite_link(std::string_view link);

// Validates and normalizes a base URL "http[s]://host[:port][/path]" (no query, no fragment,
// a trailing '/' is dropped). Errors: kTooLong, kBadScheme, kUserinfo, kBadHost, kBadPort,
// kQuery, kBadPath (also for a '#': a base URL has no fragment).
Expected<std::string, InviteError> normalize_base_url(std::string_view base_url);

// "<normalized base>/j#<payload>". Errors: those of normalize_base_url.
Expected<std::string, InviteError> format_invite_link(std::string_view base_url, LinkRole role,
                                                      const RoomSecret& secret,
                                                      const Ed25519PublicKey& host_key);

// "<normalized base>/j?r=<alt>&r=<alt>#<payload>" (no query when `alternates` is empty). Each
// alternate is normalized first. Errors: those of normalize_base_url for the base; for an
// alternate kBadAlternate (invalid, over 200 characters, another scheme, or an '&' in it),
// kTooManyAlternates, kDuplicateAlternate; kTooLong for the whole link.
Expected<std::string, InviteError> format_invite_link(std::string_view base_url, LinkRole role,
                                                      const RoomSecret& secret,
                                                      const Ed25519PublicKey& host_key,
                                                      const std::vector<std::string>& alternates);

// The alternates of a join page request's query, the text after '?' ("r=<url>&r=<url>"): what
// the rendezvous serving <base>/j reads to allow exactly them in the page's CSP. The rules of a
// link's alternates, with the first alternate's scheme standing for the link's (the server does
// not know the link's base URL as the joiner wrote it). Errors: kQuery (not "r=..."),
// kBadAlternate, kTooManyAlternates, kDuplicateAlternate.
Expected<std::vector<std::string>, InviteError> parse_invite_alternates(std::string_view query);

// The link's rendezvous base URLs in the order a joiner tries them: the base URL, then the
// alternates.
std::vector<std::string> invite_rendezvous_bases(const InviteLink& link);

// The rendezvous WebSocket URL for a base URL: http -> ws, https -> wss, same authority, the
// base path followed by "/ws" (e.g. "https://h:8443" -> "wss://h:8443/ws"). Errors: those of
// normalize_base_url.
Expected<std::string, InviteError> rendezvous_websocket_url(std::string_view base_url);

// The link with everything after '#' replaced by "<redacted>": the only form of a link that
// may appear in logs, metrics or error messages. Works on any string (no validation).
std::string redact_invite_link(std::string_view link);

// The room locator the link's holder presents to the rendezvous.
inline RoomLocator invite_room_locator(const InviteLink& link) {
  return derive_room_locator(link.secret, link.role, link.host_key);
}

}  // namespace tokencast

template <>
struct std::is_error_code_enum<tokencast::InviteError> : std::true_type {};
