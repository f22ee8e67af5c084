#include "tokencast/signal/rendezvous_wire.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <string>

#include "tokencast/core/base64url.hpp"
#include "tokencast/core/big_endian.hpp"

namespace tokencast::rendezvous {

using big_endian::load_u16;
using big_endian::load_u64;
using big_endian::store_u16;
using big_endian::store_u64;

namespace {

class WireCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tokencast.rendezvous_wire"; }
  std::string message(int value) const override {
    switch (static_cast<WireError>(value)) {
      case WireError::kEmpty:
        return "empty message";
      case WireError::kUnknownType:
        return "unknown message type";
      case WireError::kTruncated:
        return "message truncated";
      case WireError::kTrailingBytes:
        return "trailing bytes after message";
      case WireError::kUnsupportedVersion:
        return "unsupported protocol version";
      case WireError::kZeroPeerId:
        return "peer id 0";
      case WireError::kEmptyPayload:
        return "empty envelope payload";
      case WireError::kPayloadTooLarge:
        return "envelope payload too large";
      case WireError::kTooManyPeers:
        return "too many peers listed";
      case WireError::kDuplicatePeer:
        return "peer listed twice";
      case WireError::kUnknownErrorCode:
        return "unknown error code";
      case WireError::kBadIceServer:
        return "invalid ICE server list";
      case WireError::kBadJoinOffer:
        return "invalid join subprotocol";
    }
    return "unknown rendezvous wire error";
  }
};

std::vector<uint8_t> header_and_id(MessageType type, uint64_t id, size_t extra = 0) {
  std::vector<uint8_t> out(9 + extra);
  out[0] = static_cast<uint8_t>(type);
  store_u64(out.data() + 1, id);
  return out;
}

Expected<std::vector<uint8_t>, WireError> id_and_payload(MessageType type, PeerId id,
                                                         std::span<const uint8_t> payload) {
  if (id == 0) return unexpected(WireError::kZeroPeerId);
  if (payload.empty()) return unexpected(WireError::kEmptyPayload);
  if (payload.size() > kMaxEnvelopeSize) return unexpected(WireError::kPayloadTooLarge);
  auto out = header_and_id(type, id, payload.size());
  std::memcpy(out.data() + 9, payload.data(), payload.size());
  return out;
}

// Checks a SEND / ENVELOPE body: id then 1..kMaxEnvelopeSize payload bytes.
Expected<std::span<const uint8_t>, WireError> check_id_and_payload(std::span<const uint8_t> bytes) {
  if (bytes.size() < 1 + 8 + 1) {
    return unexpected(bytes.size() == 9 ? WireError::kEmptyPayload : WireError::kTruncated);
  }
  if (load_u64(bytes.data() + 1) == 0) return unexpected(WireError::kZeroPeerId);
  if (bytes.size() - 9 > kMaxEnvelopeSize) return unexpected(WireError::kPayloadTooLarge);
  return bytes.subspan(9);
}

Expected<void, WireError> check_exact(std::span<const uint8_t> bytes, size_t size) {
  if (bytes.size() < size) return unexpected(WireError::kTruncated);
  if (bytes.size() > size) return unexpected(WireError::kTrailingBytes);
  return {};
}

// ICE_SERVERS is the type byte and core's ICE list; its errors keep the wire's names.
WireError ice_list_wire_error(IceListError e) {
  switch (e) {
    case IceListError::kTruncated:
      return WireError::kTruncated;
    case IceListError::kTrailingBytes:
      return WireError::kTrailingBytes;
    case IceListError::kBadCount:
    case IceListError::kBadEntry:
      return WireError::kBadIceServer;
  }
  return WireError::kBadIceServer;
}

Expected<ServerMessage, WireError> decode_ice_servers(std::span<const uint8_t> bytes) {
  auto servers = decode_ice_list(bytes.subspan(1));
  if (!servers) return unexpected(ice_list_wire_error(servers.error()));
  return ServerMessage{IceServers{std::move(*servers)}};
}

}  // namespace

const std::error_category& wire_category() {
  static const WireCategory category;
  return category;
}

std::error_code make_error_code(WireError e) { return {static_cast<int>(e), wire_category()}; }

std::string_view close_reason_text(CloseCode code) {
  switch (code) {
    case CloseCode::kNormal:
      return "";
    case CloseCode::kGoingAway:
      return "server shutting down";
    case CloseCode::kProtocolError:
      return "protocol error";
    case CloseCode::kEnvelopeTooLarge:
      return "envelope too large";
    case CloseCode::kRateLimited:
      return "rate limit exceeded";
    case CloseCode::kRoomFull:
      return "room full";
    case CloseCode::kTooManyRooms:
      return "too many rooms";
    case CloseCode::kHandshakeTimeout:
      return "handshake timeout";
    case CloseCode::kIdleTimeout:
      return "idle timeout";
    case CloseCode::kServerFull:
      return "server full";
    case CloseCode::kTooManyFromAddress:
      return "too many connections from this address";
    case CloseCode::kSlowReader:
      return "slow reader";
  }
  return "";
}

Expected<ClientMessage, WireError> decode_client_message(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return unexpected(WireError::kEmpty);
  switch (static_cast<MessageType>(bytes[0])) {
    case MessageType::kJoin: {
      if (auto ok = check_exact(bytes, kJoinSize); !ok) return unexpected(ok.error());
      if (bytes[1] != kProtocolVersion) return unexpected(WireError::kUnsupportedVersion);
      Join join;
      std::memcpy(join.room.data(), bytes.data() + 2, kLocatorSize);
      return ClientMessage{join};
    }
    case MessageType::kSend: {
      auto payload = check_id_and_payload(bytes);
      if (!payload) return unexpected(payload.error());
      return ClientMessage{Send{load_u64(bytes.data() + 1), *payload}};
    }
    case MessageType::kPing: {
      if (auto ok = check_exact(bytes, kPingSize); !ok) return unexpected(ok.error());
      return ClientMessage{Ping{load_u64(bytes.data() + 1)}};
    }
    default:
      return unexpected(WireError::kUnknownType);
  }
}

Expected<ServerMessage, WireError> decode_server_message(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return unexpected(WireError::kEmpty);
  switch (static_cast<MessageType>(bytes[0])) {
    case MessageType::kJoined: {
      if (bytes.size() < kJoinedHeaderSize) return unexpected(WireError::kTruncated);
      Joined joined;
      joined.self = load_u64(bytes.data() + 1);
      if (joined.self == 0) return unexpected(WireError::kZeroPeerId);
      size_t count = load_u16(bytes.data() + 9);
      if (count > kMaxListedPeers) return unexpected(WireError::kTooManyPeers);
      size_t want = kJoinedHeaderSize + 8 * count;
      if (auto ok = check_exact(bytes, want); !ok) return unexpected(ok.error());
      joined.peers.reserve(count);
      for (size_t i = 0; i < count; ++i) {
        PeerId id = load_u64(bytes.data() + kJoinedHeaderSize + 8 * i);
        if (id == 0) return unexpected(WireError::kZeroPeerId);
        joined.peers.push_back(id);
      }
      std::vector<PeerId> sorted = joined.peers;
      sorted.push_back(joined.self);
      std::sort(sorted.begin(), sorted.end());
      if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
        return unexpected(WireError::kDuplicatePeer);
      }
      return ServerMessage{std::move(joined)};
    }
    case MessageType::kPeerJoined:
    case MessageType::kPeerLeft: {
      if (auto ok = check_exact(bytes, kPeerNoticeSize); !ok) return unexpected(ok.error());
      PeerId id = load_u64(bytes.data() + 1);
      if (id == 0) return unexpected(WireError::kZeroPeerId);
      if (bytes[0] == static_cast<uint8_t>(MessageType::kPeerJoined)) {
        return ServerMessage{PeerJoined{id}};
      }
      return ServerMessage{PeerLeft{id}};
    }
    case MessageType::kEnvelope: {
      auto payload = check_id_and_payload(bytes);
      if (!payload) return unexpected(payload.error());
      return ServerMessage{Envelope{load_u64(bytes.data() + 1), *payload}};
    }
    case MessageType::kError: {
      if (auto ok = check_exact(bytes, kErrorSize); !ok) return unexpected(ok.error());
      auto code = static_cast<ErrorCode>(bytes[1]);
      if (code != ErrorCode::kUnknownPeer && code != ErrorCode::kSelfAddressed) {
        return unexpected(WireError::kUnknownErrorCode);
      }
      PeerId id = load_u64(bytes.data() + 2);
      if (id == 0) return unexpected(WireError::kZeroPeerId);
      return ServerMessage{ErrorNotice{code, id}};
    }
    case MessageType::kPong: {
      if (auto ok = check_exact(bytes, kPongSize); !ok) return unexpected(ok.error());
      return ServerMessage{Pong{load_u64(bytes.data() + 1)}};
    }
    case MessageType::kIceServers:
      return decode_ice_servers(bytes);
    default:
      return unexpected(WireError::kUnknownType);
  }
}

std::vector<uint8_t> encode_join(const RoomLocator& room) {
  std::vector<uint8_t> out(kJoinSize);
  out[0] = static_cast<uint8_t>(MessageType::kJoin);
  out[1] = kProtocolVersion;
  std::memcpy(out.data() + 2, room.data(), kLocatorSize);
  return out;
}

Expected<std::vector<uint8_t>, WireError> encode_send(PeerId to, std::span<const uint8_t> payload) {
  return id_and_payload(MessageType::kSend, to, payload);
}

std::vector<uint8_t> encode_ping(uint64_t token) {
  return header_and_id(MessageType::kPing, token);
}

Expected<std::vector<uint8_t>, WireError> encode_joined(PeerId self,
                                                        std::span<const PeerId> peers) {
  if (self == 0) return unexpected(WireError::kZeroPeerId);
  if (peers.size() > kMaxListedPeers) return unexpected(WireError::kTooManyPeers);
  std::vector<uint8_t> out(kJoinedHeaderSize + 8 * peers.size());
  out[0] = static_cast<uint8_t>(MessageType::kJoined);
  store_u64(out.data() + 1, self);
  store_u16(out.data() + 9, static_cast<uint16_t>(peers.size()));
  uint8_t* p = out.data() + kJoinedHeaderSize;
  for (PeerId id : peers) {
    if (id == 0) return unexpected(WireError::kZeroPeerId);
    if (id == self) return unexpected(WireError::kDuplicatePeer);
    store_u64(p, id);
    p += 8;
  }
  std::vector<PeerId> sorted(peers.begin(), peers.end());
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    return unexpected(WireError::kDuplicatePeer);
  }
  return out;
}

Expected<std::vector<uint8_t>, WireError> encode_peer_joined(PeerId peer) {
  if (peer == 0) return unexpected(WireError::kZeroPeerId);
  return header_and_id(MessageType::kPeerJoined, peer);
}

Expected<std::vector<uint8_t>, WireError> encode_peer_left(PeerId peer) {
  if (peer == 0) return unexpected(WireError::kZeroPeerId);
  return header_and_id(MessageType::kPeerLeft, peer);
}

Expected<std::vector<uint8_t>, WireError> encode_envelope(PeerId from,
                                                          std::span<const uint8_t> payload) {
  return id_and_payload(MessageType::kEnvelope, from, payload);
}

Expected<std::vector<uint8_t>, WireError> encode_error(ErrorCode code, PeerId peer) {
  if (code != ErrorCode::kUnknownPeer && code != ErrorCode::kSelfAddressed) {
    return unexpected(WireError::kUnknownErrorCode);
  }
  if (peer == 0) return unexpected(WireError::kZeroPeerId);
  std::vector<uint8_t> out(kErrorSize);
  out[0] = static_cast<uint8_t>(MessageType::kError);
  out[1] = static_cast<uint8_t>(code);
  store_u64(out.data() + 2, peer);
  return out;
}

std::vector<uint8_t> encode_pong(uint64_t token) {
  return header_and_id(MessageType::kPong, token);
}

Expected<std::vector<uint8_t>, WireError> encode_ice_servers(
    std::span<const IceServerEntry> servers) {
  auto list = encode_ice_list(servers);
  if (!list) return unexpected(WireError::kBadIceServer);
  list->insert(list->begin(), static_cast<uint8_t>(MessageType::kIceServers));
  return std::move(*list);
}

namespace {

// Decoded messages are valid by construction, so re-encoding them cannot fail.
std::vector<uint8_t> must(Expected<std::vector<uint8_t>, WireError> e) {
  assert(e.has_value());
  return e ? std::move(e).value() : std::vector<uint8_t>{};
}

}  // namespace

std::vector<uint8_t> encode(const ClientMessage& message) {
  struct Visitor {
    std::vector<uint8_t> operator()(const Join& m) const { return encode_join(m.room); }
    std::vector<uint8_t> operator()(const Send& m) const {
      return must(encode_send(m.to, m.payload));
    }
    std::vector<uint8_t> operator()(const Ping& m) const { return encode_ping(m.token); }
  };
  return std::visit(Visitor{}, message);
}

std::vector<uint8_t> encode(const ServerMessage& message) {
  struct Visitor {
    std::vector<uint8_t> operator()(const Joined& m) const {
      return must(encode_joined(m.self, m.peers));
    }
    std::vector<uint8_t> operator()(const PeerJoined& m) const {
      return must(encode_peer_joined(m.peer));
    }
    std::vector<uint8_t> operator()(const PeerLeft& m) const {
      return must(encode_peer_left(m.peer));
    }
    std::vector<uint8_t> operator()(const Envelope& m) const {
      return must(encode_envelope(m.from, m.payload));
    }
    std::vector<uint8_t> operator()(const ErrorNotice& m) const {
      return must(encode_error(m.code, m.peer));
    }
    std::vector<uint8_t> operator()(const Pong& m) const { return encode_pong(m.token); }
    std::vector<uint8_t> operator()(const IceServers& m) const {
      return must(encode_ice_servers(m.servers));
    }
  };
  return std::visit(Visitor{}, message);
}

void envelope_from_send(std::span<const uint8_t> send_bytes, PeerId from, std::span<uint8_t> out) {
  assert(out.size() == send_bytes.size() && send_bytes.size() > kSendHeaderSize);
  out[0] = static_cast<uint8_t>(MessageType::kEnvelope);
  store_u64(out.data() + 1, from);
  std::memcpy(out.data() + kEnvelopeHeaderSize, send_bytes.data() + kSendHeaderSize,
              send_bytes.size() - kSendHeaderSize);
}

std::string join_subprotocol(const RoomLocator& room) {
  return std::string(kJoinSubprotocolPrefix) + base64url_encode(encode_join(room));
}

Expected<RoomLocator, WireError> parse_join_subprotocol(std::string_view protocol) {
  if (protocol.size() != kJoinSubprotocolSize || !protocol.starts_with(kJoinSubprotocolPrefix)) {
    return unexpected(WireError::kBadJoinOffer);
  }
  auto bytes = base64url_decode(protocol.substr(kJoinSubprotocolPrefix.size()));
  if (!bytes) return unexpected(WireError::kBadJoinOffer);  // not canonical base64url
  auto message = decode_client_message(*bytes);
  if (!message) {
    return unexpected(message.error() == WireError::kUnsupportedVersion ? message.error()
                                                                        : WireError::kBadJoinOffer);
  }
  const auto* join = std::get_if<Join>(&*message);
  if (!join) return unexpected(WireError::kBadJoinOffer);
  return join->room;
}

Expected<std::optional<RoomLocator>, WireError> find_join_in_offer(std::string_view offer) {
  if (offer.size() > kMaxJoinOfferSize) return unexpected(WireError::kBadJoinOffer);
  std::optional<RoomLocator> found;
  bool seen = false;
  while (!offer.empty()) {
    size_t comma = offer.find(',');
    std::string_view entry = offer.substr(0, comma);
    offer = comma == std::string_view::npos ? std::string_view() : offer.substr(comma + 1);
    while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t'))
      entry.remove_prefix(1);
    while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t')) entry.remove_suffix(1);
    if (!entry.starts_with(kJoinSubprotocolPrefix)) continue;
    if (seen) return unexpected(WireError::kBadJoinOffer);  // two joins: which room?
    seen = true;
    auto room = parse_join_subprotocol(entry);
    if (!room) return unexpected(room.error());
    found = *room;
  }
  return found;
}

}  // namespace tokencast::rendezvous
