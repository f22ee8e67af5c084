// Internal: turns a byte stream into valid UTF-8 incrementally, so that sources that read raw
// bytes (a command's stdout, stdin) deliver deltas that each end on a character boundary and
// together form valid UTF-8. Invalid bytes become U+FFFD, one per maximal invalid subpart, as
// the WHATWG Encoding standard's UTF-8 decoder does.
#pragma once

#include <string>
#include <string_view>

namespace tokencast::llm {

class Utf8Sanitizer {
 public:
  // Returns the bytes that are complete so far; an incomplete sequence at the end (at most
  // three bytes) is held back for the next call.
  std::string push(std::string_view bytes);
  // End of input: a held incomplete sequence becomes U+FFFD.
  std::string finish();

 private:
  std::string held_;
};

// The whole of `bytes` made valid (push + finish).
std::string sanitize_utf8(std::string_view bytes);

}  // namespace tokencast::llm
