// libFuzzer target for the inline <think> splitter. The first byte chooses where to cut the
// rest into deltas, and (its high bit) whether the prompt opened thinking (open()). Whatever the
// cuts, the thinking and the text must be what feeding the input whole gives (a differential
// check), no piece may be empty, no thinking may follow text; not opened and with no "<think>"
// in the input, everything is text, unchanged; opened and with no "</think>", nothing is text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "parse/think_tags.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

struct Split {
  std::string thinking;
  std::string text;
  bool operator==(const Split&) const = default;
};

Split run(std::string_view input, size_t step, bool opened) {
  tokencast::llm::ThinkTagSplitter splitter;
  if (opened) splitter.open();
  std::vector<tokencast::ChatDelta> pieces;
  for (size_t at = 0; at < input.size(); at += step) splitter.feed(input.substr(at, step), pieces);
  splitter.finish(pieces);
  Split out;
  bool seen_text = false;
  for (const auto& piece : pieces) {
    check(!piece.text.empty());
    check(!(piece.thinking && seen_text));
    seen_text = seen_text || !piece.thinking;
    (piece.thinking ? out.thinking : out.text) += piece.text;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t step = 1 + (data[0] & 0x7f) % 16;
  const bool opened = (data[0] & 0x80) != 0;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const Split whole = run(input, input.size() + 1, opened);
  check(run(input, step, opened) == whole);
  if (!opened && input.find("<think>") == std::string_view::npos) {
    check(whole.thinking.empty() && whole.text == input);
  }
  if (opened && input.find("</think>") == std::string_view::npos) check(whole.text.empty());
  return 0;
}
