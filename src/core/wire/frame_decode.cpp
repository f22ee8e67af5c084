// Stateless frame decoder. Checks run in wire order and the first defect found is reported:
// size, type byte, then each field as it is read, then trailing bytes (docs/PROTOCOL.md,
// "Decoding order"), so every implementation reports the same error for the same bytes.
#include <limits>
#include <optional>
#include <string>
#include <variant>

#include "tokencast/core/frame.hpp"
#include "tokencast/core/text.hpp"
#include "wire/frame_internal.hpp"
#include "wire/varint.hpp"

namespace tokencast {
namespace {

// Reads fields front to back; the first failure is kept in error() and ends decoding.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}

  bool at_end() const { return pos_ == in_.size(); }
  size_t remaining() const { return in_.size() - pos_; }
  FrameError error() const { return error_; }
  bool fail(FrameError e) {
    error_ = e;
    return false;
  }

  bool byte(uint8_t& out) {
    if (at_end()) return fail(FrameError::kTruncated);
    out = in_[pos_++];
    return true;
  }

  bool varint(uint64_t& out) {
    switch (codec::get_varint(in_, pos_, out)) {
      case codec::VarintStatus::kOk:
        return true;
      case codec::VarintStatus::kTruncated:
        return fail(FrameError::kTruncated);
      case codec::VarintStatus::kBadVarint:
        break;
    }
    return fail(FrameError::kBadVarint);
  }

  bool zigzag(int64_t& out) {
    uint64_t raw = 0;
    if (!varint(raw)) return false;
    out = codec::zigzag_decode(raw);
    return true;
  }

  // Length-prefixed bytes; a length above max_len is rejected before the bytes are looked at.
  bool bytes(std::string& out, uint64_t max_len = std::numeric_limits<uint64_t>::max()) {
    uint64_t len = 0;
    if (!varint(len)) return false;
    if (len > max_len) return fail(FrameError::kStringTooLong);
    if (len > remaining()) return fail(FrameError::kTruncated);
    out.assign(reinterpret_cast<const char*>(in_.data() + pos_), len);
    pos_ += len;
    return true;
  }

  bool label(std::string& out) {
    if (!bytes(out, kMaxLabelBytes)) return false;
    if (!tokencast::is_valid_utf8(out)) return fail(FrameError::kInvalidUtf8);
    return true;
  }

  bool utf8_text(std::string& out) {
    if (!bytes(out)) return false;
    if (!tokencast::is_valid_utf8(out)) return fail(FrameError::kInvalidUtf8);
    return true;
  }

  // An enum stored as a varint, valid when <= max.
  template <class E>
  bool enumeration(E& out, E max) {
    uint64_t raw = 0;
    if (!varint(raw)) return false;
    if (raw > static_cast<uint64_t>(max)) return fail(FrameError::kBadEnum);
    out = static_cast<E>(raw);
    return true;
  }

  bool version(uint64_t& out) {
    if (!varint(out)) return false;
    if (!is_known_version(out)) return fail(FrameError::kUnknownVersion);
    return true;
  }

  // A field of the introduction frames: at most max_len bytes, then its value rule.
  bool checked(std::string& out, uint64_t max_len, codec::ValueDefect (*check)(std::string_view)) {
    if (!bytes(out, max_len)) return false;
    const auto defect = check(out);
    if (defect != codec::ValueDefect::kNone) return fail(codec::to_frame_error(defect));
    return true;
  }

  // A version that has the relay link frames (5 and up, known to this build).
  bool relay_version(uint64_t& out) {
    if (!version(out)) return false;
    if (out < kRelayVersion) return fail(FrameError::kUnknownVersion);
    return true;
  }

  std::string rest() {
    std::string out(reinterpret_cast<const char*>(in_.data() + pos_), remaining());
    pos_ = in_.size();
    return out;
  }

 private:
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  FrameError error_ = FrameError::kTruncated;
};

bool read_event_body(Reader& r, EventType type, EventBody& body, Seq& span) {
  span = 1;
  switch (type) {
    case EventType::kTurnStarted: {
      TurnStarted e;
      if (!r.varint(e.turn) || !r.enumeration(e.role, TurnRole::kSystem) || !r.label(e.author) ||
          !r.zigzag(e.at_ms)) {
        return false;
      }
      body = std::move(e);
      return true;
    }
    case EventType::kTextDelta:
    case EventType::kThinkingDelta: {
      TurnId turn = 0;
      std::string bytes;
      if (!r.varint(turn) || !r.varint(span)) return false;
      if (span == 0) return r.fail(FrameError::kBadSpan);
      if (!r.bytes(bytes)) return false;
      body = make_delta(type == EventType::kThinkingDelta, turn, std::move(bytes));
      return true;
    }
    case EventType::kTurnEnded: {
      TurnEnded e;
      if (!r.varint(e.turn) || !r.enumeration(e.end, TurnEnd::kError) || !r.label(e.reason) ||
          !r.varint(e.token_count) || !r.zigzag(e.at_ms)) {
        return false;
      }
      body = std::move(e);
      return true;
    }
    case EventType::kPeerJoined: {
      PeerJoined e;
      if (!r.varint(e.peer) || !r.enumeration(e.role, PeerRole::kHost) || !r.label(e.name)) {
        return false;
      }
      body = std::move(e);
      return true;
    }
    case EventType::kPeerLeft: {
      PeerLeft e;
      if (!r.varint(e.peer)) return false;
      body = e;
      return true;
    }
    case EventType::kSessionMeta: {
      SessionMeta e;
      if (!r.label(e.title) || !r.label(e.model)) return false;
      body = std::move(e);
      return true;
    }
  }
  return r.fail(FrameError::kUnknownEventType);
}

bool read_events(Reader& r, EventsFrame& frame) {
  Seq seq = 0;
  uint64_t count = 0;
  if (!r.varint(seq)) return false;
  if (seq == 0) return r.fail(FrameError::kBadSequence);
  if (!r.varint(count)) return false;
  if (count == 0) return r.fail(FrameError::kEmptyBatch);
  // Every event takes at least 2 bytes; never trust count for an allocation.
  frame.events.reserve(std::min<uint64_t>(count, r.remaining() / 2));
  constexpr Seq kMax = std::numeric_limits<Seq>::max();
  bool at_end_of_space = false;
  for (uint64_t i = 0; i < count; ++i) {
    uint8_t type = 0;
    if (!r.byte(type)) return false;
    if (type < static_cast<uint8_t>(EventType::kTurnStarted) ||
        type > static_cast<uint8_t>(EventType::kThinkingDelta)) {
      return r.fail(FrameError::kUnknownEventType);
    }
    Event event;
    if (!read_event_body(r, static_cast<EventType>(type), event.body, event.span)) return false;
    // The sequence space ends at 2^64 - 1; an event may not start or end beyond it.
    if (at_end_of_space || event.span - 1 > kMax - seq) return r.fail(FrameError::kBadSequence);
    event.seq = seq;
    at_end_of_space = event.last_seq() == kMax;
    seq = event.last_seq() + 1;
    frame.events.push_back(std::move(event));
  }
  return true;
}

bool read_frame(Reader& r, uint8_t type, Frame& frame) {
  switch (static_cast<FrameType>(type)) {
    case FrameType::kHello: {
      HelloFrame f;
      // The version comes first and is checked before anything else: a future version may lay
      // out the rest of its hello differently.
      if (!r.version(f.version) || !r.varint(f.last_seq) || !r.label(f.display_name)) {
        return false;
      }
      if (f.version >= kRelayVersion && !r.varint(f.relay_capacity)) return false;
      frame = std::move(f);
      return true;
    }
    case FrameType::kWelcome: {
      WelcomeFrame f;
      if (!r.version(f.version)) return false;
      for (uint8_t& b : f.session_id.bytes) {
        if (!r.byte(b)) return false;
      }
      if (!r.enumeration(f.role, PeerRole::kParticipant) || !r.varint(f.peer) ||
          !r.varint(f.head_seq)) {
        return false;
      }
      if (f.version >= kRelayVersion) {
        uint8_t relay = 0;
        if (!r.enumeration(relay, uint8_t{1})) return false;
        f.relay_stream = relay == 1;
      }
      frame = f;
      return true;
    }
    case FrameType::kEvents: {
      EventsFrame f;
      if (!read_events(r, f)) return false;
      frame = std::move(f);
      return true;
    }
    case FrameType::kDelta:
      frame = DeltaFrame{r.rest()};
      return true;
    case FrameType::kThinking:
      frame = ThinkingFrame{r.rest()};
      return true;
    case FrameType::kPrompt: {
      PromptFrame f;
      if (!r.varint(f.prompt_id) || !r.utf8_text(f.text)) return false;
      frame = std::move(f);
      return true;
    }
    case FrameType::kCancel: {
      CancelFrame f;
      if (!r.varint(f.turn)) return false;
      frame = f;
      return true;
    }
    case FrameType::kPing: {
      PingFrame f;
      if (!r.varint(f.nonce)) return false;
      frame = f;
      return true;
    }
    case FrameType::kPong: {
      PongFrame f;
      if (!r.varint(f.nonce)) return false;
      frame = f;
      return true;
    }
    case FrameType::kError: {
      ErrorFrame f;
      uint64_t code = 0;
      if (!r.varint(code) || !r.label(f.text)) return false;
      f.code = static_cast<StatusCode>(code);  // open-ended: unknown codes are kept
      frame = std::move(f);
      return true;
    }
    case FrameType::kAck: {
      AckFrame f;
      if (!r.varint(f.last_seq)) return false;
      frame = f;
      return true;
    }
    case FrameType::kSignature: {
      SignatureFrame f;
      if (!r.varint(f.seq)) return false;
      if (f.seq == 0) return r.fail(FrameError::kBadSequence);
      if (!r.varint(f.turns)) return false;
      for (uint8_t& b : f.signature) {
        if (!r.byte(b)) return false;
      }
      frame = f;
      return true;
    }
    case FrameType::kRelayIntro: {
      RelayIntroFrame f;
      if (!r.varint(f.child) || !r.checked(f.sdp, kMaxRelaySdpBytes, codec::check_relay_sdp)) {
        return false;
      }
      frame = std::move(f);
      return true;
    }
    case FrameType::kRelayAccept: {
      RelayAcceptFrame f;
      if (!r.varint(f.child) || !r.checked(f.sdp, kMaxRelaySdpBytes, codec::check_relay_sdp)) {
        return false;
      }
      frame = std::move(f);
      return true;
    }
    case FrameType::kRelayRefuse: {
      RelayRefuseFrame f;
      if (!r.varint(f.child) || !r.enumeration(f.reason, RelayRefuseReason::kLeaving)) {
        return false;
      }
      frame = f;
      return true;
    }
    case FrameType::kRelayChildGone: {
      RelayChildGoneFrame f;
      if (!r.varint(f.child)) return false;
      frame = f;
      return true;
    }
    case FrameType::kRelayRoute: {
      RelayRouteFrame f;
      if (!r.varint(f.child)) return false;
      if (r.at_end()) return r.fail(FrameError::kTruncated);  // nothing sealed
      const std::string sealed = r.rest();
      f.sealed.assign(sealed.begin(), sealed.end());
      frame = std::move(f);
      return true;
    }
    case FrameType::kRelayRouted: {
      RelayRoutedFrame f;
      if (r.at_end()) return r.fail(FrameError::kTruncated);
      const std::string sealed = r.rest();
      f.sealed.assign(sealed.begin(), sealed.end());
      frame = std::move(f);
      return true;
    }
    case FrameType::kRelayOffer: {
      RelayOfferFrame f;
      if (!r.varint(f.capacity)) return false;
      if (f.capacity == 0 || f.capacity > kMaxRelayOfferCapacity) {
        return r.fail(FrameError::kBadEnum);
      }
      frame = f;
      return true;
    }
    case FrameType::kRelayCandidate: {
      RelayCandidateFrame f;
      uint64_t index = 0;
      if (!r.varint(f.child) || !r.varint(index)) return false;
      if (index > std::numeric_limits<uint16_t>::max()) return r.fail(FrameError::kBadEnum);
      f.mline_index = static_cast<uint16_t>(index);
      if (!r.checked(f.mid, kMaxRelayMidBytes, codec::check_relay_mid) ||
          !r.checked(f.candidate, kMaxRelayCandidateBytes, codec::check_relay_candidate)) {
        return false;
      }
      frame = std::move(f);
      return true;
    }
    case FrameType::kRelayHello: {
      RelayHelloFrame f;
      if (!r.relay_version(f.version) || !r.varint(f.last_index)) return false;
      for (uint8_t& b : f.chain_hash) {
        if (!r.byte(b)) return false;
      }
      frame = f;
      return true;
    }
    case FrameType::kRelayWelcome: {
      RelayWelcomeFrame f;
      if (!r.relay_version(f.version)) return false;
      for (uint8_t& b : f.session_id.bytes) {
        if (!r.byte(b)) return false;
      }
      if (!r.varint(f.head_index)) return false;
      frame = f;
      return true;
    }
    case FrameType::kBye: {
      ByeFrame f;
      uint64_t reason = 0;
      if (!r.varint(reason) || !r.label(f.text)) return false;
      f.reason = static_cast<StatusCode>(reason);
      frame = std::move(f);
      return true;
    }
  }
  return r.fail(FrameError::kUnknownFrameType);
}

}  // namespace

Expected<Frame, std::error_code> decode_frame(std::span<const uint8_t> bytes) {
  if (bytes.size() > kMaxFrameBytes) return unexpected(make_error_code(FrameError::kOversized));
  if (bytes.empty()) return unexpected(make_error_code(FrameError::kTruncated));
  Reader r(bytes.subspan(1));
  Frame frame;
  if (!read_frame(r, bytes[0], frame)) return unexpected(make_error_code(r.error()));
  if (!r.at_end()) return unexpected(make_error_code(FrameError::kTrailingBytes));
  return frame;
}

Expected<Frame, std::error_code> decode_client_frame(std::span<const uint8_t> bytes) {
  auto frame = decode_frame(bytes);
  if (!frame) return frame;
  if (std::holds_alternative<WelcomeFrame>(*frame) || std::holds_alternative<EventsFrame>(*frame) ||
      std::holds_alternative<DeltaFrame>(*frame) || std::holds_alternative<ThinkingFrame>(*frame) ||
      std::holds_alternative<SignatureFrame>(*frame) ||
      std::holds_alternative<RelayIntroFrame>(*frame) ||
      std::holds_alternative<RelayWelcomeFrame>(*frame)) {
    return unexpected(make_error_code(FrameError::kUnexpectedFrame));
  }
  return frame;
}

}  // namespace tokencast
