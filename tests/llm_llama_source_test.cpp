// The in-process llama.cpp source with a tiny model the build writes (random weights, LLaMA's
// real SentencePiece tokenizer: tests/support/make_tiny_gguf.py), and with broken model files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "llama/llama_preflight.hpp"
#include "support/llm_turn_log.hpp"
#include "support/temp_dir.hpp"
#include "tokencast/core/text.hpp"
#include "tokencast/llm/llm.hpp"

using namespace std::chrono_literals;
using tokencast::ChatMessage;
using tokencast::LlamaSourceOptions;
using tokencast::LlmSource;
using tokencast::TurnRole;
using tokencast::testing::TempDir;
using tokencast::testing::TurnLog;

namespace {

LlamaSourceOptions tiny_options() {
  LlamaSourceOptions options;
  options.model_file = TOKENCAST_TINY_MODEL;
  options.ctx = 512;
  options.threads = 1;
  options.generation.temperature = 1.0;
  options.generation.seed = 16;
  return options;
}

std::vector<ChatMessage> prompt(const std::string& text) {
  return {ChatMessage{TurnRole::kSystem, "You are tiny."}, ChatMessage{TurnRole::kUser, text}};
}

bool is_utf8_boundary_at_end(const std::string& bytes) {
  return tokencast::to_valid_utf8(bytes) == bytes;
}

std::string load_error(LlamaSourceOptions options) {
  auto source = tokencast::make_llama_source(std::move(options));
  return source ? std::string("(loaded)") : source.error();
}

std::string load_error(const std::string& path) {
  LlamaSourceOptions options = tiny_options();
  options.model_file = path;
  return load_error(options);
}

void copy_prefix(const std::string& from, const std::string& to, size_t bytes) {
  std::ifstream in(from, std::ios::binary);
  std::string data(bytes, '\0');
  in.read(data.data(), static_cast<std::streamsize>(bytes));
  std::ofstream(to, std::ios::binary).write(data.data(), in.gcount());
}

TEST(LlamaSource, StreamsAnAnswerOfValidUtf8AndEndsOnce) {
  ASSERT_TRUE(tokencast::llama_available());
  auto options = tiny_options();
  options.generation.max_tokens = 200;
  auto source = tokencast::make_llama_source(options);
  ASSERT_TRUE(source) << source.error();
  EXPECT_EQ((*source)->model(), "tokencast-tiny");  // general.name

  TurnLog log;
  ASSERT_TRUE((*source)->start(prompt("Say something, tiny model. ✓ é 日本"), log.callbacks()));
  ASSERT_TRUE(log.wait_end());
  std::lock_guard lock(log.mutex);
  EXPECT_TRUE(log.done) << log.error;
  EXPECT_EQ(log.ends, 1);
  EXPECT_FALSE(log.callback_after_end);
  ASSERT_FALSE(log.deltas.empty());
  EXPECT_EQ(log.token_count, log.deltas.size());
  std::string all;
  for (const auto& delta : log.deltas) {
    EXPECT_FALSE(delta.empty());
    EXPECT_TRUE(is_utf8_boundary_at_end(delta)) << "a delta splits a character";
    all += delta;
  }
  EXPECT_EQ(tokencast::to_valid_utf8(all), all);
}

TEST(LlamaSource, ASecondTurnContinuesTheConversation) {
  auto options = tiny_options();
  options.generation.max_tokens = 8;
  auto source = tokencast::make_llama_source(options);
  ASSERT_TRUE(source) << source.error();
  TurnLog first;
  ASSERT_TRUE((*source)->start(prompt("one"), first.callbacks()));
  ASSERT_TRUE(first.wait_end());
  ASSERT_TRUE(first.done) << first.error;

  auto history = prompt("one");
  history.push_back(ChatMessage{TurnRole::kAssistant, first.text()});
  history.push_back(ChatMessage{TurnRole::kUser, "two"});
  TurnLog second;
  ASSERT_TRUE((*source)->start(history, second.callbacks()));
  ASSERT_TRUE(second.wait_end());
  EXPECT_TRUE(second.done) << second.error;
  EXPECT_LE(second.deltas.size(), 8u);
}

TEST(LlamaSource, SameSeedSameAnswer) {
  auto options = tiny_options();
  options.generation.max_tokens = 16;
  std::string answers[2];
  for (auto& answer : answers) {
    auto source = tokencast::make_llama_source(options);
    ASSERT_TRUE(source) << source.error();
    TurnLog log;
    ASSERT_TRUE((*source)->start(prompt("seeded"), log.callbacks()));
    ASSERT_TRUE(log.wait_end());
    ASSERT_TRUE(log.done) << log.error;
    answer = log.text();
  }
  EXPECT_EQ(answers[0], answers[1]);
  EXPECT_FALSE(answers[0].empty());
}

TEST(LlamaSource, CancelMidAnswerStopsTheTurnAndTheNextOneRuns) {
  auto source = tokencast::make_llama_source(tiny_options());  // no max_tokens: runs to ctx
  ASSERT_TRUE(source) << source.error();
  TurnLog log;
  bool stopped = false;
  // From the turn's own callback, at its first delta: the answer is surely not over.
  log.after_first_delta = [&] { stopped = (*source)->cancel(); };
  ASSERT_TRUE((*source)->start(prompt("a long answer, please"), log.callbacks()));
  ASSERT_TRUE(log.wait_deltas(1));
  // start() waits for the cancelled turn's thread: afterwards nothing of it can run.
  TurnLog next;
  ASSERT_TRUE((*source)->start(prompt("and now another"), next.callbacks()));
  EXPECT_TRUE(stopped);
  ASSERT_TRUE(next.wait_deltas(1));
  (*source)->cancel();
  source->reset();
  std::lock_guard lock(log.mutex);
  EXPECT_EQ(log.deltas.size(), 1u) << "the cancelled turn called back after cancel()";
  EXPECT_EQ(log.ends, 0);
}

TEST(LlamaSource, CancelFromAnotherThreadReturnsPromptly) {
  auto source = tokencast::make_llama_source(tiny_options());
  ASSERT_TRUE(source) << source.error();
  TurnLog log;
  ASSERT_TRUE((*source)->start(prompt("go on and on"), log.callbacks()));
  ASSERT_TRUE(log.wait_deltas(3));
  bool stopped = (*source)->cancel();
  size_t seen = 0;
  {
    std::lock_guard lock(log.mutex);
    seen = log.deltas.size();
    EXPECT_TRUE(stopped || log.ends == 1);  // the answer may have ended on its own first
  }
  source->reset();  // joins the turn's thread: whatever it would still report, it has
  std::lock_guard lock(log.mutex);
  EXPECT_EQ(log.deltas.size(), seen);
  EXPECT_EQ(log.ends, stopped ? 0 : 1);
}

TEST(LlamaSource, AMissingFileSaysSo) {
  EXPECT_EQ(load_error("/nonexistent/model.gguf"),
            "the model file /nonexistent/model.gguf does not exist");
}

TEST(LlamaSource, AFileThatIsNotGgufSaysSo) {
  TempDir dir;
  std::ofstream(dir.file("notes.gguf")) << "this is not a model\n";
  EXPECT_EQ(load_error(dir.file("notes.gguf")),
            dir.file("notes.gguf") + " is not a GGUF model file (it does not start with \"GGUF\")");
  std::ofstream(dir.file("empty.gguf")).close();
  EXPECT_NE(load_error(dir.file("empty.gguf")).find("is not a GGUF model file"), std::string::npos);
  EXPECT_NE(load_error(dir.path()).find("is not a file"), std::string::npos);
}

TEST(LlamaSource, ATruncatedFileSaysSo) {
  TempDir dir;
  auto size = std::filesystem::file_size(TOKENCAST_TINY_MODEL);
  // Cut in the tensors' data, and cut in the header.
  copy_prefix(TOKENCAST_TINY_MODEL, dir.file("half.gguf"), size / 2);
  EXPECT_EQ(load_error(dir.file("half.gguf")),
            dir.file("half.gguf") + " is truncated: it has " + std::to_string(size / 2) +
                " bytes, its tensors need " + std::to_string(size));
  copy_prefix(TOKENCAST_TINY_MODEL, dir.file("head.gguf"), 4096);
  EXPECT_NE(load_error(dir.file("head.gguf")).find("is a damaged or truncated GGUF file"),
            std::string::npos)
      << load_error(dir.file("head.gguf"));
}

TEST(LlamaSource, AnUnknownArchitectureSaysSo) {
  EXPECT_EQ(load_error(TOKENCAST_UNKNOWN_ARCH_MODEL),
            std::string(TOKENCAST_UNKNOWN_ARCH_MODEL) +
                ": this build of llama.cpp does not support the model architecture "
                "'tokencast-unknown'");
}

TEST(LlamaSource, AModelLargerThanMemorySaysSo) {
  // The tiny model followed by a sparse terabyte: a file as large as a model that cannot fit.
  TempDir dir;
  std::filesystem::copy_file(TOKENCAST_TINY_MODEL, dir.file("huge.gguf"));
  ASSERT_EQ(::truncate(dir.file("huge.gguf").c_str(), 1LL << 40), 0);
  std::string error = load_error(dir.file("huge.gguf"));
  EXPECT_NE(error.find(" is too large for this machine's memory: the model needs about 1024.0 GiB"),
            std::string::npos)
      << error;
}

// The tiny model's KV cache: 2 layers x 4 KV heads x (16 + 16) head dimensions x 2 bytes.
constexpr uint64_t kTinyKvBytesPerToken = 2 * 4 * (16 + 16) * 2;

TEST(LlamaSource, TheMemoryCheckCountsTheKvCacheOfTheContext) {
  const auto size = std::filesystem::file_size(TOKENCAST_TINY_MODEL);
  auto info = tokencast::llm::check_model_file(TOKENCAST_TINY_MODEL, std::nullopt, 512);
  ASSERT_TRUE(info) << info.error();
  EXPECT_EQ(info->kv_bytes_per_token, kTinyKvBytesPerToken);
  EXPECT_EQ(info->kv_bytes, 512 * kTinyKvBytesPerToken);
  // --ctx 0: the model's training context (2048 in its metadata).
  info = tokencast::llm::check_model_file(TOKENCAST_TINY_MODEL, std::nullopt, 0);
  ASSERT_TRUE(info) << info.error();
  EXPECT_EQ(info->ctx, 2048u);
  EXPECT_EQ(info->kv_bytes, 2048 * kTinyKvBytesPerToken);

  // With room for the file and 1000 tokens: 1000 fit, 1001 do not, and the error says why.
  const uint64_t memory = size + 1000 * kTinyKvBytesPerToken;
  EXPECT_TRUE(tokencast::llm::check_model_file(TOKENCAST_TINY_MODEL, memory, 1000));
  auto refused = tokencast::llm::check_model_file(TOKENCAST_TINY_MODEL, memory, 1001);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), std::string(TOKENCAST_TINY_MODEL) +
                                 " with a context of 1001 tokens does not fit this machine's "
                                 "memory: the model needs about 0.0 GiB and its KV cache 0.0 GiB "
                                 "(512 bytes a token), 0.0 GiB are available; --ctx 1000 would "
                                 "be at most what fits");
}

TEST(LlamaSource, AnAbsurdContextIsRefusedBeforeLoading) {
  // 4 billion tokens of KV cache: 2 TiB for the tiny model, more than any machine running this.
  auto options = tiny_options();
  options.ctx = 4'000'000'000u;
  std::string error = load_error(options);
  EXPECT_NE(error.find(" with a context of 4000000000 tokens does not fit this machine's memory: "
                       "the model needs about 0.0 GiB and its KV cache 1907.3 GiB (512 bytes a "
                       "token)"),
            std::string::npos)
      << error;
}

// A template whose generation prompt opens "<think>" (tiny-think.gguf: Bailing-think, as
// llama_chat_apply_template knows it): the model's output starts inside its reasoning, and
// what it writes before any "</think>" is thinking. The random model never writes "</think>"
// (several tokens), so the whole answer is thinking; ThinkTagSplitter's tests cover the close.
TEST(LlamaSource, AnswersOfATemplateThatOpensThinkingAreThinking) {
  auto options = tiny_options();
  options.model_file = TOKENCAST_TINY_THINK_MODEL;
  options.generation.max_tokens = 24;
  auto source = tokencast::make_llama_source(options);
  ASSERT_TRUE(source) << source.error();
  TurnLog log;
  ASSERT_TRUE((*source)->start(prompt("think first"), log.callbacks()));
  ASSERT_TRUE(log.wait_end());
  std::lock_guard lock(log.mutex);
  EXPECT_TRUE(log.done) << log.error;
  EXPECT_FALSE(log.thinking.empty());
  EXPECT_TRUE(log.deltas.empty()) << log.deltas.size() << " pieces of answer text";

  // The same model with the inline parsing off: the same output is answer text.
  options.think_tags = false;
  auto plain = tokencast::make_llama_source(options);
  ASSERT_TRUE(plain) << plain.error();
  TurnLog text;
  ASSERT_TRUE((*plain)->start(prompt("think first"), text.callbacks()));
  ASSERT_TRUE(text.wait_end());
  std::lock_guard text_lock(text.mutex);
  EXPECT_TRUE(text.done) << text.error;
  EXPECT_TRUE(text.thinking.empty());
  EXPECT_FALSE(text.deltas.empty());
}

}  // namespace
