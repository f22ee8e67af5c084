// The rendezvous wire: binary WebSocket messages between a peer and the rendezvous server.
// Pure codec (sans-I/O): bytes in, messages out, and back. Strict: exact lengths, known types,
// bounded sizes, canonical encodings only (decode(encode(m)) == m and encode(decode(b)) == b).
// The byte-by-byte specification is docs/PROTOCOL.md (section 3); the browser client speaks it
// too, so any change here is a protocol version change.
//
// Every multi-byte integer is big-endian. Peer ids are 64-bit, random, never 0.
//
//   peer -> server                        server -> peer
//   0x01 JOIN  version(1) room(32)        0x81 JOINED      self(8) count(2) peer(8)*count
//   0x02 SEND  to(8) payload(1..65536)    0x82 PEER_JOINED peer(8)
//   0x03 PING  token(8)                   0x83 PEER_LEFT   peer(8)
//                                         0x84 ENVELOPE    from(8) payload(1..65536)
//                                         0x85 ERROR       code(1) peer(8)
//                                         0x86 PONG        token(8)
//                                         0x87 ICE_SERVERS count(1) server*count (see below)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <variant>
#include <vector>

#include "tokencast/core/expected.hpp"
#include "tokencast/core/ice_servers.hpp"

namespace tokencast::rendezvous {

// A random 64-bit id the server gives a connection when it joins; 0 is never a valid id.
using PeerId = uint64_t;

inline constexpr size_t kLocatorSize = 32;
// The opaque room locator: derived by HKDF from the invite secret; the server only compares it.
using RoomLocator = std::array<uint8_t, kLocatorSize>;

inline constexpr uint8_t kProtocolVersion = 1;
// Largest envelope payload (sealed bytes) one SEND / ENVELOPE carries.
inline constexpr size_t kMaxEnvelopeSize = size_t{64} * 1024;
// Hard ceiling on the peers of one room; JOINED lists at most kMaxRoomPeers - 1 others.
inline constexpr size_t kMaxRoomPeers = 16384;
inline constexpr size_t kMaxListedPeers = kMaxRoomPeers - 1;

inline constexpr size_t kJoinSize = 1 + 1 + kLocatorSize;  // 34
inline constexpr size_t kSendHeaderSize = 1 + 8;           // then the payload
inline constexpr size_t kPingSize = 1 + 8;
inline constexpr size_t kJoinedHeaderSize = 1 + 8 + 2;  // then 8 bytes per peer
inline constexpr size_t kPeerNoticeSize = 1 + 8;
inline constexpr size_t kEnvelopeHeaderSize = 1 + 8;
inline constexpr size_t kErrorSize = 1 + 1 + 8;
inline constexpr size_t kPongSize = 1 + 8;
// Largest message in each direction (what a reader must accept, and no more).
inline constexpr size_t kMaxClientMessageSize = kSendHeaderSize + kMaxEnvelopeSize;  // 65545
inline constexpr size_t kMaxServerMessageSize = kJoinedHeaderSize + 8 * kMaxListedPeers;

// ICE_SERVERS: count(1, 1..kMaxIceServers), then per server url_len(1) url user_len(1) user
// cred_len(1) cred. Every string is visible ASCII (0x21..0x7e); the URL is 1..255 bytes and
// starts with stun:, stuns:, turn: or turns:; username and credential are 0..255 bytes.
// The list after the type byte is core's (tokencast/core/ice_servers.hpp), shared with the
// host's ICE beacon.
using tokencast::kMaxIceField;
using tokencast::kMaxIceServers;
inline constexpr size_t kMaxIceServersSize = 1 + kMaxIceListSize;

enum class MessageType : uint8_t {
  kJoin = 0x01,
  kSend = 0x02,
  kPing = 0x03,
  kJoined = 0x81,
  kPeerJoined = 0x82,
  kPeerLeft = 0x83,
  kEnvelope = 0x84,
  kError = 0x85,
  kPong = 0x86,
  kIceServers = 0x87,
};

// Codes carried by an ERROR message. Such errors are not fatal: the connection stays open.
enum class ErrorCode : uint8_t {
  kUnknownPeer = 1,    // no peer with that id in the sender's room (it left, or never was)
  kSelfAddressed = 2,  // the sender addressed itself
};

// WebSocket close codes the server uses (RFC 6455 private range 4000-4999, plus 1001).
// The close frame's reason text is close_reason_text(code).
enum class CloseCode : uint16_t {
  kNormal = 1000,
  kGoingAway = 1001,           // "server shutting down"
  kProtocolError = 4000,       // "protocol error" (malformed, unexpected or text message)
  kEnvelopeTooLarge = 4001,    // "envelope too large"
  kRateLimited = 4002,         // "rate limit exceeded" (JOIN / room-creation rate per address)
  kRoomFull = 4003,            // "room full"
  kTooManyRooms = 4004,        // "too many rooms"
  kHandshakeTimeout = 4005,    // "handshake timeout" (no JOIN in time)
  kIdleTimeout = 4006,         // "idle timeout" (nothing received in time, pings unanswered)
  kServerFull = 4007,          // "server full" (connection limit)
  kTooManyFromAddress = 4008,  // "too many connections from this address"
  kSlowReader = 4009,          // "slow reader" (write queue overflow; usually not deliverable)
};

// The exact reason text the server sends with `code`; empty for codes it does not define.
std::string_view close_reason_text(CloseCode code);

// Why bytes did not decode (or a message could not be encoded).
enum class WireError {
  kEmpty = 1,           // zero-length message
  kUnknownType,         // first byte is not a known type for this direction
  kTruncated,           // shorter than the type requires
  kTrailingBytes,       // longer than the type allows
  kUnsupportedVersion,  // JOIN with a version other than kProtocolVersion
  kZeroPeerId,          // a peer id field is 0
  kEmptyPayload,        // SEND / ENVELOPE without payload bytes
  kPayloadTooLarge,     // payload over kMaxEnvelopeSize
  kTooManyPeers,        // JOINED count over kMaxListedPeers
  kDuplicatePeer,       // JOINED lists an id twice, or lists the receiver itself
  kUnknownErrorCode,    // ERROR with a code not in ErrorCode
  kBadIceServer,        // ICE_SERVERS with 0 or too many servers, a bad URL scheme or character
  kBadJoinOffer,        // the upgrade's join subprotocol is not exactly one canonical JOIN
};

const std::error_category& wire_category();
std::error_code make_error_code(WireError e);

// Peer -> server.
struct Join {
  RoomLocator room{};
  bool operator==(const Join&) const = default;
};
// `payload` views the decoded input; copy it before the input goes away.
struct Send {
  PeerId to = 0;
  std::span<const uint8_t> payload;
};
struct Ping {
  uint64_t token = 0;
  bool operator==(const Ping&) const = default;
};
using ClientMessage = std::variant<Join, Send, Ping>;

// Server -> peer.
struct Joined {
  PeerId self = 0;
  std::vector<PeerId> peers;  // the others already in the room, in no particular order
  bool operator==(const Joined&) const = default;
};
struct PeerJoined {
  PeerId peer = 0;
  bool operator==(const PeerJoined&) const = default;
};
struct PeerLeft {
  PeerId peer = 0;
  bool operator==(const PeerLeft&) const = default;
};
// `payload` views the decoded input, as in Send.
struct Envelope {
  PeerId from = 0;
  std::span<const uint8_t> payload;
};
struct ErrorNotice {
  ErrorCode code = ErrorCode::kUnknownPeer;
  PeerId peer = 0;  // the id the failed SEND addressed
  bool operator==(const ErrorNotice&) const = default;
};
struct Pong {
  uint64_t token = 0;
  bool operator==(const Pong&) const = default;
};
// One STUN or TURN server the rendezvous hands out (TURN with time-limited credentials).
using IceServerEntry = tokencast::IceServerEntry;
struct IceServers {
  std::vector<IceServerEntry> servers;  // 1..kMaxIceServers
  bool operator==(const IceServers&) const = default;
};
using ServerMessage =
    std::variant<Joined, PeerJoined, PeerLeft, Envelope, ErrorNotice, Pong, IceServers>;

// Decoders: one whole WebSocket message in, one message out; never read past `bytes`.
Expected<ClientMessage, WireError> decode_client_message(std::span<const uint8_t> bytes);
Expected<ServerMessage, WireError> decode_server_message(std::span<const uint8_t> bytes);

// Encoders. Those that can be handed out-of-range values return an error instead.
std::vector<uint8_t> encode_join(const RoomLocator& room);
Expected<std::vector<uint8_t>, WireError> encode_send(PeerId to, std::span<const uint8_t> payload);
std::vector<uint8_t> encode_ping(uint64_t token);
Expected<std::vector<uint8_t>, WireError> encode_joined(PeerId self, std::span<const PeerId> peers);
Expected<std::vector<uint8_t>, WireError> encode_peer_joined(PeerId peer);
Expected<std::vector<uint8_t>, WireError> encode_peer_left(PeerId peer);
Expected<std::vector<uint8_t>, WireError> encode_envelope(PeerId from,
                                                          std::span<const uint8_t> payload);
Expected<std::vector<uint8_t>, WireError> encode_error(ErrorCode code, PeerId peer);
std::vector<uint8_t> encode_pong(uint64_t token);
Expected<std::vector<uint8_t>, WireError> encode_ice_servers(
    std::span<const IceServerEntry> servers);

// Re-encodes a decoded message (used by tests and the fuzzer to check canonical form).
std::vector<uint8_t> encode(const ClientMessage& message);
std::vector<uint8_t> encode(const ServerMessage& message);

// JOIN carried in the WebSocket upgrade (docs/PROTOCOL.md section 3, "Joining at the upgrade"):
// the client offers the subprotocol kJoinSubprotocolPrefix + base64url(JOIN message), 61
// characters; a server that joins it at the upgrade selects exactly that subprotocol in its
// 101 response, and the client then sends no JOIN message. A server that does not (an older
// one) selects none: the client sends JOIN as before.
inline constexpr std::string_view kJoinSubprotocolPrefix = "tokencast.join.";
inline constexpr size_t kJoinSubprotocolSize = kJoinSubprotocolPrefix.size() + 46;  // 61
std::string join_subprotocol(const RoomLocator& room);
// One offered subprotocol: the room of a well-formed join subprotocol (canonical base64url of
// a valid JOIN, version included), or kBadJoinOffer / kUnsupportedVersion.
Expected<RoomLocator, WireError> parse_join_subprotocol(std::string_view protocol);
// The whole Sec-WebSocket-Protocol offer (every field's value, joined by ", "): nullopt when no
// entry starts with kJoinSubprotocolPrefix (a classic client); the room when exactly one does
// and parses; kBadJoinOffer (or kUnsupportedVersion) otherwise. Bounded: an offer over
// kMaxJoinOfferSize is kBadJoinOffer. Entries are separated by commas with optional spaces or
// tabs; other entries are ignored (never selected).
inline constexpr size_t kMaxJoinOfferSize = 1024;
Expected<std::optional<RoomLocator>, WireError> find_join_in_offer(std::string_view offer);

// The relay's fast path: turns a SEND's bytes into the ENVELOPE for the recipient in place of a
// caller-owned buffer of the same size (the two share their layout apart from the header).
// `out` must be send_bytes.size() long; send_bytes must be a valid SEND.
void envelope_from_send(std::span<const uint8_t> send_bytes, PeerId from, std::span<uint8_t> out);

}  // namespace tokencast::rendezvous

template <>
struct std::is_error_code_enum<tokencast::rendezvous::WireError> : std::true_type {};
