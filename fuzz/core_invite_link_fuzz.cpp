// libFuzzer target: invite links, base URLs and base64url from arbitrary bytes.
// Never crashes; aborts only when an invariant breaks:
//  - a parsed link formats back to a link that parses to the same fields (alternates included),
//    and with alternates, formats back to the input byte for byte when its base is normalized;
//  - the alternates of a query ("r=...", as the join page's server reads them) are at most
//    kMaxInviteAlternates normalized base URLs of one scheme, none repeated;
//  - base64url has one spelling per byte string (decode then encode gives the input back);
//  - base URL normalization is idempotent, and its WebSocket URL always exists;
//  - redaction leaves nothing of the fragment.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "tokencast/core/base64url.hpp"
#include "tokencast/core/invite.hpp"

using namespace tokencast;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto link = parse_invite_link(text)) {
    auto formatted = format_invite_link(link->base_url, link->role, link->secret, link->host_key,
                                        link->alternates);
    if (!formatted) std::abort();
    auto again = parse_invite_link(*formatted);
    if (!again || again->base_url != link->base_url || again->role != link->role ||
        !(again->secret == link->secret) || again->host_key != link->host_key ||
        again->alternates != link->alternates) {
      std::abort();
    }
    if (!rendezvous_websocket_url(link->base_url)) std::abort();
    if (link->alternates.size() > kMaxInviteAlternates) std::abort();
    for (const std::string& alt : link->alternates) {
      if (!rendezvous_websocket_url(alt) || alt == link->base_url) std::abort();
    }
    // The query part is kept byte for byte (it must be normalized to parse at all).
    const size_t q = text.find('?');
    const size_t fq = formatted->find('?');
    if ((q == std::string_view::npos) != (fq == std::string_view::npos)) std::abort();
    if (q != std::string_view::npos &&
        text.substr(q, text.find('#') - q) !=
            std::string_view(*formatted).substr(fq, formatted->find('#') - fq)) {
      std::abort();
    }
  }

  if (auto alts = parse_invite_alternates(text)) {
    if (alts->empty() || alts->size() > kMaxInviteAlternates) std::abort();
    for (size_t i = 0; i < alts->size(); ++i) {
      auto n = normalize_base_url((*alts)[i]);
      if (!n || *n != (*alts)[i]) std::abort();
      if ((*alts)[i].starts_with("https://") != (*alts)[0].starts_with("https://")) std::abort();
      for (size_t j = 0; j < i; ++j) {
        if ((*alts)[j] == (*alts)[i]) std::abort();
      }
    }
  }

  if (auto bytes = base64url_decode(text)) {
    if (base64url_encode(*bytes) != text) std::abort();
  }

  if (auto base = normalize_base_url(text)) {
    auto twice = normalize_base_url(*base);
    if (!twice || *twice != *base) std::abort();
    if (!rendezvous_websocket_url(text)) std::abort();
  }

  const std::string redacted = redact_invite_link(text);
  const size_t hash = text.find('#');
  if (hash != std::string_view::npos && redacted.substr(hash + 1) != "<redacted>") std::abort();
  return 0;
}
