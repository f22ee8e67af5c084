// A transcript anyone can verify: the turns of a session signed with the host's Ed25519
// session key, the key every invite link of the session carries. `tokencast export --signed`
// writes one, `tokencast verify` checks it (and, given a link, that the link's host signed it).
// Format and signed bytes: docs/PROTOCOL.md, "Signed transcripts (exports)"; known answers:
// tests/vectors/transcript.json.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "tokencast/core/expected.hpp"
#include "tokencast/core/session_id.hpp"
#include "tokencast/core/signing.hpp"
#include "tokencast/core/transcript.hpp"

namespace tokencast {

// The largest signed transcript file `parse_signed_transcript` reads.
inline constexpr size_t kMaxSignedTranscriptBytes = 64 * 1024 * 1024;
// At most this many turns in one file.
inline constexpr size_t kMaxSignedTranscriptTurns = 1'000'000;

// What is signed. Every string is valid UTF-8: a hostile source's invalid bytes were replaced
// by U+FFFD before signing (to_valid_utf8), exactly as any export shows them.
struct SignedTranscript {
  SessionId session_id;
  Ed25519PublicKey host_public_key{};
  std::string title;
  std::string model;
  // Turns in log order. A turn not yet ended has ended == false (status "streaming").
  std::vector<TranscriptTurn> turns;
  Ed25519Signature signature{};
  bool operator==(const SignedTranscript&) const = default;
};

enum class SignedTranscriptError {
  kTooLarge = 1,   // more than kMaxSignedTranscriptBytes, or too many turns
  kNotJson,        // not a JSON document (or not valid UTF-8)
  kNotTranscript,  // JSON, but not a signed transcript of this version: a field is missing,
                   // unknown, of the wrong type or out of range
  kBadSignature,   // well-formed, but the signature does not verify under the file's key
};
const std::error_category& signed_transcript_category();
std::error_code make_error_code(SignedTranscriptError e);

// The transcript as signed (strings made valid UTF-8), with no signature yet: what a peer
// pairs with a signature frame the host sent (protocol version 4) to write a signed file from
// its own copy.
SignedTranscript transcript_to_sign(const SessionId& session_id, const Transcript& transcript,
                                    const Ed25519PublicKey& host_public_key);

// Signs the transcript's turns, title and model with `host_key` (whose public key is recorded).
SignedTranscript sign_transcript(const SessionId& session_id, const Transcript& transcript,
                                 const SigningKey& host_key);

// Signs a growing transcript (the host, after each ended turn: protocol version 4) without
// re-encoding it: each ended turn is encoded once, as the signed message lays it out (strings
// made valid UTF-8), and kept; a signature hashes the short header and the kept turns. The
// format puts the turn count before the turns, so the hash itself is redone over the whole
// transcript each time (one SHA-256 pass over about the text's size). Signatures equal
// sign_transcript()'s over the same turns, title and model.
class TranscriptSigner {
 public:
  TranscriptSigner(const SessionId& session_id, SigningKey host_key);
  // The next turn in log order; it has ended (a signed transcript of a live session holds only
  // ended turns: the host signs at a turn_ended, when no turn is open).
  void add_ended_turn(const TranscriptTurn& turn);
  uint64_t turns() const { return turns_; }
  // Bytes kept: the encoded turns.
  size_t kept_bytes() const { return body_.size(); }
  Ed25519Signature sign(std::string_view title, std::string_view model) const;

 private:
  SessionId session_id_;
  SigningKey host_key_;
  uint64_t turns_ = 0;
  std::vector<uint8_t> body_;  // the turns' part of the signed body
};

// The bytes the signature covers (docs/PROTOCOL.md); exposed for the vectors and tests. The
// strings are taken as they are: valid UTF-8, as the struct requires.
std::vector<uint8_t> signed_transcript_message(const SignedTranscript& signed_transcript);

// True when the signature verifies under the transcript's own host_public_key. Whether that
// key is the host the reader meant is a separate check (compare it with a link's key).
bool verify_signed_transcript(const SignedTranscript& signed_transcript);

// The file: one JSON object, keys in a fixed order, ending in a newline.
std::string encode_signed_transcript(const SignedTranscript& signed_transcript);

// Parses a file strictly (every field present, no unknown field, types and ranges checked) and
// verifies its signature: an unsigned or altered file is an error, never a transcript.
Expected<SignedTranscript, std::error_code> parse_signed_transcript(std::string_view file);

}  // namespace tokencast

namespace std {
template <>
struct is_error_code_enum<tokencast::SignedTranscriptError> : true_type {};
}  // namespace std
