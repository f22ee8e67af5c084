// The host's side of the join handshake (see tokencast/handshake.hpp).
#include <limits>

#include "crypto/bytes.hpp"
#include "crypto/primitives.hpp"
#include "join/sdp_fingerprint.hpp"
#include "tokencast/core/handshake.hpp"
#include "tokencast/core/handshake_messages.hpp"

namespace tokencast {

namespace hw = handshake_wire;

namespace {

// The host's first counter for a join is random below 2^62 (room to count up without ever
// wrapping). Why random: a host restarted within the offer window has forgotten the join ids
// it saw, so a replayed offer could be answered a second time under the same key. With a
// random start the two answers' counters (hence nonces) differ except with probability
// about n/2^62 for n envelopes, instead of certainly colliding at the same start.
uint64_t first_counter(uint64_t random_bits) { return random_bits >> 2; }

bool within_window(int64_t a, int64_t b, int64_t window) {
  // |a - b| <= window without overflow for any int64 pair.
  if (a >= b)
    return static_cast<uint64_t>(a) - static_cast<uint64_t>(b) <= static_cast<uint64_t>(window);
  return static_cast<uint64_t>(b) - static_cast<uint64_t>(a) <= static_cast<uint64_t>(window);
}

int64_t saturating_add(int64_t a, int64_t b) {
  if (b > 0 && a > std::numeric_limits<int64_t>::max() - b) {
    return std::numeric_limits<int64_t>::max();
  }
  return a + b;
}

}  // namespace

HostHandshake::HostHandshake(SigningKey host_key, const RoomSecret& viewer_secret,
                             const RoomSecret& participant_secret, HostHandshakeOptions options)
    : host_key_(std::move(host_key)),
      viewer_(viewer_secret, LinkRole::kViewer, host_key_.public_key()),
      participant_(participant_secret, LinkRole::kParticipant, host_key_.public_key()),
      options_(options),
      seen_(options.max_seen_join_ids) {}

Expected<HostHandshake, HandshakeError> HostHandshake::create(SigningKey host_key,
                                                              const RoomSecret& viewer_secret,
                                                              const RoomSecret& participant_secret,
                                                              HostHandshakeOptions options) {
  if (viewer_secret == participant_secret || options.offer_window_ms <= 0 ||
      options.join_timeout_ms <= 0 || options.max_pending_joins == 0 ||
      options.max_seen_join_ids == 0 || options.max_candidates_per_join == 0) {
    return unexpected(HandshakeError::kInvalidArgument);
  }
  return HostHandshake(std::move(host_key), viewer_secret, participant_secret, options);
}

const RoomKeys& HostHandshake::room(LinkRole role) const {
  return role == LinkRole::kViewer ? viewer_ : participant_;
}

const RoomLocator& HostHandshake::locator(LinkRole role) const { return room(role).locator(); }

void HostHandshake::expire(int64_t now_ms) {
  seen_.prune(now_ms);
  for (auto it = joins_.begin(); it != joins_.end();) {
    if (!within_window(now_ms, it->second.accepted_ms, options_.join_timeout_ms)) {
      it = joins_.erase(it);
    } else {
      ++it;
    }
  }
}

void HostHandshake::forget(const JoinId& join_id) { joins_.erase(join_id); }

Expected<HostEvent, HandshakeError> HostHandshake::receive(std::span<const uint8_t> envelope,
                                                           int64_t now_ms) {
  expire(now_ms);
  auto header = peek_envelope_header(envelope);
  if (!header) return unexpected(hw::from_envelope_error(header.error()));
  if (header->direction != Direction::kJoinerToHost) {
    return unexpected(HandshakeError::kWrongDirection);
  }

  auto it = joins_.find(header->join_id);
  if (it == joins_.end()) {
    // Checked before any key derivation or decryption: cheap refusals first.
    if (seen_.contains(header->join_id)) return unexpected(HandshakeError::kOfferReplayed);
    if (header->counter != 0) return unexpected(HandshakeError::kUnknownJoin);
    return receive_offer(envelope, *header, now_ms);
  }

  Join& join = it->second;
  auto plaintext = join.opener.open(envelope);
  if (!plaintext) return unexpected(hw::from_envelope_error(plaintext.error()));
  auto message = hw::decode(*plaintext);
  if (!message) return unexpected(message.error());

  HostEvent event;
  event.join_id = header->join_id;
  event.role = join.role;
  if (auto* candidate = std::get_if<IceCandidate>(&*message)) {
    event.body = std::move(*candidate);
  } else if (std::holds_alternative<EndOfCandidates>(*message)) {
    event.body = EndOfCandidates{};
  } else {
    // A second offer for the same join id (with a fresh counter), or a host-only message.
    return unexpected(HandshakeError::kUnexpectedMessage);
  }
  if (join.phase == Phase::kExpired || join.joiner_done) {
    return unexpected(HandshakeError::kUnexpectedMessage);
  }
  if (join.candidates >= options_.max_candidates_per_join) {
    return unexpected(HandshakeError::kTooManyCandidates);
  }
  ++join.candidates;
  if (std::holds_alternative<EndOfCandidates>(event.body)) join.joiner_done = true;
  return event;
}

Expected<HostEvent, HandshakeError> HostHandshake::receive_offer(std::span<const uint8_t> envelope,
                                                                 const EnvelopeHeader& header,
                                                                 int64_t now_ms) {
  // The room whose keys open the envelope is the joiner's role. The two secrets differ, and
  // the locator is part of the authenticated data, so at most one opens it.
  std::optional<LinkRole> role;
  std::optional<EnvelopeOpener> opener;
  std::vector<uint8_t> plaintext;
  for (LinkRole candidate_role : {LinkRole::kViewer, LinkRole::kParticipant}) {
    // Opening through the opener also records the offer's counter in its replay guard, so
    // the same envelope replayed while the join is pending is refused as kReplayed.
    EnvelopeOpener candidate(room(candidate_role), Direction::kJoinerToHost, header.join_id);
    auto opened = candidate.open(envelope);
    if (opened) {
      role = candidate_role;
      opener.emplace(std::move(candidate));
      plaintext = std::move(*opened);
      break;
    }
  }
  if (!role) return unexpected(HandshakeError::kOpenFailed);

  auto message = hw::decode(plaintext);
  if (!message) return unexpected(message.error());
  auto* offer = std::get_if<hw::Offer>(&*message);
  if (offer == nullptr) return unexpected(HandshakeError::kUnexpectedMessage);
  auto joiner_fp = extract_sdp_fingerprint(offer->sdp);
  if (!joiner_fp) return unexpected(HandshakeError::kBadSdp);
  if (joins_.size() >= options_.max_pending_joins) {
    return unexpected(HandshakeError::kTooManyJoins);
  }

  const bool in_window = within_window(offer->timestamp_ms, now_ms, options_.offer_window_ms);
  // An authentic offer's join id is remembered until its timestamp leaves the window (a
  // replay is refused by the window after that). A refused, out-of-window offer is
  // remembered for one window from now: its timestamp may be arbitrarily far off.
  const int64_t remember_until = in_window
                                     ? saturating_add(offer->timestamp_ms, options_.offer_window_ms)
                                     : saturating_add(now_ms, options_.offer_window_ms);
  if (!seen_.insert(header.join_id, remember_until)) {
    return unexpected(HandshakeError::kTooManyJoins);
  }

  Join join{*role,        in_window ? Phase::kOffered : Phase::kExpired,
            now_ms,       std::move(*opener),
            std::nullopt, crypto::sha256(plaintext),
            *joiner_fp};
  joins_.emplace(header.join_id, std::move(join));
  if (!in_window) return unexpected(HandshakeError::kOfferExpired);

  HostEvent event;
  event.join_id = header.join_id;
  event.role = *role;
  event.body = JoinOffer{offer->timestamp_ms, std::move(offer->display_name), std::move(offer->sdp),
                         *joiner_fp};
  return event;
}

Expected<std::vector<uint8_t>, HandshakeError> HostHandshake::seal_first(
    Join& join, const JoinId& join_id, std::span<const uint8_t> plaintext, uint64_t random_bits) {
  join.sealer.emplace(room(join.role), Direction::kHostToJoiner, join_id,
                      first_counter(random_bits));
  auto envelope = join.sealer->seal(plaintext);
  if (!envelope) return unexpected(hw::from_envelope_error(envelope.error()));
  return std::move(*envelope);
}

Expected<std::vector<uint8_t>, HandshakeError> HostHandshake::seal_answer(
    const JoinId& join_id, std::string_view sdp_answer, Random& random) {
  return seal_answer(join_id, sdp_answer, random.next_u64());
}

Expected<std::vector<uint8_t>, HandshakeError> HostHandshake::seal_answer(
    const JoinId& join_id, std::string_view sdp_answer, uint64_t random_bits) {
  auto it = joins_.find(join_id);
  if (it == joins_.end()) return unexpected(HandshakeError::kUnknownJoin);
  Join& join = it->second;
  if (join.phase != Phase::kOffered) return unexpected(HandshakeError::kWrongState);
  if (!hw::valid_sdp(sdp_answer)) return unexpected(HandshakeError::kInvalidArgument);
  auto host_fp = extract_sdp_fingerprint(sdp_answer);
  if (!host_fp) return unexpected(HandshakeError::kBadSdp);

  const auto transcript = hw::answer_transcript(room(join.role).locator(), join_id, join.offer_hash,
                                                sdp_answer, join.joiner_fingerprint, *host_fp);
  auto plaintext = hw::encode(hw::Answer{host_key_.sign(transcript), std::string(sdp_answer)});
  if (!plaintext) return unexpected(plaintext.error());
  auto envelope = seal_first(join, join_id, *plaintext, random_bits);
  if (envelope) join.phase = Phase::kAnswered;
  return envelope;
}

Expected<std::vector<uint8_t>, HandshakeError> HostHandshake::seal_relay_answer(
    const JoinId& join_id, uint64_t relay_peer_id, std::string_view relay_sdp, Random& random) {
  return seal_relay_answer(join_id, relay_peer_id, relay_sdp, random.next_u64());
}

Expected<std::vector<uint8_t>, HandshakeError> HostHandshake::seal_relay_answer(
    const JoinId& join_id, uint64_t relay_peer_id, std::string_view relay_sdp,
    uint64_t random_bits) {
  auto it = joins_.find(join_id);
  if (it == joins_.end()) return unexpected(HandshakeError::kUnknownJoin);
  Join& join = it->second;
  if (join.phase != Phase::kOffered) return unexpected(HandshakeError::kWrongState);
  if (!hw::valid_sdp(relay_sdp)) return unexpected(HandshakeError::kInvalidArgument);
  auto relay_fp = extract_sdp_fingerprint(relay_sdp);
  if (!relay_fp) return unexpected(HandshakeError::kBadSdp);

  const auto transcript =
      hw::relay_answer_transcript(room(join.role).locator(), join_id, join.offer_hash, relay_sdp,
                                  join.joiner_fingerprint, *relay_fp, relay_peer_id);
  auto plaintext = hw::encode(
      hw::RelayAnswer{host_key_.sign(transcript), relay_peer_id, std::string(relay_sdp)});
  if (!plaintext) return unexpected(plaintext.error());
  auto envelope = seal_first(join, join_id, *plaintext, random_bits);
  if (envelope) join.phase = Phase::kAnswered;
  return envelope;
}

Expected<std::vector<uint8_t>, HandshakeError> HostHandshake::seal_rejection(const JoinId& join_id,
                                                                             RejectReason reason,
                                                                             Random& random) {
  return seal_rejection(join_id, reason, random.next_u64());
}

Expected<std::vector<uint8_t>, HandshakeError> HostHandshake::seal_rejection(const JoinId& join_id,
                                                                             RejectReason reason,
                                                                             uint64_t random_bits) {
  auto it = joins_.find(join_id);
  if (it == joins_.end()) return unexpected(HandshakeError::kUnknownJoin);
  Join& join = it->second;
  if (join.phase == Phase::kAnswered) return unexpected(HandshakeError::kWrongState);
  const auto transcript =
      hw::rejection_transcript(room(join.role).locator(), join_id, join.offer_hash, reason);
  auto plaintext = hw::encode(hw::Rejection{reason, host_key_.sign(transcript)});
  if (!plaintext) return unexpected(plaintext.error());
  auto envelope = seal_first(join, join_id, *plaintext, random_bits);
  // Nothing can follow a rejection; the join id stays in the seen set.
  joins_.erase(it);
  return envelope;
}

Expected<std::vector<uint8_t>, HandshakeError> HostHandshake::seal_candidate(
    const JoinId& join_id, const IceCandidate& candidate) {
  auto it = joins_.find(join_id);
  if (it == joins_.end()) return unexpected(HandshakeError::kUnknownJoin);
  Join& join = it->second;
  if (join.phase != Phase::kAnswered) return unexpected(HandshakeError::kWrongState);
  auto plaintext = hw::encode(candidate);
  if (!plaintext) return unexpected(plaintext.error());
  auto envelope = join.sealer->seal(*plaintext);
  if (!envelope) return unexpected(hw::from_envelope_error(envelope.error()));
  return std::move(*envelope);
}

Expected<std::vector<uint8_t>, HandshakeError> HostHandshake::seal_end_of_candidates(
    const JoinId& join_id) {
  auto it = joins_.find(join_id);
  if (it == joins_.end()) return unexpected(HandshakeError::kUnknownJoin);
  Join& join = it->second;
  if (join.phase != Phase::kAnswered) return unexpected(HandshakeError::kWrongState);
  auto plaintext = hw::encode(EndOfCandidates{});
  if (!plaintext) return unexpected(plaintext.error());
  auto envelope = join.sealer->seal(*plaintext);
  if (!envelope) return unexpected(hw::from_envelope_error(envelope.error()));
  return std::move(*envelope);
}

}  // namespace tokencast
