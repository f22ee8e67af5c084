// The joiner's side of the join handshake (see tokencast/handshake.hpp).
#include <algorithm>

#include "crypto/bytes.hpp"
#include "crypto/primitives.hpp"
#include "join/sdp_fingerprint.hpp"
#include "tokencast/core/handshake.hpp"
#include "tokencast/core/handshake_messages.hpp"

namespace tokencast {

namespace hw = handshake_wire;

JoinerHandshake::JoinerHandshake(const InviteLink& link, const JoinId& join_id)
    : keys_(link.secret, link.role, link.host_key),
      join_id_(join_id),
      // The join id is fresh for every attempt, so this key is new and counting from 0 is safe.
      sealer_(keys_, Direction::kJoinerToHost, join_id, 0),
      opener_(keys_, Direction::kHostToJoiner, join_id) {}

Expected<JoinerHandshake, HandshakeError> JoinerHandshake::start(const InviteLink& link,
                                                                 std::string_view display_name,
                                                                 std::string_view sdp_offer,
                                                                 int64_t now_ms, Random& random) {
  return start(link, display_name, sdp_offer, now_ms, generate_join_id(random));
}

Expected<JoinerHandshake, HandshakeError> JoinerHandshake::start(const InviteLink& link,
                                                                 std::string_view display_name,
                                                                 std::string_view sdp_offer,
                                                                 int64_t now_ms,
                                                                 const JoinId& join_id) {
  if (now_ms < 0 || !hw::valid_display_name(display_name) || !hw::valid_sdp(sdp_offer)) {
    return unexpected(HandshakeError::kInvalidArgument);
  }
  // Our own fingerprint goes into the transcript the host signs; without one the answer
  // could not be checked, so refuse to start rather than send an unbindable offer.
  auto fingerprint = extract_sdp_fingerprint(sdp_offer);
  if (!fingerprint) return unexpected(HandshakeError::kBadSdp);

  auto plaintext = hw::encode(hw::Offer{now_ms, std::string(display_name), std::string(sdp_offer)});
  if (!plaintext) return unexpected(plaintext.error());

  JoinerHandshake h(link, join_id);
  h.own_fingerprint_ = *fingerprint;
  h.offer_hash_ = crypto::sha256(*plaintext);
  auto envelope = h.seal_message(*plaintext);
  if (!envelope) return unexpected(envelope.error());
  h.offer_envelope_ = std::move(*envelope);
  return h;
}

Expected<std::vector<uint8_t>, HandshakeError> JoinerHandshake::seal_message(
    std::span<const uint8_t> plaintext) {
  auto envelope = sealer_.seal(plaintext);
  if (!envelope) {
    // kTooLarge cannot happen: the message limits keep every plaintext under 64 KiB.
    return unexpected(envelope.error() == EnvelopeError::kCounterExhausted
                          ? HandshakeError::kCounterExhausted
                          : HandshakeError::kInvalidArgument);
  }
  return std::move(*envelope);
}

Expected<JoinerEvent, HandshakeError> JoinerHandshake::receive(std::span<const uint8_t> envelope) {
  if (state_ == State::kRejected || state_ == State::kFailed) {
    return unexpected(HandshakeError::kClosed);
  }
  auto plaintext = opener_.open(envelope);
  if (!plaintext) return unexpected(hw::from_envelope_error(plaintext.error()));
  auto message = hw::decode(*plaintext);
  if (!message) return unexpected(message.error());

  if (auto* answer = std::get_if<hw::Answer>(&*message)) {
    if (state_ != State::kAwaitingAnswer) return unexpected(HandshakeError::kUnexpectedMessage);
    // From here on the envelope came from a holder of the room secret; only the host's
    // signature tells the host from any other holder. Any failure ends the attempt.
    auto host_fp = extract_sdp_fingerprint(answer->sdp);
    if (!host_fp) {
      state_ = State::kFailed;
      return unexpected(HandshakeError::kBadSdp);
    }
    const auto transcript = hw::answer_transcript(keys_.locator(), join_id_, offer_hash_,
                                                  answer->sdp, own_fingerprint_, *host_fp);
    if (!ed25519_verify(keys_.host_key(), transcript, answer->signature)) {
      state_ = State::kFailed;
      return unexpected(HandshakeError::kBadSignature);
    }
    state_ = State::kAnswered;
    return JoinerEvent{VerifiedAnswer{std::move(answer->sdp), *host_fp}};
  }
  if (auto* relay = std::get_if<hw::RelayAnswer>(&*message)) {
    if (state_ != State::kAwaitingAnswer) return unexpected(HandshakeError::kUnexpectedMessage);
    // Same rule as the answer, under its own label: the host (and only the host) appointed
    // this relay, with this SDP and fingerprint, for this offer.
    auto relay_fp = extract_sdp_fingerprint(relay->sdp);
    if (!relay_fp) {
      state_ = State::kFailed;
      return unexpected(HandshakeError::kBadSdp);
    }
    const auto transcript =
        hw::relay_answer_transcript(keys_.locator(), join_id_, offer_hash_, relay->sdp,
                                    own_fingerprint_, *relay_fp, relay->relay_peer_id);
    if (!ed25519_verify(keys_.host_key(), transcript, relay->signature)) {
      state_ = State::kFailed;
      return unexpected(HandshakeError::kBadSignature);
    }
    state_ = State::kAnswered;
    return JoinerEvent{VerifiedRelayAnswer{std::move(relay->sdp), *relay_fp, relay->relay_peer_id}};
  }
  if (auto* rejection = std::get_if<hw::Rejection>(&*message)) {
    if (state_ != State::kAwaitingAnswer) return unexpected(HandshakeError::kUnexpectedMessage);
    const auto transcript =
        hw::rejection_transcript(keys_.locator(), join_id_, offer_hash_, rejection->reason);
    if (!ed25519_verify(keys_.host_key(), transcript, rejection->signature)) {
      state_ = State::kFailed;
      return unexpected(HandshakeError::kBadSignature);
    }
    state_ = State::kRejected;
    return JoinerEvent{HostRejection{rejection->reason}};
  }
  if (auto* candidate = std::get_if<IceCandidate>(&*message)) {
    // The host sends its candidates only after its answer, over an ordered relay; one that
    // arrives earlier was not produced by the host's state machine.
    if (state_ != State::kAnswered) return unexpected(HandshakeError::kUnexpectedMessage);
    return JoinerEvent{std::move(*candidate)};
  }
  if (std::holds_alternative<EndOfCandidates>(*message)) {
    if (state_ != State::kAnswered) return unexpected(HandshakeError::kUnexpectedMessage);
    return JoinerEvent{EndOfCandidates{}};
  }
  // An offer never travels host -> joiner.
  return unexpected(HandshakeError::kUnexpectedMessage);
}

Expected<std::vector<uint8_t>, HandshakeError> JoinerHandshake::seal_candidate(
    const IceCandidate& candidate) {
  if (state_ == State::kRejected || state_ == State::kFailed) {
    return unexpected(HandshakeError::kClosed);
  }
  auto plaintext = hw::encode(candidate);
  if (!plaintext) return unexpected(plaintext.error());
  return seal_message(*plaintext);
}

Expected<std::vector<uint8_t>, HandshakeError> JoinerHandshake::seal_end_of_candidates() {
  if (state_ == State::kRejected || state_ == State::kFailed) {
    return unexpected(HandshakeError::kClosed);
  }
  auto plaintext = hw::encode(EndOfCandidates{});
  if (!plaintext) return unexpected(plaintext.error());
  return seal_message(*plaintext);
}

}  // namespace tokencast
