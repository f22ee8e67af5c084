// Inline <think> reasoning split from an answer's text, whatever the deltas' boundaries.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "parse/think_tags.hpp"

namespace tokencast::llm {
namespace {

struct Split {
  std::string thinking;
  std::string text;
  bool thinking_first = true;  // no thinking piece after a text piece
  bool operator==(const Split&) const = default;
};

// `opened`: the prompt opened "<think>" (ThinkTagSplitter::open()).
Split split(const std::vector<std::string>& deltas, bool opened = false) {
  ThinkTagSplitter splitter;
  if (opened) splitter.open();
  std::vector<ChatDelta> pieces;
  for (const auto& d : deltas) splitter.feed(d, pieces);
  splitter.finish(pieces);
  Split out;
  bool seen_text = false;
  for (const auto& p : pieces) {
    EXPECT_FALSE(p.text.empty());
    if (p.thinking && seen_text) out.thinking_first = false;
    seen_text = seen_text || !p.thinking;
    (p.thinking ? out.thinking : out.text) += p.text;
  }
  return out;
}

// Every way to cut `answer` into deltas of `size` bytes gives the same split.
Split split_every(const std::string& answer, size_t size, bool opened = false) {
  std::vector<std::string> deltas;
  for (size_t at = 0; at < answer.size(); at += size) deltas.push_back(answer.substr(at, size));
  return split(deltas, opened);
}

TEST(ThinkTags, ThinkingThenAnswerWhateverTheDeltaBoundaries) {
  const std::string answer = "\n<think>\nThe user asks 2+2. Easy.\n</think>\n\nIt is 4.";
  for (size_t size = 1; size <= answer.size(); ++size) {
    EXPECT_EQ(split_every(answer, size), (Split{"The user asks 2+2. Easy.\n", "It is 4."}))
        << "deltas of " << size;
  }
}

// The template's generation prompt ended with "<think>": the output opens inside thinking and
// only "</think>" closes it.
TEST(ThinkTags, AnAnswerOpenedByTheTemplateIsThinkingUpToTheClosingTag) {
  const std::string answer = "\nThe user asks 2+2. Easy.\n</think>\n\nIt is 4.";
  for (size_t size = 1; size <= answer.size(); ++size) {
    EXPECT_EQ(split_every(answer, size, true), (Split{"The user asks 2+2. Easy.\n", "It is 4."}))
        << "deltas of " << size;
  }
  EXPECT_EQ(split({"all of it is reasoning"}, true), (Split{"all of it is reasoning", ""}));
  EXPECT_EQ(split({"\n\n</think>\n\nHi"}, true), (Split{"", "Hi"}));  // an empty block
  EXPECT_EQ(split({"a</think>b <think>c</think>"}, true), (Split{"a", "b <think>c</think>"}));
  EXPECT_EQ(split({"</thi"}, true), (Split{"</thi", ""}));
  // The same bytes without open(): no "<think>" opened the answer, so it is text.
  EXPECT_EQ(split({"a</think>b"}), (Split{"", "a</think>b"}));
}

TEST(ThinkTags, OpenAfterTheFirstByteChangesNothing) {
  ThinkTagSplitter splitter;
  std::vector<ChatDelta> pieces;
  splitter.feed("Hi", pieces);
  splitter.open();
  splitter.feed(" there</think>", pieces);
  splitter.finish(pieces);
  EXPECT_EQ(pieces, (std::vector<ChatDelta>{{"Hi", false}, {" there</think>", false}}));
}

TEST(ThinkTags, AnAnswerWithoutThinkingIsText) {
  EXPECT_EQ(split({"Hello"}), (Split{"", "Hello"}));
  EXPECT_EQ(split({"<", "b>bold</b>"}), (Split{"", "<b>bold</b>"}));
  EXPECT_EQ(split({"<thi", "nk about it"}), (Split{"", "<think about it"}));
  EXPECT_EQ(split({"  ", "\n"}), (Split{"", "  \n"}));
  EXPECT_EQ(split({"<thi"}), (Split{"", "<thi"}));  // the answer ended inside the maybe-tag
}

TEST(ThinkTags, OnlyAtTheStartOfTheAnswer) {
  EXPECT_EQ(split({"Use <think>tags</think> like this"}),
            (Split{"", "Use <think>tags</think> like this"}));
  EXPECT_EQ(split({"<think>a</think>b <think>c</think>"}), (Split{"a", "b <think>c</think>"}));
}

TEST(ThinkTags, EmptyAndUnclosedBlocks) {
  EXPECT_EQ(split({"<think>\n\n</think>\n\nHi"}), (Split{"", "Hi"}));
  EXPECT_EQ(split({"<think>still going </thi"}), (Split{"still going </thi", ""}));
}

TEST(ThinkTags, MultiByteCharactersStayWhole) {
  // Deltas that end on character boundaries give pieces that do too.
  ThinkTagSplitter splitter;
  std::vector<ChatDelta> pieces;
  for (const char* d : {"<think>", "\xC3\xA9t\xC3\xA9", "</thi", "nk>\xE2\x82\xAC", "!"}) {
    splitter.feed(d, pieces);
  }
  splitter.finish(pieces);
  EXPECT_EQ(pieces, (std::vector<ChatDelta>{
                        {"\xC3\xA9t\xC3\xA9", true}, {"\xE2\x82\xAC", false}, {"!", false}}));
}

TEST(ThinkTags, LeadingWhitespaceIsBounded) {
  const std::string spaces(ThinkTagSplitter::kMaxLeadingBytes + 1, ' ');
  ThinkTagSplitter splitter;
  std::vector<ChatDelta> pieces;
  splitter.feed(spaces, pieces);
  ASSERT_EQ(pieces.size(), 1u);  // not held any longer: it was text
  EXPECT_FALSE(pieces[0].thinking);
  splitter.feed("<think>x", pieces);
  EXPECT_EQ(pieces.back(), (ChatDelta{"<think>x", false}));
}

}  // namespace
}  // namespace tokencast::llm
