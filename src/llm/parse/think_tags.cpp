#include "parse/think_tags.hpp"

#include <algorithm>

namespace tokencast::llm {
namespace {

constexpr std::string_view kOpen = "<think>";
constexpr std::string_view kClose = "</think>";
constexpr std::string_view kSpace = " \t\r\n";

// Length of the longest end of `text` that is a proper beginning of `tag`: bytes to hold back
// because the next delta may complete the tag.
size_t partial_tag_at_end(std::string_view text, std::string_view tag) {
  for (size_t n = std::min(text.size(), tag.size() - 1); n > 0; --n) {
    if (text.substr(text.size() - n) == tag.substr(0, n)) return n;
  }
  return 0;
}

}  // namespace

void ThinkTagSplitter::emit(std::vector<ChatDelta>& out, std::string text, bool thinking) {
  if (thinking && !thinking_started_) {
    const size_t first = text.find_first_not_of(kSpace);
    if (first == std::string::npos) return;
    text.erase(0, first);
    thinking_started_ = true;
  }
  if (!text.empty()) out.push_back(ChatDelta{std::move(text), thinking});
}

void ThinkTagSplitter::feed(std::string_view bytes, std::vector<ChatDelta>& out) {
  if (bytes.empty()) return;
  switch (state_) {
    case State::kStart: {
      held_.append(bytes);
      // The same decision whatever the deltas: on the leading whitespace's length, then on
      // what follows it.
      const size_t first = std::min(held_.find_first_not_of(kSpace), held_.size());
      if (first > kMaxLeadingBytes) {
        finish(out);  // too much whitespace to wait behind: text
        return;
      }
      const std::string_view start = std::string_view(held_).substr(first);
      if (start.size() < kOpen.size() && kOpen.substr(0, start.size()) == start) {
        return;  // whitespace so far, or maybe "<think>" once more bytes arrive
      }
      if (start.substr(0, kOpen.size()) != kOpen) {
        finish(out);  // an answer without thinking: everything held is text
        return;
      }
      state_ = State::kThinking;
      const std::string rest(start.substr(kOpen.size()));
      held_.clear();
      feed(rest, out);
      return;
    }
    case State::kThinking: {
      std::string text = std::move(held_);
      held_.clear();
      text.append(bytes);
      if (const size_t close = text.find(kClose); close != std::string::npos) {
        state_ = State::kAfterThinking;
        emit(out, text.substr(0, close), true);
        feed(std::string_view(text).substr(close + kClose.size()), out);
        return;
      }
      const size_t partial = partial_tag_at_end(text, kClose);
      held_ = text.substr(text.size() - partial);
      text.resize(text.size() - partial);
      emit(out, std::move(text), true);
      return;
    }
    case State::kAfterThinking: {
      const size_t first = bytes.find_first_not_of(kSpace);
      if (first == std::string_view::npos) return;
      state_ = State::kText;
      emit(out, std::string(bytes.substr(first)), false);
      return;
    }
    case State::kText:
      emit(out, std::string(bytes), false);
      return;
  }
}

void ThinkTagSplitter::open() {
  if (state_ == State::kStart && held_.empty()) state_ = State::kThinking;
}

void ThinkTagSplitter::finish(std::vector<ChatDelta>& out) {
  std::string held = std::move(held_);
  held_.clear();
  if (state_ == State::kStart) {
    state_ = State::kText;
    emit(out, std::move(held), false);
  } else if (state_ == State::kThinking) {
    emit(out, std::move(held), true);  // "</thi" at the very end is thinking
  }
}

}  // namespace tokencast::llm
