#include "security_headers.hpp"
namespace tokencast::rendezvous {

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
