#include <gtest/gtest.h>

#include "tokencast/core/text.hpp"

namespace tokencast {
namespace {

const std::string kFFFD = "\xEF\xBF\xBD";

TEST(Utf8, ValidTextPassesUnchanged) {
  std::string text = "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80";
  EXPECT_TRUE(is_valid_utf8(text));
  EXPECT_EQ(to_valid_utf8(text), text);
}

TEST(Utf8, InvalidSequencesBecomeReplacementPerMaximalSubpart) {
  struct Case {
    std::string in;
    std::string out;
  };
  const Case cases[] = {
      {"\x80", kFFFD},                                      // stray continuation
      {"\xC0\xAF", kFFFD + kFFFD},                          // overlong lead is never valid
      {"\xE0\x80\xAF", kFFFD + kFFFD + kFFFD},              // overlong 3-byte form
      {"\xED\xA0\x80", kFFFD + kFFFD + kFFFD},              // surrogate U+D800
      {"\xF4\x90\x80\x80", kFFFD + kFFFD + kFFFD + kFFFD},  // above U+10FFFF
      {"\xE2\x82", kFFFD},                                  // truncated: one maximal subpart
      {"a\xE2\x82z", "a" + kFFFD + "z"},
      {"\xF0\x9F\x98", kFFFD},
      {"\xFF", kFFFD},
  };
  for (const auto& c : cases) {
    EXPECT_FALSE(is_valid_utf8(c.in));
    EXPECT_EQ(to_valid_utf8(c.in), c.out);
  }
}

TEST(Terminal, ControlSequencesAreRemovedWhole) {
  EXPECT_EQ(neutralize_for_terminal("a\x1b[31mred\x1b[0m b"), "ared b");
  EXPECT_EQ(neutralize_for_terminal("x\x1b]0;owned title\x07y"), "xy");
  EXPECT_EQ(neutralize_for_terminal("\x1b]8;;http://evil/\x1b\\click\x1b]8;;\x1b\\"), "click");
  EXPECT_EQ(neutralize_for_terminal("a\x1bPdcs data\x1b\\b"), "ab");
  EXPECT_EQ(neutralize_for_terminal("a\x1b"
                                    "7b\x1b(Bc"),
            "abc");
  EXPECT_EQ(neutralize_for_terminal("line\r\n"), "line" + kFFFD + "\n");
  EXPECT_EQ(neutralize_for_terminal(std::string("a\0b", 3)), "a" + kFFFD + "b");
  EXPECT_EQ(neutralize_for_terminal("bell\x07\x08\x7f"), "bell" + kFFFD + kFFFD + kFFFD);
  EXPECT_EQ(neutralize_for_terminal("tab\tok\n"), "tab\tok\n");
}

TEST(Terminal, C1AndBidiControlsBecomeVisible) {
  EXPECT_EQ(neutralize_for_terminal("\xC2\x9B"
                                    "31m"),
            kFFFD + "31m");  // 8-bit CSI
  EXPECT_EQ(neutralize_for_terminal("abc\xE2\x80\xAE"
                                    "def"),
            "abc" + kFFFD + "def");  // RLO
  EXPECT_EQ(neutralize_for_terminal("\xE2\x81\xA6x\xE2\x81\xA9"), kFFFD + "x" + kFFFD);
  EXPECT_EQ(neutralize_for_terminal("\xE2\x80\x8F"), kFFFD);  // RLM
}

TEST(Terminal, StreamingJoinsCharactersAndSequencesSplitAnywhere) {
  const std::string input = "h\xC3\xA9 \x1b[1;31mbold\x1b[0m \xF0\x9F\x98\x80\x1b]0;t\x07!";
  const std::string expected = "h\xC3\xA9 bold \xF0\x9F\x98\x80!";
  ASSERT_EQ(neutralize_for_terminal(input), expected);
  for (size_t cut1 = 0; cut1 <= input.size(); ++cut1) {
    for (size_t cut2 = cut1; cut2 <= input.size(); ++cut2) {
      TerminalSanitizer s;
      std::string out = s.feed(input.substr(0, cut1));
      out += s.feed(input.substr(cut1, cut2 - cut1));
      out += s.feed(input.substr(cut2));
      out += s.finish();
      ASSERT_EQ(out, expected) << cut1 << " " << cut2;
    }
  }
}

TEST(Terminal, UnterminatedStringIsAbandonedAfterABound) {
  std::string input = "\x1b]0;" + std::string(5000, 'x') + "visible";
  std::string out = neutralize_for_terminal(input);
  EXPECT_TRUE(out.ends_with("visible"));
  EXPECT_LT(out.size(), 1000u);
}

TEST(Terminal, IncompleteCharacterAtEndBecomesReplacement) {
  TerminalSanitizer s;
  EXPECT_EQ(s.feed("ok\xE2\x82"), "ok");
  EXPECT_EQ(s.finish(), kFFFD);
}

// ---------------------------------------------------------------------------------------------
// The streaming UTF-8 repair the exec and fd sources use.

TEST(Utf8Repair, ReplacesMaximalInvalidSubparts) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(to_valid_utf8("plain ascii"), "plain ascii");
  EXPECT_EQ(to_valid_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"),
            "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  EXPECT_EQ(to_valid_utf8("\x80"), r);
  EXPECT_EQ(to_valid_utf8("\xC0\xAF"), r + r);                  // overlong lead bytes
  EXPECT_EQ(to_valid_utf8("\xE0\x80\x80"), r + r + r);          // overlong 3-byte
  EXPECT_EQ(to_valid_utf8("\xF4\x90\x80\x80"), r + r + r + r);  // above U+10FFFF
  EXPECT_EQ(to_valid_utf8("\xE2\x82"
                          "a"),
            r + "a");                           // truncated, then ASCII
  EXPECT_EQ(to_valid_utf8("\xF0\x9F\x98"), r);  // truncated at the end
  EXPECT_EQ(to_valid_utf8("\xFF\xFE"), r + r);
}

TEST(Utf8Repair, SplitAnywhereGivesTheSameResult) {
  const std::string input = "a\xC3\xA9\xFF\xE2\x82\xAC\xF0\x9F\x98\x80\xED\xA0\x80\xE2\x82z\xF0";
  const std::string whole = to_valid_utf8(input);
  for (size_t i = 0; i <= input.size(); ++i) {
    for (size_t j = i; j <= input.size(); ++j) {
      Utf8Repair s;
      std::string out = s.push(input.substr(0, i));
      out += s.push(input.substr(i, j - i));
      out += s.push(input.substr(j));
      out += s.finish();
      ASSERT_EQ(out, whole) << i << " " << j;
    }
  }
}

TEST(Json, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(json_escape("a\"b\\c\n\x01"), "a\\\"b\\\\c\\n\\u0001");
}

TEST(Json, EscapesC1ControlsAndLineSeparators) {
  // U+0085 (NEL) and U+009B (CSI) act as controls in some terminals; U+2028/2029 end lines in
  // JavaScript source and some viewers.
  EXPECT_EQ(json_escape("a\xC2\x85"
                        "b\xC2\x9B"
                        "c\xE2\x80\xA8"
                        "d\xE2\x80\xA9"
                        "e\xC2\xA0"),
            "a\\u0085b\\u009bc\\u2028d\\u2029e\xC2\xA0");
}

TEST(Terminal, OneLineFormHasNoLineBreaks) {
  EXPECT_EQ(neutralize_line("ada\n# fake\theading\x1B]0;title\x07\r"),
            "ada # fake heading\xEF\xBF\xBD");
}

}  // namespace
}  // namespace tokencast
