// The relay stream, sans I/O: the host's stream made verifiable by any viewer without trusting
// the peer that forwards it (docs/PROTOCOL.md section 6, docs/SECURITY.md "Relays").
//
// The host cuts its live stream into records (each carries one encoded host frame, the same
// bytes for every viewer) and binds them into a hash chain:
//   h_0 = SHA-256("tokencast/v1/relay-chain" | 0x00 | session_id | host_public_key)
//   h_i = SHA-256(h_{i-1} | u64 i | payload_i)
// and signs checkpoints of it with its Ed25519 session key (the key every link carries):
//   "tokencast/v1/relay-checkpoint" | 0x00 | session_id | u64 i | h_i.
// A signature over h_i vouches for every record 1..i, in order, so a relay that alters,
// reorders, drops or replays a record is caught at the next checkpoint at the latest; the
// verifier releases a record only once a checkpoint covers it.
//
// HostSession writes the stream and serves it to relay-capable direct viewers; ClientSession
// verifies it (protocol version 5, docs/PROTOCOL.md section 6 "A relay link"); a relaying
// client forwards it to its children through a RelayFanout (relay_fanout.hpp), which keeps a
// RelayForwarder ring. Tests: tests/core_relay_test.cpp,
// tests/vectors/relay.json, the web client's web/src/protocol/relay.ts.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

#include "tokencast/core/expected.hpp"
#include "tokencast/core/session_id.hpp"
#include "tokencast/core/signing.hpp"

namespace tokencast {

inline constexpr size_t kRelayChainHashSize = 32;
using RelayChainHash = std::array<uint8_t, kRelayChainHashSize>;

// Relay frame types: one frame per data-channel message, at most kMaxRelayFrameBytes (the
// frame limit of docs/PROTOCOL.md section 4).
inline constexpr uint8_t kRelayRecordType = 0x20;        // index, payload (rest)
inline constexpr uint8_t kRelaySignedRecordType = 0x21;  // index, signature (64), payload (rest)
inline constexpr uint8_t kRelayCheckpointType = 0x22;    // index, chain (32), signature (64)
inline constexpr size_t kMaxRelayFrameBytes = 16384;
// A payload always fits a signed record whatever its index: 1 type + 10 varint + 64.
inline constexpr size_t kMaxRelayPayloadBytes = kMaxRelayFrameBytes - 1 - 10 - 64;

enum class RelayError {
  kTruncated = 1,         // a field cut short, or an empty frame
  kOversized = 2,         // a frame above kMaxRelayFrameBytes
  kUnknownFrameType = 3,  // a first byte that is not a relay frame
  kBadVarint = 4,         // a non-canonical or over-long index
  kTrailingBytes = 5,     // bytes after a checkpoint's signature
  kBadIndex = 6,          // index 0
  kOutOfOrder = 7,        // not the next record (a drop, reorder or replay), or a checkpoint
                          // for another record than the newest received
  kBadSignature = 8,      // a checkpoint's signature does not verify over the chain as received
  kChainMismatch = 9,     // a checkpoint's chain hash differs from the chain as received
  kBacklogFull = 10,      // more unverified records (or bytes) than the verifier holds
  kPayloadTooLarge = 11,  // writer: a payload above kMaxRelayPayloadBytes
  kNoAnchor = 12,         // an anchor that is not a checkpoint frame
};
const std::error_category& relay_category();
std::error_code make_error_code(RelayError e);

struct RelayFrame {
  enum class Kind { kRecord, kSignedRecord, kCheckpoint };
  Kind kind = Kind::kRecord;
  uint64_t index = 0;
  std::optional<Ed25519Signature> signature;  // signed records and checkpoints
  std::optional<RelayChainHash> chain;        // checkpoints
  std::vector<uint8_t> payload;               // records
  bool operator==(const RelayFrame&) const = default;
};

// Stateless, strict: the first defect in wire order (docs/PROTOCOL.md section 6).
Expected<RelayFrame, RelayError> decode_relay_frame(std::span<const uint8_t> bytes);
std::vector<uint8_t> encode_relay_frame(const RelayFrame& frame);

// The chain and the signed message; exposed for the vectors and tests.
RelayChainHash relay_chain_genesis(const SessionId& session_id, const Ed25519PublicKey& host_key);
RelayChainHash relay_chain_next(const RelayChainHash& previous, uint64_t index,
                                std::span<const uint8_t> payload);
std::vector<uint8_t> relay_checkpoint_message(const SessionId& session_id, uint64_t index,
                                              const RelayChainHash& chain);

// The last record a verifier (or writer) vouches for: index 0 with h_0 before the first.
struct RelayPosition {
  uint64_t index = 0;
  RelayChainHash chain{};
  bool operator==(const RelayPosition&) const = default;
};

struct RelayWriterOptions {
  // A record is signed inline (a signed record) when the last signature is at least this many
  // ms old (the ration starts at the first record); the records in between go unsigned and
  // checkpoint_due_at() (the last signature + this) says when the host must sign a quiet tail
  // by itself. So a record waits less than this long for a signature, once (relays forward
  // frames as they come; every viewer verifies for itself); a stream slower than one record
  // per interval waits not at all after its first record; and a viewer verifies at most
  // ~1000 / sign_interval_ms signatures a second whatever the token rate.
  // 0: every record signed (no wait; 64 bytes and one verification per record).
  // docs/SECURITY.md "Relays" has the trade-off.
  int64_t sign_interval_ms = 50;
  // A record is also signed when it would be this many records in a row without a signature
  // (bounds the verifiers' backlog to one less; keep it within
  // RelayVerifierOptions::max_unverified_records).
  size_t max_unsigned_records = 64;
};

// The host's side: turns payloads into relay frames, the same bytes for every viewer.
class RelayStreamWriter {
 public:
  RelayStreamWriter(const SessionId& session_id, SigningKey host_key,
                    RelayWriterOptions options = {});

  // The next record, carrying `payload` (an encoded host frame; this layer does not read it).
  // Error: kPayloadTooLarge.
  Expected<std::vector<uint8_t>, std::error_code> append(std::span<const uint8_t> payload,
                                                         int64_t now_ms);
  // When unsigned records wait: the time by which checkpoint() must be called.
  std::optional<int64_t> checkpoint_due_at() const;
  // A checkpoint frame signing the newest record; nullopt when it is signed already.
  std::optional<std::vector<uint8_t>> checkpoint();

  const RelayPosition& head() const { return head_; }
  uint64_t signatures() const { return signatures_; }

 private:
  Ed25519Signature sign_head();

  SessionId session_id_;
  SigningKey host_key_;
  RelayWriterOptions options_;
  RelayPosition head_;
  uint64_t signed_index_ = 0;
  size_t unsigned_ = 0;
  std::optional<int64_t> last_signed_ms_;  // or the first record's time, before any
  uint64_t signatures_ = 0;
};

struct RelayVerifierOptions {
  size_t max_unverified_records = 256;
  size_t max_unverified_bytes = size_t{1} << 20;
};

struct VerifiedRecord {
  uint64_t index = 0;
  std::vector<uint8_t> payload;
  bool operator==(const VerifiedRecord&) const = default;
};

// A viewer's side: takes relay frames from whichever parent forwards them and releases each
// record's payload once a signature of the host covers it. The first error is final: the
// verifier stays failed (the viewer drops that parent and resumes elsewhere from verified()).
class RelayVerifier {
 public:
  // From the start of the stream (h_0).
  RelayVerifier(const SessionId& session_id, const Ed25519PublicKey& host_key,
                RelayVerifierOptions options = {});
  // From a position this viewer verified itself (resuming under a new parent).
  RelayVerifier(const SessionId& session_id, const Ed25519PublicKey& host_key,
                RelayPosition verified, RelayVerifierOptions options = {});
  // From a checkpoint frame a parent hands a late joiner: its signature is checked, then the
  // stream continues after it. Errors: kNoAnchor, the decoder's, kBadSignature.
  static Expected<RelayVerifier, std::error_code> from_anchor(const SessionId& session_id,
                                                              const Ed25519PublicKey& host_key,
                                                              std::span<const uint8_t> checkpoint,
                                                              RelayVerifierOptions options = {});

  // One frame from the parent. The payloads this frame made verified, in order (none while
  // records wait for a checkpoint). Errors: the decoder's, kOutOfOrder, kBadSignature,
  // kChainMismatch, kBacklogFull; after one, every call returns it again.
  Expected<std::vector<VerifiedRecord>, std::error_code> accept(std::span<const uint8_t> frame);

  const RelayPosition& verified() const { return verified_; }
  // The newest record received (verified or waiting).
  uint64_t received() const { return received_.index; }
  size_t unverified_records() const { return pending_.size(); }
  std::optional<std::error_code> failed() const { return failed_; }
  // A checkpoint frame for verified() (what a relay hands its own late joiners); nullopt
  // before the first verified signature.
  std::optional<std::vector<uint8_t>> anchor() const;

 private:
  Expected<std::vector<VerifiedRecord>, std::error_code> fail(RelayError e);
  Expected<std::vector<VerifiedRecord>, std::error_code> settle(const Ed25519Signature& signature);

  SessionId session_id_;
  Ed25519PublicKey host_key_{};
  RelayVerifierOptions options_;
  RelayPosition verified_;
  RelayPosition received_;
  std::optional<Ed25519Signature> verified_signature_;
  std::deque<VerifiedRecord> pending_;  // received, not yet covered by a signature
  size_t pending_bytes_ = 0;
  std::optional<std::error_code> failed_;
};

struct RelayForwarderOptions {
  // The ring of recent frames a relay keeps to resume children: at most this many frames and
  // bytes (the oldest go first).
  size_t max_frames = 1024;
  size_t max_bytes = size_t{1} << 20;
};

// A relay's side: keeps the frames it gets from its parent in a bounded ring, in stream order,
// so that a child (a new one, or one moved here) gets everything after the last record it
// verified, then live frames. It does not verify (the relay's own RelayVerifier does; its
// children verify for themselves), but it keeps the stream's order: a record already held (a
// parent resending after a move) is skipped, so no child gets a duplicate.
class RelayForwarder {
 public:
  explicit RelayForwarder(RelayForwarderOptions options = {});

  enum class Added { kForward, kDuplicate };
  // A frame from the parent. kForward: new, send it to every child whose link is up; kDuplicate:
  // a record or checkpoint already held. Errors: the decoder's, kOutOfOrder (a gap).
  Expected<Added, std::error_code> add(std::span<const uint8_t> frame);

  // The frames a child that holds records up to `after` needs, oldest first (records after it
  // and the checkpoints among them); nullopt when the ring no longer reaches back to record
  // after + 1 (the child resumes from the host instead). A child ahead of this relay gets
  // nothing yet; the caller then forwards it only frames past `after`.
  std::optional<std::vector<std::span<const uint8_t>>> since(uint64_t after) const;

  // The newest record held (0: none), the oldest one the ring still holds.
  uint64_t head() const { return head_; }
  uint64_t oldest() const;
  size_t frames() const { return ring_.size(); }

 private:
  struct Kept {
    uint64_t index = 0;
    bool checkpoint = false;
    std::vector<uint8_t> bytes;
  };
  RelayForwarderOptions options_;
  std::deque<Kept> ring_;
  size_t bytes_ = 0;
  uint64_t head_ = 0;
  bool head_signed_ = false;  // a checkpoint or signed record for head_ is held or was seen
};

}  // namespace tokencast

template <>
struct std::is_error_code_enum<tokencast::RelayError> : std::true_type {};
