// Fuzzes the cluster wire decoder (what rendezvous instances read from NATS). Properties: no
// crash or undefined behaviour on any input; every accepted message re-encodes to exactly the
// input bytes (canonical form) and stays within its bounds.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "tokencast/signal/cluster_wire.hpp"

namespace cw = tokencast::rendezvous::cluster;
namespace rv = tokencast::rendezvous;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  auto m = cw::decode(in);
  if (!m) return 0;
  if (m->from == 0) std::abort();
  if (cw::encode(*m) != std::vector<uint8_t>(in.begin(), in.end())) std::abort();
  if (size > cw::kMaxClusterMessageSize) std::abort();
  if (auto* members = std::get_if<cw::Members>(&m->body)) {
    if (members->peers.size() > rv::kMaxListedPeers + 1) std::abort();
  }
  if (auto* relay = std::get_if<cw::Relay>(&m->body)) {
    if (relay->payload.empty() || relay->payload.size() > rv::kMaxEnvelopeSize) std::abort();
    if (relay->from == 0 || relay->to == 0) std::abort();
  }
  return 0;
}
