#include <algorithm>
#include <string_view>

#include "tokencast/core/ice_servers.hpp"

namespace tokencast {
namespace {

bool visible_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
}

bool known_ice_scheme(std::string_view url) {
  for (std::string_view scheme : {"stun:", "stuns:", "turn:", "turns:"}) {
    if (url.size() > scheme.size() && url.starts_with(scheme)) return true;
  }
  return false;
}

// Reads one length-prefixed string at `pos`.
Expected<std::string, IceListError> read_field(std::span<const uint8_t> bytes, size_t& pos) {
  if (pos >= bytes.size()) return unexpected(IceListError::kTruncated);
  size_t len = bytes[pos++];
  if (bytes.size() - pos < len) return unexpected(IceListError::kTruncated);
  std::string out(reinterpret_cast<const char*>(bytes.data() + pos), len);
  pos += len;
  return out;
}

}  // namespace

bool valid_ice_server_entry(const IceServerEntry& e) {
  return !e.url.empty() && e.url.size() <= kMaxIceField && e.username.size() <= kMaxIceField &&
         e.credential.size() <= kMaxIceField && known_ice_scheme(e.url) && visible_ascii(e.url) &&
         visible_ascii(e.username) && visible_ascii(e.credential);
}

Expected<std::vector<uint8_t>, IceListError> encode_ice_list(
    std::span<const IceServerEntry> servers) {
  if (servers.empty() || servers.size() > kMaxIceServers) {
    return unexpected(IceListError::kBadCount);
  }
  std::vector<uint8_t> out{static_cast<uint8_t>(servers.size())};
  for (const IceServerEntry& e : servers) {
    if (!valid_ice_server_entry(e)) return unexpected(IceListError::kBadEntry);
    for (const std::string* field : {&e.url, &e.username, &e.credential}) {
      out.push_back(static_cast<uint8_t>(field->size()));
      out.insert(out.end(), field->begin(), field->end());
    }
  }
  return out;
}

Expected<std::vector<IceServerEntry>, IceListError> decode_ice_list(
    std::span<const uint8_t> bytes) {
  if (bytes.empty()) return unexpected(IceListError::kTruncated);
  size_t count = bytes[0];
  if (count == 0 || count > kMaxIceServers) return unexpected(IceListError::kBadCount);
  std::vector<IceServerEntry> servers;
  servers.reserve(count);
  size_t pos = 1;
  for (size_t i = 0; i < count; ++i) {
    IceServerEntry entry;
    for (std::string* field : {&entry.url, &entry.username, &entry.credential}) {
      auto text = read_field(bytes, pos);
      if (!text) return unexpected(text.error());
      *field = std::move(*text);
    }
    if (!valid_ice_server_entry(entry)) return unexpected(IceListError::kBadEntry);
    servers.push_back(std::move(entry));
  }
  if (pos != bytes.size()) return unexpected(IceListError::kTrailingBytes);
  return servers;
}

}  // namespace tokencast
