// Error category and names of the handshake, and the host's set of seen join ids.
// The state machines are in handshake_joiner.cpp and handshake_host.cpp.
#include "tokencast/core/handshake.hpp"

#include <string>

namespace tokencast {
namespace {

class HandshakeCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "tokencast.handshake"; }
  std::string message(int ev) const override {
    switch (static_cast<HandshakeError>(ev)) {
      case HandshakeError::kEnvelopeTooShort:
        return "envelope truncated";
      case HandshakeError::kEnvelopeTooLarge:
        return "envelope too large";
      case HandshakeError::kUnknownEnvelopeVersion:
        return "envelope version unknown";
      case HandshakeError::kUnknownDirection:
        return "envelope direction unknown";
      case HandshakeError::kWrongDirection:
        return "envelope sent in the wrong direction";
      case HandshakeError::kUnknownJoin:
        return "envelope for an unknown join attempt";
      case HandshakeError::kOpenFailed:
        return "envelope does not authenticate (other room, or altered)";
      case HandshakeError::kReplayed:
        return "envelope replayed";
      case HandshakeError::kMalformedMessage:
        return "handshake message malformed";
      case HandshakeError::kUnexpectedMessage:
        return "handshake message unexpected here";
      case HandshakeError::kBadSdp:
        return "SDP lacks a single sha-256 DTLS fingerprint";
      case HandshakeError::kOfferExpired:
        return "offer outside the host's time window (check the clock)";
      case HandshakeError::kOfferReplayed:
        return "offer replayed";
      case HandshakeError::kTooManyJoins:
        return "too many join attempts at once";
      case HandshakeError::kTooManyCandidates:
        return "too many ICE candidates";
      case HandshakeError::kBadSignature:
        return "invite link invalid or expired (the answer is not signed by this link's host)";
      case HandshakeError::kClosed:
        return "join attempt already ended";
      case HandshakeError::kInvalidArgument:
        return "invalid handshake argument";
      case HandshakeError::kWrongState:
        return "not valid in this phase of the join";
      case HandshakeError::kCounterExhausted:
        return "envelope counter exhausted";
    }
    return "handshake error";
  }
};

}  // namespace

const std::error_category& handshake_category() {
  static const HandshakeCategory category;
  return category;
}

std::error_code make_error_code(HandshakeError e) {
  return {static_cast<int>(e), handshake_category()};
}

std::string_view handshake_error_name(HandshakeError e) {
  switch (e) {
    case HandshakeError::kEnvelopeTooShort:
      return "envelope_too_short";
    case HandshakeError::kEnvelopeTooLarge:
      return "envelope_too_large";
    case HandshakeError::kUnknownEnvelopeVersion:
      return "unknown_envelope_version";
    case HandshakeError::kUnknownDirection:
      return "unknown_direction";
    case HandshakeError::kWrongDirection:
      return "wrong_direction";
    case HandshakeError::kUnknownJoin:
      return "unknown_join";
    case HandshakeError::kOpenFailed:
      return "open_failed";
    case HandshakeError::kReplayed:
      return "replayed";
    case HandshakeError::kMalformedMessage:
      return "malformed_message";
    case HandshakeError::kUnexpectedMessage:
      return "unexpected_message";
    case HandshakeError::kBadSdp:
      return "bad_sdp";
    case HandshakeError::kOfferExpired:
      return "offer_expired";
    case HandshakeError::kOfferReplayed:
      return "offer_replayed";
    case HandshakeError::kTooManyJoins:
      return "too_many_joins";
    case HandshakeError::kTooManyCandidates:
      return "too_many_candidates";
    case HandshakeError::kBadSignature:
      return "bad_signature";
    case HandshakeError::kClosed:
      return "closed";
    case HandshakeError::kInvalidArgument:
      return "invalid_argument";
    case HandshakeError::kWrongState:
      return "wrong_state";
    case HandshakeError::kCounterExhausted:
      return "counter_exhausted";
  }
  return "unknown";
}

std::string_view reject_reason_name(RejectReason reason) {
  switch (reason) {
    case RejectReason::kRefused:
      return "refused";
    case RejectReason::kRoomFull:
      return "room_full";
    case RejectReason::kClockSkew:
      return "clock_skew";
    case RejectReason::kHostClosing:
      return "host_closing";
  }
  return "unknown";
}

bool SeenJoinIds::insert(const JoinId& id, int64_t expires_at_ms) {
  if (expiry_.count(id) != 0) return false;
  if (expiry_.size() >= capacity_) {
    // Full: forget the id closest to leaving its window rather than refuse the newcomer (a
    // link holder could otherwise fill the memory and lock everyone out). The forgotten id's
    // offer could be replayed, which buys nothing: its DTLS fingerprint binds the original
    // joiner, and the runtime admits one pending join per rendezvous sender.
    expiry_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
  expiry_.emplace(id, expires_at_ms);
  by_expiry_.emplace(expires_at_ms, id);
  return true;
}

void SeenJoinIds::prune(int64_t now_ms) {
  while (!by_expiry_.empty() && by_expiry_.begin()->first < now_ms) {
    expiry_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
}

}  // namespace tokencast
