// libFuzzer target: what a joiner reads from a peer that may be the host. Arbitrary bytes go
// through open_host_beacon (a fixed link and ids: the shape checks, the signature check and,
// were a signature ever to verify, the AEAD and the list) and through decode_ice_list, the list
// a verified ICE beacon and the rendezvous' ICE_SERVERS both carry. Never crashes; aborts only
// when an invariant breaks:
//  - a decoded list encodes back to the very same bytes, every entry valid;
//  - a beacon that opens opens to a list the encoder takes (or to none, for a plain beacon).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "tokencast/core/handshake.hpp"
#include "tokencast/core/ice_servers.hpp"

using namespace tokencast;

namespace {

InviteLink fixed_link() {
  InviteLink link;
  link.base_url = "https://rv.example.net";
  link.role = LinkRole::kParticipant;
  std::array<uint8_t, kRoomSecretSize> secret{};
  for (size_t i = 0; i < secret.size(); ++i) secret[i] = static_cast<uint8_t>(0x20 + i);
  link.secret = RoomSecret(secret);
  std::array<uint8_t, 32> seed{};
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(0x40 + i);
  link.host_key = SigningKey::from_seed(seed).public_key();
  return link;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const InviteLink link = fixed_link();
  const std::span<const uint8_t> bytes(data, size);
  if (auto list = decode_ice_list(bytes)) {
    if (!std::all_of(list->begin(), list->end(), valid_ice_server_entry)) std::abort();
    auto encoded = encode_ice_list(*list);
    if (!encoded || !std::equal(encoded->begin(), encoded->end(), bytes.begin(), bytes.end())) {
      std::abort();
    }
  }
  if (auto servers = open_host_beacon(link, bytes, 5, 9)) {
    if (!looks_like_beacon(bytes)) std::abort();
    if (!servers->empty() && !encode_ice_list(*servers)) std::abort();
  }
  return 0;
}
