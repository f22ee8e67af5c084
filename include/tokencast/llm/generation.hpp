// What the host asks of the model beyond the conversation: a system prompt, sampling options,
// a context budget in tokens, and extra HTTP headers for providers that need them. Pure (no
// I/O): the sources apply these to every turn's request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokencast/core/expected.hpp"
#include "tokencast/llm/openai_stream.hpp"

namespace tokencast {

struct GenerationOptions {
  std::string system_prompt;  // sent first, as a "system" message, when not empty
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int64_t> max_tokens;
  std::optional<int64_t> seed;
  // The conversation sent to the model is cut, oldest turns first, to this many tokens (the
  // system prompt and the prompt being answered always stay). 0 = no budget.
  size_t context_tokens = 0;
};

// Largest system prompt accepted (from --system or its @FILE).
inline constexpr size_t kMaxSystemPromptBytes = size_t{64} * 1024;

// Copies the sampling options (temperature, top_p, max_tokens, seed) into a request.
void apply_sampling(const GenerationOptions& options, ChatRequest& request);

// Tokens a text costs, estimated without the model's tokenizer: one per 3 bytes, rounded up.
// English runs about 4 bytes per token and CJK about 3, so the estimate errs on the side of
// sending less, never more than the budget.
size_t estimate_tokens(std::string_view text);

// The messages a turn sends: `history` (oldest first, ending with the prompt to answer) cut to
// options.context_tokens, then the system prompt in front. A user message directly followed by
// another user message (its answer failed or was empty, so the history left it out) is dropped:
// models answer the last of two prompts in a row badly, and the failed one was already tried.
std::vector<ChatMessage> prepare_messages(std::vector<ChatMessage> history,
                                          const GenerationOptions& options);

// True for a model id that names an embedding or reranking model (nomic-embed-text,
// text-embedding-3-small, bge-m3, all-minilm, ...): such a model cannot chat, so picking a
// server's model skips it. Servers' model lists carry no capabilities, so this reads the name.
bool looks_like_embedding_model(std::string_view model_id);

// The model to chat with from a server's list: the first that is not an embedding model, or
// nullopt when every one is (or the list is empty).
std::optional<std::string> first_chat_model(const std::vector<std::string>& model_ids);

// One extra request header, "Name: value". The name is an HTTP token; the value has no control
// characters. `${VAR}` anywhere in the value is replaced by the environment variable VAR (read
// through `lookup`, which returns nullopt for an unset variable), so secrets stay out of argv.
// Host, Content-Length, Content-Type, Accept, Transfer-Encoding, Connection and Expect are
// refused: the source sets them itself. Errors are messages for people that never contain
// the value.
struct HeaderLine {
  std::string name;
  std::string value;
};
inline constexpr size_t kMaxHeaderLineBytes = size_t{8} * 1024;
Expected<HeaderLine, std::string> parse_header_line(
    std::string_view text,
    const std::function<std::optional<std::string>(std::string_view)>& lookup);

}  // namespace tokencast
