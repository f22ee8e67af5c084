// A list of STUN and TURN servers as it travels on the wire. Two messages carry it: the
// rendezvous' ICE_SERVERS (docs/PROTOCOL.md section 3) and the host's ICE beacon, sealed and
// signed (section 2). One codec for both, so the two cannot drift apart.
//
//   list  = count u8 (1..8) | entry * count
//   entry = url_len u8 | url (1..255) | user_len u8 | username (0..255)
//         | cred_len u8 | credential (0..255)
//
// Every string is visible ASCII (0x21..0x7e); the URL starts with stun:, stuns:, turn: or
// turns: and has something after the scheme. Strict: no bytes after the last entry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tokencast/core/expected.hpp"

namespace tokencast {

// One STUN or TURN server (one URL; TURN with its credentials).
struct IceServerEntry {
  std::string url;
  std::string username;
  std::string credential;  // a secret: never logged
  bool operator==(const IceServerEntry&) const = default;
};

inline constexpr size_t kMaxIceServers = 8;
inline constexpr size_t kMaxIceField = 255;
inline constexpr size_t kMaxIceListSize = 1 + kMaxIceServers * (3 + 3 * kMaxIceField);

enum class IceListError {
  kTruncated = 1,  // a count or length runs past the end
  kTrailingBytes,  // bytes after the last entry
  kBadCount,       // 0 or more than kMaxIceServers entries
  kBadEntry,       // an entry breaks the rules above
};

// True when `entry` may travel in a list (the rules above).
bool valid_ice_server_entry(const IceServerEntry& entry);

Expected<std::vector<uint8_t>, IceListError> encode_ice_list(
    std::span<const IceServerEntry> servers);
Expected<std::vector<IceServerEntry>, IceListError> decode_ice_list(std::span<const uint8_t> bytes);

}  // namespace tokencast
