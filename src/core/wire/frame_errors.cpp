// FrameError's std::error_category.
#include <string>

#include "tokencast/core/frame.hpp"

namespace tokencast {
namespace {

const char* describe(FrameError e) {
  switch (e) {
    case FrameError::kTruncated:
      return "frame truncated";
    case FrameError::kOversized:
      return "frame larger than 16384 bytes";
    case FrameError::kUnknownVersion:
      return "unknown protocol version";
    case FrameError::kUnknownFrameType:
      return "unknown frame type";
    case FrameError::kUnknownEventType:
      return "unknown event type";
    case FrameError::kBadVarint:
      return "non-canonical or over-64-bit varint";
    case FrameError::kTrailingBytes:
      return "trailing bytes after the last field";
    case FrameError::kSequenceGap:
      return "events do not continue the last sequence held";
    case FrameError::kStringTooLong:
      return "label longer than 1024 bytes";
    case FrameError::kBadEnum:
      return "enum value out of range";
    case FrameError::kInvalidUtf8:
      return "text is not valid UTF-8";
    case FrameError::kEmptyBatch:
      return "events frame with no events";
    case FrameError::kBadSpan:
      return "invalid event span";
    case FrameError::kBadSequence:
      return "sequence 0 or beyond 2^64-1";
    case FrameError::kUnexpectedFrame:
      return "frame not allowed in this direction";
    case FrameError::kNoOpenTurn:
      return "turn event while no turn is open";
    case FrameError::kTurnMismatch:
      return "turn event for a turn that is not open";
    case FrameError::kTurnAlreadyOpen:
      return "turn started while another is open";
  }
  return "unknown frame error";
}

class FrameCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tokencast.frame"; }
  std::string message(int value) const override { return describe(static_cast<FrameError>(value)); }
};

}  // namespace

const std::error_category& frame_category() {
  static const FrameCategory category;
  return category;
}

std::error_code make_error_code(FrameError e) { return {static_cast<int>(e), frame_category()}; }

const char* frame_error_name(FrameError e) {
  switch (e) {
    case FrameError::kTruncated:
      return "truncated";
    case FrameError::kOversized:
      return "oversized";
    case FrameError::kUnknownVersion:
      return "unknown_version";
    case FrameError::kUnknownFrameType:
      return "unknown_frame_type";
    case FrameError::kUnknownEventType:
      return "unknown_event_type";
    case FrameError::kBadVarint:
      return "bad_varint";
    case FrameError::kTrailingBytes:
      return "trailing_bytes";
    case FrameError::kSequenceGap:
      return "sequence_gap";
    case FrameError::kStringTooLong:
      return "string_too_long";
    case FrameError::kBadEnum:
      return "bad_enum";
    case FrameError::kInvalidUtf8:
      return "invalid_utf8";
    case FrameError::kEmptyBatch:
      return "empty_batch";
    case FrameError::kBadSpan:
      return "bad_span";
    case FrameError::kBadSequence:
      return "bad_sequence";
    case FrameError::kUnexpectedFrame:
      return "unexpected_frame";
    case FrameError::kNoOpenTurn:
      return "no_open_turn";
    case FrameError::kTurnMismatch:
      return "turn_mismatch";
    case FrameError::kTurnAlreadyOpen:
      return "turn_already_open";
  }
  return "unknown";
}

}  // namespace tokencast
