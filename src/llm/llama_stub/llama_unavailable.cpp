// Built instead of src/llm/llama/ when CMake found no llama.cpp (scripts/build-llama was not
// run): --model-file then says how to get it, and everything else works as before.
#include "tokencast/llm/llm.hpp"

namespace tokencast {

bool llama_available() { return false; }

Expected<std::unique_ptr<LlmSource>, std::string> make_llama_source(
    LlamaSourceOptions /*options*/) {
  return unexpected(std::string(
      "this build of tokencast has no llama.cpp: run scripts/build-llama (scripts/setup does), "
      "then configure and build again"));
}

}  // namespace tokencast
