// A relay's serving side, sans I/O (docs/PROTOCOL.md section 6, "The child's link to its
// relay"): the frames it forwards (a RelayForwarder ring), the chain hash at every index the
// ring covers and the signatures among them, and the answer to a child's relay_hello. The
// native client (src/client/join_client.cpp) runs one per relay link; tests in
// tests/core_relay_test.cpp (RelayFanout.*).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

#include "tokencast/core/expected.hpp"
#include "tokencast/core/frame.hpp"
#include "tokencast/core/relay_stream.hpp"
#include "tokencast/core/session_id.hpp"
#include "tokencast/core/signing.hpp"

namespace tokencast {

struct RelayFanoutOptions {
  // The ring of recent frames kept for children (new ones and late joiners catch up from it):
  // 16,384 frames / 8 MiB, enough for a typical session from record 1 (one record per event).
  RelayForwarderOptions ring{16384, size_t{8} << 20};
};

class RelayFanout {
 public:
  RelayFanout(const SessionId& session_id, const Ed25519PublicKey& host_key,
              RelayFanoutOptions options = {});

  // Where the relay's own chain stands before the next record from its parent: its verifier's
  // position when a link to the parent starts (genesis, its own verified position). Ignored
  // when the chain already tracks that index.
  void set_base(const RelayPosition& position);

  // One relay frame (0x20-0x22) from the parent, after the relay's own verifier took it.
  // kForward: send it to every welcomed child; kDuplicate: already held. An anchor checkpoint
  // that opens an empty ring becomes the chain's base (kDuplicate: nothing to forward).
  // Errors: the decoder's, kOutOfOrder (a gap: the caller starts a new fanout).
  Expected<RelayForwarder::Added, std::error_code> add(std::span<const uint8_t> frame);

  // The relay's answer to a child's relay_hello (the rule is in docs/PROTOCOL.md):
  //  - last_index 0: chain hash = genesis, or all zero (a child that was never welcomed does
  //    not know the session id) -> the ring's frames from record 1;
  //  - last_index L >= 1 with the chain hash this relay tracks at L -> the frames after L;
  //  - last_index L >= 1 with an all-zero hash (the child holds events up to L, no chain
  //    position) -> an anchor checkpoint for the newest signed index S <= L that the ring
  //    continues from, then the frames after S (the child verifies records <= L without
  //    applying them).
  // nullopt: not servable (the relay sends bye resume_unavailable).
  struct Serving {
    RelayWelcomeFrame welcome;
    std::optional<std::vector<uint8_t>> anchor;
    std::vector<std::vector<uint8_t>> frames;
  };
  std::optional<Serving> serve(const RelayHelloFrame& hello) const;

  uint64_t head() const { return forwarder_.head(); }
  const SessionId& session_id() const { return session_id_; }
  // The chain hash this relay tracks at `index` (nullopt when out of reach).
  std::optional<RelayChainHash> chain_at(uint64_t index) const;

 private:
  struct Link {
    uint64_t index = 0;
    RelayChainHash chain{};
    std::optional<Ed25519Signature> signature;
  };
  const Link* link_at(uint64_t index) const;
  void trim();

  SessionId session_id_;
  RelayChainHash genesis_{};
  RelayFanoutOptions options_;
  RelayForwarder forwarder_;
  std::deque<Link> chain_;  // consecutive indexes; front() is the base
};

}  // namespace tokencast
