// The OpenAI-compatible source against a real server: llama.cpp's llama-server from the same
// build as the in-process source (scripts/build-llama), serving the tests' tiny model (without
// byte tokens: llama-server fails a turn whose output is not valid UTF-8) on loopback. The fake
// server of llm_sources_test.cpp replays what servers send; this is one.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/llama_server.hpp"
#include "support/llm_turn_log.hpp"
#include "tokencast/core/text.hpp"
#include "tokencast/llm/llm.hpp"

using tokencast::ChatMessage;
using tokencast::TurnRole;
using tokencast::testing::LlamaServer;
using tokencast::testing::TurnLog;

namespace {

class LlamaServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = server_.base_url();
    ASSERT_FALSE(url_.empty()) << server_.log();
  }
  std::unique_ptr<tokencast::LlmSource> source(std::optional<int64_t> max_tokens) {
    tokencast::OpenAiSourceOptions options;
    options.base_url = url_;
    options.generation.max_tokens = max_tokens;
    return tokencast::make_openai_source(options);
  }

  LlamaServer server_{TOKENCAST_LLAMA_SERVER, TOKENCAST_TINY_TEXT_MODEL, 1, 512};
  std::string url_;
};

std::vector<ChatMessage> prompt(const std::string& text) {
  return {ChatMessage{TurnRole::kUser, text}};
}

TEST_F(LlamaServerTest, ListsItsModelAndIsDetected) {
  auto models = tokencast::list_models(url_, "");
  ASSERT_TRUE(models) << models.error();
  ASSERT_EQ(models->size(), 1u);
  auto found =
      tokencast::detect_local_server(std::chrono::milliseconds(5000), {{"llama.cpp", url_}});
  ASSERT_TRUE(found);
  EXPECT_EQ(found->base_url, url_);
  EXPECT_EQ(found->model, models->front());
}

TEST_F(LlamaServerTest, StreamsAnAnswerOfValidUtf8) {
  auto llm = source(32);
  TurnLog log;
  ASSERT_TRUE(llm->start(prompt("Say something. ✓ é"), log.callbacks()));
  ASSERT_TRUE(log.wait_end());
  std::lock_guard lock(log.mutex);
  EXPECT_TRUE(log.done) << log.error;
  EXPECT_EQ(log.ends, 1);
  EXPECT_EQ(log.token_count, log.deltas.size());
  EXPECT_LE(log.deltas.size(), 32u);
  for (const auto& delta : log.deltas) EXPECT_EQ(tokencast::to_valid_utf8(delta), delta);
}

TEST_F(LlamaServerTest, CancelsMidAnswerAndAnswersAgain) {
  auto llm = source(std::nullopt);  // until the context is full: long enough to cancel
  TurnLog log;
  bool stopped = false;
  log.after_first_delta = [&] { stopped = llm->cancel(); };
  ASSERT_TRUE(llm->start(prompt("a long one"), log.callbacks()));
  ASSERT_TRUE(log.wait_deltas(1));
  TurnLog next;
  auto short_llm = source(4);
  ASSERT_TRUE(short_llm->start(prompt("and a short one"), next.callbacks()));
  ASSERT_TRUE(next.wait_end());
  EXPECT_TRUE(next.done) << next.error;
  llm.reset();  // joins its thread: `stopped` is written
  EXPECT_TRUE(stopped);
  std::lock_guard lock(log.mutex);
  EXPECT_EQ(log.deltas.size(), 1u);
  EXPECT_EQ(log.ends, 0);
}

// llama-server's reasoning parser (--jinja --reasoning-format deepseek) serving a model whose
// chat template opens "<think>" in its generation prompt (tiny-think.gguf): the server sends
// what the model writes in `reasoning_content` (the random model never closes the block), and
// the OpenAI source passes it on as thinking. With the inline parsing off, so that only the
// field can have made it thinking.
TEST(LlamaServerReasoning, ReasoningContentIsThinkingNotAnswerText) {
  LlamaServer server{TOKENCAST_LLAMA_SERVER,
                     TOKENCAST_TINY_THINK_MODEL,
                     1,
                     512,
                     {"--jinja", "--reasoning-format", "deepseek"}};
  std::string url = server.base_url();
  ASSERT_FALSE(url.empty()) << server.log();
  tokencast::OpenAiSourceOptions options;
  options.base_url = url;
  options.generation.max_tokens = 24;
  options.think_tags = false;
  auto llm = tokencast::make_openai_source(options);
  TurnLog log;
  ASSERT_TRUE(llm->start(prompt("Think, then answer."), log.callbacks()));
  ASSERT_TRUE(log.wait_end());
  std::lock_guard lock(log.mutex);
  EXPECT_TRUE(log.done) << log.error << "\n" << server.log();
  EXPECT_FALSE(log.thinking.empty()) << server.log();
  EXPECT_EQ(tokencast::to_valid_utf8(log.thinking), log.thinking);
  EXPECT_TRUE(log.deltas.empty()) << log.deltas.size() << " pieces of answer text";
  EXPECT_GT(log.token_count, 0u);
}

}  // namespace
