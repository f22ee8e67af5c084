// libFuzzer target: the plaintexts inside handshake envelopes (offer, answer, candidate, end of
// candidates, rejection, relay answer) from arbitrary bytes. Never crashes; aborts only when an
// invariant breaks:
//  - what decodes encodes back to the very same bytes (one spelling per message, and what one
//    side accepts the other can send);
//  - a decoded message passes the field checks the encoder applies.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <variant>

#include "tokencast/core/handshake_messages.hpp"

using namespace tokencast;
namespace hw = tokencast::handshake_wire;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  auto message = hw::decode(bytes);
  if (!message) return 0;
  if (const auto* offer = std::get_if<hw::Offer>(&*message)) {
    if (!hw::valid_display_name(offer->display_name) || !hw::valid_sdp(offer->sdp)) std::abort();
  } else if (const auto* answer = std::get_if<hw::Answer>(&*message)) {
    if (!hw::valid_sdp(answer->sdp)) std::abort();
  } else if (const auto* relay = std::get_if<hw::RelayAnswer>(&*message)) {
    if (!hw::valid_sdp(relay->sdp)) std::abort();
  } else if (const auto* candidate = std::get_if<IceCandidate>(&*message)) {
    if (!hw::valid_candidate(*candidate)) std::abort();
  }
  auto encoded = hw::encode(*message);
  if (!encoded || encoded->size() != size ||
      !std::equal(encoded->begin(), encoded->end(), bytes.begin())) {
    std::abort();
  }
  return 0;
}
