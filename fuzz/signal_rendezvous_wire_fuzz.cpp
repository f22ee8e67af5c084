// Fuzzes the rendezvous wire decoders (both directions). Properties: no crash or undefined
// behaviour on any input; every accepted message re-encodes to exactly the input bytes
// (canonical form); the relay's SEND -> ENVELOPE rewrite agrees with the encoder; the input as
// a Sec-WebSocket-Protocol offer (JOIN in the upgrade) yields a room only when exactly one entry
// is the canonical join subprotocol of that room.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokencast/signal/rendezvous_wire.hpp"

namespace rv = tokencast::rendezvous;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  const std::vector<uint8_t> bytes(in.begin(), in.end());

  if (auto m = rv::decode_client_message(in)) {
    if (rv::encode(*m) != bytes) std::abort();
    if (auto* send = std::get_if<rv::Send>(&*m)) {
      if (send->payload.empty() || send->payload.size() > rv::kMaxEnvelopeSize) std::abort();
      std::vector<uint8_t> out(size);
      rv::envelope_from_send(in, 0x0102030405060708ull, out);
      auto expected = rv::encode_envelope(0x0102030405060708ull, send->payload);
      if (!expected || *expected != out) std::abort();
      auto back = rv::decode_server_message(out);
      if (!back || !std::holds_alternative<rv::Envelope>(*back)) std::abort();
    }
  } else if (size > 0 && (data[0] == 0x01 || data[0] == 0x02 || data[0] == 0x03)) {
    // Rejected client messages must carry a specific reason, never kUnknownType.
    if (m.error() == rv::WireError::kUnknownType) std::abort();
  }

  if (auto m = rv::decode_server_message(in)) {
    if (rv::encode(*m) != bytes) std::abort();
    if (auto* joined = std::get_if<rv::Joined>(&*m)) {
      if (joined->peers.size() > rv::kMaxListedPeers) std::abort();
    }
    if (auto* ice = std::get_if<rv::IceServers>(&*m)) {
      if (ice->servers.empty() || ice->servers.size() > rv::kMaxIceServers) std::abort();
      if (size > rv::kMaxIceServersSize) std::abort();
    }
  }
  // The same bytes as an upgrade's subprotocol offer (a header the server parses).
  std::string_view offer(reinterpret_cast<const char*>(data), size);
  if (auto room = rv::find_join_in_offer(offer)) {
    if (size > rv::kMaxJoinOfferSize) std::abort();
    if (room->has_value()) {
      const std::string mine = rv::join_subprotocol(**room);
      if (offer.find(mine) == std::string_view::npos) std::abort();
      auto again = rv::parse_join_subprotocol(mine);
      if (!again || *again != **room) std::abort();
    }
  }
  return 0;
}
