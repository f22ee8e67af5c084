// The plaintexts carried inside handshake envelopes, and the byte strings the host signs.
// Public so that tests can forge them; docs/PROTOCOL.md (section 1) specifies the same bytes for
// other clients.
//
//   offer        0x01 | timestamp_ms(8, BE) | name_len(1) | name | sdp
//   answer       0x02 | signature(64) | sdp
//   candidate    0x03 | mline_index(2, BE) | mid_len(1) | mid | candidate
//   end of cands 0x04
//   rejection    0x05 | reason(1) | signature(64)
//   relay answer 0x06 | signature(64) | relay_peer_id(8, BE) | sdp   (the relay's answer)
//
// The last field of each runs to the end of the plaintext (its length is implied).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tokencast/core/expected.hpp"
#include "tokencast/core/handshake.hpp"

namespace tokencast::handshake_wire {

enum class MessageType : uint8_t {
  kOffer = 0x01,
  kAnswer = 0x02,
  kCandidate = 0x03,
  kEndOfCandidates = 0x04,
  kRejection = 0x05,
  kRelayAnswer = 0x06,
};

struct Offer {
  int64_t timestamp_ms = 0;
  std::string display_name;
  std::string sdp;
  bool operator==(const Offer&) const = default;
};

struct Answer {
  Ed25519Signature signature{};
  std::string sdp;
  bool operator==(const Answer&) const = default;
};

struct Rejection {
  RejectReason reason = RejectReason::kRefused;
  Ed25519Signature signature{};
  bool operator==(const Rejection&) const = default;
};

// What the host seals to a joiner it places below relay `relay_peer_id` instead of its own
// answer: the relay's SDP answer, signed over relay_answer_transcript (docs/PROTOCOL.md 6.5).
struct RelayAnswer {
  Ed25519Signature signature{};
  uint64_t relay_peer_id = 0;
  std::string sdp;
  bool operator==(const RelayAnswer&) const = default;
};

using Message = std::variant<Offer, Answer, IceCandidate, EndOfCandidates, Rejection, RelayAnswer>;

// Field checks shared by encoder and decoder (so what one side sends the other accepts).
bool valid_display_name(std::string_view name);
bool valid_sdp(std::string_view sdp);
bool valid_candidate(const IceCandidate& candidate);

// Errors: kInvalidArgument when a field breaks its limit.
Expected<std::vector<uint8_t>, HandshakeError> encode(const Message& message);
// Errors: kMalformedMessage (unknown type, wrong length, a field breaking its limit).
Expected<Message, HandshakeError> decode(std::span<const uint8_t> plaintext);

// "tokencast/v1/answer" 0x00 | locator(32) | join_id(16) | SHA-256(offer plaintext)(32) |
// SHA-256(answer sdp)(32) | joiner fingerprint(32) | host fingerprint(32)   (196 bytes)
std::vector<uint8_t> answer_transcript(const RoomLocator& locator, const JoinId& join_id,
                                       std::span<const uint8_t, 32> offer_hash,
                                       std::string_view answer_sdp,
                                       const DtlsFingerprint& joiner_fingerprint,
                                       const DtlsFingerprint& host_fingerprint);

// "tokencast/v1/relay-answer" 0x00 | locator(32) | join_id(16) | SHA-256(offer plaintext)(32) |
// SHA-256(relay answer sdp)(32) | joiner fingerprint(32) | relay fingerprint(32) |
// relay_peer_id(8, BE)   (210 bytes). Its own label: never taken for an answer's transcript.
std::vector<uint8_t> relay_answer_transcript(const RoomLocator& locator, const JoinId& join_id,
                                             std::span<const uint8_t, 32> offer_hash,
                                             std::string_view relay_sdp,
                                             const DtlsFingerprint& joiner_fingerprint,
                                             const DtlsFingerprint& relay_fingerprint,
                                             uint64_t relay_peer_id);

// "tokencast/v1/rejection" 0x00 | locator(32) | join_id(16) | SHA-256(offer plaintext)(32) |
// reason(1)   (104 bytes)
std::vector<uint8_t> rejection_transcript(const RoomLocator& locator, const JoinId& join_id,
                                          std::span<const uint8_t, 32> offer_hash,
                                          RejectReason reason);

// HandshakeError for an envelope-layer refusal.
HandshakeError from_envelope_error(EnvelopeError e);

}  // namespace tokencast::handshake_wire
