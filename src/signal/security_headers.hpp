// Headers every rendezvous HTTP response carries, in one place (the page's policy must match
// the meta CSP that web/vite.config.ts writes into index.html; see docs/SECURITY.md).
#pragma once

#include <boost/beast/http/fields.hpp>
#include <string>
#include <string_view>

namespace tokencast::rendezvous {

// The Content-Security-Policy header of HTML responses. A browser enforces it together with the
// page's meta policy (web/vite.config.ts), which holds what only the build knows: script-src and
// style-src with the hashes of the page's inline blocks. So the header carries every other
// directive of the meta policy, unchanged, and frame-ancestors, which works only as a header.
// The page talks only to its own origin: 'self' covers ws: and wss: of the same host and port
// (CSP level 3).
inline constexpr std::string_view kPageContentSecurityPolicy =
    "img-src 'self' data:; connect-src 'self'; media-src 'self' blob: mediastream:; "
    "base-uri 'none'; form-action 'none'; object-src 'none'; frame-ancestors 'none'";

// The host page (/host) also fetches the model server the user names (llama.cpp's server,
// Ollama, any OpenAI-compatible URL: another origin, often http://localhost), so its
// connect-src adds http: and https:. Everything else is the page policy's.
inline constexpr std::string_view kHostPageContentSecurityPolicy =
    "img-src 'self' data:; connect-src 'self' http: https:; media-src 'self' blob: mediastream:; "
    "base-uri 'none'; form-action 'none'; object-src 'none'; frame-ancestors 'none'";

// The presenter view (/present) also calls `tokencast host --present`'s moderation API on
// 127.0.0.1, on a port chosen per run (docs/SECURITY.md "Presenter control"), so its
// connect-src adds http://127.0.0.1:*. Everything else is the page policy's.
inline constexpr std::string_view kPresentPageContentSecurityPolicy =
    "img-src 'self' data:; connect-src 'self' http://127.0.0.1:*; media-src 'self' blob: "
    "mediastream:; base-uri 'none'; form-action 'none'; object-src 'none'; frame-ancestors 'none'";

// The join page's policy for a request target "<base>/j?r=<alternate>&r=...": connect-src adds
// exactly the WebSocket URLs of the link's alternate rendezvous (docs/PROTOCOL.md section 1,
// "Alternate rendezvous"), so the page can fail over to them. An alternate the policy cannot
// name exactly (an IPv6 literal, a path character outside unreserved and %HH) is left out; a
// query that is not valid alternates adds nothing. Without a query: kPageContentSecurityPolicy.
std::string join_page_content_security_policy(std::string_view target);

// Sets nosniff, no-referrer and DENY framing on every response, and the CSP on HTML ones.
void set_security_headers(boost::beast::http::fields& fields, std::string_view content_type);

}  // namespace tokencast::rendezvous
