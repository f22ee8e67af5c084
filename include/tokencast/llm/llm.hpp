// LLM sources: where the host's answers come from. Every source sits behind LlmSource: the host
// starts a turn with the chat history, and the source reports the answer's bytes as they arrive,
// then how it ended. Three sources exist:
//   - make_openai_source: an OpenAI-compatible server (OpenAI, Ollama, llama.cpp, vLLM, ...),
//     POST {base_url}/chat/completions with "stream": true, read as Server-Sent Events (libcurl);
//   - make_exec_source: a command run with /bin/sh -c for every turn; the prompt goes to its
//     stdin, its stdout is the answer;
//   - make_fd_source: the bytes of a file descriptor (stdin) until EOF, as one answer;
//   - make_llama_source: a GGUF model run in this process by llama.cpp (CPU).
// detect_local_server() finds an Ollama or llama.cpp server running on this machine.
// See docs/llm.md.
//
// Reasoning. A reasoning model's thinking reaches on_thinking, apart from its answer: from the
// reasoning fields of a server's stream, and, unless a source's `think_tags` is off, from an
// answer that opens with "<think>...</think>" in its text (every source). It precedes the
// answer's text and is never part of the conversation sent back to a model.
//
// Threading. start() runs the turn on a thread of the source's own, and every callback of that
// turn runs on that thread, one at a time, in order: on_delta and on_thinking zero or more
// times, then exactly
// one of on_done or on_error, unless the turn was cancelled first. Callbacks should return
// quickly (the source reads no further input while one runs), may call cancel(), and must not
// call start() or destroy the source. start() and cancel() may be called from any other thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tokencast/llm/generation.hpp"
#include "tokencast/llm/openai_stream.hpp"

namespace tokencast {

// Why a turn failed, twice: `for_peers` is what everyone watching sees (generic and
// categorized: "the model server refused the request (HTTP 401)"); `detail` is for the host's
// own terminal and log (the provider's message, the redacted URL, the command's stderr). A
// provider's error body can name internal URLs, accounts or quotas, so it never reaches peers.
struct LlmFailure {
  std::string for_peers;
  std::string detail;
};

struct LlmCallbacks {
  // Bytes of the answer, in order. From every source the concatenation of a turn's deltas is
  // valid UTF-8 and each delta ends on a character boundary (the exec and fd sources replace
  // invalid bytes with U+FFFD; JSON strings from a server are valid by construction).
  std::function<void(std::string bytes)> on_delta;
  // The answer is complete. token_count = the pieces (tokens, lines) the source produced for
  // this turn, thinking included.
  std::function<void(uint64_t token_count)> on_done;
  // The turn failed; both texts are one line for people and never contain the API key.
  std::function<void(LlmFailure failure)> on_error;
  // Bytes of the model's reasoning, in order, before the answer's text, with the same UTF-8
  // guarantees; may be empty (thinking is then dropped). Last, so that {on_delta, on_done,
  // on_error} still reads as before.
  std::function<void(std::string bytes)> on_thinking;
};

class LlmSource {
 public:
  virtual ~LlmSource() = default;  // cancels a running turn and waits for its thread

  // Starts a turn. `history` is the whole conversation, oldest first, ending with the prompt
  // to answer. Returns false, and starts nothing, when a turn is still running (neither ended
  // nor cancelled) or when called from one of this source's callbacks. Waits for the thread of
  // a previous, cancelled turn to finish its clean-up (for the exec source: up to kill_grace).
  virtual bool start(std::vector<ChatMessage> history, LlmCallbacks callbacks) = 0;

  // Stops the running turn promptly. When cancel() returns, no callback of that turn is
  // running and none will run any more; the clean-up (closing the connection, killing the
  // command) goes on in the background. Returns true when it stopped a turn whose on_done /
  // on_error had not been called (the host then records the turn as cancelled), false when
  // there was nothing to stop. Called from a callback of the turn, it does not wait.
  virtual bool cancel() = 0;

  // What to show as the answer's author: the model name, or the label given in the options.
  virtual std::string model() const = 0;
};

using Millis = std::chrono::milliseconds;

struct OpenAiSourceOptions {
  std::string base_url;  // e.g. "http://127.0.0.1:11434/v1"; POST {base_url}/chat/completions
  std::string model;     // sent as "model"; may be empty for servers that serve one model
  // Sent as "Authorization: Bearer <api_key>" when not empty. The host takes it from the
  // environment (TOKENCAST_API_KEY, else OPENAI_API_KEY), never from argv; it is never logged
  // or put into an error message.
  std::string api_key;
  Millis connect_timeout{10'000};
  // Fails the turn when no byte arrives for this long, counted from the request on: it covers
  // the wait for the first token too (a local server may load the model first).
  Millis idle_timeout{120'000};
  Millis total_timeout{0};       // the whole turn; 0 = no limit
  bool include_usage = false;    // ask for the usage chunk ("stream_options")
  GenerationOptions generation;  // system prompt, sampling, context budget
  // Sent with every request (parse_header_line made them); their values are never logged. An
  // Authorization header here replaces the one made from api_key.
  std::vector<HeaderLine> headers;
  bool think_tags = true;  // split "<think>...</think>" opening the answer into thinking
  // The server's chat template opens "<think>" in its generation prompt and the server leaves
  // the reasoning in `content` (llama-server --reasoning-format none, a plain gateway): the
  // content starts inside thinking and only "</think>" closes it. With think_tags only.
  bool think_open = false;
};
std::unique_ptr<LlmSource> make_openai_source(OpenAiSourceOptions options);

enum class ExecInput {
  kPrompt,       // the content of the last message of the history, as it is
  kRequestJson,  // the whole history as the JSON body of an OpenAI chat request, one line
};
// Parses "prompt" or "json" (--exec-input); nullopt otherwise.
std::optional<ExecInput> parse_exec_input(std::string_view text);

struct ExecSourceOptions {
  std::string command;  // run as /bin/sh -c <command>, once per turn, in its own process group
  ExecInput input = ExecInput::kPrompt;
  // With kRequestJson: the system prompt, sampling options and context budget of the request.
  // With kPrompt the command gets the last prompt only, so none of them applies.
  GenerationOptions generation;
  std::string label = "exec";  // model(); the command itself is not shown (it may hold secrets)
  Millis kill_grace{2'000};    // after cancel: SIGTERM to the group, then SIGKILL after this
  Millis idle_timeout{0};      // no output for this long fails the turn; 0 = no limit
  bool think_tags = true;      // split "<think>...</think>" opening the answer into thinking
};
std::unique_ptr<LlmSource> make_exec_source(ExecSourceOptions options);

struct FdSourceOptions {
  int fd = 0;  // read until EOF; the first turn gets it all
  bool close_on_destroy = false;
  std::string label = "stdin";  // model()
  bool think_tags = true;       // split "<think>...</think>" opening the answer into thinking
};
// Later turns, once EOF was reached, fail with "the input has ended". A cancelled turn leaves
// the rest of the input for the next turn.
std::unique_ptr<LlmSource> make_fd_source(FdSourceOptions options);

struct LlamaSourceOptions {
  std::string model_file;  // a .gguf file
  // Context size in tokens (prompt and answer); 0 = the model's training context. The oldest
  // messages of a conversation that does not fit are left out.
  uint32_t ctx = 4096;
  int threads = 0;  // generation threads; 0 = every core of this machine
  // System prompt, context budget, and sampling: temperature (0 = greedy; unset 0.8), top_p
  // (unset 0.95), seed (unset: random), max_tokens (unset: until the model stops or ctx).
  GenerationOptions generation;
  std::string label;       // model(); empty: the model's general.name, else the file's name
  bool verbose = false;    // llama.cpp's own log to stderr (else silent)
  bool think_tags = true;  // split "<think>...</think>" opening the answer into thinking
};
// True when this build has llama.cpp (scripts/build-llama ran before CMake configured it).
bool llama_available();
// Loads the model before returning (seconds for a large file), so that every problem with the
// file is reported here, in one line: missing or unreadable, not GGUF, truncated, an
// architecture llama.cpp does not support, too large (with its KV cache for `ctx`) for this
// machine's available memory.
Expected<std::unique_ptr<LlmSource>, std::string> make_llama_source(LlamaSourceOptions options);

// An OpenAI-compatible server found on this machine.
struct DetectedServer {
  std::string name;      // "ollama" or "llama.cpp" (the candidate's name)
  std::string base_url;  // e.g. "http://127.0.0.1:11434/v1"
  std::string model;     // the first model id of its list that is not an embedding model
  std::vector<std::string> models;
};

struct ProbeCandidate {
  std::string name;
  std::string base_url;
};
// Ollama (http://127.0.0.1:11434/v1), then llama.cpp's server (http://127.0.0.1:8080/v1).
std::vector<ProbeCandidate> default_probe_candidates();

// Probes every candidate at once with GET {base_url}/models (no credentials) and returns the
// first candidate, in list order, that answered 200 with a model that can chat (not only
// embedding models: first_chat_model); nullopt when
// none did within `timeout`. Blocks for at most about `timeout`.
std::optional<DetectedServer> detect_local_server(
    Millis timeout = Millis{800},
    const std::vector<ProbeCandidate>& candidates = default_probe_candidates());

// GET {base_url}/models with the key (if any): the model ids, or one line saying why not.
Expected<std::vector<std::string>, std::string> list_models(const std::string& base_url,
                                                            const std::string& api_key,
                                                            Millis timeout = Millis{5'000});

// Reads the API key from the environment: TOKENCAST_API_KEY, else OPENAI_API_KEY, else empty.
std::string api_key_from_environment();

}  // namespace tokencast
