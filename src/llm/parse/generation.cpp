#include "tokencast/llm/generation.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace tokencast {
namespace {

// Per-message framing a chat template adds (role markers, separators), in tokens.
constexpr size_t kMessageOverheadTokens = 4;

size_t message_tokens(const ChatMessage& message) {
  return estimate_tokens(message.content) + kMessageOverheadTokens;
}

bool is_token_char(char c) {  // RFC 9110 tchar
  if (std::isalnum(static_cast<unsigned char>(c)) != 0) return true;
  constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return kSpecials.find(c) != std::string_view::npos;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool is_reserved_header(std::string_view name) {
  constexpr std::array<std::string_view, 7> kReserved = {
      "Host",       "Content-Length", "Content-Type", "Accept", "Transfer-Encoding",
      "Connection", "Expect"};
  return std::any_of(kReserved.begin(), kReserved.end(),
                     [&](std::string_view r) { return equals_ignoring_case(r, name); });
}

bool has_control_char(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t') || u == 0x7f;
  });
}

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Replaces every ${VAR} in `value`. VAR is [A-Za-z_][A-Za-z0-9_]*.
Expected<std::string, std::string> expand_variables(
    std::string_view value,
    const std::function<std::optional<std::string>(std::string_view)>& lookup) {
  std::string out;
  size_t i = 0;
  while (i < value.size()) {
    size_t at = value.find("${", i);
    if (at == std::string_view::npos) {
      out.append(value.substr(i));
      break;
    }
    out.append(value.substr(i, at - i));
    size_t close = value.find('}', at + 2);
    if (close == std::string_view::npos)
      return unexpected(std::string("its value has an unclosed ${"));
    std::string_view var = value.substr(at + 2, close - at - 2);
    bool valid = !var.empty() && std::isdigit(static_cast<unsigned char>(var.front())) == 0 &&
                 std::all_of(var.begin(), var.end(), [](char c) {
                   return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
                 });
    if (!valid) {
      return unexpected("its value names a bad variable ${" + std::string(var.substr(0, 64)) + "}");
    }
    auto found = lookup(var);
    if (!found) {
      return unexpected("its value names ${" + std::string(var) +
                        "}, which is not set in the environment");
    }
    out.append(*found);
    i = close + 1;
  }
  return out;
}

}  // namespace

void apply_sampling(const GenerationOptions& options, ChatRequest& request) {
  request.temperature = options.temperature;
  request.top_p = options.top_p;
  request.max_tokens = options.max_tokens;
  request.seed = options.seed;
}

bool looks_like_embedding_model(std::string_view model_id) {
  std::string id(model_id);
  std::transform(id.begin(), id.end(), id.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  // The last path part: "nomic-ai/nomic-embed-text-v1.5" or "library/bge-m3:latest".
  if (auto slash = id.rfind('/'); slash != std::string::npos) id.erase(0, slash + 1);
  constexpr std::array<std::string_view, 3> kAnywhere = {"embed", "rerank", "minilm"};
  constexpr std::array<std::string_view, 4> kPrefixes = {"bge-", "e5-", "gte-", "multilingual-e5"};
  return std::any_of(kAnywhere.begin(), kAnywhere.end(),
                     [&](std::string_view w) { return id.find(w) != std::string::npos; }) ||
         std::any_of(kPrefixes.begin(), kPrefixes.end(),
                     [&](std::string_view p) { return id.rfind(p, 0) == 0; });
}

std::optional<std::string> first_chat_model(const std::vector<std::string>& model_ids) {
  for (const std::string& id : model_ids) {
    if (!looks_like_embedding_model(id)) return id;
  }
  return std::nullopt;
}

size_t estimate_tokens(std::string_view text) { return (text.size() + 2) / 3; }

std::vector<ChatMessage> prepare_messages(std::vector<ChatMessage> history,
                                          const GenerationOptions& options) {
  // Two user messages in a row: keep the later one.
  std::vector<ChatMessage> kept;
  kept.reserve(history.size() + 1);
  for (size_t i = 0; i < history.size(); ++i) {
    bool next_is_user = i + 1 < history.size() && history[i + 1].role == TurnRole::kUser;
    if (history[i].role == TurnRole::kUser && next_is_user) continue;
    kept.push_back(std::move(history[i]));
  }
  if (options.context_tokens > 0 && !kept.empty()) {
    size_t budget = options.context_tokens;
    size_t used = options.system_prompt.empty()
                      ? 0
                      : estimate_tokens(options.system_prompt) + kMessageOverheadTokens;
    // Newest first: the prompt being answered always stays, older turns while they fit.
    size_t first = kept.size() - 1;
    used += message_tokens(kept[first]);
    while (first > 0 && used + message_tokens(kept[first - 1]) <= budget) {
      used += message_tokens(kept[--first]);
    }
    // Never open with an answer whose question was cut.
    while (first + 1 < kept.size() && kept[first].role == TurnRole::kAssistant) ++first;
    kept.erase(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(first));
  }
  if (!options.system_prompt.empty()) {
    kept.insert(kept.begin(), ChatMessage{TurnRole::kSystem, options.system_prompt});
  }
  return kept;
}

Expected<HeaderLine, std::string> parse_header_line(
    std::string_view text,
    const std::function<std::optional<std::string>(std::string_view)>& lookup) {
  if (text.size() > kMaxHeaderLineBytes) {
    return unexpected("a --header longer than " + std::to_string(kMaxHeaderLineBytes) + " bytes");
  }
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return unexpected(std::string("a --header must be \"Name: value\""));
  }
  std::string_view name = text.substr(0, colon);
  if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) {
    return unexpected("a --header name must be an HTTP token, not '" +
                      std::string(name.substr(0, 64)) + "'");
  }
  if (is_reserved_header(name)) {
    return unexpected("the header " + std::string(name) + " is set by tokencast itself");
  }
  auto value = expand_variables(trim_blanks(text.substr(colon + 1)), lookup);
  if (!value) return unexpected("the --header " + std::string(name) + ": " + value.error());
  if (has_control_char(*value) || value->size() > kMaxHeaderLineBytes) {
    // The value may be a secret: it is not quoted.
    return unexpected("the --header " + std::string(name) +
                      " has a control character or is too long in its value");
  }
  return HeaderLine{std::string(name), std::move(*value)};
}

}  // namespace tokencast
