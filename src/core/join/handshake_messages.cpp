#include "tokencast/core/handshake_messages.hpp"

#include <algorithm>
#include <limits>

#include "crypto/bytes.hpp"
#include "crypto/primitives.hpp"

namespace tokencast::handshake_wire {
namespace {

using crypto::Bytes;

std::string to_string(std::span<const uint8_t> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

bool known_reason(uint8_t r) { return r <= static_cast<uint8_t>(RejectReason::kHostClosing); }

struct Encoder {
  Expected<Bytes, HandshakeError> operator()(const Offer& m) const {
    if (m.timestamp_ms < 0 || !valid_display_name(m.display_name) || !valid_sdp(m.sdp)) {
      return unexpected(HandshakeError::kInvalidArgument);
    }
    Bytes out;
    out.reserve(1 + 8 + 1 + m.display_name.size() + m.sdp.size());
    crypto::append_u8(out, static_cast<uint8_t>(MessageType::kOffer));
    crypto::append_u64_be(out, static_cast<uint64_t>(m.timestamp_ms));
    crypto::append_u8(out, static_cast<uint8_t>(m.display_name.size()));
    crypto::append(out, m.display_name);
    crypto::append(out, m.sdp);
    return out;
  }
  Expected<Bytes, HandshakeError> operator()(const Answer& m) const {
    if (!valid_sdp(m.sdp)) return unexpected(HandshakeError::kInvalidArgument);
    Bytes out;
    out.reserve(1 + m.signature.size() + m.sdp.size());
    crypto::append_u8(out, static_cast<uint8_t>(MessageType::kAnswer));
    crypto::append(out, m.signature);
    crypto::append(out, m.sdp);
    return out;
  }
  Expected<Bytes, HandshakeError> operator()(const IceCandidate& m) const {
    if (!valid_candidate(m)) return unexpected(HandshakeError::kInvalidArgument);
    Bytes out;
    out.reserve(1 + 2 + 1 + m.sdp_mid.size() + m.candidate.size());
    crypto::append_u8(out, static_cast<uint8_t>(MessageType::kCandidate));
    crypto::append_u16_be(out, m.mline_index);
    crypto::append_u8(out, static_cast<uint8_t>(m.sdp_mid.size()));
    crypto::append(out, m.sdp_mid);
    crypto::append(out, m.candidate);
    return out;
  }
  Expected<Bytes, HandshakeError> operator()(const EndOfCandidates&) const {
    return Bytes{static_cast<uint8_t>(MessageType::kEndOfCandidates)};
  }
  Expected<Bytes, HandshakeError> operator()(const Rejection& m) const {
    if (!known_reason(static_cast<uint8_t>(m.reason))) {
      return unexpected(HandshakeError::kInvalidArgument);
    }
    Bytes out;
    out.reserve(1 + 1 + m.signature.size());
    crypto::append_u8(out, static_cast<uint8_t>(MessageType::kRejection));
    crypto::append_u8(out, static_cast<uint8_t>(m.reason));
    crypto::append(out, m.signature);
    return out;
  }
  Expected<Bytes, HandshakeError> operator()(const RelayAnswer& m) const {
    if (!valid_sdp(m.sdp)) return unexpected(HandshakeError::kInvalidArgument);
    Bytes out;
    out.reserve(1 + m.signature.size() + 8 + m.sdp.size());
    crypto::append_u8(out, static_cast<uint8_t>(MessageType::kRelayAnswer));
    crypto::append(out, m.signature);
    crypto::append_u64_be(out, m.relay_peer_id);
    crypto::append(out, m.sdp);
    return out;
  }
};

Expected<Message, HandshakeError> malformed() {
  return unexpected(HandshakeError::kMalformedMessage);
}

}  // namespace

bool valid_display_name(std::string_view name) {
  return name.size() <= kMaxDisplayNameBytes && crypto::valid_utf8(name, true);
}

bool valid_sdp(std::string_view sdp) {
  return !sdp.empty() && sdp.size() <= kMaxSdpBytes && sdp.find('\0') == std::string_view::npos &&
         crypto::valid_utf8(sdp, false);
}

bool valid_candidate(const IceCandidate& c) {
  return c.sdp_mid.size() <= kMaxMidBytes && crypto::printable_ascii(c.sdp_mid) &&
         !c.candidate.empty() && c.candidate.size() <= kMaxCandidateBytes &&
         crypto::printable_ascii(c.candidate);
}

Expected<std::vector<uint8_t>, HandshakeError> encode(const Message& message) {
  return std::visit(Encoder{}, message);
}

Expected<Message, HandshakeError> decode(std::span<const uint8_t> plaintext) {
  crypto::ByteReader r(plaintext);
  const auto type = r.u8();
  if (!type) return malformed();
  switch (static_cast<MessageType>(*type)) {
    case MessageType::kOffer: {
      const auto ts = r.u64_be();
      const auto name_len = r.u8();
      if (!ts || !name_len) return malformed();
      if (*ts > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return malformed();
      const auto name = r.take(*name_len);
      if (!name) return malformed();
      Offer m;
      m.timestamp_ms = static_cast<int64_t>(*ts);
      m.display_name = to_string(*name);
      m.sdp = to_string(r.rest());
      if (!valid_display_name(m.display_name) || !valid_sdp(m.sdp)) return malformed();
      return Message{std::move(m)};
    }
    case MessageType::kAnswer: {
      const auto sig = r.take(kEd25519SignatureSize);
      if (!sig) return malformed();
      Answer m;
      std::copy(sig->begin(), sig->end(), m.signature.begin());
      m.sdp = to_string(r.rest());
      if (!valid_sdp(m.sdp)) return malformed();
      return Message{std::move(m)};
    }
    case MessageType::kCandidate: {
      const auto index = r.u16_be();
      const auto mid_len = r.u8();
      if (!index || !mid_len) return malformed();
      const auto mid = r.take(*mid_len);
      if (!mid) return malformed();
      IceCandidate m;
      m.mline_index = *index;
      m.sdp_mid = to_string(*mid);
      m.candidate = to_string(r.rest());
      if (!valid_candidate(m)) return malformed();
      return Message{std::move(m)};
    }
    case MessageType::kEndOfCandidates:
      if (r.remaining() != 0) return malformed();
      return Message{EndOfCandidates{}};
    case MessageType::kRejection: {
      const auto reason = r.u8();
      const auto sig = r.take(kEd25519SignatureSize);
      if (!reason || !sig || r.remaining() != 0 || !known_reason(*reason)) return malformed();
      Rejection m;
      m.reason = static_cast<RejectReason>(*reason);
      std::copy(sig->begin(), sig->end(), m.signature.begin());
      return Message{m};
    }
    case MessageType::kRelayAnswer: {
      const auto sig = r.take(kEd25519SignatureSize);
      const auto peer = r.u64_be();
      if (!sig || !peer) return malformed();
      RelayAnswer m;
      std::copy(sig->begin(), sig->end(), m.signature.begin());
      m.relay_peer_id = *peer;
      m.sdp = to_string(r.rest());
      if (!valid_sdp(m.sdp)) return malformed();
      return Message{std::move(m)};
    }
  }
  return malformed();
}

std::vector<uint8_t> answer_transcript(const RoomLocator& locator, const JoinId& join_id,
                                       std::span<const uint8_t, 32> offer_hash,
                                       std::string_view answer_sdp,
                                       const DtlsFingerprint& joiner_fingerprint,
                                       const DtlsFingerprint& host_fingerprint) {
  Bytes t;
  t.reserve(kAnswerTranscriptLabel.size() + 1 + 32 + 16 + 32 * 4);
  crypto::append(t, kAnswerTranscriptLabel);
  crypto::append_u8(t, 0x00);
  crypto::append(t, locator);
  crypto::append(t, join_id);
  crypto::append(t, offer_hash);
  crypto::append(t, crypto::sha256(crypto::as_bytes(answer_sdp)));
  crypto::append(t, joiner_fingerprint);
  crypto::append(t, host_fingerprint);
  return t;
}

std::vector<uint8_t> relay_answer_transcript(const RoomLocator& locator, const JoinId& join_id,
                                             std::span<const uint8_t, 32> offer_hash,
                                             std::string_view relay_sdp,
                                             const DtlsFingerprint& joiner_fingerprint,
                                             const DtlsFingerprint& relay_fingerprint,
                                             uint64_t relay_peer_id) {
  Bytes t;
  t.reserve(kRelayAnswerTranscriptLabel.size() + 1 + 32 + 16 + 32 * 4 + 8);
  crypto::append(t, kRelayAnswerTranscriptLabel);
  crypto::append_u8(t, 0x00);
  crypto::append(t, locator);
  crypto::append(t, join_id);
  crypto::append(t, offer_hash);
  crypto::append(t, crypto::sha256(crypto::as_bytes(relay_sdp)));
  crypto::append(t, joiner_fingerprint);
  crypto::append(t, relay_fingerprint);
  crypto::append_u64_be(t, relay_peer_id);
  return t;
}

std::vector<uint8_t> rejection_transcript(const RoomLocator& locator, const JoinId& join_id,
                                          std::span<const uint8_t, 32> offer_hash,
                                          RejectReason reason) {
  Bytes t;
  t.reserve(kRejectionTranscriptLabel.size() + 1 + 32 + 16 + 32 + 1);
  crypto::append(t, kRejectionTranscriptLabel);
  crypto::append_u8(t, 0x00);
  crypto::append(t, locator);
  crypto::append(t, join_id);
  crypto::append(t, offer_hash);
  crypto::append_u8(t, static_cast<uint8_t>(reason));
  return t;
}

HandshakeError from_envelope_error(EnvelopeError e) {
  switch (e) {
    case EnvelopeError::kTooShort:
      return HandshakeError::kEnvelopeTooShort;
    case EnvelopeError::kTooLarge:
      return HandshakeError::kEnvelopeTooLarge;
    case EnvelopeError::kUnknownVersion:
      return HandshakeError::kUnknownEnvelopeVersion;
    case EnvelopeError::kUnknownDirection:
      return HandshakeError::kUnknownDirection;
    case EnvelopeError::kWrongDirection:
      return HandshakeError::kWrongDirection;
    case EnvelopeError::kWrongJoinId:
      return HandshakeError::kUnknownJoin;
    case EnvelopeError::kReplayed:
      return HandshakeError::kReplayed;
    case EnvelopeError::kOpenFailed:
      return HandshakeError::kOpenFailed;
    case EnvelopeError::kCounterExhausted:
      return HandshakeError::kCounterExhausted;
  }
  return HandshakeError::kOpenFailed;
}

}  // namespace tokencast::handshake_wire
