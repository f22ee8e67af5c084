// Reading a small file named on the command line (a system prompt, a CA bundle) without reading
// more than its bound: one byte past it tells "too large" without loading the rest.
#pragma once

#include <cstddef>
#include <string>

#include "tokencast/core/expected.hpp"

namespace tokencast::app {

enum class BoundedReadError { kUnreadable, kTooLarge };

Expected<std::string, BoundedReadError> read_bounded_file(const std::string& path,
                                                          size_t max_bytes);

}  // namespace tokencast::app
