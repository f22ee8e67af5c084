#include "security_headers.hpp"

#include "tokencast/core/invite.hpp"

namespace tokencast::rendezvous {

std::string join_page_content_security_policy(std::string_view target) {
  std::string policy(kPageContentSecurityPolicy);
  const size_t question = target.find('?');
  if (question == std::string_view::npos) return policy;
  auto alternates = parse_invite_alternates(target.substr(question + 1));
  if (!alternates) return policy;
  std::string sources;
  for (const std::string& alt : *alternates) {
    auto ws = rendezvous_websocket_url(alt);
    if (!ws) continue;
    // A CSP source is "scheme://host[:port]/path": no IPv6 literal, and nothing that could end
    // a source (space), a directive (';') or a policy (',') may appear.
    const size_t authority = ws->find("://") + 3;
    bool expressible = true;
    for (size_t i = authority; i < ws->size(); ++i) {
      const char c = (*ws)[i];
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~' || c == '%' || c == '/' ||
                      c == ':';
      if (!ok) expressible = false;
    }
    if (expressible) sources += " " + *ws;
  }
  constexpr std::string_view kConnect = "connect-src 'self'";
  policy.insert(policy.find(kConnect) + kConnect.size(), sources);
  return policy;
}

void set_security_headers(boost::beast::http::fields& fields, std::string_view content_type) {
  fields.set("X-Content-Type-Options", "nosniff");
  // The page's URL never holds the invite (the fragment is removed at once), but a referrer
  // would still tell other sites which rendezvous a viewer uses.
  fields.set("Referrer-Policy", "no-referrer");
  // A link holder must not be able to frame the page (clickjacking the prompt box).
  fields.set("X-Frame-Options", "DENY");
  if (content_type.starts_with("text/html")) {
    fields.set("Content-Security-Policy", kPageContentSecurityPolicy);
  }
}

}  // namespace tokencast::rendezvous
