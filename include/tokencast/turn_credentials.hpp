// Time-limited TURN credentials, coturn's "TURN REST API" scheme (use-auth-secret):
//   username   = "<expiry unix seconds>:<any text without ':'>"
//   credential = base64(HMAC-SHA1(shared secret, username))
// The TURN server recomputes the credential from its copy of the secret and refuses a username
// whose expiry has passed. Pure functions: time and randomness come from the caller.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokencast/signal/rendezvous_wire.hpp"

namespace tokencast::rendezvous {

struct TurnCredential {
  std::string username;
  std::string credential;  // a secret: never logged
};

// `tag` is the random part of the username (hex digits, say); `expiry_unix` is absolute.
TurnCredential turn_rest_credential(std::string_view secret, uint64_t expiry_unix,
                                    std::string_view tag);

// What a rendezvous hands out (see ServerOptions): every STUN URL as it is, every TURN URL
// with one fresh credential valid until now + ttl.
struct IceGrant {
  std::vector<std::string> stun_urls;
  std::vector<std::string> turn_urls;
  std::string turn_secret;  // coturn's static-auth-secret; never logged
  uint64_t turn_ttl_seconds = 3600;

  bool empty() const { return stun_urls.empty() && turn_urls.empty(); }
};

// The entries of one ICE_SERVERS message for a peer joining at `now_unix` ("" tag: the caller's
// random). Validity of the URLs is checked by validate() on the server options.
std::vector<IceServerEntry> grant_ice_servers(const IceGrant& grant, uint64_t now_unix,
                                              std::string_view tag);

}  // namespace tokencast::rendezvous
