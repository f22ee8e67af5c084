// The llama source: a GGUF model run in this process by llama.cpp (CPU). One model and one
// context per source, used only by the turn's worker thread (ThreadedSource runs one turn at a
// time). A turn formats the conversation with the model's chat template, evaluates the prompt
// (reusing the context's cache for the prefix it shares with the previous turn's tokens) and
// samples token by token, each token's text passed on as soon as it completes a character.
#include <ggml-cpu.h>
#include <llama.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string_view>
#include <thread>

#include "llama_preflight.hpp"
#include "llama_runtime.hpp"
#include "tokencast/core/text.hpp"
#include "turn.hpp"

namespace tokencast {
namespace {

using llm::Turn;

struct ModelFree {
  void operator()(llama_model* model) const { llama_model_free(model); }
};
struct ContextFree {
  void operator()(llama_context* context) const { llama_free(context); }
};
struct SamplerFree {
  void operator()(llama_sampler* sampler) const { llama_sampler_free(sampler); }
};
struct ThreadpoolFree {
  void operator()(ggml_threadpool* pool) const { ggml_threadpool_free(pool); }
};
using ModelPtr = std::unique_ptr<llama_model, ModelFree>;
using ThreadpoolPtr = std::unique_ptr<ggml_threadpool, ThreadpoolFree>;
using ContextPtr = std::unique_ptr<llama_context, ContextFree>;
using SamplerPtr = std::unique_ptr<llama_sampler, SamplerFree>;

// Room kept free in the context for the answer when the conversation is trimmed to fit.
constexpr uint32_t kAnswerReserve = 256;

const char* role_name(TurnRole role) {
  switch (role) {
    case TurnRole::kSystem:
      return "system";
    case TurnRole::kAssistant:
      return "assistant";
    case TurnRole::kUser:
      break;
  }
  return "user";
}

// llama.cpp calls this between the graph's computations: a cancelled turn stops its prompt's
// evaluation without waiting for the whole batch.
bool abort_when_cancelled(void* data) { return static_cast<const Turn*>(data)->cancelled(); }

class LlamaSource final : public llm::ThreadedSource {
 public:
  LlamaSource(LlamaSourceOptions options, ModelPtr model, ThreadpoolPtr threads, ContextPtr context,
              std::string label)
      : ThreadedSource(options.think_tags),
        options_(std::move(options)),
        model_(std::move(model)),
        threads_(std::move(threads)),
        context_(std::move(context)),
        vocab_(llama_model_get_vocab(model_.get())),
        label_(std::move(label)) {
    if (const char* from_model = llama_model_chat_template(model_.get(), nullptr)) {
      chat_template_ = from_model;
    }
  }
  ~LlamaSource() override { shutdown(); }
  LlamaSource(const LlamaSource&) = delete;
  LlamaSource& operator=(const LlamaSource&) = delete;

  std::string model() const override { return label_; }

 protected:
  void run(std::vector<ChatMessage> history, Turn& turn) override;

 private:
  Expected<std::string, std::string> format(const std::vector<ChatMessage>& messages) const;
  Expected<std::vector<llama_token>, std::string> tokenize(const std::string& text) const;
  struct Prompt {
    std::vector<llama_token> tokens;
    bool opens_thinking = false;  // the template's generation prompt ends with "<think>"
  };
  Expected<Prompt, std::string> prompt_tokens(std::vector<ChatMessage> history);
  bool evaluate(const std::vector<llama_token>& tokens, Turn& turn);
  SamplerPtr make_sampler() const;
  void generate(Turn& turn);

  const LlamaSourceOptions options_;
  ModelPtr model_;
  ThreadpoolPtr threads_;  // outlives the context that uses it
  ContextPtr context_;
  const llama_vocab* vocab_;
  const std::string label_;
  std::string chat_template_;        // the model's, or empty: then chatml
  std::vector<llama_token> cached_;  // the tokens whose keys and values the context holds
};

// The prompt text by the model's chat template. llama_chat_apply_template knows the common
// templates by their text (not a Jinja engine); a model whose template it does not recognise,
// or that has none, gets ChatML, which most instruction-tuned models understand.
Expected<std::string, std::string> LlamaSource::format(
    const std::vector<ChatMessage>& messages) const {
  std::vector<llama_chat_message> chat;
  chat.reserve(messages.size());
  size_t bytes = 0;
  for (const auto& message : messages) {
    chat.push_back({role_name(message.role), message.content.c_str()});
    bytes += message.content.size();
  }
  std::string out(2 * bytes + 1024, '\0');
  for (const char* tmpl : {chat_template_.empty() ? "chatml" : chat_template_.c_str(), "chatml"}) {
    int32_t n = llama_chat_apply_template(tmpl, chat.data(), chat.size(), true, out.data(),
                                          static_cast<int32_t>(out.size()));
    if (n > static_cast<int32_t>(out.size())) {
      out.resize(static_cast<size_t>(n));
      n = llama_chat_apply_template(tmpl, chat.data(), chat.size(), true, out.data(),
                                    static_cast<int32_t>(out.size()));
    }
    if (n >= 0) {
      out.resize(static_cast<size_t>(n));
      return out;
    }
  }
  return unexpected(std::string("the chat template could not be applied"));
}

Expected<std::vector<llama_token>, std::string> LlamaSource::tokenize(
    const std::string& text) const {
  // The template may write the BOS token itself; adding another would confuse the model.
  bool add_special = true;
  if (llama_vocab_get_add_bos(vocab_)) {
    const char* bos = llama_vocab_get_text(vocab_, llama_vocab_bos(vocab_));
    if (bos && *bos && text.starts_with(bos)) add_special = false;
  }
  if (text.size() > static_cast<size_t>(INT32_MAX / 2)) {
    return unexpected(std::string("the conversation is too long"));
  }
  auto length = static_cast<int32_t>(text.size());
  std::vector<llama_token> tokens(text.size() / 2 + 16);
  int32_t n = llama_tokenize(vocab_, text.data(), length, tokens.data(),
                             static_cast<int32_t>(tokens.size()), add_special, true);
  if (n < 0 && n != INT32_MIN) {
    tokens.resize(static_cast<size_t>(-n));
    n = llama_tokenize(vocab_, text.data(), length, tokens.data(),
                       static_cast<int32_t>(tokens.size()), add_special, true);
  }
  if (n < 0) return unexpected(std::string("the conversation could not be tokenized"));
  tokens.resize(static_cast<size_t>(n));
  return tokens;
}

// A template that opens the reasoning block itself (Bailing-think, DeepSeek-R1's later ones)
// ends its generation prompt with "<think>": the model's output then starts inside thinking.
bool prompt_opens_thinking(std::string_view prompt) {
  constexpr std::string_view kOpen = "<think>";
  const size_t end = prompt.find_last_not_of(" \t\r\n");
  return end != std::string_view::npos && prompt.substr(0, end + 1).ends_with(kOpen);
}

// The conversation's tokens, leaving out its oldest messages (after a leading system message)
// until it fits the context with room for an answer.
Expected<LlamaSource::Prompt, std::string> LlamaSource::prompt_tokens(
    std::vector<ChatMessage> history) {
  uint32_t n_ctx = llama_n_ctx(context_.get());
  uint32_t budget = n_ctx > 2 * kAnswerReserve ? n_ctx - kAnswerReserve : n_ctx / 2;
  size_t first = !history.empty() && history.front().role == TurnRole::kSystem ? 1 : 0;
  for (;;) {
    auto text = format(history);
    if (!text) return unexpected(text.error());
    auto tokens = tokenize(*text);
    if (!tokens) return unexpected(tokens.error());
    if (tokens->size() <= budget) return Prompt{std::move(*tokens), prompt_opens_thinking(*text)};
    if (history.size() <= first + 1) {
      return unexpected("the prompt (" + std::to_string(tokens->size()) +
                        " tokens) does not fit the model's context (" + std::to_string(n_ctx) +
                        " tokens, --ctx)");
    }
    history.erase(history.begin() + static_cast<std::ptrdiff_t>(first));
    // A conversation continues with a user message, never an answer to a prompt left out.
    while (history.size() > first + 1 && history[first].role != TurnRole::kUser) {
      history.erase(history.begin() + static_cast<std::ptrdiff_t>(first));
    }
  }
}

// Brings the context to `tokens`: keeps the prefix it already holds, evaluates the rest in
// batches. False when cancelled or failed (the turn is told; the cache is then forgotten).
bool LlamaSource::evaluate(const std::vector<llama_token>& tokens, Turn& turn) {
  size_t common = 0;
  while (common < cached_.size() && common < tokens.size() && cached_[common] == tokens[common]) {
    ++common;
  }
  if (common == tokens.size() && common > 0) --common;  // the last one is evaluated for logits
  llama_memory_t memory = llama_get_memory(context_.get());
  if (!llama_memory_seq_rm(memory, 0, static_cast<llama_pos>(common), -1)) {
    llama_memory_clear(memory, true);
    common = 0;
  }
  cached_.resize(common);

  size_t batch_size = std::max<uint32_t>(1, llama_n_batch(context_.get()));
  for (size_t at = common; at < tokens.size(); at += batch_size) {
    if (turn.cancelled()) return false;
    size_t count = std::min(batch_size, tokens.size() - at);
    std::vector<llama_token> piece(tokens.begin() + static_cast<std::ptrdiff_t>(at),
                                   tokens.begin() + static_cast<std::ptrdiff_t>(at + count));
    int32_t status = llama_decode(context_.get(),
                                  llama_batch_get_one(piece.data(), static_cast<int32_t>(count)));
    if (status != 0) {
      llama_memory_clear(memory, true);
      cached_.clear();
      if (!turn.cancelled()) {
        std::string why = llm::llama_take_first_error();
        turn.fail(LlmFailure{"the model failed",
                             "llama.cpp could not evaluate the prompt (status " +
                                 std::to_string(status) + (why.empty() ? ")" : "): " + why)});
      }
      return false;
    }
    cached_.insert(cached_.end(), piece.begin(), piece.end());
  }
  return true;
}

SamplerPtr LlamaSource::make_sampler() const {
  SamplerPtr chain(llama_sampler_chain_init(llama_sampler_chain_default_params()));
  const GenerationOptions& generation = options_.generation;
  double temperature = generation.temperature.value_or(0.8);
  if (temperature <= 0) {
    llama_sampler_chain_add(chain.get(), llama_sampler_init_greedy());
    return chain;
  }
  llama_sampler_chain_add(chain.get(), llama_sampler_init_top_k(40));
  llama_sampler_chain_add(chain.get(), llama_sampler_init_top_p(
                                           static_cast<float>(generation.top_p.value_or(0.95)), 1));
  llama_sampler_chain_add(chain.get(), llama_sampler_init_min_p(0.05f, 1));
  llama_sampler_chain_add(chain.get(), llama_sampler_init_temp(static_cast<float>(temperature)));
  llama_sampler_chain_add(
      chain.get(), llama_sampler_init_dist(generation.seed ? static_cast<uint32_t>(*generation.seed)
                                                           : LLAMA_DEFAULT_SEED));
  return chain;
}

// Samples until an end-of-generation token, max_tokens, a full context or a cancel. A token's
// text may end inside a UTF-8 character (byte tokens, pieces of emoji): Utf8Repair holds the
// incomplete tail until the next token completes it, so every delta ends on a boundary.
void LlamaSource::generate(Turn& turn) {
  SamplerPtr sampler = make_sampler();
  Utf8Repair utf8;
  uint32_t n_ctx = llama_n_ctx(context_.get());
  int64_t sampled = 0;
  std::string piece(256, '\0');
  for (;;) {
    if (turn.cancelled()) return;
    llama_token token = llama_sampler_sample(sampler.get(), context_.get(), -1);
    if (llama_vocab_is_eog(vocab_, token)) break;
    int32_t n = llama_token_to_piece(vocab_, token, piece.data(),
                                     static_cast<int32_t>(piece.size()), 0, false);
    if (n < 0) {
      piece.resize(static_cast<size_t>(-n));
      n = llama_token_to_piece(vocab_, token, piece.data(), static_cast<int32_t>(piece.size()), 0,
                               false);
    }
    if (n > 0) {
      std::string text = utf8.push(std::string_view(piece.data(), static_cast<size_t>(n)));
      if (!text.empty()) turn.delta(std::move(text));
    }
    ++sampled;
    if (options_.generation.max_tokens && sampled >= *options_.generation.max_tokens) break;
    if (cached_.size() + 1 >= n_ctx) break;  // the context is full: the answer ends here
    if (turn.cancelled()) return;
    int32_t status = llama_decode(context_.get(), llama_batch_get_one(&token, 1));
    if (status != 0) {
      llama_memory_clear(llama_get_memory(context_.get()), true);
      cached_.clear();
      if (turn.cancelled()) return;
      turn.fail(LlmFailure{"the model failed", "llama.cpp could not evaluate a token (status " +
                                                   std::to_string(status) + ")"});
      return;
    }
    cached_.push_back(token);
  }
  std::string rest = utf8.finish();
  if (!rest.empty()) turn.delta(std::move(rest));
  turn.done();
}

void LlamaSource::run(std::vector<ChatMessage> history, Turn& turn) {
  llama_set_abort_callback(context_.get(), abort_when_cancelled, &turn);
  struct Detach {
    llama_context* context;
    ~Detach() { llama_set_abort_callback(context, nullptr, nullptr); }
  } detach{context_.get()};

  // The system prompt, the --ctx-tokens budget and no two prompts in a row, as every source;
  // then what still does not fit this context is cut by its real token count.
  auto prompt = prompt_tokens(prepare_messages(std::move(history), options_.generation));
  if (!prompt) {
    turn.fail(LlmFailure{"the prompt does not fit the model", prompt.error()});
    return;
  }
  if (prompt->opens_thinking) turn.open_thinking();
  if (!evaluate(prompt->tokens, turn)) return;
  generate(turn);
}

}  // namespace

bool llama_available() { return true; }

Expected<std::unique_ptr<LlmSource>, std::string> make_llama_source(LlamaSourceOptions options) {
  llm::llama_runtime_init(options.verbose);
  auto info = llm::check_model_file(options.model_file, llm::available_memory(), options.ctx);
  if (!info) return unexpected(info.error());

  llama_model_params model_params = llama_model_default_params();
  model_params.n_gpu_layers = 0;
  llm::llama_take_errors();
  ModelPtr model(llama_model_load_from_file(options.model_file.c_str(), model_params));
  if (!model) {
    auto errors = llm::llama_take_errors();
    std::string why = errors.empty() ? std::string() : errors.front();
    bool unknown = std::any_of(errors.begin(), errors.end(), [](const std::string& error) {
      return error.find("unknown model architecture") != std::string::npos;
    });
    if (unknown) {
      return unexpected(options.model_file +
                        ": this build of llama.cpp does not support the model "
                        "architecture '" +
                        info->architecture + "'");
    }
    return unexpected("llama.cpp could not load " + options.model_file +
                      (why.empty() ? std::string() : ": " + why));
  }

  int threads = options.threads > 0
                    ? options.threads
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  llama_context_params context_params = llama_context_default_params();
  context_params.n_ctx = options.ctx;
  context_params.n_batch = options.ctx > 0 ? std::min<uint32_t>(options.ctx, 2048) : 2048;
  context_params.n_threads = threads;
  context_params.n_threads_batch = threads;
  context_params.no_perf = true;
  ContextPtr context(llama_init_from_model(model.get(), context_params));
  if (!context) {
    std::string why = llm::llama_take_first_error();
    return unexpected("llama.cpp could not create a context of " + std::to_string(options.ctx) +
                      " tokens for " + options.model_file +
                      (why.empty() ? std::string() : ": " + why));
  }

  // Without a thread pool of its own, every evaluation would start and join its threads: for
  // one token of a small model that costs more than the computation (llama-server keeps one).
  ggml_threadpool_params pool_params = ggml_threadpool_params_default(threads);
  ThreadpoolPtr pool(ggml_threadpool_new(&pool_params));
  if (pool) llama_attach_threadpool(context.get(), pool.get(), nullptr);

  std::string label = options.label;
  if (label.empty()) label = info->name;
  if (label.empty()) label = std::filesystem::path(options.model_file).stem().string();
  return std::unique_ptr<LlmSource>(std::make_unique<LlamaSource>(
      std::move(options), std::move(model), std::move(pool), std::move(context), std::move(label)));
}

}  // namespace tokencast
