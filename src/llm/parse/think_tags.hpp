// Inline reasoning: models such as DeepSeek-R1, QwQ and Qwen3, served by something that does not
// separate their reasoning (a plain llama.cpp build, a command's output), open their answer with
// "<think>" ... "</think>" in the text itself. ThinkTagSplitter cuts such an answer into its
// thinking and its text, incrementally, whatever the deltas' boundaries (a tag may arrive split
// across deltas). Pure: bytes in, pieces out.
//
// Only a "<think>" at the very start of the answer (after whitespace) opens thinking, as models
// emit it; a tag anywhere later is text (an answer may well talk about "<think>" tags). An
// unclosed block stays thinking to the end. Whitespace between the tags and the text around
// them is dropped, so "<think>\n\n</think>" (a model told not to think) leaves nothing.
//
// A chat template may open the block itself: its generation prompt ends with "<think>"
// (DeepSeek-R1's later templates, Bailing-think), so the model's output starts inside thinking and
// only closes it with "</think>". open() (before the first byte) puts the splitter there:
// everything up to
// "</think>" is thinking, and an answer that never closes it is thinking to the end.
//
// Tags are ASCII and pieces are cut only at tag boundaries or at the input's own boundaries, so
// input whose deltas end on UTF-8 character boundaries gives pieces that do too.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tokencast/llm/openai_stream.hpp"

namespace tokencast::llm {

class ThinkTagSplitter {
 public:
  // Appends the pieces `bytes` completes (at most one of thinking, then one of text) to `out`.
  void feed(std::string_view bytes, std::vector<ChatDelta>& out);
  // The answer has ended: flushes what was held back (a partial tag is what it looked like).
  void finish(std::vector<ChatDelta>& out);
  // The answer starts inside thinking (the prompt opened "<think>"). Only before the first feed().
  void open();

  // Leading whitespace held while waiting to see whether "<think>" follows is bounded by this.
  static constexpr size_t kMaxLeadingBytes = 256;

 private:
  enum class State { kStart, kThinking, kAfterThinking, kText };
  void emit(std::vector<ChatDelta>& out, std::string text, bool thinking);

  State state_ = State::kStart;
  std::string held_;  // kStart: the answer so far; kThinking: a possible start of "</think>"
  bool thinking_started_ = false;  // a non-whitespace byte of thinking was emitted
};

}  // namespace tokencast::llm
