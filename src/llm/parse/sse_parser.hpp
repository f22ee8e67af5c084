// Internal pieces of the SSE parser (the public API is include/tokencast/llm/sse.hpp).
#pragma once

#include <string_view>

namespace tokencast::sse {

// One non-empty, non-comment line of an event stream split into its field name and value:
// "name: value" (one leading space of the value removed), "name:value", or "name" alone.
struct Field {
  std::string_view name;
  std::string_view value;
};
Field split_field(std::string_view line);

// True when `text` is one or more ASCII digits (what the "retry" field accepts).
bool all_ascii_digits(std::string_view text);

}  // namespace tokencast::sse
