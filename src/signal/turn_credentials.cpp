#include "tokencast/turn_credentials.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

namespace tokencast::rendezvous {

TurnCredential turn_rest_credential(std::string_view secret, uint64_t expiry_unix,
                                    std::string_view tag) {
  TurnCredential out;
  out.username = std::to_string(expiry_unix) + ":" + std::string(tag);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_size = 0;
  HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(out.username.data()), out.username.size(), mac.data(),
       &mac_size);
  // Standard base64 with padding, as coturn compares it: 4 characters per 3 bytes, plus NUL.
  std::array<unsigned char, 4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1> text{};
  int length = EVP_EncodeBlock(text.data(), mac.data(), static_cast<int>(mac_size));
  out.credential.assign(reinterpret_cast<const char*>(text.data()),
                        static_cast<size_t>(length > 0 ? length : 0));
  return out;
}

std::vector<IceServerEntry> grant_ice_servers(const IceGrant& grant, uint64_t now_unix,
                                              std::string_view tag) {
  std::vector<IceServerEntry> entries;
  for (const std::string& url : grant.stun_urls) entries.push_back({url, "", ""});
  if (!grant.turn_urls.empty()) {
    TurnCredential c =
        turn_rest_credential(grant.turn_secret, now_unix + grant.turn_ttl_seconds, tag);
    for (const std::string& url : grant.turn_urls) {
      entries.push_back({url, c.username, c.credential});
    }
  }
  return entries;
}

}  // namespace tokencast::rendezvous
