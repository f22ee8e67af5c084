#include "tokencast/llm/openai_stream.hpp"

#include <nlohmann/json.hpp>

#include "parse/one_line.hpp"
#include "tokencast/core/text.hpp"

namespace tokencast {

using nlohmann::json;

namespace openai {

std::string one_line(std::string_view text, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes));
  bool space = false;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) {
      out += ' ';
      space = false;
    }
    out += c;
  }
  if (out.size() > max_bytes) {
    out.resize(utf8_prefix(out, max_bytes).size());
    while (!out.empty() && out.back() == ' ') out.pop_back();
  }
  return out;
}

}  // namespace openai

namespace {

constexpr size_t kMaxMessageBytes = 500;

class ChatStreamCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "tokencast.chat_stream"; }
  std::string message(int code) const override {
    switch (static_cast<ChatStreamErrc>(code)) {
      case ChatStreamErrc::kProviderError:
        return "the provider reported an error";
      case ChatStreamErrc::kMalformedChunk:
        return "malformed stream chunk";
      case ChatStreamErrc::kEndedEarly:
        return "stream ended early";
    }
    return "unknown chat stream error";
  }
};

json parse_json(std::string_view text) {
  return json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
}

// The most specific human-readable text in an error value.
std::string message_of(const json& value, int depth = 0) {
  if (depth > 4) return {};
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array() && !value.empty()) return message_of(value.front(), depth + 1);
  if (!value.is_object()) return {};
  for (const char* key : {"error", "message", "detail", "msg"}) {
    auto it = value.find(key);
    if (it == value.end() || it->is_null()) continue;
    std::string text = message_of(*it, depth + 1);
    if (!text.empty()) return text;
  }
  return {};
}

std::string snippet(std::string_view text) { return openai::one_line(text, 120); }

ChatStreamError malformed(std::string what, std::string_view data) {
  return {make_error_code(ChatStreamErrc::kMalformedChunk),
          "malformed stream chunk: " + std::move(what) + ": " + snippet(data)};
}

ChatStreamError provider_error(std::string_view body) {
  std::string text = provider_error_message(body);
  if (text.empty()) text = "the provider reported an error";
  return {make_error_code(ChatStreamErrc::kProviderError), std::move(text)};
}

bool is_done_marker(std::string_view data) {
  while (!data.empty() && (data.front() == ' ' || data.front() == '\t')) data.remove_prefix(1);
  while (!data.empty() && (data.back() == ' ' || data.back() == '\t')) data.remove_suffix(1);
  return data == "[DONE]";
}

bool is_blank(std::string_view data) {
  return data.find_first_not_of(" \t\n") == std::string_view::npos;
}

uint64_t count_of(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return 0;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  auto signed_value = it->get<int64_t>();
  return signed_value < 0 ? 0 : static_cast<uint64_t>(signed_value);
}

const char* reason_phrase(long status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

}  // namespace

const std::error_category& chat_stream_category() {
  static const ChatStreamCategory category;
  return category;
}

std::error_code make_error_code(ChatStreamErrc e) {
  return {static_cast<int>(e), chat_stream_category()};
}

std::string build_chat_request(const ChatRequest& request) {
  json body = json::object();
  if (!request.model.empty()) body["model"] = request.model;
  json messages = json::array();
  for (const ChatMessage& message : request.messages) {
    messages.push_back(
        {{"role", std::string(turn_role_name(message.role))}, {"content", message.content}});
  }
  body["messages"] = std::move(messages);
  body["stream"] = true;
  if (request.include_usage) body["stream_options"] = {{"include_usage", true}};
  if (request.temperature) body["temperature"] = *request.temperature;
  if (request.top_p) body["top_p"] = *request.top_p;
  if (request.max_tokens) body["max_tokens"] = *request.max_tokens;
  if (request.seed) body["seed"] = *request.seed;
  return body.dump(-1, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);
}

ChatStreamParser::ChatStreamParser(SseOptions sse)
    : sse_([&] {
        sse.error_field_as_event = true;
        return sse;
      }()) {}

Expected<void, ChatStreamError> ChatStreamParser::fail(ChatStreamError error) {
  failed_ = error;
  return unexpected(std::move(error));
}

namespace {

void keep_text(std::vector<ChatDelta>& pieces, std::vector<std::string>& text) {
  for (ChatDelta& piece : pieces) {
    if (!piece.thinking) text.push_back(std::move(piece.text));
  }
}

}  // namespace

Expected<void, ChatStreamError> ChatStreamParser::feed(std::string_view bytes,
                                                       std::vector<std::string>& deltas) {
  std::vector<ChatDelta> pieces;
  auto fed = feed(bytes, pieces);
  keep_text(pieces, deltas);
  return fed;
}

Expected<void, ChatStreamError> ChatStreamParser::finish(std::vector<std::string>& deltas) {
  std::vector<ChatDelta> pieces;
  auto finished = finish(pieces);
  keep_text(pieces, deltas);
  return finished;
}

Expected<void, ChatStreamError> ChatStreamParser::feed(std::string_view bytes,
                                                       std::vector<ChatDelta>& deltas) {
  if (failed_) return unexpected(*failed_);
  if (done_) return {};
  events_.clear();
  auto fed = sse_.feed(bytes, events_);
  // Events completed before a framing error still count.
  auto handled = handle(events_, deltas);
  if (!handled) return handled;
  if (!fed && !done_) return fail({fed.error(), fed.error().message()});
  return {};
}

Expected<void, ChatStreamError> ChatStreamParser::finish(std::vector<ChatDelta>& deltas) {
  if (failed_) return unexpected(*failed_);
  if (done_) return {};
  events_.clear();
  auto finished = sse_.finish(events_, /*dispatch_pending=*/true);
  bool truncated = !finished;
  auto handled = handle(events_, deltas);
  if (!handled && !(truncated && handled.error().code == ChatStreamErrc::kMalformedChunk)) {
    return handled;
  }
  if (done_ || finish_reason_) {
    failed_.reset();
    return {};
  }
  std::string message = "stream ended early";
  if (!handled) message += " (inside a chunk)";
  return fail({make_error_code(ChatStreamErrc::kEndedEarly), std::move(message)});
}

Expected<void, ChatStreamError> ChatStreamParser::handle(const std::vector<SseEvent>& events,
                                                         std::vector<ChatDelta>& deltas) {
  for (const SseEvent& event : events) {
    if (done_) return {};
    if (event.type == "error") return fail(provider_error(event.data));
    if (event.type != "message") continue;  // e.g. "ping": not part of the answer
    if (is_done_marker(event.data)) {
      done_ = true;
      return {};
    }
    if (is_blank(event.data)) continue;

    json chunk = parse_json(event.data);
    if (chunk.is_discarded()) return fail(malformed("not JSON", event.data));
    if (!chunk.is_object()) return fail(malformed("not a JSON object", event.data));
    ++chunks_;
    if (auto error = chunk.find("error"); error != chunk.end() && !error->is_null()) {
      return fail(provider_error(event.data));
    }
    if (auto model = chunk.find("model"); model != chunk.end() && model->is_string()) {
      model_ = model->get<std::string>();
    }
    if (auto usage = chunk.find("usage"); usage != chunk.end() && usage->is_object()) {
      usage_ = ChatUsage{count_of(*usage, "prompt_tokens"), count_of(*usage, "completion_tokens"),
                         count_of(*usage, "total_tokens")};
    }
    auto choices = chunk.find("choices");
    if (choices == chunk.end() || choices->is_null()) continue;
    if (!choices->is_array()) return fail(malformed("\"choices\" is not an array", event.data));
    for (const json& choice : *choices) {
      if (!choice.is_object()) return fail(malformed("a choice is not an object", event.data));
      // Only the first choice (index 0) is the answer; n > 1 is never requested.
      if (auto index = choice.find("index");
          index != choice.end() && index->is_number_integer() && index->get<int64_t>() != 0) {
        continue;
      }
      if (auto delta = choice.find("delta"); delta != choice.end() && !delta->is_null()) {
        if (!delta->is_object()) return fail(malformed("\"delta\" is not an object", event.data));
        bool reasoned = false;
        for (const char* key : {"reasoning_content", "reasoning", "content"}) {
          const bool thinking = key[0] == 'r';
          auto field = delta->find(key);
          if (field == delta->end() || field->is_null()) continue;
          if (!field->is_string()) {
            return fail(malformed("\"" + std::string(key) + "\" is not a string", event.data));
          }
          const auto& text = field->get_ref<const std::string&>();
          if (text.empty() || (thinking && reasoned)) continue;
          reasoned = reasoned || thinking;
          deltas.push_back(ChatDelta{text, thinking});
        }
      }
      if (auto reason = choice.find("finish_reason");
          reason != choice.end() && reason->is_string()) {
        finish_reason_ = reason->get<std::string>();
      }
    }
  }
  return {};
}

std::string provider_error_message(std::string_view body) {
  json value = parse_json(body);
  std::string text;
  if (value.is_discarded()) {
    text = std::string(body.substr(0, body.find_first_of("\r\n")));
  } else {
    text = message_of(value);
    if (text.empty() && !value.is_null()) {
      text = value.dump(-1, ' ', false, json::error_handler_t::replace);
    }
  }
  return openai::one_line(text, kMaxMessageBytes);
}

std::string describe_http_error(long status, std::string_view body) {
  std::string text = "HTTP " + std::to_string(status);
  std::string message = provider_error_message(body);
  if (!message.empty()) return text + ": " + message;
  std::string_view phrase = reason_phrase(status);
  if (!phrase.empty()) text += " " + std::string(phrase);
  return text;
}

Expected<std::string, ChatStreamError> parse_chat_completion(std::string_view body) {
  json value = parse_json(body);
  if (value.is_discarded() || !value.is_object()) {
    return unexpected(malformed("the answer is not a JSON object", body));
  }
  if (auto error = value.find("error"); error != value.end() && !error->is_null()) {
    return unexpected(provider_error(body));
  }
  auto choices = value.find("choices");
  if (choices == value.end() || !choices->is_array() || choices->empty() ||
      !choices->front().is_object()) {
    return unexpected(malformed("the answer has no choices", body));
  }
  const json& choice = choices->front();
  auto message = choice.find("message");
  if (message == choice.end() || !message->is_object()) {
    return unexpected(malformed("the answer's choice has no message", body));
  }
  auto content = message->find("content");
  if (content == message->end() || content->is_null()) return std::string();
  if (!content->is_string()) return unexpected(malformed("\"content\" is not a string", body));
  return content->get<std::string>();
}

Expected<std::vector<std::string>, std::string> parse_model_list(std::string_view body) {
  json value = parse_json(body);
  if (value.is_discarded() || !value.is_object()) {
    return unexpected(std::string("the model list is not a JSON object"));
  }
  std::vector<std::string> ids;
  auto collect = [&](const json& list, std::initializer_list<const char*> keys) {
    for (const json& item : list) {
      if (!item.is_object()) continue;
      for (const char* key : keys) {
        auto it = item.find(key);
        if (it != item.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
          ids.push_back(it->get<std::string>());
          break;
        }
      }
    }
  };
  auto data = value.find("data");
  auto models = value.find("models");
  if (data != value.end() && data->is_array()) {
    collect(*data, {"id"});
  } else if (models != value.end() && models->is_array()) {
    collect(*models, {"model", "name", "id"});
  } else {
    return unexpected(std::string("the answer has no model list"));
  }
  return ids;
}

}  // namespace tokencast
