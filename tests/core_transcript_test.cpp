#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tokencast/core/transcript.hpp"

namespace tokencast {
namespace {

std::vector<Event> conversation() {
  return {
      {1, SessionMeta{"demo", "llama3"}},
      {2, PeerJoined{5, PeerRole::kParticipant, "ada"}},
      {3, TurnStarted{1, TurnRole::kUser, "ada", 10}},
      {4, TextDelta{1, "hi"}},
      {5, TurnEnded{1, TurnEnd::kDone, "", 1, 11}},
      {6, TurnStarted{2, TurnRole::kAssistant, "llama3", 12}},
      {7, TextDelta{2, "caf\xC3"}},
      {8, TextDelta{2, "\xA9 \xFF"}},
      {9, TurnEnded{2, TurnEnd::kCancelled, "cancelled by ada", 2, 13}},
      {10, PeerLeft{5}},
      {11, TurnStarted{3, TurnRole::kAssistant, "llama3", 14}},
      {12, TextDelta{3, "<script>"}},
  };
}

TEST(Transcript, ReassemblesTurnsAndSplitCharacters) {
  Transcript t;
  for (const auto& e : conversation()) t.apply(e);
  ASSERT_EQ(t.turns().size(), 3u);
  EXPECT_EQ(t.turns()[0].text, "hi");
  EXPECT_EQ(t.turns()[1].text, "caf\xC3\xA9 \xFF");
  EXPECT_EQ(t.turns()[1].end, TurnEnd::kCancelled);
  EXPECT_FALSE(t.turns()[2].ended);
  EXPECT_EQ(t.last_seq(), 12u);
  EXPECT_TRUE(t.peers().empty());
  EXPECT_EQ(t.meta().title, "demo");
}

TEST(Transcript, MarkdownShowsAuthorsAndEndings) {
  Transcript t;
  for (const auto& e : conversation()) t.apply(e);
  std::string md = t.to_markdown();
  EXPECT_NE(md.find("# demo"), std::string::npos);
  EXPECT_NE(md.find("## ada (user)\n\nhi\n"), std::string::npos);
  EXPECT_NE(md.find("caf\xC3\xA9 \xEF\xBF\xBD"), std::string::npos);  // invalid byte replaced
  EXPECT_NE(md.find("*(cancelled: cancelled by ada)*"), std::string::npos);
  EXPECT_NE(md.find("*(still streaming)*"), std::string::npos);
}

TEST(Transcript, JsonIsValidUtf8AndComplete) {
  Transcript t;
  for (const auto& e : conversation()) t.apply(e);
  auto json = nlohmann::json::parse(t.to_json());
  ASSERT_EQ(json["turns"].size(), 3u);
  EXPECT_EQ(json["turns"][1]["text"], "caf\xC3\xA9 \xEF\xBF\xBD");
  EXPECT_EQ(json["turns"][1]["status"], "cancelled");
  EXPECT_EQ(json["turns"][2]["status"], "streaming");
  EXPECT_EQ(json["turns"][2]["text"], "<script>");
  EXPECT_EQ(json["last_seq"], 12);
}

TEST(Transcript, MarkdownExportCarriesNoTerminalControls) {
  Transcript t;
  t.apply({1, SessionMeta{"t\x1B]0;pwned\x07itle\n# injected",
                          "m\xC2\x9B"
                          "2J"}});
  t.apply({2, TurnStarted{1, TurnRole::kUser, "ev\xE2\x80\xAEil\n## fake", 10}});
  t.apply({3, TextDelta{1, "ok\n\x1B[2Jgone\x7F\r"}});
  t.apply({4, TurnEnded{1, TurnEnd::kError, "bad\x1B[31m", 1, 11}});
  std::string md = t.to_markdown();
  EXPECT_EQ(md.find('\x1B'), std::string::npos) << md;
  EXPECT_EQ(md.find('\x7F'), std::string::npos) << md;
  EXPECT_EQ(md.find('\r'), std::string::npos) << md;
  EXPECT_EQ(md.find("\xC2\x9B"), std::string::npos) << md;
  EXPECT_EQ(md.find("\xE2\x80\xAE"), std::string::npos) << md;
  EXPECT_NE(md.find("# title # injected\n"), std::string::npos) << md;  // one line
  EXPECT_NE(md.find("## ev\xEF\xBF\xBDil ## fake (user)"), std::string::npos) << md;
  EXPECT_NE(md.find("ok\ngone"), std::string::npos) << md;  // answers keep their lines
  EXPECT_NE(md.find("*(error: bad)*"), std::string::npos) << md;
}

}  // namespace
}  // namespace tokencast
