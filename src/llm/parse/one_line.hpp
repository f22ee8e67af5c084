// Internal helpers of the OpenAI-compatible stream code (the public API is
// include/tokencast/llm/openai_stream.hpp).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "tokencast/core/events.hpp"

namespace tokencast::openai {

// `text` made fit for one line of a message: control characters become spaces, runs of spaces
// collapse, the ends are trimmed and the result is cut to at most `max_bytes` bytes without
// splitting a UTF-8 sequence.
std::string one_line(std::string_view text, size_t max_bytes);

}  // namespace tokencast::openai
