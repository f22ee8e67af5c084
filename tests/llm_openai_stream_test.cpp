#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "parse/one_line.hpp"
#include "tokencast/llm/generation.hpp"
#include "tokencast/llm/openai_stream.hpp"

using tokencast::ChatMessage;
using tokencast::ChatRequest;
using tokencast::ChatStreamErrc;
using tokencast::ChatStreamParser;
using tokencast::ChatUsage;
using tokencast::TurnRole;

namespace {

std::string chunk(const std::string& delta_json, const std::string& finish = "null") {
  return "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
         "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":" +
         delta_json + ",\"finish_reason\":" + finish + "}]}\n\n";
}

// What OpenAI sends for "Hello, world" with stream_options.include_usage.
std::string openai_stream() {
  return chunk(R"({"role":"assistant","content":""})") + chunk(R"({"content":"Hel"})") +
         chunk(R"({"content":"lo, "})") + chunk(R"({"content":"w\u00f6rld"})") +
         chunk("{}", "\"stop\"") +
         "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
         "\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,"
         "\"total_tokens\":12}}\n\n"
         "data: [DONE]\n\n";
}

struct Result {
  std::vector<std::string> deltas;
  bool ok = false;
  tokencast::ChatStreamError error;
};

Result run(const std::string& body, size_t step = 0) {
  ChatStreamParser parser;
  Result result;
  size_t at = 0;
  while (at < body.size()) {
    size_t n = step == 0 ? body.size() : std::min(step, body.size() - at);
    auto fed = parser.feed(std::string_view(body).substr(at, n), result.deltas);
    if (!fed) {
      result.error = fed.error();
      return result;
    }
    at += n;
  }
  auto finished = parser.finish(result.deltas);
  result.ok = finished.has_value();
  if (!finished) result.error = finished.error();
  return result;
}

TEST(ChatStream, OpenAiStyleStream) {
  ChatStreamParser parser;
  std::vector<std::string> deltas;
  ASSERT_TRUE(parser.feed(openai_stream(), deltas).has_value());
  EXPECT_EQ(deltas, (std::vector<std::string>{"Hel", "lo, ", "w\xC3\xB6rld"}));
  EXPECT_TRUE(parser.done());
  EXPECT_EQ(parser.finish_reason(), "stop");
  EXPECT_EQ(parser.usage(), (ChatUsage{9, 3, 12}));
  EXPECT_EQ(parser.model(), "m");
  EXPECT_EQ(parser.chunks(), 6u);
  EXPECT_TRUE(parser.finish(deltas).has_value());
}

TEST(ChatStream, SplitAnywhereGivesTheSameText) {
  const std::string body = openai_stream();
  for (size_t step : {1, 2, 3, 7, 64}) {
    Result result = run(body, step);
    ASSERT_TRUE(result.ok) << "step " << step << ": " << result.error.message;
    std::string text;
    for (const auto& d : result.deltas) text += d;
    EXPECT_EQ(text, "Hello, w\xC3\xB6rld") << "step " << step;
  }
}

TEST(ChatStream, OllamaStyleStreamWithCrlfAndNoUsage) {
  std::string body =
      "data: {\"id\":\"chatcmpl-7\",\"object\":\"chat.completion.chunk\",\"created\":1,"
      "\"model\":\"llama3.2\",\"system_fingerprint\":\"fp_ollama\",\"choices\":[{\"index\":0,"
      "\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":null}]}\r\n\r\n"
      "data: {\"id\":\"chatcmpl-7\",\"object\":\"chat.completion.chunk\",\"created\":1,"
      "\"model\":\"llama3.2\",\"system_fingerprint\":\"fp_ollama\",\"choices\":[{\"index\":0,"
      "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":\"stop\"}]}\r\n\r\n"
      "data: [DONE]\r\n\r\n";
  Result result = run(body, 5);
  ASSERT_TRUE(result.ok) << result.error.message;
  EXPECT_EQ(result.deltas, std::vector<std::string>{"Hi"});
}

TEST(ChatStream, ToleratesNullContentMissingDeltaCommentsAndOtherChoices) {
  std::string body = ": OPENROUTER PROCESSING\n\n" +
                     chunk(R"({"role":"assistant","content":null})") + chunk(R"({"content":"a"})") +
                     "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"other\"}}]}\n\n"
                     "data: {\"choices\":[{\"index\":0,\"delta\":null,\"finish_reason\":null}]}\n\n"
                     "data: {\"choices\":null,\"usage\":null}\n\n"
                     "event: ping\ndata: {}\n\n"
                     "data: \n\n" +
                     chunk(R"({"tool_calls":[]})") + chunk(R"({"content":"b"})", "\"length\"") +
                     "data:[DONE]\n\n";
  Result result = run(body);
  ASSERT_TRUE(result.ok) << result.error.message;
  EXPECT_EQ(result.deltas, (std::vector<std::string>{"a", "b"}));
}

TEST(ChatStream, BytesAfterDoneAreIgnored) {
  ChatStreamParser parser;
  std::vector<std::string> deltas;
  ASSERT_TRUE(
      parser.feed(chunk(R"({"content":"x"})") + "data: [DONE]\n\ndata: garbage{\n\n", deltas)
          .has_value());
  ASSERT_TRUE(parser.feed("data: also ignored\n\n", deltas).has_value());
  EXPECT_EQ(deltas, std::vector<std::string>{"x"});
  EXPECT_TRUE(parser.finish(deltas).has_value());
}

TEST(ChatStream, ErrorObjectAsData) {
  std::string body = chunk(R"({"content":"par"})") +
                     "data: {\"error\":{\"message\":\"The server had an error while processing "
                     "your request.\",\"type\":\"server_error\",\"code\":null}}\n\n" +
                     chunk(R"({"content":"never"})");
  Result result = run(body);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.error.code, ChatStreamErrc::kProviderError);
  EXPECT_EQ(result.error.message, "The server had an error while processing your request.");
  EXPECT_EQ(result.deltas, std::vector<std::string>{"par"});
}

TEST(ChatStream, ErrorEventAndLlamaCppErrorLine) {
  Result event = run(chunk(R"({"content":"a"})") +
                     "event: error\ndata: {\"error\":{\"message\":\"overloaded\"}}\n\n");
  EXPECT_EQ(event.error.code, ChatStreamErrc::kProviderError);
  EXPECT_EQ(event.error.message, "overloaded");

  Result llama =
      run("error: {\"code\":400,\"message\":\"the request exceeds the available context size\","
          "\"type\":\"exceed_context_size_error\"}\n\n");
  EXPECT_EQ(llama.error.code, ChatStreamErrc::kProviderError);
  EXPECT_EQ(llama.error.message, "the request exceeds the available context size");

  Result plain = run("event: error\ndata: rate limited\n\n");
  EXPECT_EQ(plain.error.message, "rate limited");
}

TEST(ChatStream, MalformedChunks) {
  for (const std::string& bad :
       {std::string("data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]\n\n"),  // cut JSON
        std::string("data: [1,2]\n\n"), std::string("data: {\"choices\":{}}\n\n"),
        std::string("data: {\"choices\":[3]}\n\n"),
        std::string("data: {\"choices\":[{\"delta\":\"x\"}]}\n\n"),
        std::string("data: {\"choices\":[{\"delta\":{\"content\":42}}]}\n\n"),
        std::string("data: hello\n\n"), std::string("data: {\"a\":\"\xFF\"}\n\n")}) {
    Result result = run(chunk(R"({"content":"ok"})") + bad + "data: [DONE]\n\n");
    EXPECT_FALSE(result.ok) << bad;
    EXPECT_EQ(result.error.code, ChatStreamErrc::kMalformedChunk) << bad;
    EXPECT_NE(result.error.message.find("malformed stream chunk"), std::string::npos);
    EXPECT_EQ(result.deltas, std::vector<std::string>{"ok"});
  }
}

TEST(ChatStream, EndingWithoutDoneOrFinishReasonFails) {
  Result early = run(chunk(R"({"content":"a"})") + chunk(R"({"content":"b"})"));
  EXPECT_FALSE(early.ok);
  EXPECT_EQ(early.error.code, ChatStreamErrc::kEndedEarly);
  EXPECT_EQ(early.error.message, "stream ended early");
  EXPECT_EQ(early.deltas, (std::vector<std::string>{"a", "b"}));

  std::string cut = chunk(R"({"content":"a"})") + chunk(R"({"content":"b"})").substr(0, 40);
  Result truncated = run(cut);
  EXPECT_EQ(truncated.error.code, ChatStreamErrc::kEndedEarly);
  EXPECT_EQ(truncated.error.message, "stream ended early (inside a chunk)");

  EXPECT_EQ(run("").error.code, ChatStreamErrc::kEndedEarly);
}

TEST(ChatStream, EndingAfterFinishReasonOrBareDoneSucceeds) {
  // Some servers omit [DONE]; the finish_reason says the answer is complete.
  Result finish = run(chunk(R"({"content":"a"})") + chunk("{}", "\"stop\""));
  EXPECT_TRUE(finish.ok) << finish.error.message;
  // A [DONE] line not followed by an empty line still ends the stream.
  Result bare = run(chunk(R"({"content":"a"})") + "data: [DONE]\n");
  EXPECT_TRUE(bare.ok) << bare.error.message;
  Result no_newline = run(chunk(R"({"content":"a"})") + "data: [DONE]");
  EXPECT_TRUE(no_newline.ok) << no_newline.error.message;
  // A usage chunk cut off after the finish reason does not spoil a complete answer.
  Result cut_usage = run(chunk("{}", "\"stop\"") + "data: {\"usage\":{\"prompt");
  EXPECT_TRUE(cut_usage.ok) << cut_usage.error.message;
}

TEST(ChatStream, SseFramingErrorsPassThrough) {
  tokencast::SseOptions options;
  options.max_line_bytes = 64;
  ChatStreamParser parser(options);
  std::vector<std::string> deltas;
  auto fed = parser.feed("data: " + std::string(100, 'x') + "\n\n", deltas);
  ASSERT_FALSE(fed.has_value());
  EXPECT_EQ(fed.error().code, tokencast::SseError::kLineTooLong);
  auto again = parser.finish(deltas);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, tokencast::SseError::kLineTooLong);
}

TEST(ChatRequestBody, HasModelMessagesAndStream) {
  ChatRequest request;
  request.model = "llama3.2";
  request.messages = {
      ChatMessage{TurnRole::kSystem, "be brief"}, ChatMessage{TurnRole::kUser, "hi \"there\"\n"},
      ChatMessage{TurnRole::kAssistant, "hello"}, ChatMessage{TurnRole::kUser, "bad \xFF byte"}};
  request.include_usage = true;
  request.max_tokens = 256;
  auto body = nlohmann::json::parse(tokencast::build_chat_request(request));
  EXPECT_EQ(body["model"], "llama3.2");
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["stream_options"]["include_usage"], true);
  EXPECT_EQ(body["max_tokens"], 256);
  EXPECT_FALSE(body.contains("temperature"));
  ASSERT_EQ(body["messages"].size(), 4u);
  EXPECT_EQ(body["messages"][0], (nlohmann::json{{"role", "system"}, {"content", "be brief"}}));
  EXPECT_EQ(body["messages"][1]["content"], "hi \"there\"\n");
  EXPECT_EQ(body["messages"][2]["role"], "assistant");
  EXPECT_EQ(body["messages"][3]["content"], "bad \xEF\xBF\xBD byte");
}

TEST(ChatRequestBody, OmitsEmptyModelAndUsage) {
  ChatRequest request;
  request.messages = {ChatMessage{TurnRole::kUser, "x"}};
  request.temperature = 0.5;
  auto body = nlohmann::json::parse(tokencast::build_chat_request(request));
  EXPECT_FALSE(body.contains("model"));
  EXPECT_FALSE(body.contains("stream_options"));
  EXPECT_DOUBLE_EQ(body["temperature"].get<double>(), 0.5);
}

TEST(ChatRequestBody, CarriesEverySamplingOption) {
  ChatRequest request;
  request.messages = {ChatMessage{TurnRole::kUser, "x"}};
  tokencast::GenerationOptions options;
  options.temperature = 0.25;
  options.top_p = 0.9;
  options.max_tokens = 64;
  options.seed = -7;
  tokencast::apply_sampling(options, request);
  auto body = nlohmann::json::parse(tokencast::build_chat_request(request));
  EXPECT_DOUBLE_EQ(body["temperature"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(body["top_p"].get<double>(), 0.9);
  EXPECT_EQ(body["max_tokens"], 64);
  EXPECT_EQ(body["seed"], -7);
}

std::vector<ChatMessage> chat(std::initializer_list<std::pair<TurnRole, std::string>> turns) {
  std::vector<ChatMessage> out;
  for (const auto& [role, text] : turns) out.push_back(ChatMessage{role, text});
  return out;
}

TEST(PrepareMessages, SystemPromptFirstAndNoTwoPromptsInARow) {
  tokencast::GenerationOptions options;
  options.system_prompt = "be brief";
  // The answer to "q1" failed, so the history holds q1 and q2 in a row: q1 goes.
  auto sent = tokencast::prepare_messages(chat({{TurnRole::kUser, "q0"},
                                                {TurnRole::kAssistant, "a0"},
                                                {TurnRole::kUser, "q1"},
                                                {TurnRole::kUser, "q2"}}),
                                          options);
  EXPECT_EQ(sent, chat({{TurnRole::kSystem, "be brief"},
                        {TurnRole::kUser, "q0"},
                        {TurnRole::kAssistant, "a0"},
                        {TurnRole::kUser, "q2"}}));
  EXPECT_EQ(tokencast::prepare_messages({}, {}), std::vector<ChatMessage>{});
}

TEST(PrepareMessages, TheTokenBudgetCutsOldestTurnsAndKeepsThePrompt) {
  tokencast::GenerationOptions options;
  options.context_tokens = 100;
  std::string long_text(270, 'x');  // 90 tokens, + 4 for the message
  auto sent = tokencast::prepare_messages(chat({{TurnRole::kUser, "old question"},
                                                {TurnRole::kAssistant, long_text},
                                                {TurnRole::kUser, "now?"}}),
                                          options);
  // The long answer does not fit beside the prompt; the conversation never opens with an
  // answer whose question was cut.
  EXPECT_EQ(sent, chat({{TurnRole::kUser, "now?"}}));
  options.context_tokens = 200;
  EXPECT_EQ(tokencast::prepare_messages(chat({{TurnRole::kUser, "old question"},
                                              {TurnRole::kAssistant, long_text},
                                              {TurnRole::kUser, "now?"}}),
                                        options)
                .size(),
            3u);
  // The prompt stays even when it alone is over the budget.
  options.context_tokens = 64;
  EXPECT_EQ(tokencast::prepare_messages(chat({{TurnRole::kUser, std::string(1000, 'y')}}), options)
                .size(),
            1u);
  EXPECT_EQ(tokencast::estimate_tokens(""), 0u);
  EXPECT_EQ(tokencast::estimate_tokens("abcd"), 2u);
}

TEST(HeaderLines, ParsedStrictlyWithValuesFromTheEnvironment) {
  auto env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "ORG_KEY") return std::string("s3cret");
    return std::nullopt;
  };
  auto line = tokencast::parse_header_line("X-Api-Key:  k-${ORG_KEY}-1 ", env);
  ASSERT_TRUE(line) << line.error();
  EXPECT_EQ(line->name, "X-Api-Key");
  EXPECT_EQ(line->value, "k-s3cret-1");
  auto plain = tokencast::parse_header_line("Authorization: Token abc", env);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->value, "Token abc");
  for (const char* bad : {"no colon", ": empty name", "Bad Name: x", "Host: example.org",
                          "content-length: 3", "X: ${UNSET}", "X: ${1X}", "X: ${OPEN", "X: a\rb"}) {
    auto parsed = tokencast::parse_header_line(bad, env);
    EXPECT_FALSE(parsed) << bad;
    if (!parsed) EXPECT_EQ(parsed.error().find("s3cret"), std::string::npos);
  }
  // A value from the environment with a line break is refused without quoting it.
  auto injected = tokencast::parse_header_line(
      "X: ${V}", [](std::string_view) { return std::optional<std::string>("a\r\nEvil: 1"); });
  ASSERT_FALSE(injected);
  EXPECT_EQ(injected.error().find("Evil"), std::string::npos);
  EXPECT_FALSE(tokencast::parse_header_line(std::string(9000, 'a') + ": b", env));
}

TEST(ModelChoice, EmbeddingModelsAreNotChosen) {
  using tokencast::looks_like_embedding_model;
  for (const char* id :
       {"nomic-embed-text:latest", "text-embedding-3-small", "bge-m3", "BAAI/bge-large-en",
        "all-minilm", "mxbai-embed-large", "bge-reranker-v2"}) {
    EXPECT_TRUE(looks_like_embedding_model(id)) << id;
  }
  for (const char* id : {"llama3.2", "qwen3:8b", "gpt-4o-mini", "deepseek-r1:7b", "gemma3"}) {
    EXPECT_FALSE(looks_like_embedding_model(id)) << id;
  }
  EXPECT_EQ(tokencast::first_chat_model({"nomic-embed-text", "qwen3:8b", "llama3.2"}), "qwen3:8b");
  EXPECT_EQ(tokencast::first_chat_model({"nomic-embed-text"}), std::nullopt);
  EXPECT_EQ(tokencast::first_chat_model({}), std::nullopt);
}

TEST(ProviderErrors, MessagesFromEveryDialect) {
  using tokencast::provider_error_message;
  EXPECT_EQ(
      provider_error_message(
          R"({"error":{"message":"Incorrect API key provided: sk-abc***.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}})"),
      "Incorrect API key provided: sk-abc***.");
  EXPECT_EQ(provider_error_message(R"({"error":"model \"x\" not found, try pulling it first"})"),
            "model \"x\" not found, try pulling it first");
  EXPECT_EQ(provider_error_message(R"({"code":500,"message":"boom","type":"server_error"})"),
            "boom");
  EXPECT_EQ(provider_error_message(R"({"detail":[{"loc":["body"],"msg":"field required"}]})"),
            "field required");
  EXPECT_EQ(provider_error_message(R"({"code":503})"), R"({"code":503})");
  EXPECT_EQ(provider_error_message("Bad Gateway\r\n<html>"), "Bad Gateway");
  EXPECT_EQ(provider_error_message("{\"error\":\"a\\nb\\u001b[31m\"}"), "a b [31m");
  EXPECT_EQ(provider_error_message(""), "");
  EXPECT_LE(provider_error_message(std::string(2000, 'x')).size(), 500u);
}

TEST(ProviderErrors, HttpStatusDescriptions) {
  EXPECT_EQ(tokencast::describe_http_error(401, R"({"error":{"message":"Invalid API key"}})"),
            "HTTP 401: Invalid API key");
  EXPECT_EQ(tokencast::describe_http_error(502, ""), "HTTP 502 Bad Gateway");
  EXPECT_EQ(tokencast::describe_http_error(599, ""), "HTTP 599");
}

TEST(ProviderErrors, OneLineKeepsUtf8Whole) {
  // "é" is two bytes; cutting at 2 must not leave half of it.
  EXPECT_EQ(tokencast::openai::one_line("a\xC3\xA9", 2), "a");
  EXPECT_EQ(tokencast::openai::one_line("  a \t\n b  ", 100), "a b");
}

TEST(ChatCompletion, NonStreamedAnswer) {
  auto answer = tokencast::parse_chat_completion(
      R"({"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"whole"},"finish_reason":"stop"}]})");
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(*answer, "whole");
  auto error = tokencast::parse_chat_completion(R"({"error":{"message":"nope"}})");
  ASSERT_FALSE(error.has_value());
  EXPECT_EQ(error.error().code, ChatStreamErrc::kProviderError);
  EXPECT_EQ(error.error().message, "nope");
  EXPECT_FALSE(tokencast::parse_chat_completion("[]").has_value());
  EXPECT_FALSE(tokencast::parse_chat_completion(R"({"choices":[]})").has_value());
}

TEST(ModelList, OpenAiOllamaAndLlamaCppForms) {
  auto openai = tokencast::parse_model_list(
      R"({"object":"list","data":[{"id":"llama3.2:latest","object":"model","created":1,"owned_by":"library"},{"id":"qwen2.5"}]})");
  ASSERT_TRUE(openai.has_value());
  EXPECT_EQ(*openai, (std::vector<std::string>{"llama3.2:latest", "qwen2.5"}));
  auto llama = tokencast::parse_model_list(
      R"({"models":[{"name":"m.gguf","model":"m.gguf"}],"object":"list","data":[{"id":"m.gguf"}]})");
  ASSERT_TRUE(llama.has_value());
  EXPECT_EQ(*llama, std::vector<std::string>{"m.gguf"});
  auto tags = tokencast::parse_model_list(R"({"models":[{"name":"phi3:mini"}]})");
  ASSERT_TRUE(tags.has_value());
  EXPECT_EQ(*tags, std::vector<std::string>{"phi3:mini"});
  auto empty = tokencast::parse_model_list(R"({"object":"list","data":[]})");
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
  EXPECT_FALSE(tokencast::parse_model_list("<html>").has_value());
  EXPECT_FALSE(tokencast::parse_model_list(R"({"object":"list"})").has_value());
}

TEST(ChatStreamErrors, CategoryNamesEveryError) {
  for (auto e : {ChatStreamErrc::kProviderError, ChatStreamErrc::kMalformedChunk,
                 ChatStreamErrc::kEndedEarly}) {
    std::error_code code = e;
    EXPECT_EQ(std::string(code.category().name()), "tokencast.chat_stream");
    EXPECT_NE(code.message(), "unknown chat stream error");
  }
}

}  // namespace

namespace {

using tokencast::ChatDelta;

std::vector<ChatDelta> pieces_of(const std::string& body, size_t step) {
  ChatStreamParser parser;
  std::vector<ChatDelta> out;
  for (size_t at = 0; at < body.size(); at += step) {
    EXPECT_TRUE(parser.feed(std::string_view(body).substr(at, step), out).has_value());
  }
  EXPECT_TRUE(parser.finish(out).has_value());
  return out;
}

// llama.cpp's server, vLLM and DeepSeek send reasoning_content; Ollama's OpenAI endpoint sends
// reasoning. Either comes out as thinking, before the content of the same chunk.
TEST(ChatStream, ReasoningFieldsComeOutAsThinking) {
  const std::string body =
      chunk(R"({"role":"assistant","content":null,"reasoning_content":"Let"})") +
      chunk(R"({"reasoning_content":" me\u00e9"})") +
      chunk(R"({"reasoning":"Ollama","content":null})") +
      chunk(R"({"reasoning_content":"both","reasoning":"both","content":"A"})") +
      chunk(R"({"content":"nswer"})", "\"stop\"") + "data: [DONE]\n\n";
  const std::vector<ChatDelta> want{{"Let", true},  {" me\xC3\xA9", true}, {"Ollama", true},
                                    {"both", true}, {"A", false},          {"nswer", false}};
  for (size_t step : {body.size(), size_t{7}, size_t{1}}) {
    EXPECT_EQ(pieces_of(body, step), want) << "step " << step;
  }
  // The text-only overload drops the thinking.
  EXPECT_EQ(run(body).deltas, (std::vector<std::string>{"A", "nswer"}));
}

TEST(ChatStream, ANonStringReasoningFieldIsMalformed) {
  Result result = run(chunk(R"({"reasoning_content":42})"));
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.error.code, ChatStreamErrc::kMalformedChunk);
  EXPECT_NE(result.error.message.find("reasoning_content"), std::string::npos);
}

}  // namespace
