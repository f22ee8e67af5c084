// Pieces of the frame codec shared by the encoder, the decoder, the session log, the catch-up
// planner and the outbound queue. Internal to the core.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "tokencast/core/events.hpp"
#include "tokencast/core/frame.hpp"

namespace tokencast::codec {

// A field value that no frame may carry. The log and the codec check the same rules and map a
// defect to their own error enum.
enum class ValueDefect { kNone, kStringTooLong, kInvalidUtf8, kBadEnum };

// A label: at most kMaxLabelBytes of valid UTF-8.
ValueDefect check_label(std::string_view text);
// Labels and enum values of an event body (not the delta size: frames and the log bound it
// differently).
ValueDefect check_event_values(const EventBody& body);
FrameError to_frame_error(ValueDefect defect);
// The introduction frames' fields (frame.hpp): a length outside its bounds (empty where a
// value is required, or over the limit) is kStringTooLong, a byte outside the field's
// character set (NUL in an SDP, invalid UTF-8, non-printable ASCII) kInvalidUtf8.
ValueDefect check_relay_sdp(std::string_view sdp);
ValueDefect check_relay_mid(std::string_view mid);
ValueDefect check_relay_candidate(std::string_view candidate);

// The turn rules that keep a log well formed: one open turn at a time, deltas and the end only
// for the open turn. Checked by SessionLog::append and by FrameDecoder on the client.
enum class TurnRule { kOk, kAlreadyOpen, kNoOpenTurn, kMismatch };
TurnRule check_turn_rule(const std::optional<TurnId>& open, const EventBody& body);
// Updates the open turn after body was accepted.
void apply_turn_rule(std::optional<TurnId>& open, const EventBody& body);

// Appends one event as it appears inside an events frame (type byte, then fields), without
// validation: callers pass validated events.
void write_event(FrameBytes& out, const Event& event);
// Bytes write_event() spends on event.
size_t event_size(const Event& event);
// Bytes write_event() spends on a TextDelta or ThinkingDelta with these fields.
size_t delta_event_size(TurnId turn, Seq span, size_t text_bytes);
// Bytes an events frame spends before its first event.
size_t events_header_size(Seq first_seq, size_t count);
// Appends an events frame header (type byte, first sequence, count).
void write_events_header(FrameBytes& out, Seq first_seq, size_t count);

}  // namespace tokencast::codec
