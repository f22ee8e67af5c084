// Reading a small file named on the command line (a system prompt, a CA bundle) without reading
// more than its bound: one byte past it tells "too large" without loading the rest.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "tokencast/core/expected.hpp"

namespace tokencast::app {

enum class BoundedReadError { kUnreadable, kTooLarge };

Expected<std::string, BoundedReadError> read_bounded_file(const std::string& path,
                                                          size_t max_bytes);

// A secret (a TURN secret, a NATS token): from `file` (at most 4096 bytes, trailing newlines
// dropped), else the environment variable `env_name`; never from argv. nullopt: unreadable,
// too large, or neither given.
std::optional<std::string> read_secret(const std::string& file, const char* env_name);

}  // namespace tokencast::app
