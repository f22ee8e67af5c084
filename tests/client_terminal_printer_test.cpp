// The terminal printer: a turn's thinking is marked and dimmed (on a TTY) before the answer,
// sanitized like all peer text, and left out with --no-thinking.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tokencast/client/terminal_printer.hpp"

namespace tokencast {
namespace {

std::vector<Event> reasoning_turn() {
  return {
      {1, TurnStarted{1, TurnRole::kAssistant, "r1", 0}},
      {2, ThinkingDelta{1, "add \xE2\x82"}},  // a character split across thinking deltas
      {3, ThinkingDelta{1, "\xAC them\x1B[2J"}},
      {4, TextDelta{1, "Four."}},
      {5, TurnEnded{1, TurnEnd::kDone, "", 3, 0}},
  };
}

std::string render_all(TerminalPrinter& printer) {
  std::string out;
  for (const Event& e : reasoning_turn()) out += printer.render(Applied{e}, true);
  return out;
}

TEST(TerminalPrinter, ThinkingComesFirstUnderItsOwnLine) {
  TerminalPrinter plain(false);
  EXPECT_EQ(render_all(plain), "\nr1 answers:\nthinking:\nadd \xE2\x82\xAC them\nFour.\n");
}

TEST(TerminalPrinter, ThinkingIsDimmedOnATerminalAndItsEscapesAreDropped) {
  TerminalPrinter styled(true);
  const std::string out = render_all(styled);
  EXPECT_NE(
      out.find("\x1b[2mthinking:\x1b[0m\n\x1b[2madd \x1b[0m\x1b[2m\xE2\x82\xAC them\x1b[0m\n"),
      std::string::npos)
      << out;
  EXPECT_EQ(out.find("\x1b[2J"), std::string::npos);
  EXPECT_LT(out.find("them"), out.find("Four."));
}

TEST(TerminalPrinter, NoThinkingLeavesItOut) {
  TerminalPrinter hidden(false, /*show_thinking=*/false);
  EXPECT_EQ(render_all(hidden), "\nr1 answers:\nFour.\n");
}

}  // namespace
}  // namespace tokencast
