// libFuzzer target: route seals (relay_route.hpp), what a relay below a relay and the host read
// from the parents between them, which may be hostile. The input is a sequence of seals, each
// prefixed by a 2-byte big-endian length, opened in order by one RouteOpener of a fixed room and
// join. Never crashes; aborts only when an invariant breaks:
//  - an opened seal's counter is above every counter opened before (no replay, no reordering);
//  - what opens is exactly the sealed bytes minus the counter and tag;
//  - the sealer of the other end reopens its own seal of the plaintext under the same rules.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>

#include "tokencast/core/big_endian.hpp"
#include "tokencast/core/frame.hpp"
#include "tokencast/core/relay_route.hpp"

using namespace tokencast;

namespace {

RoomKeys fixed_room() {
  std::array<uint8_t, kRoomSecretSize> secret{};
  for (size_t i = 0; i < secret.size(); ++i) secret[i] = static_cast<uint8_t>(i);
  Ed25519PublicKey host_key{};
  host_key.fill(0x42);
  return RoomKeys(RoomSecret(std::span<const uint8_t, kRoomSecretSize>(secret)), LinkRole::kViewer,
                  host_key);
}

JoinId fixed_join() {
  JoinId id{};
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(0x90 + i);
  return id;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const RoomKeys room = fixed_room();
  RouteChannel relay = RouteChannel::for_relay(room, fixed_join());
  RouteChannel host = RouteChannel::for_host(room, fixed_join());
  std::optional<uint64_t> last;
  std::span<const uint8_t> in(data, size);
  while (in.size() >= 2) {
    const size_t n = std::min<size_t>((size_t{in[0]} << 8) | in[1], in.size() - 2);
    const auto seal = in.subspan(2, n);
    in = in.subspan(2 + n);
    auto opened = relay.opener.open(seal);
    if (!opened) continue;
    const uint64_t counter = big_endian::load_u64(seal.data());
    if (last && counter <= *last) std::abort();
    last = counter;
    if (opened->size() + kRouteSealOverhead != seal.size()) std::abort();
    (void)decode_frame(*opened);  // what the relay does next with it
    // The other direction: the relay's own seal opens at the host, once.
    auto up = relay.sealer.seal(*opened);
    if (!up) std::abort();
    auto back = host.opener.open(*up);
    if (!back || *back != *opened) std::abort();
    if (host.opener.open(*up)) std::abort();
  }
  return 0;
}
