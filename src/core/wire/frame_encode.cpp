// Frame encoder. Validates first, so that it only ever produces frames decode_frame accepts.
#include <limits>
#include <string_view>
#include <type_traits>
#include <variant>

#include "tokencast/core/frame.hpp"
#include "tokencast/core/text.hpp"
#include "wire/frame_internal.hpp"
#include "wire/varint.hpp"

namespace tokencast {
namespace {

using codec::put_varint;
using codec::varint_size;

void put_string(FrameBytes& out, std::string_view s) {
  put_varint(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

template <class E>
void put_enum(FrameBytes& out, E value) {
  put_varint(out, static_cast<uint64_t>(static_cast<std::underlying_type_t<E>>(value)));
}

std::error_code label_error_of(codec::ValueDefect defect) {
  if (defect == codec::ValueDefect::kNone) return {};
  return codec::to_frame_error(defect);
}

std::error_code label_error(std::string_view text) {
  const auto defect = codec::check_label(text);
  if (defect == codec::ValueDefect::kNone) return {};
  return codec::to_frame_error(defect);
}

// The sequence and span rules of an events frame, as the decoder enforces them.
std::error_code check_events(const EventsFrame& frame) {
  if (frame.events.empty()) return FrameError::kEmptyBatch;
  if (frame.events.front().seq == 0) return FrameError::kBadSequence;
  constexpr Seq kMax = std::numeric_limits<Seq>::max();
  Seq expected = frame.events.front().seq;
  bool at_end_of_space = false;  // the previous event ended at sequence 2^64 - 1
  for (const Event& event : frame.events) {
    if (at_end_of_space) return FrameError::kBadSequence;
    if (event.seq != expected) return FrameError::kSequenceGap;
    const bool is_delta = delta_ref(event.body).has_value();
    if (event.span == 0 || (!is_delta && event.span != 1)) return FrameError::kBadSpan;
    if (event.span - 1 > kMax - event.seq) return FrameError::kBadSequence;
    const Seq last = event.last_seq();
    at_end_of_space = last == kMax;
    expected = last + 1;
    const auto defect = codec::check_event_values(event.body);
    if (defect != codec::ValueDefect::kNone) return codec::to_frame_error(defect);
  }
  return {};
}

std::error_code check(const Frame& frame) {
  struct Visitor {
    std::error_code operator()(const HelloFrame& f) const {
      if (!is_known_version(f.version)) return FrameError::kUnknownVersion;
      if (f.version < kRelayVersion && f.relay_capacity != 0) return FrameError::kBadEnum;
      return label_error(f.display_name);
    }
    std::error_code operator()(const WelcomeFrame& f) const {
      if (!is_known_version(f.version)) return FrameError::kUnknownVersion;
      if (f.role != PeerRole::kViewer && f.role != PeerRole::kParticipant) {
        return FrameError::kBadEnum;
      }
      if (f.version < kRelayVersion && f.relay_stream) return FrameError::kBadEnum;
      return {};
    }
    std::error_code operator()(const EventsFrame& f) const { return check_events(f); }
    std::error_code operator()(const DeltaFrame&) const { return {}; }
    std::error_code operator()(const ThinkingFrame&) const { return {}; }
    std::error_code operator()(const PromptFrame& f) const {
      if (!tokencast::is_valid_utf8(f.text)) return FrameError::kInvalidUtf8;
      return {};
    }
    std::error_code operator()(const CancelFrame&) const { return {}; }
    std::error_code operator()(const PingFrame&) const { return {}; }
    std::error_code operator()(const PongFrame&) const { return {}; }
    std::error_code operator()(const AckFrame&) const { return {}; }
    std::error_code operator()(const SignatureFrame& f) const {
      if (f.seq == 0) return FrameError::kBadSequence;
      return {};
    }
    std::error_code operator()(const ErrorFrame& f) const { return label_error(f.text); }
    std::error_code operator()(const ByeFrame& f) const { return label_error(f.text); }
    std::error_code operator()(const RelayIntroFrame& f) const {
      return label_error_of(codec::check_relay_sdp(f.sdp));
    }
    std::error_code operator()(const RelayAcceptFrame& f) const {
      return label_error_of(codec::check_relay_sdp(f.sdp));
    }
    std::error_code operator()(const RelayHelloFrame& f) const {
      if (!is_known_version(f.version) || f.version < kRelayVersion) {
        return FrameError::kUnknownVersion;
      }
      return {};
    }
    std::error_code operator()(const RelayWelcomeFrame& f) const {
      if (!is_known_version(f.version) || f.version < kRelayVersion) {
        return FrameError::kUnknownVersion;
      }
      return {};
    }
    std::error_code operator()(const RelayRefuseFrame& f) const {
      if (f.reason > RelayRefuseReason::kLeaving) return FrameError::kBadEnum;
      return {};
    }
    std::error_code operator()(const RelayChildGoneFrame&) const { return {}; }
    std::error_code operator()(const RelayRouteFrame& f) const {
      return f.sealed.empty() ? FrameError::kTruncated : std::error_code{};
    }
    std::error_code operator()(const RelayRoutedFrame& f) const {
      return f.sealed.empty() ? FrameError::kTruncated : std::error_code{};
    }
    std::error_code operator()(const RelayOfferFrame& f) const {
      // A capacity is a small count, like an enum's range: 1..kMaxRelayOfferCapacity.
      if (f.capacity == 0 || f.capacity > kMaxRelayOfferCapacity) return FrameError::kBadEnum;
      return {};
    }
    std::error_code operator()(const RelayCandidateFrame& f) const {
      auto defect = codec::check_relay_mid(f.mid);
      if (defect == codec::ValueDefect::kNone) defect = codec::check_relay_candidate(f.candidate);
      return label_error_of(defect);
    }
  };
  return std::visit(Visitor{}, frame);
}

void write(FrameBytes& out, const Frame& frame) {
  struct Visitor {
    FrameBytes& out;
    void type(FrameType t) const { out.push_back(static_cast<uint8_t>(t)); }
    void operator()(const HelloFrame& f) const {
      type(FrameType::kHello);
      put_varint(out, f.version);
      put_varint(out, f.last_seq);
      put_string(out, f.display_name);
      if (f.version >= kRelayVersion) put_varint(out, f.relay_capacity);
    }
    void operator()(const WelcomeFrame& f) const {
      type(FrameType::kWelcome);
      put_varint(out, f.version);
      out.insert(out.end(), f.session_id.bytes.begin(), f.session_id.bytes.end());
      put_enum(out, f.role);
      put_varint(out, f.peer);
      put_varint(out, f.head_seq);
      if (f.version >= kRelayVersion) put_varint(out, f.relay_stream ? 1 : 0);
    }
    void operator()(const EventsFrame& f) const {
      codec::write_events_header(out, f.events.front().seq, f.events.size());
      for (const Event& event : f.events) codec::write_event(out, event);
    }
    void operator()(const DeltaFrame& f) const {
      out.reserve(out.size() + 1 + f.bytes.size());
      type(FrameType::kDelta);
      out.insert(out.end(), f.bytes.begin(), f.bytes.end());
    }
    void operator()(const ThinkingFrame& f) const {
      out.reserve(out.size() + 1 + f.bytes.size());
      type(FrameType::kThinking);
      out.insert(out.end(), f.bytes.begin(), f.bytes.end());
    }
    void operator()(const PromptFrame& f) const {
      type(FrameType::kPrompt);
      put_varint(out, f.prompt_id);
      put_string(out, f.text);
    }
    void operator()(const CancelFrame& f) const {
      type(FrameType::kCancel);
      put_varint(out, f.turn);
    }
    void operator()(const PingFrame& f) const {
      type(FrameType::kPing);
      put_varint(out, f.nonce);
    }
    void operator()(const PongFrame& f) const {
      type(FrameType::kPong);
      put_varint(out, f.nonce);
    }
    void operator()(const AckFrame& f) const {
      type(FrameType::kAck);
      put_varint(out, f.last_seq);
    }
    void operator()(const SignatureFrame& f) const {
      type(FrameType::kSignature);
      put_varint(out, f.seq);
      put_varint(out, f.turns);
      out.insert(out.end(), f.signature.begin(), f.signature.end());
    }
    void operator()(const ErrorFrame& f) const {
      type(FrameType::kError);
      put_enum(out, f.code);
      put_string(out, f.text);
    }
    void operator()(const ByeFrame& f) const {
      type(FrameType::kBye);
      put_enum(out, f.reason);
      put_string(out, f.text);
    }
    void operator()(const RelayIntroFrame& f) const {
      type(FrameType::kRelayIntro);
      put_varint(out, f.child);
      put_string(out, f.sdp);
    }
    void operator()(const RelayAcceptFrame& f) const {
      type(FrameType::kRelayAccept);
      put_varint(out, f.child);
      put_string(out, f.sdp);
    }
    void operator()(const RelayHelloFrame& f) const {
      type(FrameType::kRelayHello);
      put_varint(out, f.version);
      put_varint(out, f.last_index);
      out.insert(out.end(), f.chain_hash.begin(), f.chain_hash.end());
    }
    void operator()(const RelayWelcomeFrame& f) const {
      type(FrameType::kRelayWelcome);
      put_varint(out, f.version);
      out.insert(out.end(), f.session_id.bytes.begin(), f.session_id.bytes.end());
      put_varint(out, f.head_index);
    }
    void operator()(const RelayRefuseFrame& f) const {
      type(FrameType::kRelayRefuse);
      put_varint(out, f.child);
      put_enum(out, f.reason);
    }
    void operator()(const RelayChildGoneFrame& f) const {
      type(FrameType::kRelayChildGone);
      put_varint(out, f.child);
    }
    void operator()(const RelayRouteFrame& f) const {
      type(FrameType::kRelayRoute);
      put_varint(out, f.child);
      out.insert(out.end(), f.sealed.begin(), f.sealed.end());
    }
    void operator()(const RelayRoutedFrame& f) const {
      type(FrameType::kRelayRouted);
      out.insert(out.end(), f.sealed.begin(), f.sealed.end());
    }
    void operator()(const RelayOfferFrame& f) const {
      type(FrameType::kRelayOffer);
      put_varint(out, f.capacity);
    }
    void operator()(const RelayCandidateFrame& f) const {
      type(FrameType::kRelayCandidate);
      put_varint(out, f.child);
      put_varint(out, f.mline_index);
      put_string(out, f.mid);
      put_string(out, f.candidate);
    }
  };
  std::visit(Visitor{out}, frame);
}

}  // namespace

namespace codec {

void write_event(FrameBytes& out, const Event& event) {
  struct Visitor {
    FrameBytes& out;
    Seq span;
    void type(EventType t) const { out.push_back(static_cast<uint8_t>(t)); }
    void operator()(const TurnStarted& e) const {
      type(EventType::kTurnStarted);
      put_varint(out, e.turn);
      put_enum(out, e.role);
      put_string(out, e.author);
      put_varint(out, zigzag_encode(e.at_ms));
    }
    void delta(EventType t, TurnId turn, std::string_view bytes) const {
      type(t);
      put_varint(out, turn);
      put_varint(out, span);
      put_string(out, bytes);
    }
    void operator()(const TextDelta& e) const { delta(EventType::kTextDelta, e.turn, e.bytes); }
    void operator()(const ThinkingDelta& e) const {
      delta(EventType::kThinkingDelta, e.turn, e.bytes);
    }
    void operator()(const TurnEnded& e) const {
      type(EventType::kTurnEnded);
      put_varint(out, e.turn);
      put_enum(out, e.end);
      put_string(out, e.reason);
      put_varint(out, e.token_count);
      put_varint(out, zigzag_encode(e.at_ms));
    }
    void operator()(const PeerJoined& e) const {
      type(EventType::kPeerJoined);
      put_varint(out, e.peer);
      put_enum(out, e.role);
      put_string(out, e.name);
    }
    void operator()(const PeerLeft& e) const {
      type(EventType::kPeerLeft);
      put_varint(out, e.peer);
    }
    void operator()(const SessionMeta& e) const {
      type(EventType::kSessionMeta);
      put_string(out, e.title);
      put_string(out, e.model);
    }
  };
  std::visit(Visitor{out, event.span}, event.body);
}

size_t event_size(const Event& event) {
  if (const auto delta = delta_ref(event.body)) {
    return delta_event_size(delta->turn, event.span, delta->bytes->size());
  }
  FrameBytes scratch;  // non-delta events are small and rare
  write_event(scratch, event);
  return scratch.size();
}

size_t delta_event_size(TurnId turn, Seq span, size_t text_bytes) {
  return 1 + varint_size(turn) + varint_size(span) + varint_size(text_bytes) + text_bytes;
}

size_t events_header_size(Seq first_seq, size_t count) {
  return 1 + varint_size(first_seq) + varint_size(count);
}

void write_events_header(FrameBytes& out, Seq first_seq, size_t count) {
  out.push_back(static_cast<uint8_t>(FrameType::kEvents));
  put_varint(out, first_seq);
  put_varint(out, count);
}

}  // namespace codec

Expected<FrameBytes, std::error_code> encode_frame(const Frame& frame) {
  if (auto ec = check(frame)) return unexpected(ec);
  // A delta frame's size is known up front; refusing before copying keeps a huge text cheap.
  if (const auto* delta = std::get_if<DeltaFrame>(&frame);
      delta && delta->bytes.size() + 1 > kMaxFrameBytes) {
    return unexpected(make_error_code(FrameError::kOversized));
  }
  if (const auto* thinking = std::get_if<ThinkingFrame>(&frame);
      thinking && thinking->bytes.size() + 1 > kMaxFrameBytes) {
    return unexpected(make_error_code(FrameError::kOversized));
  }
  FrameBytes out;
  write(out, frame);
  if (out.size() > kMaxFrameBytes) return unexpected(make_error_code(FrameError::kOversized));
  return out;
}

Expected<FrameBytes, std::error_code> encode_live_event(const Event& event) {
  if (event.span == 1) {
    if (const auto* delta = std::get_if<TextDelta>(&event.body)) {
      return encode_frame(DeltaFrame{delta->bytes});
    }
    if (const auto* thinking = std::get_if<ThinkingDelta>(&event.body)) {
      return encode_frame(ThinkingFrame{thinking->bytes});
    }
  }
  return encode_frame(EventsFrame{{event}});
}

}  // namespace tokencast
