#include "tokencast/core/relay_stream.hpp"

#include <algorithm>
#include <string>
#include <string_view>

#include "crypto/primitives.hpp"
#include "wire/varint.hpp"

namespace tokencast {
namespace {

constexpr std::string_view kChainLabel = "tokencast/v1/relay-chain";
constexpr std::string_view kCheckpointLabel = "tokencast/v1/relay-checkpoint";

class RelayCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tokencast.relay"; }
  std::string message(int value) const override {
    switch (static_cast<RelayError>(value)) {
      case RelayError::kTruncated:
        return "truncated relay frame";
      case RelayError::kOversized:
        return "relay frame larger than 16384 bytes";
      case RelayError::kUnknownFrameType:
        return "unknown relay frame type";
      case RelayError::kBadVarint:
        return "bad varint in a relay frame";
      case RelayError::kTrailingBytes:
        return "bytes after a relay checkpoint";
      case RelayError::kBadIndex:
        return "relay index 0";
      case RelayError::kOutOfOrder:
        return "relay record out of order (dropped, reordered or replayed)";
      case RelayError::kBadSignature:
        return "relay checkpoint signature does not verify";
      case RelayError::kChainMismatch:
        return "relay checkpoint chain differs from the records received";
      case RelayError::kBacklogFull:
        return "too many unverified relay records";
      case RelayError::kPayloadTooLarge:
        return "relay payload too large";
      case RelayError::kNoAnchor:
        return "relay anchor is not a checkpoint";
    }
    return "unknown relay error";
  }
};

void put_u64(std::vector<uint8_t>& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

void put_label(std::vector<uint8_t>& out, std::string_view label) {
  out.insert(out.end(), label.begin(), label.end());
  out.push_back(0x00);
}

template <size_t N>
bool take(std::span<const uint8_t> in, size_t& pos, std::array<uint8_t, N>& out) {
  if (in.size() - pos < N) return false;
  std::copy_n(in.begin() + static_cast<std::ptrdiff_t>(pos), N, out.begin());
  pos += N;
  return true;
}

}  // namespace

const std::error_category& relay_category() {
  static const RelayCategory category;
  return category;
}

std::error_code make_error_code(RelayError e) { return {static_cast<int>(e), relay_category()}; }

Expected<RelayFrame, RelayError> decode_relay_frame(std::span<const uint8_t> bytes) {
  if (bytes.size() > kMaxRelayFrameBytes) return unexpected(RelayError::kOversized);
  if (bytes.empty()) return unexpected(RelayError::kTruncated);
  RelayFrame frame;
  switch (bytes[0]) {
    case kRelayRecordType:
      frame.kind = RelayFrame::Kind::kRecord;
      break;
    case kRelaySignedRecordType:
      frame.kind = RelayFrame::Kind::kSignedRecord;
      break;
    case kRelayCheckpointType:
      frame.kind = RelayFrame::Kind::kCheckpoint;
      break;
    default:
      return unexpected(RelayError::kUnknownFrameType);
  }
  size_t pos = 1;
  switch (codec::get_varint(bytes, pos, frame.index)) {
    case codec::VarintStatus::kOk:
      break;
    case codec::VarintStatus::kTruncated:
      return unexpected(RelayError::kTruncated);
    case codec::VarintStatus::kBadVarint:
      return unexpected(RelayError::kBadVarint);
  }
  if (frame.index == 0) return unexpected(RelayError::kBadIndex);
  if (frame.kind == RelayFrame::Kind::kCheckpoint) {
    RelayChainHash chain{};
    if (!take(bytes, pos, chain)) return unexpected(RelayError::kTruncated);
    frame.chain = chain;
  }
  if (frame.kind != RelayFrame::Kind::kRecord) {
    Ed25519Signature signature{};
    if (!take(bytes, pos, signature)) return unexpected(RelayError::kTruncated);
    frame.signature = signature;
  }
  if (frame.kind == RelayFrame::Kind::kCheckpoint) {
    if (pos != bytes.size()) return unexpected(RelayError::kTrailingBytes);
  } else {
    frame.payload.assign(bytes.begin() + static_cast<std::ptrdiff_t>(pos), bytes.end());
  }
  return frame;
}

std::vector<uint8_t> encode_relay_frame(const RelayFrame& frame) {
  std::vector<uint8_t> out;
  out.reserve(1 + codec::kMaxVarintBytes + 96 + frame.payload.size());
  switch (frame.kind) {
    case RelayFrame::Kind::kRecord:
      out.push_back(kRelayRecordType);
      break;
    case RelayFrame::Kind::kSignedRecord:
      out.push_back(kRelaySignedRecordType);
      break;
    case RelayFrame::Kind::kCheckpoint:
      out.push_back(kRelayCheckpointType);
      break;
  }
  codec::put_varint(out, frame.index);
  if (frame.kind == RelayFrame::Kind::kCheckpoint) {
    const RelayChainHash chain = frame.chain.value_or(RelayChainHash{});
    out.insert(out.end(), chain.begin(), chain.end());
  }
  if (frame.kind != RelayFrame::Kind::kRecord) {
    const Ed25519Signature signature = frame.signature.value_or(Ed25519Signature{});
    out.insert(out.end(), signature.begin(), signature.end());
  }
  if (frame.kind != RelayFrame::Kind::kCheckpoint) {
    out.insert(out.end(), frame.payload.begin(), frame.payload.end());
  }
  return out;
}

RelayChainHash relay_chain_genesis(const SessionId& session_id, const Ed25519PublicKey& host_key) {
  std::vector<uint8_t> message;
  put_label(message, kChainLabel);
  message.insert(message.end(), session_id.bytes.begin(), session_id.bytes.end());
  message.insert(message.end(), host_key.begin(), host_key.end());
  return crypto::sha256(message);
}

RelayChainHash relay_chain_next(const RelayChainHash& previous, uint64_t index,
                                std::span<const uint8_t> payload) {
  std::array<uint8_t, kRelayChainHashSize + 8> head{};
  std::copy(previous.begin(), previous.end(), head.begin());
  for (size_t i = 0; i < 8; ++i) {
    head[kRelayChainHashSize + i] = static_cast<uint8_t>(index >> (56 - 8 * i));
  }
  return crypto::sha256(head, payload);
}

std::vector<uint8_t> relay_checkpoint_message(const SessionId& session_id, uint64_t index,
                                              const RelayChainHash& chain) {
  std::vector<uint8_t> message;
  message.reserve(kCheckpointLabel.size() + 1 + 16 + 8 + kRelayChainHashSize);
  put_label(message, kCheckpointLabel);
  message.insert(message.end(), session_id.bytes.begin(), session_id.bytes.end());
  put_u64(message, index);
  message.insert(message.end(), chain.begin(), chain.end());
  return message;
}

// ------------------------------------------------------------------------------------ writer

RelayStreamWriter::RelayStreamWriter(const SessionId& session_id, SigningKey host_key,
                                     RelayWriterOptions options)
    : session_id_(session_id), host_key_(std::move(host_key)), options_(options) {
  head_.chain = relay_chain_genesis(session_id_, host_key_.public_key());
}

Ed25519Signature RelayStreamWriter::sign_head() {
  ++signatures_;
  signed_index_ = head_.index;
  unsigned_ = 0;
  return host_key_.sign(relay_checkpoint_message(session_id_, head_.index, head_.chain));
}

Expected<std::vector<uint8_t>, std::error_code> RelayStreamWriter::append(
    std::span<const uint8_t> payload, int64_t now_ms) {
  if (payload.size() > kMaxRelayPayloadBytes) return unexpected(RelayError::kPayloadTooLarge);
  head_.index += 1;
  head_.chain = relay_chain_next(head_.chain, head_.index, payload);
  // Signatures are rationed by time: a record is signed at once when the last signature is
  // at least the interval old (the ration starts at the first record). So a stream slower than
  // one record per interval (most models: 10-50 tokens/s against 50 ms) has every record after
  // the first signed on arrival, and a faster one waits at most the rest of the interval.
  if (!last_signed_ms_) last_signed_ms_ = now_ms;
  const bool sign = options_.sign_interval_ms <= 0 ||
                    unsigned_ + 1 >= std::max<size_t>(options_.max_unsigned_records, 1) ||
                    now_ms >= *last_signed_ms_ + options_.sign_interval_ms;
  RelayFrame frame;
  frame.index = head_.index;
  frame.payload.assign(payload.begin(), payload.end());
  if (sign) {
    frame.kind = RelayFrame::Kind::kSignedRecord;
    frame.signature = sign_head();
    last_signed_ms_ = now_ms;
  } else {
    frame.kind = RelayFrame::Kind::kRecord;
    ++unsigned_;
  }
  return encode_relay_frame(frame);
}

std::optional<int64_t> RelayStreamWriter::checkpoint_due_at() const {
  if (unsigned_ == 0 || !last_signed_ms_) return std::nullopt;
  return *last_signed_ms_ + options_.sign_interval_ms;
}

std::optional<std::vector<uint8_t>> RelayStreamWriter::checkpoint() {
  if (signed_index_ == head_.index) return std::nullopt;
  // Called when due (or later): the next inline signature is rationed from then.
  if (auto due = checkpoint_due_at()) last_signed_ms_ = *due;
  RelayFrame frame;
  frame.kind = RelayFrame::Kind::kCheckpoint;
  frame.index = head_.index;
  frame.chain = head_.chain;
  frame.signature = sign_head();
  return encode_relay_frame(frame);
}

// ---------------------------------------------------------------------------------- verifier

RelayVerifier::RelayVerifier(const SessionId& session_id, const Ed25519PublicKey& host_key,
                             RelayVerifierOptions options)
    : RelayVerifier(session_id, host_key,
                    RelayPosition{0, relay_chain_genesis(session_id, host_key)}, options) {}

RelayVerifier::RelayVerifier(const SessionId& session_id, const Ed25519PublicKey& host_key,
                             RelayPosition verified, RelayVerifierOptions options)
    : session_id_(session_id),
      host_key_(host_key),
      options_(options),
      verified_(verified),
      received_(verified) {}

Expected<RelayVerifier, std::error_code> RelayVerifier::from_anchor(
    const SessionId& session_id, const Ed25519PublicKey& host_key,
    std::span<const uint8_t> checkpoint, RelayVerifierOptions options) {
  auto frame = decode_relay_frame(checkpoint);
  if (!frame) return unexpected(make_error_code(frame.error()));
  if (frame->kind != RelayFrame::Kind::kCheckpoint) return unexpected(RelayError::kNoAnchor);
  if (!ed25519_verify(host_key, relay_checkpoint_message(session_id, frame->index, *frame->chain),
                      *frame->signature)) {
    return unexpected(RelayError::kBadSignature);
  }
  RelayVerifier verifier(session_id, host_key, RelayPosition{frame->index, *frame->chain}, options);
  verifier.verified_signature_ = *frame->signature;
  return verifier;
}

Expected<std::vector<VerifiedRecord>, std::error_code> RelayVerifier::fail(RelayError e) {
  failed_ = make_error_code(e);
  pending_.clear();
  pending_bytes_ = 0;
  return unexpected(*failed_);
}

// A signature over received_ arrived: check it, then release everything pending.
Expected<std::vector<VerifiedRecord>, std::error_code> RelayVerifier::settle(
    const Ed25519Signature& signature) {
  if (!ed25519_verify(host_key_,
                      relay_checkpoint_message(session_id_, received_.index, received_.chain),
                      signature)) {
    return fail(RelayError::kBadSignature);
  }
  verified_ = received_;
  verified_signature_ = signature;
  std::vector<VerifiedRecord> released(std::make_move_iterator(pending_.begin()),
                                       std::make_move_iterator(pending_.end()));
  pending_.clear();
  pending_bytes_ = 0;
  return released;
}

Expected<std::vector<VerifiedRecord>, std::error_code> RelayVerifier::accept(
    std::span<const uint8_t> bytes) {
  if (failed_) return unexpected(*failed_);
  auto frame = decode_relay_frame(bytes);
  if (!frame) return fail(frame.error());
  if (frame->kind == RelayFrame::Kind::kCheckpoint) {
    if (frame->index != received_.index) return fail(RelayError::kOutOfOrder);
    if (*frame->chain != received_.chain) return fail(RelayError::kChainMismatch);
    return settle(*frame->signature);
  }
  if (received_.index == UINT64_MAX || frame->index != received_.index + 1) {
    return fail(RelayError::kOutOfOrder);
  }
  if (frame->kind == RelayFrame::Kind::kRecord &&
      (pending_.size() + 1 > options_.max_unverified_records ||
       pending_bytes_ + frame->payload.size() > options_.max_unverified_bytes)) {
    return fail(RelayError::kBacklogFull);
  }
  received_.index = frame->index;
  received_.chain = relay_chain_next(received_.chain, frame->index, frame->payload);
  pending_bytes_ += frame->payload.size();
  pending_.push_back(VerifiedRecord{frame->index, std::move(frame->payload)});
  if (frame->kind == RelayFrame::Kind::kSignedRecord) return settle(*frame->signature);
  return std::vector<VerifiedRecord>{};
}

std::optional<std::vector<uint8_t>> RelayVerifier::anchor() const {
  if (!verified_signature_) return std::nullopt;
  RelayFrame frame;
  frame.kind = RelayFrame::Kind::kCheckpoint;
  frame.index = verified_.index;
  frame.chain = verified_.chain;
  frame.signature = verified_signature_;
  return encode_relay_frame(frame);
}

// --------------------------------------------------------------------------------- forwarder

RelayForwarder::RelayForwarder(RelayForwarderOptions options) : options_(options) {
  options_.max_frames = std::max<size_t>(options_.max_frames, 1);
}

Expected<RelayForwarder::Added, std::error_code> RelayForwarder::add(
    std::span<const uint8_t> bytes) {
  auto frame = decode_relay_frame(bytes);
  if (!frame) return unexpected(make_error_code(frame.error()));
  const bool checkpoint = frame->kind == RelayFrame::Kind::kCheckpoint;
  if (checkpoint) {
    if (frame->index < head_ || (frame->index == head_ && head_signed_)) return Added::kDuplicate;
    if (frame->index != head_) return unexpected(make_error_code(RelayError::kOutOfOrder));
    head_signed_ = true;
  } else {
    if (frame->index <= head_) return Added::kDuplicate;
    // The first record a forwarder sees may be anywhere (a relay that joined from an anchor).
    if (head_ != 0 && frame->index != head_ + 1) {
      return unexpected(make_error_code(RelayError::kOutOfOrder));
    }
    head_ = frame->index;
    head_signed_ = frame->kind == RelayFrame::Kind::kSignedRecord;
  }
  ring_.push_back(Kept{frame->index, checkpoint, std::vector<uint8_t>(bytes.begin(), bytes.end())});
  bytes_ += bytes.size();
  while (ring_.size() > options_.max_frames || (bytes_ > options_.max_bytes && ring_.size() > 1)) {
    bytes_ -= ring_.front().bytes.size();
    ring_.pop_front();
  }
  return Added::kForward;
}

uint64_t RelayForwarder::oldest() const {
  for (const auto& k : ring_) {
    if (!k.checkpoint) return k.index;
  }
  return head_ + 1;
}

std::optional<std::vector<std::span<const uint8_t>>> RelayForwarder::since(uint64_t after) const {
  std::vector<std::span<const uint8_t>> out;
  if (after >= head_) return out;  // nothing it lacks (or it is ahead: live frames will come)
  if (oldest() > after + 1) return std::nullopt;
  for (const auto& k : ring_) {
    if (k.index > after) out.emplace_back(k.bytes);
  }
  return out;
}

}  // namespace tokencast
