// Internal: llama.cpp's process-wide state, set up once. llama.cpp logs through one global
// callback; ours drops everything unless a source asked for --verbose, and keeps the last error
// it logged, because a failed load returns only a null pointer and says why in its log.
#pragma once

#include <string>
#include <vector>

namespace tokencast::llm {

// Initializes the backend (once per process) and routes llama.cpp's log. `verbose` adds the log
// to stderr from now on; it is never turned off again (another source may want it).
void llama_runtime_init(bool verbose);

// What llama.cpp logged as errors or warnings since the last call (the last 8, each one line,
// bounded, valid UTF-8), oldest first, and forgets them. The first is usually the cause; the
// last, the function that gave up.
std::vector<std::string> llama_take_errors();

// The first of llama_take_errors(), or "".
std::string llama_take_first_error();

}  // namespace tokencast::llm
