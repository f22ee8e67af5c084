// Internal: what can be said about a model file before llama.cpp loads it. llama.cpp reports a
// bad file only as a null model and a log line; these checks name the problem (missing, not
// GGUF, truncated, too large for memory) in words a user can act on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tokencast/core/expected.hpp"

namespace tokencast::llm {

struct ModelFileInfo {
  uint64_t file_size = 0;
  std::string architecture;     // general.architecture
  std::string name;             // general.name, may be empty
  uint32_t context_length = 0;  // {arch}.context_length: the training context; 0 if unknown
  // Bytes of key and value cache per token of context: layers x KV heads x (key + value head
  // dimension) x 2 bytes (llama.cpp's default F16 cache). 0 when the metadata does not say.
  uint64_t kv_bytes_per_token = 0;
  uint32_t ctx = 0;       // the context the check counted (the model's own when asked for 0)
  uint64_t kv_bytes = 0;  // kv_bytes_per_token x ctx
};

// MemAvailable from /proc/meminfo, in bytes; nullopt where it cannot be read.
std::optional<uint64_t> available_memory();

// Checks `path` in order: it exists and is a readable regular file; it starts with the GGUF
// magic; its header parses; it holds every byte its tensors need; it names an architecture; it
// and its KV cache for `ctx` tokens (0: the model's training context) fit into `memory` (when
// known): a model larger than the memory available would page from disk for every token, or be
// killed. The error is one line naming the file.
Expected<ModelFileInfo, std::string> check_model_file(const std::string& path,
                                                      std::optional<uint64_t> memory,
                                                      uint32_t ctx = 0);

}  // namespace tokencast::llm
