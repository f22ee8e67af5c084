// The OpenAI-compatible chat-completions protocol, without I/O: the request body that asks for a
// streamed answer, and the interpretation of the streamed answer (Server-Sent Events whose data
// are JSON "chat.completion.chunk" objects, ended by "data: [DONE]"). OpenAI, Ollama
// (/v1), llama.cpp's server, vLLM, LM Studio and most gateways speak it.
//
// A stream succeeds when "[DONE]" arrives, or when it ends after a chunk carried a
// finish_reason (some servers omit "[DONE]"). It fails with the provider's own message when
// the provider sends an error object (`data: {"error": {...}}`, an `event: error`, or
// llama.cpp's `error: {...}` line), when a chunk is not JSON or not shaped like a chunk, and
// with "stream ended early" when the body ends before either end marker.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "tokencast/core/events.hpp"
#include "tokencast/core/expected.hpp"
#include "tokencast/llm/sse.hpp"

namespace tokencast {

struct ChatMessage {
  TurnRole role = TurnRole::kUser;  // "user", "assistant" or "system" on the wire
  std::string content;
  bool operator==(const ChatMessage&) const = default;
};

struct ChatRequest {
  std::string model;  // left out of the body when empty (llama.cpp serves its one model)
  std::vector<ChatMessage> messages;
  bool include_usage = false;  // adds "stream_options": {"include_usage": true}
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int64_t> max_tokens;
  std::optional<int64_t> seed;
};

// The JSON body of POST {base}/chat/completions, with "stream": true. Bytes of a message that
// are not valid UTF-8 are replaced by U+FFFD (JSON cannot carry them).
std::string build_chat_request(const ChatRequest& request);

enum class ChatStreamErrc {
  kProviderError = 1,  // the provider reported an error; the message is the provider's
  kMalformedChunk,     // a data chunk is not JSON, or not shaped like a chat.completion.chunk
  kEndedEarly,         // the body ended before "[DONE]" and before any finish_reason
};
const std::error_category& chat_stream_category();
std::error_code make_error_code(ChatStreamErrc e);

struct ChatStreamError {
  std::error_code code;  // a ChatStreamErrc, or an SseError when the framing itself failed
  std::string message;   // for people; the provider's own words for kProviderError
};

// One piece of a streamed answer, in order: its text (choices[0].delta.content), or the model's
// reasoning (delta.reasoning_content: llama.cpp's server, vLLM, DeepSeek; delta.reasoning:
// Ollama's OpenAI endpoint, newer vLLM, OpenRouter). Reasoning is never sent back to the model.
struct ChatDelta {
  std::string text;
  bool thinking = false;
  bool operator==(const ChatDelta&) const = default;
};

struct ChatUsage {
  uint64_t prompt_tokens = 0;
  uint64_t completion_tokens = 0;
  uint64_t total_tokens = 0;
  bool operator==(const ChatUsage&) const = default;
};

// Interprets the body of a streamed chat completion, fed in chunks of any size.
class ChatStreamParser {
 public:
  explicit ChatStreamParser(SseOptions sse = {});

  // Appends every piece completed by `bytes` to `deltas`: per chunk, its reasoning (the first
  // non-empty of delta.reasoning_content and delta.reasoning: servers that send both send the
  // same text twice) and then its non-empty delta.content (role-only, empty, null-content,
  // finish and usage chunks add nothing). A field that is neither a string nor null is a
  // malformed chunk. Once done(), further bytes are ignored. After an error the parser stays
  // failed and returns the same error.
  Expected<void, ChatStreamError> feed(std::string_view bytes, std::vector<ChatDelta>& deltas);
  // The same, keeping the answer's text only (reasoning is dropped).
  Expected<void, ChatStreamError> feed(std::string_view bytes, std::vector<std::string>& deltas);

  // The body has ended. Succeeds when "[DONE]" or a finish_reason was seen; a last event that
  // is not followed by an empty line is still interpreted. Fails with kEndedEarly otherwise.
  Expected<void, ChatStreamError> finish(std::vector<ChatDelta>& deltas);
  Expected<void, ChatStreamError> finish(std::vector<std::string>& deltas);

  bool done() const { return done_; }  // "[DONE]" seen: the caller may stop reading
  const std::optional<std::string>& finish_reason() const { return finish_reason_; }
  const std::optional<ChatUsage>& usage() const { return usage_; }
  const std::string& model() const { return model_; }  // the chunks' "model", if any
  uint64_t chunks() const { return chunks_; }          // data chunks interpreted, [DONE] excluded

 private:
  Expected<void, ChatStreamError> handle(const std::vector<SseEvent>& events,
                                         std::vector<ChatDelta>& deltas);
  Expected<void, ChatStreamError> fail(ChatStreamError error);

  SseParser sse_;
  std::vector<SseEvent> events_;
  std::optional<std::string> finish_reason_;
  std::optional<ChatUsage> usage_;
  std::string model_;
  uint64_t chunks_ = 0;
  bool done_ = false;
  std::optional<ChatStreamError> failed_;
};

// The human-readable message in an error body, whatever the provider's dialect:
// {"error": {"message": ...}} (OpenAI, vLLM), {"error": "..."} (Ollama), {"message": ...}
// (llama.cpp's stream errors), {"detail": ...} (FastAPI servers). When the body is not JSON,
// its first line. Control characters are removed; the result is at most 500 bytes; empty when
// there is nothing to say.
std::string provider_error_message(std::string_view body);

// "HTTP <status>: <provider_error_message(body)>", or "HTTP <status> <reason phrase>" when the
// body says nothing.
std::string describe_http_error(long status, std::string_view body);

// A non-streamed answer (a server that ignored "stream": true and sent one JSON document):
// choices[0].message.content, or the provider's error.
Expected<std::string, ChatStreamError> parse_chat_completion(std::string_view body);

// The model ids of a GET {base}/models answer ({"object": "list", "data": [{"id": ...}, ...]};
// also llama.cpp's extra {"models": [{"model"|"name": ...}]} form). Fails with a description
// when the body is not such a list.
Expected<std::vector<std::string>, std::string> parse_model_list(std::string_view body);

}  // namespace tokencast

template <>
struct std::is_error_code_enum<tokencast::ChatStreamErrc> : std::true_type {};
