// The join handshake: sans-I/O state machines that turn SDP offers, answers and ICE
// candidates into sealed envelopes and back. The integrator moves the bytes (rendezvous
// client) and applies the SDP (libwebrtc); nothing here does I/O, reads a clock (time is a
// parameter) or draws randomness other than from the Random& it is given.
//
//   joiner                                   rendezvous               host
//   JoinerHandshake::start(link, name, offer SDP, now, random)
//     -> offer envelope (j->h, counter 0) ---------------------------> HostHandshake::receive
//                                                                     -> HostEvent{JoinOffer, role}
//   seal_candidate(...) ... seal_end_of_candidates() ----------------> receive -> IceCandidate ...
//                                                                      seal_answer(join, SDP)
//   receive -> VerifiedAnswer <---- answer envelope (h->j): SDP + Ed25519 signature over the
//                                   transcript (locator, join id, offer hash, answer SDP hash,
//                                   both DTLS fingerprints)
//   receive -> IceCandidate ... <--------------------- seal_candidate(join, ...) / end
//
// Every envelope is sealed (envelope.hpp) with per-join, per-direction keys of the room whose
// secret the joiner's link carries; the host's answer is also signed, so a holder of the link
// (who can seal) still cannot pose as the host. Anything that does not open, parse or verify is
// refused with a specific HandshakeError (count them); a forged answer ends the joiner's
// attempt for good ("invite link invalid or expired"). docs/PROTOCOL.md (section 1) has the bytes.
//
// Integration rules: the joiner sends its envelopes to the host's peer only (whoever receives
// the offer learns the join id and, holding the link, could end the attempt with a forged
// answer). Never log envelopes' plaintexts or the link; log error names.
// Both classes are single-threaded state machines (no internal locking). They throw nothing
// but std::bad_alloc and crypto::CryptoFailure (libcrypto itself broken).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "tokencast/core/envelope.hpp"
#include "tokencast/core/expected.hpp"
#include "tokencast/core/ice_candidate.hpp"
#include "tokencast/core/ice_servers.hpp"
#include "tokencast/core/invite.hpp"
#include "tokencast/core/key_schedule.hpp"
#include "tokencast/core/relay_route.hpp"
#include "tokencast/core/signing.hpp"

namespace tokencast {

// SHA-256 of the DTLS certificate, as in the SDP's "a=fingerprint:sha-256" line.
using DtlsFingerprint = std::array<uint8_t, 32>;

// Limits on what one handshake message may carry.
inline constexpr size_t kMaxDisplayNameBytes = 64;  // UTF-8, no control characters
inline constexpr size_t kMaxSdpBytes = 32 * 1024;   // UTF-8, no NUL
inline constexpr size_t kMaxMidBytes = 32;          // printable ASCII, may be empty
inline constexpr size_t kMaxCandidateBytes = 1024;  // printable ASCII, not empty

// Signature domain-separation labels (ASCII; a 0x00 follows them in the signed message).
inline constexpr std::string_view kAnswerTranscriptLabel = "tokencast/v1/answer";
inline constexpr std::string_view kRelayAnswerTranscriptLabel = "tokencast/v1/relay-answer";
inline constexpr std::string_view kRejectionTranscriptLabel = "tokencast/v1/rejection";
inline constexpr std::string_view kBeaconTranscriptLabel = "tokencast/v1/beacon";

// Host beacons. Before it sends its offer, a joiner must know which peer of the room is the
// host: whoever receives the offer learns the join id, and a holder of the link who learns it
// can seal a forged answer that ends the attempt (fail closed). So the host greets every peer
// of its rooms with a beacon: its Ed25519 signature over the label, the room locator, the
// recipient's rendezvous id and its own. A link holder cannot make one (no host key) nor
// reuse one (it names its recipient), so the joiner sends its offer to the verified sender only.
// Wire: kBeaconTag | signature(64). Not an envelope: a plain beacon holds nothing secret.
inline constexpr uint8_t kBeaconTag = 0xB1;
inline constexpr size_t kBeaconSize = 65;
// A host with its own STUN/TURN servers hands them to joiners in an ICE beacon instead:
//   kIceBeaconTag | signature(64) | nonce(12) | ChaCha20-Poly1305(beacon key, nonce,
//                                                aad = locator, ICE list) incl. tag(16)
// sealed with the room's beacon key (key_schedule.hpp) so the rendezvous cannot read the
// credentials, and signed over the label, locator, to, from and SHA-256(nonce | sealed) so it
// cannot strip or swap them. The ICE list is core's (ice_servers.hpp). Every holder of the
// link can open it: the credentials are for joiners.
inline constexpr uint8_t kIceBeaconTag = 0xB2;
inline constexpr std::string_view kIceBeaconTranscriptLabel = "tokencast/v1/beacon-ice";
inline constexpr size_t kIceBeaconNonceSize = 12;
inline constexpr size_t kIceBeaconOverhead = 1 + 64 + kIceBeaconNonceSize + 16;
inline constexpr size_t kMinIceBeaconSize = kIceBeaconOverhead + 1 + 3 + 6;  // one "stun:x"
inline constexpr size_t kMaxIceBeaconSize = kIceBeaconOverhead + kMaxIceListSize;
// True when `bytes` has the shape of a beacon (either tag, a size it allows); says nothing
// about its validity.
bool looks_like_beacon(std::span<const uint8_t> bytes);
// The link's host's beacon to `self`, sent by `from` (rendezvous ids), verified (and opened):
// the ICE servers it hands out (none for a plain beacon), or nullopt when it does not verify,
// does not open or its list is malformed (fail closed: the sender is not taken for the host).
std::optional<std::vector<IceServerEntry>> open_host_beacon(const InviteLink& link,
                                                            std::span<const uint8_t> bytes,
                                                            uint64_t self, uint64_t from);
// open_host_beacon(...).has_value().
bool verify_host_beacon(const InviteLink& link, std::span<const uint8_t> bytes, uint64_t self,
                        uint64_t from);

// The sender has gathered all its candidates.
struct EndOfCandidates {
  bool operator==(const EndOfCandidates&) const = default;
};

// Why the host turned a join attempt down (signed by the host).
enum class RejectReason : uint8_t {
  kRefused = 0,      // no reason given
  kRoomFull = 1,     // peer limit reached
  kClockSkew = 2,    // the offer's timestamp is outside the host's window: check the clock
  kHostClosing = 3,  // the session is ending
};
// "refused", "room_full", "clock_skew", "host_closing".
std::string_view reject_reason_name(RejectReason reason);

enum class HandshakeError {
  kEnvelopeTooShort = 1,    // envelope truncated                               (dropped)
  kEnvelopeTooLarge,        // envelope over 64 KiB                             (dropped)
  kUnknownEnvelopeVersion,  // envelope version byte unknown                    (dropped)
  kUnknownDirection,        // envelope direction byte unknown                  (dropped)
  kWrongDirection,          // envelope travels the other way                   (dropped)
  kUnknownJoin,             // join id not this attempt's / no such attempt     (dropped)
  kOpenFailed,              // does not authenticate: other room, tampered      (dropped)
  kReplayed,                // envelope counter not increasing                  (dropped)
  kMalformedMessage,        // opened, but the message inside is not well formed (dropped)
  kUnexpectedMessage,       // a message this side or this phase never accepts  (dropped)
  kBadSdp,                  // SDP without one well-formed sha-256 fingerprint
  kOfferExpired,            // offer timestamp outside the host's window
  kOfferReplayed,           // offer join id already seen by the host
  kTooManyJoins,            // host at its limit of pending / remembered join attempts
  kTooManyCandidates,       // joiner sent more candidates than the host accepts
  kBadSignature,            // answer / rejection not signed by the link's host key (fatal)
  kClosed,                  // the joiner's attempt already ended (answered... rejected, failed)
  kInvalidArgument,         // a caller-supplied value breaks a documented limit
  kWrongState,              // call not valid in the join's phase (e.g. two answers)
  kCounterExhausted,        // no envelope counter left (never in practice)
};

const std::error_category& handshake_category();
std::error_code make_error_code(HandshakeError e);
// Stable snake_case name ("open_failed", "bad_signature", ...): metrics labels and vectors.
std::string_view handshake_error_name(HandshakeError e);

// ---------------------------------------------------------------------------------------------
// Joiner side

// The host's answer, verified: apply exactly `sdp` as the remote description.
struct VerifiedAnswer {
  std::string sdp;
  DtlsFingerprint host_fingerprint{};  // the fingerprint in `sdp`, covered by the signature
};

// The host placed this joiner below a relay (relay tree, docs/PROTOCOL.md 6.5): apply exactly
// `sdp` (the relay's answer) as the remote description. The host's signature binds this offer,
// the relay's SDP, both DTLS fingerprints and the relay's peer id, so the DTLS peer the channel
// reaches is the relay the host appointed for this attempt, not one the joiner may pick.
struct VerifiedRelayAnswer {
  std::string sdp;
  DtlsFingerprint relay_fingerprint{};  // the fingerprint in `sdp`, covered by the signature
  uint64_t relay_peer_id = 0;           // the host's id for the relay, covered by the signature
};

struct HostRejection {
  RejectReason reason = RejectReason::kRefused;
};

using JoinerEvent =
    std::variant<VerifiedAnswer, IceCandidate, EndOfCandidates, HostRejection, VerifiedRelayAnswer>;

class JoinerHandshake {
 public:
  enum class State {
    kAwaitingAnswer,  // offer sent; candidates may flow both ways
    kAnswered,        // a verified answer arrived; host candidates follow
    kRejected,        // the host (verifiably) turned the attempt down; start a new one later
    kFailed,          // a forged answer or rejection arrived: fail closed, show "invite link
                      // invalid or expired", do not retry with this link automatically
  };

  // Starts one join attempt with a fresh join id drawn from `random`.
  // `sdp_offer`: the local description after setLocalDescription (it must carry the DTLS
  // fingerprint). `display_name`: what the host shows; <= 64 bytes of UTF-8 without control
  // characters. `now_ms`: unix time in milliseconds, >= 0; the host refuses offers outside
  // its window (default +-5 minutes).
  // Errors: kInvalidArgument (name, SDP size/encoding, now_ms), kBadSdp (no fingerprint).
  static Expected<JoinerHandshake, HandshakeError> start(const InviteLink& link,
                                                         std::string_view display_name,
                                                         std::string_view sdp_offer, int64_t now_ms,
                                                         Random& random);
  // The same with a caller-chosen join id (tests, vectors). Never reuse a join id.
  static Expected<JoinerHandshake, HandshakeError> start(const InviteLink& link,
                                                         std::string_view display_name,
                                                         std::string_view sdp_offer, int64_t now_ms,
                                                         const JoinId& join_id);

  // Move-only (it owns an envelope counter); a moved-from handshake cannot seal.
  JoinerHandshake(JoinerHandshake&&) noexcept = default;
  JoinerHandshake& operator=(JoinerHandshake&&) noexcept = default;
  JoinerHandshake(const JoinerHandshake&) = delete;
  JoinerHandshake& operator=(const JoinerHandshake&) = delete;

  // The sealed offer to send to the host (once; resending it is a replay the host refuses).
  const std::vector<uint8_t>& offer_envelope() const { return offer_envelope_; }
  const JoinId& join_id() const { return join_id_; }
  const RoomLocator& locator() const { return keys_.locator(); }
  LinkRole role() const { return keys_.role(); }
  State state() const { return state_; }
  // This join's route to the host, for when it placed us below a relay and we relay too
  // (relay_route.hpp).
  RouteChannel route() const { return RouteChannel::for_relay(keys_, join_id_); }

  // Processes one envelope from the host. Returns what it carried, or why it was refused.
  // A relay answer (VerifiedRelayAnswer) takes the place of the answer: either one, once.
  // Refusals leave the state unchanged (the envelope is dropped) except:
  //  - kBadSignature (answer, relay answer or rejection not signed by the link's host key over this
  //    attempt's transcript) and kBadSdp (answer SDP without a usable fingerprint) move to
  //    kFailed: from then on every call returns kClosed.
  // Errors: kEnvelopeTooShort, kEnvelopeTooLarge, kUnknownEnvelopeVersion, kUnknownDirection,
  // kWrongDirection, kUnknownJoin, kReplayed, kOpenFailed, kMalformedMessage,
  // kUnexpectedMessage (an offer; a candidate before the answer; a second answer),
  // kBadSdp, kBadSignature, kClosed (state kRejected or kFailed).
  Expected<JoinerEvent, HandshakeError> receive(std::span<const uint8_t> envelope);

  // Seals one of our ICE candidates for the host (valid before and after the answer).
  // Errors: kInvalidArgument (limits above), kClosed, kCounterExhausted.
  Expected<std::vector<uint8_t>, HandshakeError> seal_candidate(const IceCandidate& candidate);
  // Errors: kClosed, kCounterExhausted.
  Expected<std::vector<uint8_t>, HandshakeError> seal_end_of_candidates();

 private:
  JoinerHandshake(const InviteLink& link, const JoinId& join_id);
  Expected<std::vector<uint8_t>, HandshakeError> seal_message(std::span<const uint8_t> plaintext);

  RoomKeys keys_;
  JoinId join_id_;
  EnvelopeSealer sealer_;
  EnvelopeOpener opener_;
  std::vector<uint8_t> offer_envelope_;
  std::array<uint8_t, 32> offer_hash_{};  // SHA-256 of the offer plaintext
  DtlsFingerprint own_fingerprint_{};
  State state_ = State::kAwaitingAnswer;
};

// ---------------------------------------------------------------------------------------------
// Host side

// A join attempt's opening message, as the host receives it.
struct JoinOffer {
  int64_t timestamp_ms = 0;  // the joiner's clock
  std::string display_name;  // validated: UTF-8, no control characters, <= 64 bytes
  std::string sdp;           // the joiner's SDP offer, to apply as the remote description
  DtlsFingerprint joiner_fingerprint{};
};

struct HostEvent {
  JoinId join_id{};
  // Which room (secret) the envelope opened with: the joiner's role, decided by the host's
  // keys and not by anything the joiner claims.
  LinkRole role = LinkRole::kViewer;
  std::variant<JoinOffer, IceCandidate, EndOfCandidates> body;
};

// Join ids the host has accepted, each remembered until its offer can no longer pass the time
// window, so a replayed offer is refused. Bounded: when full, the id closest to expiry is
// forgotten so that a flood of authentic offers cannot fill it into refusing newcomers
// (docs/SECURITY.md, "Hostile link holders").
class SeenJoinIds {
 public:
  explicit SeenJoinIds(size_t capacity) : capacity_(capacity) {}
  bool contains(const JoinId& id) const { return expiry_.count(id) != 0; }
  // Remembers `id` until `expires_at_ms`, forgetting the soonest-expiring id when full.
  // False (nothing changes) when already present.
  bool insert(const JoinId& id, int64_t expires_at_ms);
  // Forgets every id whose expiry is before `now_ms`.
  void prune(int64_t now_ms);
  size_t size() const { return expiry_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  size_t capacity_;
  std::map<JoinId, int64_t> expiry_;
  std::set<std::pair<int64_t, JoinId>> by_expiry_;
};

struct HostHandshakeOptions {
  // Offers whose timestamp differs from the host's clock by more than this are refused.
  int64_t offer_window_ms = 5 * 60 * 1000;
  // A join attempt not answered / finished within this is forgotten (its envelopes are then
  // kUnknownJoin or kOfferReplayed).
  int64_t join_timeout_ms = 60 * 1000;
  size_t max_pending_joins = 1024;
  size_t max_seen_join_ids = 65536;
  // Candidate and end-of-candidates messages accepted per join attempt.
  size_t max_candidates_per_join = 64;
};

class HostHandshake {
 public:
  // The host's session signing key and the two rooms' secrets (both derive their room from
  // the signing key's public key). Errors: kInvalidArgument when the two secrets are equal
  // (the role would be ambiguous) or an option is zero / negative.
  static Expected<HostHandshake, HandshakeError> create(SigningKey host_key,
                                                        const RoomSecret& viewer_secret,
                                                        const RoomSecret& participant_secret,
                                                        HostHandshakeOptions options = {});

  // Move-only (it owns envelope counters).
  HostHandshake(HostHandshake&&) noexcept = default;
  HostHandshake& operator=(HostHandshake&&) noexcept = default;
  HostHandshake(const HostHandshake&) = delete;
  HostHandshake& operator=(const HostHandshake&) = delete;

  const Ed25519PublicKey& public_key() const { return host_key_.public_key(); }
  // The locator of each room: the host joins both at the rendezvous.
  const RoomLocator& locator(LinkRole role) const;
  // The host's end of the route to the relay placed by join `join_id` in room `role`
  // (relay_route.hpp). Needs no pending join: the key follows from the join id.
  RouteChannel route(LinkRole role, const JoinId& join_id) const {
    return RouteChannel::for_host(room(role), join_id);
  }
  // The beacon greeting peer `to` of the `role` room, from the host's rendezvous id `from`.
  std::vector<uint8_t> beacon(LinkRole role, uint64_t to, uint64_t from) const;
  // The same greeting handing out `ice` (1..kMaxIceServers entries, valid_ice_server_entry):
  // an ICE beacon with a fresh random nonce; the overload takes the nonce (known answers).
  // Errors: kInvalidArgument for a list the codec refuses.
  Expected<std::vector<uint8_t>, HandshakeError> ice_beacon(LinkRole role, uint64_t to,
                                                            uint64_t from,
                                                            std::span<const IceServerEntry> ice,
                                                            Random& random) const;
  Expected<std::vector<uint8_t>, HandshakeError> ice_beacon(
      LinkRole role, uint64_t to, uint64_t from, std::span<const IceServerEntry> ice,
      std::span<const uint8_t, kIceBeaconNonceSize> nonce) const;

  // Processes one envelope from a joiner at host time `now_ms` (unix ms). Also forgets join
  // attempts and seen ids that have timed out.
  //  - an offer (unknown join id, counter 0): tried with both rooms' keys; the one that opens
  //    it gives the role. Refused if its join id was seen before (kOfferReplayed), its
  //    timestamp is outside the window (kOfferExpired: the integrator may answer with
  //    seal_rejection(join id from peek_envelope_header, kClockSkew)), its SDP has no
  //    fingerprint (kBadSdp), or the host is at a limit (kTooManyJoins).
  //  - a candidate / end of candidates for a pending attempt.
  // Errors: kEnvelopeTooShort, kEnvelopeTooLarge, kUnknownEnvelopeVersion, kUnknownDirection,
  // kWrongDirection, kUnknownJoin (no such attempt and not an offer), kOfferReplayed,
  // kReplayed, kOpenFailed, kMalformedMessage, kUnexpectedMessage, kBadSdp, kOfferExpired,
  // kTooManyJoins, kTooManyCandidates.
  Expected<HostEvent, HandshakeError> receive(std::span<const uint8_t> envelope, int64_t now_ms);

  // Signs and seals the answer to a pending offer (once). The host's counter for the join
  // starts at a random value drawn from `random`; the overload takes those random bits.
  // Errors: kUnknownJoin, kWrongState (already answered, or the offer expired),
  // kInvalidArgument (SDP size/encoding), kBadSdp (no fingerprint in `sdp_answer`).
  Expected<std::vector<uint8_t>, HandshakeError> seal_answer(const JoinId& join_id,
                                                             std::string_view sdp_answer,
                                                             Random& random);
  Expected<std::vector<uint8_t>, HandshakeError> seal_answer(const JoinId& join_id,
                                                             std::string_view sdp_answer,
                                                             uint64_t random_bits);

  // Signs and seals, instead of the host's own answer, relay `relay_peer_id`'s answer
  // `relay_sdp` to the pending offer (once; it counts as the answer: host candidates may
  // follow, carrying the relay's). Errors: as seal_answer (kBadSdp: no fingerprint in relay_sdp).
  Expected<std::vector<uint8_t>, HandshakeError> seal_relay_answer(const JoinId& join_id,
                                                                   uint64_t relay_peer_id,
                                                                   std::string_view relay_sdp,
                                                                   Random& random);
  Expected<std::vector<uint8_t>, HandshakeError> seal_relay_answer(const JoinId& join_id,
                                                                   uint64_t relay_peer_id,
                                                                   std::string_view relay_sdp,
                                                                   uint64_t random_bits);

  // Signs and seals a rejection of a pending, unanswered offer (also one refused as
  // kOfferExpired), then forgets the attempt. Errors: kUnknownJoin, kWrongState.
  Expected<std::vector<uint8_t>, HandshakeError> seal_rejection(const JoinId& join_id,
                                                                RejectReason reason,
                                                                Random& random);
  Expected<std::vector<uint8_t>, HandshakeError> seal_rejection(const JoinId& join_id,
                                                                RejectReason reason,
                                                                uint64_t random_bits);

  // Seals one of the host's ICE candidates / the end of them, after the answer.
  // Errors: kUnknownJoin, kWrongState (not answered yet), kInvalidArgument, kCounterExhausted.
  Expected<std::vector<uint8_t>, HandshakeError> seal_candidate(const JoinId& join_id,
                                                                const IceCandidate& candidate);
  Expected<std::vector<uint8_t>, HandshakeError> seal_end_of_candidates(const JoinId& join_id);

  // Drops an attempt's state (channel open, or given up). Its join id stays remembered.
  void forget(const JoinId& join_id);
  // Drops timed-out attempts and seen ids whose window has passed.
  void expire(int64_t now_ms);

  size_t pending_joins() const { return joins_.size(); }
  size_t seen_join_ids() const { return seen_.size(); }

 private:
  enum class Phase { kOffered, kAnswered, kExpired };
  struct Join {
    LinkRole role;
    Phase phase;
    int64_t accepted_ms;
    EnvelopeOpener opener;
    std::optional<EnvelopeSealer> sealer;
    std::array<uint8_t, 32> offer_hash{};
    DtlsFingerprint joiner_fingerprint{};
    size_t candidates = 0;
    bool joiner_done = false;  // end of candidates received
  };

  HostHandshake(SigningKey host_key, const RoomSecret& viewer_secret,
                const RoomSecret& participant_secret, HostHandshakeOptions options);
  const RoomKeys& room(LinkRole role) const;
  Expected<HostEvent, HandshakeError> receive_offer(std::span<const uint8_t> envelope,
                                                    const EnvelopeHeader& header, int64_t now_ms);
  Expected<std::vector<uint8_t>, HandshakeError> seal_first(Join& join, const JoinId& join_id,
                                                            std::span<const uint8_t> plaintext,
                                                            uint64_t random_bits);

  SigningKey host_key_;
  RoomKeys viewer_;
  RoomKeys participant_;
  HostHandshakeOptions options_;
  std::map<JoinId, Join> joins_;
  SeenJoinIds seen_;
};

}  // namespace tokencast

template <>
struct std::is_error_code_enum<tokencast::HandshakeError> : std::true_type {};
