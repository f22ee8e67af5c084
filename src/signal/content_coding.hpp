// HTTP content negotiation for the static files, pure functions over header values: which
// precompressed copy a request's Accept-Encoding allows (RFC 9110 §12.5.3), and whether its
// If-None-Match names the copy we hold (§13.1.2).
#pragma once

#include <string_view>

namespace tokencast::rendezvous {

// The codings the rendezvous has precompressed copies in, best (smallest) first.
enum class ContentCoding { kBrotli, kGzip, kIdentity };

// The Content-Encoding token ("br", "gzip"), or "" for identity.
std::string_view coding_token(ContentCoding coding);

struct AcceptedCodings {
  bool brotli = false;
  bool gzip = false;  // "gzip" or its alias "x-gzip"
};

// Longer Accept-Encoding values are not parsed (identity is served).
constexpr size_t kMaxAcceptEncoding = 1024;

// What `header` (all Accept-Encoding fields joined by ", ") allows. A coding is allowed when it
// is listed with a q-value above 0, or not listed while "*" is, with a q-value above 0. A value
// that does not follow the grammar, or is too long, allows neither (identity is always served:
// the server's choice when nothing else is acceptable).
AcceptedCodings parse_accept_encoding(std::string_view header);

// The best coding allowed among those we hold: br, then gzip, then identity.
ContentCoding choose_coding(AcceptedCodings accepted, bool have_brotli, bool have_gzip);

// Whether an If-None-Match value ("*" or a list of entity tags, weak or strong) matches `etag`
// (a quoted strong tag) by the weak comparison. A malformed value matches nothing.
bool if_none_match_matches(std::string_view header, std::string_view etag);

}  // namespace tokencast::rendezvous
