// libFuzzer target for the SSE parser and the chat-stream interpreter on top of it.
// The first two bytes choose where to split the rest and which limits to use. Whatever the
// split, the results must be the same as feeding everything at once (a differential check);
// any difference, or any crash, is a bug.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokencast/llm/openai_stream.hpp"
#include "tokencast/llm/sse.hpp"

namespace {

struct SseRun {
  std::vector<tokencast::SseEvent> events;
  std::error_code error;
  std::error_code finish_error;
  uint64_t consumed = 0;
};

SseRun run_sse(std::string_view input, const std::vector<size_t>& cuts,
               tokencast::SseOptions options, bool lenient) {
  tokencast::SseParser parser(options);
  SseRun run;
  size_t begin = 0;
  auto feed = [&](std::string_view part) {
    if (run.error) return;
    auto fed = parser.feed(part, run.events);
    if (!fed) run.error = fed.error();
  };
  for (size_t cut : cuts) {
    feed(input.substr(begin, cut - begin));
    begin = cut;
  }
  feed(input.substr(begin));
  if (!run.error) {
    auto finished = parser.finish(run.events, lenient);
    if (!finished) run.finish_error = finished.error();
    run.consumed = parser.bytes_consumed();
  }
  return run;
}

struct ChatRun {
  std::vector<std::string> deltas;
  std::error_code error;
};

ChatRun run_chat(std::string_view input, const std::vector<size_t>& cuts,
                 tokencast::SseOptions options) {
  tokencast::ChatStreamParser parser(options);
  ChatRun run;
  size_t begin = 0;
  auto feed = [&](std::string_view part) {
    if (run.error) return;
    auto fed = parser.feed(part, run.deltas);
    if (!fed) run.error = fed.error().code;
  };
  for (size_t cut : cuts) {
    feed(input.substr(begin, cut - begin));
    begin = cut;
  }
  feed(input.substr(begin));
  if (!run.error) {
    auto finished = parser.finish(run.deltas);
    if (!finished) run.error = finished.error().code;
  }
  return run;
}

bool same(const SseRun& a, const SseRun& b) {
  return a.events == b.events && a.error == b.error && a.finish_error == b.finish_error &&
         a.consumed == b.consumed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t split_seed = data[0];
  const uint8_t mode = data[1];
  std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);

  tokencast::SseOptions options;
  if ((mode & 1) != 0) {  // small limits, so that the limit paths are reached
    options.max_line_bytes = 8 + (mode >> 4);
    options.max_event_bytes = 16 + (mode >> 2);
  }
  options.error_field_as_event = (mode & 2) != 0;
  const bool lenient = (mode & 4) != 0;

  size_t first = input.empty() ? 0 : (split_seed * input.size()) / 255;
  size_t second = first + (input.size() - first) / 2;
  const std::vector<size_t> cuts{first, second};

  SseRun whole = run_sse(input, {}, options, lenient);
  SseRun split = run_sse(input, cuts, options, lenient);
  if (!same(whole, split)) __builtin_trap();
  if (input.size() <= 512) {
    std::vector<size_t> every;
    for (size_t i = 1; i < input.size(); ++i) every.push_back(i);
    if (!same(whole, run_sse(input, every, options, lenient))) __builtin_trap();
  }

  ChatRun chat_whole = run_chat(input, {}, options);
  ChatRun chat_split = run_chat(input, cuts, options);
  if (chat_whole.deltas != chat_split.deltas || chat_whole.error != chat_split.error) {
    __builtin_trap();
  }
  return 0;
}
