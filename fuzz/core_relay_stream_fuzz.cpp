// libFuzzer target: what a viewer reads from a relay parent, which may be hostile. The input is
// a sequence of frames, each prefixed by a 2-byte big-endian length; the first frame also goes
// to the stateless decoder and to RelayVerifier::from_anchor. A verifier from genesis (a fixed
// session and host key: the seed corpus holds real frames signed with it) takes every frame.
// Never crashes; aborts only when an invariant breaks:
//  - a decoded frame encodes back to the very same bytes;
//  - released records are consecutive from 1, and re-chaining their payloads from genesis gives
//    exactly the verifier's verified() position (nothing unsigned or altered is ever released);
//  - after an error the verifier stays failed and releases nothing more;
//  - unverified records stay within their bound;
//  - a RelayForwarder fed the same frames keeps its ring bounded, its head never goes back, and
//    what it hands a child from any position decodes and is in stream order.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "tokencast/core/relay_stream.hpp"

using namespace tokencast;

namespace {

SessionId fixed_session() {
  SessionId id;
  for (size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<uint8_t>(0xa0 + i);
  return id;
}

Ed25519PublicKey fixed_host_key() {
  std::array<uint8_t, kEd25519SeedSize> seed{};
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(0x40 + i);
  return SigningKey::from_seed(seed).public_key();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const SessionId session = fixed_session();
  static const Ed25519PublicKey host_key = fixed_host_key();
  const std::span<const uint8_t> input(data, size);

  RelayVerifierOptions options;
  options.max_unverified_records = 8;
  options.max_unverified_bytes = 4096;
  RelayVerifier verifier(session, host_key, options);
  RelayForwarder forwarder({.max_frames = 16, .max_bytes = 8192});
  RelayChainHash chain = relay_chain_genesis(session, host_key);
  uint64_t next = 1;
  bool failed = false;
  size_t pos = 0;
  bool first = true;
  while (size - pos >= 2) {
    const size_t n = std::min<size_t>((size_t{data[pos]} << 8) | data[pos + 1], size - pos - 2);
    const auto frame = input.subspan(pos + 2, n);
    pos += 2 + n;
    if (first) {
      first = false;
      if (auto decoded = decode_relay_frame(frame)) {
        const auto encoded = encode_relay_frame(*decoded);
        if (!std::equal(encoded.begin(), encoded.end(), frame.begin(), frame.end())) std::abort();
      }
      if (auto anchored = RelayVerifier::from_anchor(session, host_key, frame)) {
        if (anchored->verified().index == 0) std::abort();
      }
    }
    const uint64_t head_before = forwarder.head();
    (void)forwarder.add(frame);
    if (forwarder.head() < head_before || forwarder.frames() > 16) std::abort();
    if (auto resend = forwarder.since(head_before > 2 ? head_before - 2 : 0)) {
      uint64_t last = 0;
      for (auto bytes : *resend) {
        auto f = decode_relay_frame(bytes);
        if (!f || f->index < last) std::abort();
        last = f->index;
      }
    }
    auto out = verifier.accept(frame);
    if (!out) {
      failed = true;
      if (verifier.failed() != out.error()) std::abort();
      continue;
    }
    if (failed) std::abort();  // a failed verifier never accepts again
    for (const auto& record : *out) {
      if (record.index != next) std::abort();
      chain = relay_chain_next(chain, next, record.payload);
      ++next;
    }
    if (verifier.verified().index != next - 1 || verifier.verified().chain != chain) std::abort();
    if (verifier.unverified_records() > options.max_unverified_records) std::abort();
  }
  return 0;
}
