// Frames: the messages on a peer's data channel, one frame per data-channel message.
// The byte layout is specified in docs/PROTOCOL.md ("Frames"); this header is the C++ view.
//
// Every frame starts with one type byte. Protocol version 1 is carried by the hello and the
// welcome only: the hello's first bytes (type 0x01, version varint) are frozen for all future
// versions so that any host can read a client's version and refuse it in frames that every
// version understands (error 0x09 and bye 0x0A are frozen too). After the welcome both sides
// speak that version, so other frames need no version byte; a live text delta costs 1 byte of
// framing.
//
// Decoding is strict: one encoding per value (canonical varints, no trailing bytes), so
// encode_frame(decode_frame(b)) == b for every accepted b. Errors are FrameError values in
// frame_category(), returned as std::error_code.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

#include "tokencast/core/events.hpp"
#include "tokencast/core/expected.hpp"
#include "tokencast/core/session_id.hpp"
#include "tokencast/core/signing.hpp"

namespace tokencast {

// The newest protocol version this build speaks, and the oldest. Version 2 adds the ack frame
// (flow control); a version 1 peer is served as before, without a window. Version 3 adds
// thinking (the thinking frame and the thinking_delta event); an older peer gets a turn's
// thinking as empty text deltas over the same sequences. Version 4 adds the signature frame:
// the host's signature over the transcript after each ended turn (older peers get none).
// Version 5 adds relaying (docs/PROTOCOL.md section 6): the hello offers a relay capacity and
// the welcome says whether the host streams this link as relay frames (0x20-0x22).
inline constexpr uint64_t kProtocolVersion = 5;
inline constexpr uint64_t kThinkingVersion = 3;
inline constexpr uint64_t kSignatureVersion = 4;
inline constexpr uint64_t kRelayVersion = 5;
inline constexpr uint64_t kMinProtocolVersion = 1;
inline constexpr bool is_known_version(uint64_t version) {
  return version >= kMinProtocolVersion && version <= kProtocolVersion;
}
// Data channels deliver messages of at most 16 KiB reliably across browsers.
inline constexpr size_t kMaxFrameBytes = 16384;
// Names, authors, reasons, titles, model names, error and bye texts.
inline constexpr size_t kMaxLabelBytes = 1024;

using FrameBytes = std::vector<uint8_t>;

// Codes carried by error and bye frames. Open-ended on the wire: a decoder accepts any value
// (future versions may add codes) and treats unknown ones like kProtocolError.
enum class StatusCode : uint64_t {
  kNormal = 0,              // bye only: an orderly close
  kProtocolError = 1,       // the other side sent a frame that failed to decode or apply
  kUnsupportedVersion = 2,  // hello carried a version this host does not speak
  kSlowConsumer = 3,        // the peer fell too far behind; reconnect and resume
  kNotPermitted = 4,        // e.g. a viewer sent a prompt
  kResumeUnavailable = 5,   // hello's last_seq is beyond the host's log (wrong or lost session)
  kBusy = 6,                // e.g. a prompt while a turn is open
  kInternal = 7,            // the host failed; retry later
  kShutdown = 8,            // bye only: the host is ending the session
  kRemoved = 9,             // bye only: the host removed this peer; it must not rejoin
};

// client -> host, first frame on a link.
struct HelloFrame {
  uint64_t version = kProtocolVersion;
  Seq last_seq = 0;  // last sequence the client holds; 0 = none
  std::string display_name;
  // Version 5: how many children this client offers to relay for (0: none). A viewer that
  // offers any is streamed the relay stream (the host's signed records) instead of the plain
  // one. Not on the wire below version 5 (must be 0 there).
  uint64_t relay_capacity = 0;
  bool operator==(const HelloFrame&) const = default;
};

// host -> client, answer to a hello. Catch-up starts right after it, from hello.last_seq + 1.
struct WelcomeFrame {
  uint64_t version = kProtocolVersion;
  SessionId session_id{};
  PeerRole role = PeerRole::kViewer;  // kViewer or kParticipant
  PeerId peer = 0;                    // id the host assigned to this peer
  Seq head_seq = 0;                   // host's head when it welcomed the peer
  // Version 5: the log's events come on this link as relay frames (docs/PROTOCOL.md section
  // 6), after a checkpoint for the hello's last_seq when that is >= 1 (the anchor).
  // Not on the wire below version 5 (must be false there).
  bool relay_stream = false;
  bool operator==(const WelcomeFrame&) const = default;
};

// host -> client: consecutive events, events[0].seq first, each next event at
// previous.last_seq() + 1. Non-empty. Only TextDelta and ThinkingDelta events may have
// span > 1.
struct EventsFrame {
  std::vector<Event> events;
  bool operator==(const EventsFrame&) const = default;
};

// host -> client: the live hot path. One TextDelta of the open turn, sequence = previous + 1;
// both are implicit, so FrameDecoder fills them in. `bytes` is the rest of the frame.
struct DeltaFrame {
  std::string bytes;
  bool operator==(const DeltaFrame&) const = default;
};

// host -> client (version 3): the live thinking path, like DeltaFrame for one ThinkingDelta.
struct ThinkingFrame {
  std::string bytes;
  bool operator==(const ThinkingFrame&) const = default;
};

// participant -> host.
struct PromptFrame {
  uint64_t prompt_id = 0;  // chosen by the client, echoed in errors about this prompt
  std::string text;        // valid UTF-8
  bool operator==(const PromptFrame&) const = default;
};

// participant -> host: stop generating this turn.
struct CancelFrame {
  TurnId turn = 0;
  bool operator==(const CancelFrame&) const = default;
};

struct PingFrame {
  uint64_t nonce = 0;
  bool operator==(const PingFrame&) const = default;
};

struct PongFrame {
  uint64_t nonce = 0;  // the ping's nonce
  bool operator==(const PongFrame&) const = default;
};

struct ErrorFrame {
  StatusCode code = StatusCode::kProtocolError;
  std::string text;
  bool operator==(const ErrorFrame&) const = default;
};

// client -> host (version 2): the client holds every event up to last_seq. The host keeps a
// bounded window of unacknowledged bytes in flight per peer and merges what waits behind it.
struct AckFrame {
  Seq last_seq = 0;
  bool operator==(const AckFrame&) const = default;
};

// host -> client (version 4): the host's Ed25519 signature over the signed transcript
// (docs/PROTOCOL.md section 5) of the log up to and including sequence `seq` (a turn_ended),
// which holds `turns` turns. Not a log event: it leaves the stream position alone, and may
// arrive before the events it covers (catch-up sends the latest one right after the welcome).
struct SignatureFrame {
  Seq seq = 1;  // >= 1
  uint64_t turns = 0;
  Ed25519Signature signature{};
  bool operator==(const SignatureFrame&) const = default;
};

// Last frame before the sender closes the link.
struct ByeFrame {
  StatusCode reason = StatusCode::kNormal;
  std::string text;
  bool operator==(const ByeFrame&) const = default;
};

// Introducing a child to its relay (version 5, docs/PROTOCOL.md section 6, "Introducing a
// child to its relay"). On a relay's link to the host: the host hands the relay a child's
// offer, the relay answers or refuses it, and both trickle ICE candidates for that child. The
// child is named by a token the host chose (opaque to the relay). Neither side handles these
// yet (the host runtime and the clients ignore them); the codec is complete.
//
// Field rules, checked by encoder and decoder alike:
inline constexpr size_t kMaxRelaySdpBytes = 32 * 1024;   // = the handshake's SDP limit; the
                                                         // 16 KiB frame limit binds first
inline constexpr size_t kMaxRelayMidBytes = 32;          // printable ASCII, may be empty
inline constexpr size_t kMaxRelayCandidateBytes = 1024;  // printable ASCII, not empty

// host -> relay: place the child `child` below you; `sdp` is its offer (1..kMaxRelaySdpBytes
// of UTF-8 without NUL).
struct RelayIntroFrame {
  uint64_t child = 0;
  std::string sdp;
  bool operator==(const RelayIntroFrame&) const = default;
};

// relay -> host: the relay's answer to that offer (same SDP rules).
struct RelayAcceptFrame {
  uint64_t child = 0;
  std::string sdp;
  bool operator==(const RelayAcceptFrame&) const = default;
};

enum class RelayRefuseReason : uint8_t {
  kRefused = 0,   // no reason given
  kFull = 1,      // no spare capacity left
  kBadOffer = 2,  // the offer could not be applied
  kLeaving = 3,   // the relay is about to leave
};

// relay -> host: the relay will not take that child.
struct RelayRefuseFrame {
  uint64_t child = 0;
  RelayRefuseReason reason = RelayRefuseReason::kRefused;
  bool operator==(const RelayRefuseFrame&) const = default;
};

// Both ways: one ICE candidate for the child's connection (host -> relay: the child's; relay
// -> host: the relay's). `candidate` is the "candidate:..." string, 1..1024 printable ASCII.
struct RelayCandidateFrame {
  uint64_t child = 0;
  uint16_t mline_index = 0;
  std::string mid;
  std::string candidate;
  bool operator==(const RelayCandidateFrame&) const = default;
};

// A child's link to its relay (version 5). Not hello/welcome: the child resumes from a chain
// position (index and chain hash, docs/PROTOCOL.md section 6), not a log position, and the
// relay assigns no peer id or role and never learns the child's display name.
//
// child -> relay, first frame on a relay link. `version` comes first and is checked first, as
// in the hello (>= 5: the frame does not exist below). `last_index` is the last record the
// child verified (0: none) and `chain_hash` the chain hash h_last_index it holds (h_0, the
// genesis, for 0). The relay serves records from last_index + 1 when its own chain holds the
// same hash at that index.
struct RelayHelloFrame {
  uint64_t version = kProtocolVersion;
  uint64_t last_index = 0;
  std::array<uint8_t, 32> chain_hash{};
  bool operator==(const RelayHelloFrame&) const = default;
};

// relay -> child, answer to a relay_hello whose position the relay can serve: the session the
// stream belongs to and the relay's last verified record index (>= the hello's last_index).
// Relay records (0x20-0x22) follow from the hello's last_index + 1.
struct RelayWelcomeFrame {
  uint64_t version = kProtocolVersion;
  SessionId session_id{};
  uint64_t head_index = 0;
  bool operator==(const RelayWelcomeFrame&) const = default;
};

// relay -> host: a child this relay accepted is gone (its link closed or failed, never opened
// in time, or the relay dropped it: too slow, a bad relay_hello). The host frees its slot and
// may place it again.
struct RelayChildGoneFrame {
  uint64_t child = 0;
  bool operator==(const RelayChildGoneFrame&) const = default;
};

// Routed introductions (docs/PROTOCOL.md section 6, "Relays below relays"): the host speaks to
// a relay it has no data channel to through that relay's parents. `sealed` is a route seal
// (relay_route.hpp: counter, ChaCha20-Poly1305 under a key of the child's join that its parents
// cannot derive) around one section 4 frame; the parents pass it on without opening it.
//
// Both ways on a relay's link to the host (or, nested, inside another route seal): host ->
// relay, "pass `sealed` to your child `child`"; relay -> host, "my child `child` sent `sealed`".
struct RelayRouteFrame {
  uint64_t child = 0;
  std::vector<uint8_t> sealed;  // 1 .. kMaxFrameBytes - 11
  bool operator==(const RelayRouteFrame&) const = default;
};

// Both ways on a child's link to its relay: the sealed bytes of a relay_route, one hop on.
struct RelayRoutedFrame {
  std::vector<uint8_t> sealed;  // not empty
  bool operator==(const RelayRoutedFrame&) const = default;
};

// relay -> host, only inside a route seal: a relay below a relay offers to relay for
// `capacity` children (1..64). A direct viewer says so in its hello instead.
inline constexpr uint64_t kMaxRelayOfferCapacity = 64;
struct RelayOfferFrame {
  uint64_t capacity = 1;
  bool operator==(const RelayOfferFrame&) const = default;
};

using Frame =
    std::variant<HelloFrame, WelcomeFrame, EventsFrame, DeltaFrame, PromptFrame, CancelFrame,
                 PingFrame, PongFrame, ErrorFrame, ByeFrame, AckFrame, ThinkingFrame,
                 SignatureFrame, RelayIntroFrame, RelayAcceptFrame, RelayRefuseFrame,
                 RelayCandidateFrame, RelayHelloFrame, RelayWelcomeFrame, RelayChildGoneFrame,
                 RelayRouteFrame, RelayRoutedFrame, RelayOfferFrame>;

// Wire type bytes (first byte of every frame). 0x00 is never a frame.
enum class FrameType : uint8_t {
  kHello = 0x01,
  kWelcome = 0x02,
  kEvents = 0x03,
  kDelta = 0x04,
  kPrompt = 0x05,
  kCancel = 0x06,
  kPing = 0x07,
  kPong = 0x08,
  kError = 0x09,
  kBye = 0x0A,
  kAck = 0x0B,             // version 2
  kThinking = 0x0C,        // version 3
  kSignature = 0x0D,       // version 4
  kRelayIntro = 0x0E,      // version 5, host -> relay
  kRelayAccept = 0x0F,     // version 5, relay -> host
  kRelayRefuse = 0x10,     // version 5, relay -> host
  kRelayCandidate = 0x11,  // version 5, both ways
  kRelayHello = 0x12,      // version 5, child -> relay
  kRelayWelcome = 0x13,    // version 5, relay -> child
  kRelayChildGone = 0x14,  // version 5, relay -> host
  kRelayRoute = 0x15,      // version 5, both ways between the host and a relay
  kRelayRouted = 0x16,     // version 5, both ways between a relay and its child
  kRelayOffer = 0x17,      // version 5, relay -> host, only inside a route seal
};

// Event type bytes inside an events frame.
enum class EventType : uint8_t {
  kTurnStarted = 0x01,
  kTextDelta = 0x02,
  kTurnEnded = 0x03,
  kPeerJoined = 0x04,
  kPeerLeft = 0x05,
  kSessionMeta = 0x06,
  kThinkingDelta = 0x07,  // version 3
};

// Every way a frame can be rejected. Values are stable (they are logged and tested);
// frame_error_name() gives the snake_case name used by tests/vectors/frames.json.
enum class FrameError {
  kTruncated = 1,         // input ends inside a field (or is empty)
  kOversized = 2,         // frame longer than kMaxFrameBytes
  kUnknownVersion = 3,    // hello/welcome version is not one this build speaks (1 to 5)
  kUnknownFrameType = 4,  // first byte is not a FrameType
  kUnknownEventType = 5,  // event type byte is not an EventType
  kBadVarint = 6,         // overlong (non-canonical) LEB128, or a value above 2^64 - 1
  kTrailingBytes = 7,     // bytes left after the last field
  kSequenceGap = 8,       // events frame does not start at the decoder's last_seq + 1
  kStringTooLong = 9,     // label longer than kMaxLabelBytes
  kBadEnum = 10,          // role / end / welcome role value out of range
  kInvalidUtf8 = 11,      // a label or prompt text is not valid UTF-8
  kEmptyBatch = 12,       // events frame with zero events
  kBadSpan = 13,          // delta span 0, or span != 1 on a non-delta event (encoder)
  kBadSequence = 14,      // first seq 0 (events, signature), or sequences past 2^64 - 1
  kUnexpectedFrame = 15,  // frame sent in the wrong direction (e.g. a hello to a client)
  kNoOpenTurn = 16,       // delta or turn end while no turn is open
  kTurnMismatch = 17,     // delta or turn end for a turn other than the open one
  kTurnAlreadyOpen = 18,  // turn start while another turn is open
};

const std::error_category& frame_category();
std::error_code make_error_code(FrameError e);
// "truncated", "oversized", ... ; "unknown" for values outside the enum.
const char* frame_error_name(FrameError e);

// Encodes one frame. Errors: kOversized when the result would exceed kMaxFrameBytes, and every
// value-level error decode_frame would report on the result (kStringTooLong, kInvalidUtf8,
// kBadEnum, kUnknownVersion, kEmptyBatch, kBadSpan, kBadSequence, kSequenceGap for events whose
// sequences are not consecutive), so that only decodable frames are ever produced.
Expected<FrameBytes, std::error_code> encode_frame(const Frame& frame);

// Encodes one log event for a peer that is level with the log: a TextDelta with span 1 becomes
// a DeltaFrame and a ThinkingDelta with span 1 a ThinkingFrame (1 byte of framing), anything
// else a one-event EventsFrame. Same errors as encode_frame.
Expected<FrameBytes, std::error_code> encode_live_event(const Event& event);

// Decodes one frame without context. DeltaFrame comes out as-is (no sequence, no turn) and
// events frames are checked on their own only (not against a stream position). Errors: any
// FrameError except kSequenceGap, kUnexpectedFrame and the turn errors.
Expected<Frame, std::error_code> decode_frame(std::span<const uint8_t> bytes);

// Host side (and a relay's side of its children's links): decode_frame, then kUnexpectedFrame
// for frames only a host sends (welcome, events, delta, thinking, signature, relay_intro,
// relay_welcome).
Expected<Frame, std::error_code> decode_client_frame(std::span<const uint8_t> bytes);

// What a client holds: the last sequence it has and the turn open at that point (a client
// that holds a prefix of the log always knows both; persist them to resume).
struct StreamPosition {
  Seq last_seq = 0;
  std::optional<TurnId> open_turn;
  bool operator==(const StreamPosition&) const = default;
};

// Client side, stateful. Tracks the stream position so that it can fill in a DeltaFrame's
// implicit sequence and turn and verify that events continue the log without gap or
// duplicate and respect the turn rules.
class FrameDecoder {
 public:
  explicit FrameDecoder(StreamPosition start = {}) : position_(start) {}

  // Decodes one frame from the host and advances the position. A DeltaFrame (ThinkingFrame) is
  // returned as an EventsFrame holding its one TextDelta (ThinkingDelta) event with sequence and
  // turn filled in, so the caller
  // handles host events in one shape. Errors: everything decode_frame reports, plus
  // kUnexpectedFrame (hello, prompt, cancel, ack, relay_accept, relay_refuse, relay_hello,
  // relay_child_gone, relay_offer),
  // kSequenceGap (events frame not starting at last_seq + 1), kNoOpenTurn, kTurnMismatch,
  // kTurnAlreadyOpen. On error the position is unchanged and nothing of the frame was applied; the
  // client should close the link and resume from position().last_seq.
  Expected<Frame, std::error_code> decode(std::span<const uint8_t> bytes);

  const StreamPosition& position() const { return position_; }

 private:
  StreamPosition position_;
};

}  // namespace tokencast

template <>
struct std::is_error_code_enum<tokencast::FrameError> : std::true_type {};
