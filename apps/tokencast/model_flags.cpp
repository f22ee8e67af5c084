#include "model_flags.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "bounded_file.hpp"
#include "tokencast/core/text.hpp"

namespace tokencast::app {
namespace {

// A whole decimal number in [min, max], or nullopt.
std::optional<double> parse_real(const std::string& text, double min, double max) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value, std::chars_format::fixed);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value) || value < min ||
      value > max) {
    return std::nullopt;
  }
  return value;
}

std::optional<int64_t> parse_integer(const std::string& text, int64_t min, int64_t max) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < min || value > max) {
    return std::nullopt;
  }
  return value;
}

// --system TEXT, or --system @FILE (at most kMaxSystemPromptBytes of UTF-8).
Expected<std::string, std::string> system_prompt(const std::string& flag) {
  if (flag.empty() || flag.front() != '@') {
    if (flag.size() > kMaxSystemPromptBytes) {
      return unexpected(std::string("--system is longer than 64 KiB"));
    }
    return to_valid_utf8(flag);
  }
  const std::string path = flag.substr(1);
  auto read = read_bounded_file(path, kMaxSystemPromptBytes);
  if (!read) {
    return unexpected(read.error() == BoundedReadError::kTooLarge
                          ? "--system: " + path + " is larger than 64 KiB"
                          : "--system: cannot read " + path);
  }
  std::string text = std::move(*read);
  if (!is_valid_utf8(text)) return unexpected("--system: " + path + " is not UTF-8 text");
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

}  // namespace

void ModelFlags::declare(util::CliArgs& cli) {
  cli.option("--system", "TEXT|@FILE", &system,
             "a system prompt sent before the conversation (or read from FILE, at most 64 KiB)");
  cli.option("--temperature", "T", &temperature, "sampling temperature, 0..2");
  cli.option("--top-p", "P", &top_p, "nucleus sampling: the top tokens up to probability P, 0..1");
  cli.option("--max-tokens", "N", &max_tokens, "most tokens in one answer");
  cli.option("--seed", "N", &seed, "sampling seed, for repeatable answers where the model allows");
  cli.option("--ctx-tokens", "N", &ctx_tokens,
             "cut the conversation sent to the model to about N tokens, oldest turns first "
             "(estimated at 3 bytes a token; the system prompt and the prompt always go)");
  cli.multi("--header", "'NAME: VALUE'", &headers,
            "an extra HTTP header for the model server (repeatable); ${VAR} in VALUE is read "
            "from the environment, so keep secrets there: --header 'X-Api-Key: ${MY_KEY}'");
  cli.option("--exec-input", "prompt|json", &exec_input,
             "what --exec's command reads on stdin: the prompt (default), or the whole "
             "conversation as one line of JSON (an OpenAI chat request: docs/llm.md)");
}

Expected<GenerationOptions, std::string> ModelFlags::generation() const {
  GenerationOptions options;
  auto prompt = system_prompt(system);
  if (!prompt) return unexpected(prompt.error());
  options.system_prompt = std::move(*prompt);
  if (!temperature.empty()) {
    options.temperature = parse_real(temperature, 0, 2);
    if (!options.temperature) return unexpected(std::string("--temperature must be 0..2"));
  }
  if (!top_p.empty()) {
    options.top_p = parse_real(top_p, 0, 1);
    if (!options.top_p) return unexpected(std::string("--top-p must be 0..1"));
  }
  if (!max_tokens.empty()) {
    options.max_tokens = parse_integer(max_tokens, 1, 10'000'000);
    if (!options.max_tokens) return unexpected(std::string("--max-tokens must be 1..10000000"));
  }
  if (!seed.empty()) {
    options.seed = parse_integer(seed, INT64_MIN, INT64_MAX);
    if (!options.seed) return unexpected(std::string("--seed must be a whole number"));
  }
  if (!ctx_tokens.empty()) {
    auto budget = parse_integer(ctx_tokens, 64, 100'000'000);
    if (!budget) return unexpected(std::string("--ctx-tokens must be 64..100000000"));
    options.context_tokens = static_cast<size_t>(*budget);
  }
  return options;
}

Expected<std::vector<HeaderLine>, std::string> ModelFlags::header_lines() const {
  std::vector<HeaderLine> out;
  auto lookup = [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
  for (const std::string& text : headers) {
    auto line = parse_header_line(text, lookup);
    if (!line) return unexpected(line.error());
    out.push_back(std::move(*line));
  }
  return out;
}

Expected<ExecInput, std::string> ModelFlags::exec_input_mode() const {
  auto mode = parse_exec_input(exec_input);
  if (!mode) return unexpected(std::string("--exec-input must be prompt or json"));
  return *mode;
}

}  // namespace tokencast::app
