// An incremental, sans-I/O parser for Server-Sent Events (the text/event-stream format of the
// WHATWG HTML standard, section "Server-sent events"). Feed it the bytes of a response body in
// chunks of any size, split anywhere (inside a field, inside a CRLF, inside the BOM); it returns
// every event completed so far. It does no I/O and keeps no clock.
//
// What it implements, as the standard says:
//  - lines end with CRLF, LF or CR, mixed freely; one UTF-8 BOM at the very start is dropped;
//  - a line starting with ':' is a comment and is ignored;
//  - "field: value" (one space after the colon is removed), "field:value" and "field" alone
//    (empty value); unknown fields are ignored;
//  - "data" lines append to the event's data, joined with '\n' (no trailing '\n');
//  - "event" sets the event's name ("message" when none was given);
//  - "id" sets the last event id, which persists across events; an id containing NUL is ignored;
//  - "retry" with only ASCII digits sets the reconnection time;
//  - an empty line dispatches the event; an event with no "data" line is not dispatched (its
//    name is reset), as in the standard.
// Bytes are passed through as they are: the parser neither validates nor repairs UTF-8.
//
// One opt-in extension (SseOptions::error_field_as_event): llama.cpp's server reports a failure
// inside a stream as a line "error: {json}" rather than "event: error" + "data: {json}". With
// the option, an "error" field sets the event type to "error" and appends its value to the data,
// so that such a line followed by an empty line is dispatched as an "error" event.
//
// Memory is bounded: a line longer than SseOptions::max_line_bytes fails with kLineTooLong and
// an event whose data, name and id together exceed max_event_bytes fails with kEventTooLarge,
// as soon as the limit is crossed (before the line or event ends). After an error the parser
// stays failed and returns the same error from every call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "tokencast/core/expected.hpp"

namespace tokencast {

enum class SseError {
  kLineTooLong = 1,  // one line (without its terminator) exceeded SseOptions::max_line_bytes
  kEventTooLarge,    // one event (data + name + id) exceeded SseOptions::max_event_bytes
  kTruncated,        // finish(): the stream ended inside a line or an event
};
const std::error_category& sse_category();
std::error_code make_error_code(SseError e);

struct SseEvent {
  std::string type = "message";  // the "event" field, "message" when absent or empty
  std::string data;              // "data" lines joined with '\n'
  std::string id;                // the last event id when this event was dispatched
  bool operator==(const SseEvent&) const = default;
};

struct SseOptions {
  size_t max_line_bytes = size_t{1} << 20;   // 1 MiB
  size_t max_event_bytes = size_t{4} << 20;  // 4 MiB
  bool error_field_as_event = false;         // see above (llama.cpp's "error:" lines)
};

class SseParser {
 public:
  explicit SseParser(SseOptions options = {});

  // Parses `bytes` and appends every event completed by them to `out` (events completed before
  // an error in the same call are appended too). Fails with kLineTooLong or kEventTooLarge.
  Expected<void, std::error_code> feed(std::string_view bytes, std::vector<SseEvent>& out);

  // The body has ended. The standard discards an event that is not followed by an empty line;
  // so does finish(), returning kTruncated when anything was pending (a partial line other than
  // a lone trailing CR, or fields of an undispatched event). With `dispatch_pending` the pending
  // line is ended and the pending event dispatched into `out` instead (lenient mode for servers
  // that close the stream right after the last line), and kTruncated is still returned when
  // something was pending, so the caller knows. Call it once: afterwards feed() and finish()
  // fail with kTruncated.
  Expected<void, std::error_code> finish(std::vector<SseEvent>& out, bool dispatch_pending = false);

  const std::string& last_event_id() const { return last_id_; }
  std::optional<uint64_t> retry_ms() const { return retry_ms_; }
  // Bytes consumed so far, including the BOM and line terminators.
  uint64_t bytes_consumed() const { return consumed_; }

 private:
  std::error_code take_bytes(std::string_view bytes, std::vector<SseEvent>& out);
  std::error_code process_line(std::string_view line, std::vector<SseEvent>& out);
  std::error_code append_to_line(std::string_view part);
  void dispatch(std::vector<SseEvent>& out);
  size_t event_size() const { return data_.size() + type_.size() + id_.size(); }

  SseOptions limits_;
  std::string line_;      // the partial line carried over from earlier chunks
  std::string data_;      // data buffer of the pending event ('\n' after each data line)
  std::string type_;      // event type buffer of the pending event
  std::string id_;        // last event id buffer (persists across events)
  std::string last_id_;   // last event id of the last dispatched event
  std::string bom_seen_;  // bytes at the start of the stream that may still be a BOM
  std::optional<uint64_t> retry_ms_;
  uint64_t consumed_ = 0;
  bool bom_checked_ = false;
  bool after_cr_ = false;       // the previous chunk ended in CR: skip one LF
  bool event_pending_ = false;  // a field of the pending event was seen since the last dispatch
  std::error_code failed_;
};

}  // namespace tokencast

template <>
struct std::is_error_code_enum<tokencast::SseError> : std::true_type {};
