#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/fake_openai_server.hpp"
#include "tokencast/core/text.hpp"
#include "tokencast/llm/llm.hpp"

// tests/CMakeLists.txt builds only *_test.cpp: the fake server is compiled in here.
#include "support/fake_openai_server.cpp"  // NOLINT(bugprone-suspicious-include)

using namespace std::chrono_literals;
using tokencast::ChatMessage;
using tokencast::LlmSource;
using tokencast::Millis;
using tokencast::TurnRole;
using tokencast::testing::completion_chunk;
using tokencast::testing::FakeOpenAiServer;
using tokencast::testing::FakeRequest;
using tokencast::testing::json_answer;
using tokencast::testing::openai_stream;
using tokencast::testing::Script;
using tokencast::testing::sse_data;
using tokencast::testing::sse_head;

namespace {

// Records what a turn reports, and on which thread.
class Collector {
 public:
  tokencast::LlmCallbacks callbacks() {
    return {
        [this](std::string bytes) {
          std::lock_guard lock(mutex_);
          check_thread();
          if (ended_) late_ = true;
          deltas_.push_back(std::move(bytes));
          changed_.notify_all();
          if (on_delta_hook) on_delta_hook(deltas_.size());
        },
        [this](uint64_t count) {
          std::lock_guard lock(mutex_);
          check_thread();
          if (ended_) late_ = true;
          ended_ = true;
          done_ = true;
          token_count_ = count;
          changed_.notify_all();
        },
        [this](tokencast::LlmFailure failure) {
          std::lock_guard lock(mutex_);
          check_thread();
          if (ended_) late_ = true;
          ended_ = true;
          error_ = std::move(failure.detail);
          error_for_peers_ = std::move(failure.for_peers);
          changed_.notify_all();
        },
    };
  }

  bool wait_end(std::chrono::milliseconds limit = 5s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return ended_; });
  }
  bool wait_deltas(size_t n, std::chrono::milliseconds limit = 5s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return deltas_.size() >= n || ended_; }) &&
           deltas_.size() >= n;
  }
  std::string text() const {
    std::lock_guard lock(mutex_);
    std::string all;
    for (const auto& d : deltas_) all += d;
    return all;
  }
  std::vector<std::string> deltas() const {
    std::lock_guard lock(mutex_);
    return deltas_;
  }
  size_t delta_count() const {
    std::lock_guard lock(mutex_);
    return deltas_.size();
  }
  bool done() const {
    std::lock_guard lock(mutex_);
    return done_;
  }
  bool ended() const {
    std::lock_guard lock(mutex_);
    return ended_;
  }
  std::string error() const {  // the detail, for the host's terminal
    std::lock_guard lock(mutex_);
    return error_;
  }
  std::string error_for_peers() const {
    std::lock_guard lock(mutex_);
    return error_for_peers_;
  }
  uint64_t token_count() const {
    std::lock_guard lock(mutex_);
    return token_count_;
  }
  bool on_caller_thread() const { return on_caller_thread_; }
  bool late() const { return late_; }  // a callback after on_done/on_error

  std::function<void(size_t)> on_delta_hook;  // runs on the source's thread

 private:
  void check_thread() {
    if (std::this_thread::get_id() == caller_) on_caller_thread_ = true;
  }

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::thread::id caller_ = std::this_thread::get_id();
  std::vector<std::string> deltas_;
  bool ended_ = false;
  bool done_ = false;
  bool late_ = false;
  bool on_caller_thread_ = false;
  uint64_t token_count_ = 0;
  std::string error_;
  std::string error_for_peers_;
};

std::vector<ChatMessage> prompt(const std::string& text) {
  return {ChatMessage{TurnRole::kUser, text}};
}

tokencast::OpenAiSourceOptions options_for(const FakeOpenAiServer& server) {
  tokencast::OpenAiSourceOptions options;
  options.base_url = server.base_url();
  options.model = "m";
  options.api_key = "sk-test-123";
  options.connect_timeout = 2s;
  options.idle_timeout = 3s;
  return options;
}

// Runs one turn to its end.
void run_turn(LlmSource& source, Collector& collector, const std::string& text = "hi") {
  ASSERT_TRUE(source.start(prompt(text), collector.callbacks()));
  ASSERT_TRUE(collector.wait_end()) << "the turn did not end";
}

// ---------------------------------------------------------------------------------------------
// OpenAI-compatible source against the fake server.

TEST(OpenAiSource, StreamsDeltasAndSendsTheRequest) {
  FakeOpenAiServer server([](const FakeRequest&) {
    return openai_stream({"Hel", "lo ", "wörld"});
  });
  auto source = tokencast::make_openai_source(options_for(server));
  EXPECT_EQ(source->model(), "m");
  Collector collector;
  std::vector<ChatMessage> history = {
      ChatMessage{TurnRole::kSystem, "be brief"}, ChatMessage{TurnRole::kUser, "first"},
      ChatMessage{TurnRole::kAssistant, "answer"}, ChatMessage{TurnRole::kUser, "second"}};
  ASSERT_TRUE(source->start(history, collector.callbacks()));
  ASSERT_TRUE(collector.wait_end());
  EXPECT_TRUE(collector.done()) << collector.error();
  EXPECT_EQ(collector.deltas(), (std::vector<std::string>{"Hel", "lo ", "wörld"}));
  EXPECT_EQ(collector.token_count(), 3u);
  EXPECT_FALSE(collector.on_caller_thread());

  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  const FakeRequest& request = requests[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/v1/chat/completions");
  EXPECT_EQ(request.header("authorization"), "Bearer sk-test-123");
  EXPECT_EQ(request.header("content-type"), "application/json");
  EXPECT_EQ(request.header("accept"), "text/event-stream");
  auto body = nlohmann::json::parse(request.body);
  EXPECT_EQ(body["model"], "m");
  EXPECT_EQ(body["stream"], true);
  ASSERT_EQ(body["messages"].size(), 4u);
  EXPECT_EQ(body["messages"][0], (nlohmann::json{{"role", "system"}, {"content", "be brief"}}));
  EXPECT_EQ(body["messages"][2]["role"], "assistant");
  EXPECT_EQ(body["messages"][3]["content"], "second");
}

// Reasoning from the server's own field reaches on_thinking, before the text; the thinking
// and the text are counted as tokens.
TEST(OpenAiSource, ReasoningContentReachesOnThinkingBeforeTheText) {
  FakeOpenAiServer server([](const FakeRequest&) {
    Script script;
    script.raw(sse_head(true));
    script.chunk(sse_data(tokencast::testing::completion_chunk(R"({"reasoning_content":"Two"})")));
    script.chunk(
        sse_data(tokencast::testing::completion_chunk(R"({"reasoning_content":" and two"})")));
    script.chunk(
        sse_data(tokencast::testing::completion_chunk(R"({"content":"Four."})", "\"stop\"")));
    script.chunk(sse_data("[DONE]"));
    script.end_chunks();
    return script;
  });
  auto source = tokencast::make_openai_source(options_for(server));
  Collector collector;
  auto callbacks = collector.callbacks();
  std::vector<std::pair<bool, std::string>> order;  // written on the source's thread only
  auto on_delta = callbacks.on_delta;
  callbacks.on_delta = [&, on_delta](std::string bytes) {
    order.emplace_back(false, bytes);
    on_delta(std::move(bytes));
  };
  callbacks.on_thinking = [&](std::string bytes) { order.emplace_back(true, std::move(bytes)); };
  ASSERT_TRUE(source->start(prompt("2+2?"), callbacks));
  ASSERT_TRUE(collector.wait_end());
  EXPECT_TRUE(collector.done()) << collector.error();
  EXPECT_EQ(order, (std::vector<std::pair<bool, std::string>>{
                       {true, "Two"}, {true, " and two"}, {false, "Four."}}));
  EXPECT_EQ(collector.token_count(), 3u);
}

// A server whose template opened "<think>" in the prompt and that leaves the reasoning in
// `content`: with think_open, the content up to "</think>" (which may arrive split) is thinking.
TEST(OpenAiSource, ContentOpenedInsideThinkingByTheTemplate) {
  for (bool think_open : {true, false}) {
    FakeOpenAiServer server([](const FakeRequest&) {
      return openai_stream({"Two and", " two.</th", "ink>\n\nFour."});
    });
    auto options = options_for(server);
    options.think_open = think_open;
    auto source = tokencast::make_openai_source(options);
    Collector collector;
    auto callbacks = collector.callbacks();
    std::string thinking;  // written on the source's thread, read after the turn ended
    callbacks.on_thinking = [&](std::string bytes) { thinking += bytes; };
    ASSERT_TRUE(source->start(prompt("2+2?"), callbacks));
    ASSERT_TRUE(collector.wait_end());
    EXPECT_TRUE(collector.done()) << collector.error();
    if (think_open) {
      EXPECT_EQ(thinking, "Two and two.");
      EXPECT_EQ(collector.text(), "Four.");
    } else {
      EXPECT_EQ(thinking, "");
      EXPECT_EQ(collector.text(), "Two and two.</think>\n\nFour.");
    }
  }
}

TEST(OpenAiSource, NoAuthorizationHeaderWithoutKeyAndTwoTurnsInARow) {
  FakeOpenAiServer server([](const FakeRequest&) { return openai_stream({"a", "b"}); });
  auto options = options_for(server);
  options.api_key.clear();
  options.include_usage = true;
  auto source = tokencast::make_openai_source(options);
  Collector first;
  run_turn(*source, first);
  EXPECT_EQ(first.text(), "ab");
  Collector second;
  run_turn(*source, second);
  EXPECT_TRUE(second.done());
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].header("authorization"), "");
  EXPECT_EQ(nlohmann::json::parse(requests[0].body)["stream_options"]["include_usage"], true);
}

TEST(OpenAiSource, SendsTheSystemPromptSamplingAndExtraHeaders) {
  FakeOpenAiServer server([](const FakeRequest&) { return openai_stream({"ok"}); });
  auto options = options_for(server);
  options.generation.system_prompt = "answer in French";
  options.generation.top_p = 0.5;
  options.generation.seed = 42;
  options.headers = {{"X-Org", "acme"}, {"Authorization", "Token t-1"}};
  auto source = tokencast::make_openai_source(options);
  Collector collector;
  run_turn(*source, collector, "bonjour?");
  EXPECT_TRUE(collector.done()) << collector.error();
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].header("x-org"), "acme");
  // The header given replaces the one made from the API key.
  EXPECT_EQ(requests[0].header("authorization"), "Token t-1");
  auto body = nlohmann::json::parse(requests[0].body);
  ASSERT_EQ(body["messages"].size(), 2u);
  EXPECT_EQ(body["messages"][0],
            (nlohmann::json{{"role", "system"}, {"content", "answer in French"}}));
  EXPECT_EQ(body["messages"][1]["content"], "bonjour?");
  EXPECT_DOUBLE_EQ(body["top_p"].get<double>(), 0.5);
  EXPECT_EQ(body["seed"], 42);
}

TEST(OpenAiSource, EventsSplitAcrossManySmallWrites) {
  std::string events = sse_data(completion_chunk(R"({"role":"assistant"})")) +
                       sse_data(completion_chunk(R"({"content":"Grüße, "})")) +
                       sse_data(completion_chunk(R"({"content":"Welt"})")) +
                       sse_data(completion_chunk("{}", "\"stop\"")) + sse_data("[DONE]");
  FakeOpenAiServer server([&](const FakeRequest&) {
    Script script;
    script.raw(sse_head(true));
    for (size_t i = 0; i < events.size(); i += 7) {
      script.chunk(events.substr(i, 7)).pause(1);
    }
    script.end_chunks();
    return script;
  });
  auto source = tokencast::make_openai_source(options_for(server));
  Collector collector;
  run_turn(*source, collector);
  EXPECT_TRUE(collector.done()) << collector.error();
  EXPECT_EQ(collector.text(), "Grüße, Welt");
}

TEST(OpenAiSource, CloseDelimitedStreamWithoutChunking) {
  FakeOpenAiServer server([](const FakeRequest&) {
    Script script;
    script.raw(sse_head(false) + sse_data(completion_chunk(R"({"content":"x"})")) +
               sse_data("[DONE]"));
    return script;
  });
  auto source = tokencast::make_openai_source(options_for(server));
  Collector collector;
  run_turn(*source, collector);
  EXPECT_TRUE(collector.done()) << collector.error();
  EXPECT_EQ(collector.text(), "x");
}

TEST(OpenAiSource, Http401WithOpenAiErrorBody) {
  FakeOpenAiServer server([](const FakeRequest&) {
    return json_answer(401,
                       R"({"error":{"message":"Incorrect API key provided: sk-tes***123.",)"
                       R"("type":"invalid_request_error","param":null,"code":"invalid_api_key"}})");
  });
  auto source = tokencast::make_openai_source(options_for(server));
  Collector collector;
  run_turn(*source, collector);
  EXPECT_FALSE(collector.done());
  EXPECT_EQ(collector.error(), "HTTP 401: Incorrect API key provided: sk-tes***123.");
  EXPECT_EQ(collector.error().find("sk-test-123"), std::string::npos);
}

// Issue 14, finding 9: a provider's error body (internal URLs, accounts, quotas) stays on the
// host's terminal; peers get a category and the status.
TEST(OpenAiSource, PeersGetACategorizedFailureNotTheProvidersWords) {
  FakeOpenAiServer server([](const FakeRequest&) {
    return json_answer(401,
                       R"({"error":{"message":"key rejected by https://llm.corp.internal:8443 )"
                       R"(for org acme-prod"}})");
  });
  auto source = tokencast::make_openai_source(options_for(server));
  Collector collector;
  run_turn(*source, collector);
  EXPECT_EQ(collector.error_for_peers(), "the model server refused the request (HTTP 401)");
  EXPECT_NE(collector.error().find("llm.corp.internal"), std::string::npos);

  tokencast::OpenAiSourceOptions options;
  options.base_url =
      "http://127.0.0.1:" + std::to_string(tokencast::testing::unused_port()) + "/v1";
  options.connect_timeout = 1s;
  auto unreachable = tokencast::make_openai_source(options);
  Collector refused;
  run_turn(*unreachable, refused);
  EXPECT_EQ(refused.error_for_peers(), "the model server could not be reached");
}

TEST(OpenAiSource, Http500WithOllamaErrorBody) {
  FakeOpenAiServer server([](const FakeRequest&) {
    return json_answer(500, R"j({"error":"model requires more system memory (5.5 GiB)"})j");
  });
  auto source = tokencast::make_openai_source(options_for(server));
  Collector collector;
  run_turn(*source, collector);
  EXPECT_EQ(collector.error(), "HTTP 500: model requires more system memory (5.5 GiB)");
}

TEST(OpenAiSource, Http404WithoutBody) {
  FakeOpenAiServer server([](const FakeRequest&) { return json_answer(404, ""); });
  auto source = tokencast::make_openai_source(options_for(server));
  Collector collector;
  run_turn(*source, collector);
  EXPECT_EQ(collector.error(), "HTTP 404 Not Found");
}

TEST(OpenAiSource, InvalidJsonChunk) {
  FakeOpenAiServer server([](const FakeRequest&) {
    Script script;
    script.raw(sse_head(true))
        .chunk(sse_data(completion_chunk(R"({"content":"ok"})")))
        .chunk("data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}\n\n")
        .chunk(sse_data("[DONE]"))
        .end_chunks();
    return script;
  });
  auto source = tokencast::make_openai_source(options_for(server));
  Collector collector;
  run_turn(*source, collector);
  EXPECT_EQ(collector.deltas(), std::vector<std::string>{"ok"});
  EXPECT_NE(collector.error().find("malformed stream chunk"), std::string::npos)
      << collector.error();
}

TEST(OpenAiSource, ConnectionDroppedMidStream) {
  FakeOpenAiServer server([](const FakeRequest&) {
    Script script;
    script.raw(sse_head(true))
        .chunk(sse_data(completion_chunk(R"({"content":"par"})")))
        .chunk(sse_data(completion_chunk(R"({"content":"tial"})")));
    return script;  // the connection closes without the last chunk
  });
  auto source = tokencast::make_openai_source(options_for(server));
  Collector collector;
  run_turn(*source, collector);
  EXPECT_EQ(collector.text(), "partial");
  EXPECT_EQ(collector.error().rfind("stream ended early", 0), 0u) << collector.error();
}

TEST(OpenAiSource, StalledServerFiresTheIdleTimeout) {
  FakeOpenAiServer server([](const FakeRequest&) {
    Script script;
    script.raw(sse_head(true)).chunk(sse_data(completion_chunk(R"({"content":"a"})"))).stall();
    return script;
  });
  auto options = options_for(server);
  options.idle_timeout = 300ms;
  auto source = tokencast::make_openai_source(options);
  Collector collector;
  auto started = std::chrono::steady_clock::now();
  run_turn(*source, collector);
  auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(collector.text(), "a");
  EXPECT_NE(collector.error().find("idle timeout"), std::string::npos) << collector.error();
  EXPECT_GE(elapsed, 300ms);
  EXPECT_LT(elapsed, 3s);
}

TEST(OpenAiSource, TotalTimeout) {
  FakeOpenAiServer server([](const FakeRequest&) {
    Script script;
    script.raw(sse_head(true));
    for (int i = 0; i < 100; ++i) {
      script.chunk(sse_data(completion_chunk(R"({"content":"."})"))).pause(50);
    }
    return script;
  });
  auto options = options_for(server);
  options.total_timeout = 400ms;
  auto source = tokencast::make_openai_source(options);
  Collector collector;
  run_turn(*source, collector);
  EXPECT_NE(collector.error().find("total timeout"), std::string::npos) << collector.error();
}

TEST(OpenAiSource, ErrorObjectMidStream) {
  FakeOpenAiServer server([](const FakeRequest&) {
    Script script;
    script.raw(sse_head(true))
        .chunk(sse_data(completion_chunk(R"({"content":"a"})")))
        .chunk(sse_data(R"({"error":{"message":"model overloaded","type":"server_error"}})"))
        .end_chunks();
    return script;
  });
  auto source = tokencast::make_openai_source(options_for(server));
  Collector collector;
  run_turn(*source, collector);
  EXPECT_EQ(collector.text(), "a");
  EXPECT_EQ(collector.error(), "model overloaded");
}

TEST(OpenAiSource, ServerIgnoringStreamTrueSendsOneJsonAnswer) {
  FakeOpenAiServer server([](const FakeRequest&) {
    return json_answer(200, R"({"id":"x","object":"chat.completion","choices":[{"index":0,)"
                            R"("message":{"role":"assistant","content":"whole answer"},)"
                            R"("finish_reason":"stop"}]})");
  });
  auto source = tokencast::make_openai_source(options_for(server));
  Collector collector;
  run_turn(*source, collector);
  EXPECT_TRUE(collector.done()) << collector.error();
  EXPECT_EQ(collector.text(), "whole answer");
}

TEST(OpenAiSource, ConnectionRefused) {
  tokencast::OpenAiSourceOptions options;
  options.base_url =
      "http://127.0.0.1:" + std::to_string(tokencast::testing::unused_port()) + "/v1";
  options.connect_timeout = 1s;
  auto source = tokencast::make_openai_source(options);
  Collector collector;
  run_turn(*source, collector);
  EXPECT_EQ(collector.error().rfind("cannot reach http://127.0.0.1:", 0), 0u) << collector.error();
}

TEST(OpenAiSource, CancelStopsPromptlyAndClosesTheConnection) {
  FakeOpenAiServer server([](const FakeRequest&) {
    Script script;
    script.raw(sse_head(true));
    for (int i = 0; i < 200; ++i) {
      script.chunk(sse_data(completion_chunk(R"({"content":"tok "})"))).pause(20);
    }
    return script;
  });
  auto source = tokencast::make_openai_source(options_for(server));
  Collector collector;
  ASSERT_TRUE(source->start(prompt("go"), collector.callbacks()));
  ASSERT_TRUE(collector.wait_deltas(3));
  EXPECT_FALSE(source->start(prompt("again"), collector.callbacks())) << "a turn is running";
  auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(source->cancel());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 500ms);
  size_t seen = collector.delta_count();
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(collector.delta_count(), seen) << "no callback after cancel() returned";
  EXPECT_FALSE(collector.ended());
  EXPECT_FALSE(source->cancel()) << "nothing left to cancel";
  for (int i = 0; i < 100 && server.client_disconnects() == 0; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(server.client_disconnects(), 1);
  // A new turn can start once the old one is cancelled.
  Collector next;
  ASSERT_TRUE(source->start(prompt("next"), next.callbacks()));
  EXPECT_TRUE(next.wait_deltas(1));
  started = std::chrono::steady_clock::now();
  source.reset();  // destroying cancels and joins
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
}

TEST(OpenAiSource, CancelFromInsideACallback) {
  FakeOpenAiServer server([](const FakeRequest&) {
    Script script;
    script.raw(sse_head(true));
    for (int i = 0; i < 100; ++i) {
      script.chunk(sse_data(completion_chunk(R"({"content":"x"})"))).pause(10);
    }
    return script;
  });
  auto source = tokencast::make_openai_source(options_for(server));
  Collector collector;
  bool cancelled = false;
  collector.on_delta_hook = [&](size_t n) {
    if (n == 2) cancelled = source->cancel();
  };
  ASSERT_TRUE(source->start(prompt("go"), collector.callbacks()));
  ASSERT_TRUE(collector.wait_deltas(2));
  std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(collector.delta_count(), 2u);
  EXPECT_FALSE(collector.ended());
}

// ---------------------------------------------------------------------------------------------
// Detector and model listing.

TEST(Detector, FindsTheFirstCandidateWithModels) {
  FakeOpenAiServer empty(
      [](const FakeRequest&) { return json_answer(200, R"({"object":"list","data":[]})"); });
  FakeOpenAiServer broken([](const FakeRequest&) { return json_answer(500, "{}"); });
  FakeOpenAiServer good([](const FakeRequest& request) {
    if (request.target != "/v1/models") return json_answer(404, "");
    return json_answer(200, R"({"object":"list","data":[{"id":"llama3.2:latest","object":"model",)"
                            R"("created":1,"owned_by":"library"},{"id":"qwen2.5:0.5b"}]})");
  });
  FakeOpenAiServer later([](const FakeRequest&) {
    return json_answer(200, R"({"object":"list","data":[{"id":"other"}]})");
  });
  std::string dead =
      "http://127.0.0.1:" + std::to_string(tokencast::testing::unused_port()) + "/v1";
  auto found = tokencast::detect_local_server(800ms, {{"dead", dead},
                                                      {"empty", empty.base_url()},
                                                      {"broken", broken.base_url()},
                                                      {"ollama", good.base_url()},
                                                      {"llama.cpp", later.base_url()}});
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->name, "ollama");
  EXPECT_EQ(found->base_url, good.base_url());
  EXPECT_EQ(found->model, "llama3.2:latest");
  EXPECT_EQ(found->models.size(), 2u);
  ASSERT_EQ(good.requests().size(), 1u);
  EXPECT_EQ(good.requests()[0].method, "GET");
  EXPECT_EQ(good.requests()[0].header("authorization"), "");
}

TEST(Detector, SkipsEmbeddingModels) {
  FakeOpenAiServer embeddings_only([](const FakeRequest&) {
    return json_answer(200, R"({"object":"list","data":[{"id":"nomic-embed-text:latest"}]})");
  });
  FakeOpenAiServer mixed([](const FakeRequest&) {
    return json_answer(
        200, R"({"object":"list","data":[{"id":"mxbai-embed-large"},{"id":"qwen3:0.6b"}]})");
  });
  auto found = tokencast::detect_local_server(
      5000ms, {{"embeddings", embeddings_only.base_url()}, {"mixed", mixed.base_url()}});
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->name, "mixed");
  EXPECT_EQ(found->model, "qwen3:0.6b");
  EXPECT_EQ(found->models.size(), 2u);
}

TEST(Detector, NothingAnswersWithinTheTimeout) {
  FakeOpenAiServer stalled([](const FakeRequest&) { return Script().stall(); });
  std::string dead =
      "http://127.0.0.1:" + std::to_string(tokencast::testing::unused_port()) + "/v1";
  auto started = std::chrono::steady_clock::now();
  auto found =
      tokencast::detect_local_server(300ms, {{"dead", dead}, {"stalled", stalled.base_url()}});
  EXPECT_FALSE(found.has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  EXPECT_EQ(tokencast::default_probe_candidates().front().base_url, "http://127.0.0.1:11434/v1");
  EXPECT_EQ(tokencast::default_probe_candidates().back().base_url, "http://127.0.0.1:8080/v1");
}

TEST(Detector, ListModelsSendsTheKeyAndReportsErrors) {
  FakeOpenAiServer server([](const FakeRequest& request) {
    if (request.header("authorization") != "Bearer sk-x") {
      return json_answer(401, R"({"error":{"message":"missing key"}})");
    }
    return json_answer(200, R"({"object":"list","data":[{"id":"gpt-4o-mini"}]})");
  });
  auto models = tokencast::list_models(server.base_url() + "/", "sk-x", 2s);
  ASSERT_TRUE(models.has_value()) << models.error();
  EXPECT_EQ(*models, std::vector<std::string>{"gpt-4o-mini"});
  EXPECT_EQ(server.requests()[0].target, "/v1/models");
  auto refused = tokencast::list_models(server.base_url(), "", 2s);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error(), "HTTP 401: missing key");
}

TEST(Detector, ApiKeyFromEnvironment) {
  ::setenv("TOKENCAST_API_KEY", "tk", 1);
  ::setenv("OPENAI_API_KEY", "ok", 1);
  EXPECT_EQ(tokencast::api_key_from_environment(), "tk");
  ::unsetenv("TOKENCAST_API_KEY");
  EXPECT_EQ(tokencast::api_key_from_environment(), "ok");
  ::unsetenv("OPENAI_API_KEY");
  EXPECT_EQ(tokencast::api_key_from_environment(), "");
}

// ---------------------------------------------------------------------------------------------
// Exec source.

std::unique_ptr<LlmSource> exec(const std::string& command, Millis grace = 2000ms) {
  tokencast::ExecSourceOptions options;
  options.command = command;
  options.kill_grace = grace;
  return tokencast::make_exec_source(options);
}

bool process_gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

// Not running: gone, or a zombie left for init (which may be slow to reap it in a container).
bool process_dead(pid_t pid) {
  for (int i = 0; i < 100; ++i) {
    FILE* stat = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
    if (stat == nullptr) return true;
    char line[512] = {};
    size_t n = std::fread(line, 1, sizeof line - 1, stat);
    std::fclose(stat);
    const char* close_paren = std::strrchr(line, ')');
    if (n == 0 || close_paren == nullptr) return true;
    char state = close_paren[2];
    if (state == 'Z' || state == 'X') return true;
    std::this_thread::sleep_for(10ms);  // SIGKILL may take a moment to land
  }
  return false;
}

TEST(ExecSource, EchoesThePrompt) {
  auto source = exec("cat; printf ' (done)'");
  EXPECT_EQ(source->model(), "exec");
  Collector collector;
  run_turn(*source, collector, "hello\nworld");
  EXPECT_TRUE(collector.done()) << collector.error();
  EXPECT_EQ(collector.text(), "hello\nworld (done)");
  EXPECT_EQ(collector.token_count(), collector.deltas().size());
  EXPECT_FALSE(collector.on_caller_thread());
}

TEST(ExecSource, StreamsOutputAsItArrives) {
  auto source = exec("printf first; sleep 0.3; printf second");
  Collector collector;
  ASSERT_TRUE(source->start(prompt("x"), collector.callbacks()));
  ASSERT_TRUE(collector.wait_deltas(1));
  EXPECT_EQ(collector.text(), "first") << "the first output must arrive before the command ends";
  EXPECT_FALSE(collector.ended());
  ASSERT_TRUE(collector.wait_end());
  EXPECT_EQ(collector.deltas(), (std::vector<std::string>{"first", "second"}));
}

TEST(ExecSource, RequestJsonInput) {
  tokencast::ExecSourceOptions options;
  options.command = "cat";
  options.input = tokencast::ExecInput::kRequestJson;
  auto source = tokencast::make_exec_source(options);
  Collector collector;
  std::vector<ChatMessage> history = {ChatMessage{TurnRole::kUser, "q1"},
                                      ChatMessage{TurnRole::kAssistant, "a1"},
                                      ChatMessage{TurnRole::kUser, "q2"}};
  ASSERT_TRUE(source->start(history, collector.callbacks()));
  ASSERT_TRUE(collector.wait_end());
  auto body = nlohmann::json::parse(collector.text());
  ASSERT_EQ(body["messages"].size(), 3u);
  EXPECT_EQ(body["messages"][1]["content"], "a1");
}

TEST(ExecSource, RequestJsonCarriesTheSystemPromptAndSampling) {
  tokencast::ExecSourceOptions options;
  options.command = "cat";
  options.input = *tokencast::parse_exec_input("json");
  options.generation.system_prompt = "sys";
  options.generation.temperature = 0.1;
  auto source = tokencast::make_exec_source(options);
  Collector collector;
  run_turn(*source, collector, "q");
  auto body = nlohmann::json::parse(collector.text());
  ASSERT_EQ(body["messages"].size(), 2u);
  EXPECT_EQ(body["messages"][0]["role"], "system");
  EXPECT_DOUBLE_EQ(body["temperature"].get<double>(), 0.1);
  EXPECT_EQ(tokencast::parse_exec_input("prompt"), tokencast::ExecInput::kPrompt);
  EXPECT_EQ(tokencast::parse_exec_input("JSON"), std::nullopt);
}

TEST(ExecSource, LargePromptAndLargeOutputDoNotDeadlock) {
  auto source = exec("cat");
  Collector collector;
  std::string big(1 << 20, 'z');
  run_turn(*source, collector, big);
  EXPECT_TRUE(collector.done()) << collector.error();
  EXPECT_EQ(collector.text().size(), big.size());
}

TEST(ExecSource, CommandThatIgnoresStdin) {
  auto source = exec("echo hi");
  Collector collector;
  run_turn(*source, collector, std::string(1 << 20, 'p'));
  EXPECT_TRUE(collector.done()) << collector.error();
  EXPECT_EQ(collector.text(), "hi\n");
}

TEST(ExecSource, FailingCommandReportsTheLastStderrLine) {
  auto source = exec("printf partial; echo first >&2; echo 'boom: bad thing' >&2; exit 3");
  Collector collector;
  run_turn(*source, collector);
  EXPECT_EQ(collector.text(), "partial");
  EXPECT_EQ(collector.error(), "the command failed with exit code 3: boom: bad thing");
}

TEST(ExecSource, MissingCommand) {
  auto source = exec("/nonexistent/tokencast-model");
  Collector collector;
  run_turn(*source, collector);
  EXPECT_EQ(collector.error().rfind("the command failed with exit code 127: ", 0), 0u)
      << collector.error();
  EXPECT_NE(collector.error().find("/nonexistent/tokencast-model"), std::string::npos);
}

TEST(ExecSource, CommandKilledBySignal) {
  auto source = exec("kill -9 $$");
  Collector collector;
  run_turn(*source, collector);
  EXPECT_EQ(collector.error(), "the command was killed by signal 9");
}

TEST(ExecSource, CancelKillsTheCommandAndReapsIt) {
  auto source = exec("echo $$; exec sleep 30");
  Collector collector;
  ASSERT_TRUE(source->start(prompt("x"), collector.callbacks()));
  ASSERT_TRUE(collector.wait_deltas(1));
  pid_t pid = std::stoi(collector.text());
  ASSERT_GT(pid, 0);
  auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(source->cancel());
  source.reset();  // joins the worker, which has killed and reaped the command
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1500ms);
  EXPECT_TRUE(process_gone(pid)) << "the command is still running or a zombie";
  EXPECT_FALSE(collector.ended());
}

TEST(ExecSource, CancelEscalatesToSigkill) {
  auto source = exec("trap '' TERM; echo $$; sleep 30; echo survived", 200ms);
  Collector collector;
  ASSERT_TRUE(source->start(prompt("x"), collector.callbacks()));
  ASSERT_TRUE(collector.wait_deltas(1));
  pid_t pid = std::stoi(collector.text());
  auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(source->cancel());
  source.reset();
  auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_GE(elapsed, 150ms) << "SIGTERM was ignored, so the grace period must have passed";
  EXPECT_LT(elapsed, 2s);
  EXPECT_TRUE(process_gone(pid));
  EXPECT_EQ(collector.text().find("survived"), std::string::npos);
}

TEST(ExecSource, BackgroundLeftoversDoNotHoldTheTurnAndAreKilled) {
  auto source = exec("sleep 30 & echo $!");
  Collector collector;
  auto started = std::chrono::steady_clock::now();
  run_turn(*source, collector);
  EXPECT_TRUE(collector.done()) << collector.error();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  pid_t background = std::stoi(collector.text());
  ASSERT_GT(background, 0);
  EXPECT_TRUE(process_dead(background)) << "the command's background process survived the turn";
}

TEST(ExecSource, CancelKillsTheWholeProcessGroup) {
  auto source = exec("sleep 30 & echo $!; wait");
  Collector collector;
  ASSERT_TRUE(source->start(prompt("x"), collector.callbacks()));
  ASSERT_TRUE(collector.wait_deltas(1));
  pid_t background = std::stoi(collector.text());
  ASSERT_GT(background, 0);
  EXPECT_TRUE(source->cancel());
  source.reset();
  EXPECT_TRUE(process_dead(background));
}

TEST(ExecSource, InvalidUtf8IsReplacedAndCharactersAreNotSplit) {
  auto source = exec(
      R"(printf 'a\377b'; sleep 0.1; printf '\303'; sleep 0.1; printf '\251\355\240\200z\360\237')");
  Collector collector;
  run_turn(*source, collector);
  EXPECT_TRUE(collector.done()) << collector.error();
  // \377 is never valid; \303\251 is "é" split across writes; \355\240\200 is a surrogate (three
  // replacements); a trailing incomplete \360\237 becomes one replacement.
  EXPECT_EQ(collector.text(),
            "a\xEF\xBF\xBD"
            "b\xC3\xA9\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDz\xEF\xBF\xBD");
  for (const std::string& delta : collector.deltas()) {
    EXPECT_TRUE(tokencast::is_valid_utf8(delta)) << "each delta is valid UTF-8 alone";
  }
}

TEST(ExecSource, IdleTimeout) {
  tokencast::ExecSourceOptions options;
  options.command = "printf x; sleep 30";
  options.idle_timeout = 300ms;
  auto source = tokencast::make_exec_source(options);
  Collector collector;
  auto started = std::chrono::steady_clock::now();
  run_turn(*source, collector);
  EXPECT_EQ(collector.text(), "x");
  EXPECT_NE(collector.error().find("idle timeout"), std::string::npos) << collector.error();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 4s);
}

// ---------------------------------------------------------------------------------------------
// fd source.

// A command's answer that opens with <think> is split into thinking and text, unless the
// source's think_tags is off (--no-think-tags).
TEST(ExecSource, InlineThinkTagsAreSplitUnlessTurnedOff) {
  for (bool think_tags : {true, false}) {
    tokencast::ExecSourceOptions options;
    options.command = "printf '<thi'; sleep 0.1; printf 'nk>hmm</think>\\n\\nOK'";
    options.think_tags = think_tags;
    auto source = tokencast::make_exec_source(options);
    Collector collector;
    auto callbacks = collector.callbacks();
    std::string thinking;  // written on the source's thread, read after the turn ended
    callbacks.on_thinking = [&](std::string bytes) { thinking += bytes; };
    ASSERT_TRUE(source->start(prompt("x"), callbacks));
    ASSERT_TRUE(collector.wait_end());
    EXPECT_TRUE(collector.done()) << collector.error();
    if (think_tags) {
      EXPECT_EQ(thinking, "hmm");
      EXPECT_EQ(collector.text(), "OK");
    } else {
      EXPECT_EQ(thinking, "");
      EXPECT_EQ(collector.text(), "<think>hmm</think>\n\nOK");
    }
  }
}

TEST(FdSource, StreamsAPipeUntilEof) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  tokencast::FdSourceOptions options;
  options.fd = fds[0];
  options.close_on_destroy = true;
  auto source = tokencast::make_fd_source(options);
  EXPECT_EQ(source->model(), "stdin");
  Collector collector;
  ASSERT_TRUE(source->start(prompt("ignored"), collector.callbacks()));
  ASSERT_EQ(::write(fds[1], "hello ", 6), 6);
  ASSERT_TRUE(collector.wait_deltas(1));
  EXPECT_EQ(collector.text(), "hello ");
  ASSERT_EQ(::write(fds[1], "w\xC3", 2), 2);  // half of "ö"
  std::this_thread::sleep_for(50ms);
  ASSERT_EQ(::write(fds[1], "\xB6rld", 4), 4);
  ::close(fds[1]);
  ASSERT_TRUE(collector.wait_end());
  EXPECT_TRUE(collector.done()) << collector.error();
  EXPECT_EQ(collector.text(), "hello w\xC3\xB6rld");
  EXPECT_EQ(collector.token_count(), collector.deltas().size());

  Collector after;
  run_turn(*source, after);
  EXPECT_EQ(after.error(), "the input has ended");
}

TEST(FdSource, CancelWhileWaitingForInput) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  tokencast::FdSourceOptions options;
  options.fd = fds[0];
  auto source = tokencast::make_fd_source(options);
  Collector collector;
  ASSERT_TRUE(source->start(prompt("x"), collector.callbacks()));
  std::this_thread::sleep_for(50ms);
  auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(source->cancel());
  source.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 500ms);
  EXPECT_FALSE(collector.ended());
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
