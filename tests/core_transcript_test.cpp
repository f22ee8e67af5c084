#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/vector_file.hpp"
#include "tokencast/core/base64url.hpp"
#include "tokencast/core/signed_transcript.hpp"
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

TEST(Transcript, ThinkingIsKeptApartAndMarkedInExports) {
  Transcript t;
  for (const auto& e : std::vector<Event>{
           {1, TurnStarted{1, TurnRole::kAssistant, "r1", 0}},
           {2, ThinkingDelta{1, "first \xE2\x82"}},
           {3, ThinkingDelta{1, "\xAC\n# not a heading\x1B[2J"}},
           {4, TextDelta{1, "Answer"}},
           {5, TurnEnded{1, TurnEnd::kDone, "", 3, 1}},
       }) {
    t.apply(e);
  }
  ASSERT_EQ(t.turns().size(), 1u);
  EXPECT_EQ(t.turns()[0].thinking, "first \xE2\x82\xAC\n# not a heading\x1B[2J");
  EXPECT_EQ(t.turns()[0].text, "Answer");
  const std::string md = t.to_markdown();
  EXPECT_NE(md.find("> *Thinking*\n>\n> first \xE2\x82\xAC\n> # not a heading"), std::string::npos)
      << md;
  EXPECT_EQ(md.find('\x1B'), std::string::npos);
  EXPECT_LT(md.find("Thinking"), md.find("Answer"));
  auto json = nlohmann::json::parse(t.to_json());
  EXPECT_EQ(json["turns"][0]["thinking"], "first \xE2\x82\xAC\n# not a heading\x1B[2J");
  EXPECT_EQ(json["turns"][0]["text"], "Answer");
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

// --- signed transcripts (export --signed, verify) ---

SigningKey test_host_key() {
  std::array<uint8_t, 32> seed{};
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(i + 1);
  return SigningKey::from_seed(seed);
}

SessionId test_session_id() { return *SessionId::from_hex("00112233445566778899aabbccddeeff"); }

Transcript conversation_transcript() {
  Transcript t;
  for (const auto& e : conversation()) t.apply(e);
  return t;
}

std::string signed_file() {
  return encode_signed_transcript(
      sign_transcript(test_session_id(), conversation_transcript(), test_host_key()));
}

// Replaces the first occurrence of `from` in `text` (which must contain it).
std::string replaced(std::string text, std::string_view from, std::string_view to) {
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

std::error_code parse_error(const std::string& file) {
  auto parsed = parse_signed_transcript(file);
  return parsed ? std::error_code{} : parsed.error();
}

TEST(SignedTranscript, AnExportVerifiesAndReadsBackAsSigned) {
  auto signed_transcript =
      sign_transcript(test_session_id(), conversation_transcript(), test_host_key());
  EXPECT_TRUE(verify_signed_transcript(signed_transcript));
  auto parsed = parse_signed_transcript(encode_signed_transcript(signed_transcript));
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(*parsed, signed_transcript);
  ASSERT_EQ(parsed->turns.size(), 3u);
  // A hostile source's invalid UTF-8 is signed as every export shows it: replaced.
  EXPECT_EQ(parsed->turns[1].text, "caf\xC3\xA9 \xEF\xBF\xBD");
  EXPECT_FALSE(parsed->turns[2].ended);  // still streaming when exported
  EXPECT_EQ(parsed->host_public_key, test_host_key().public_key());
}

// The host's incremental signer (protocol version 4: a signature after each ended turn) signs
// exactly what sign_transcript() signs over the same ended turns, invalid UTF-8 included.
TEST(SignedTranscript, TheIncrementalSignerSignsWhatAnExportSigns) {
  TranscriptSigner signer(test_session_id(), test_host_key());
  Transcript so_far;
  size_t signatures = 0;
  for (const Event& e : conversation()) {
    so_far.apply(e);
    const auto* ended = std::get_if<TurnEnded>(&e.body);
    if (!ended) continue;
    signer.add_ended_turn(so_far.turns().back());
    const SignedTranscript expected = sign_transcript(test_session_id(), so_far, test_host_key());
    EXPECT_EQ(signer.turns(), expected.turns.size());
    EXPECT_EQ(signer.sign(so_far.meta().title, so_far.meta().model), expected.signature);
    ++signatures;
  }
  EXPECT_EQ(signatures, 2u);
  // Another title is another message.
  EXPECT_NE(signer.sign("other", "llama3"), signer.sign("demo", "llama3"));
}

TEST(SignedTranscript, EveryAlteredFieldIsRefused) {
  const std::string file = signed_file();
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"\"text\":\"hi\"", "\"text\":\"ho\""},
           {"\"author\":\"ada\"", "\"author\":\"bob\""},
           {"\"status\":\"cancelled\"", "\"status\":\"done\""},
           {"\"reason\":\"cancelled by ada\"", "\"reason\":\"\""},
           {"\"tokens\":1", "\"tokens\":2"},
           {"\"started_at_ms\":10", "\"started_at_ms\":9"},
           {"\"ended_at_ms\":11", "\"ended_at_ms\":12"},
           {"\"turn\":1", "\"turn\":4"},
           {"\"role\":\"user\"", "\"role\":\"system\""},
           {"\"title\":\"demo\"", "\"title\":\"dem0\""},
           {"\"model\":\"llama3\"", "\"model\":\"gpt\""},
           {"\"session_id\":\"0011", "\"session_id\":\"1011"},
       }) {
    EXPECT_EQ(parse_error(replaced(file, from, to)), SignedTranscriptError::kBadSignature)
        << from << " -> " << to;
  }
  // A turn dropped, or the signature of another transcript.
  auto fewer = sign_transcript(test_session_id(), conversation_transcript(), test_host_key());
  auto original_signature = fewer.signature;
  fewer.turns.pop_back();
  EXPECT_FALSE(verify_signed_transcript(fewer));
  fewer.signature = original_signature;
  EXPECT_EQ(parse_error(encode_signed_transcript(fewer)), SignedTranscriptError::kBadSignature);
}

TEST(SignedTranscript, AnotherKeyCannotPassItsSignatureOffAsTheHosts) {
  auto forged = sign_transcript(test_session_id(), conversation_transcript(), test_host_key());
  std::array<uint8_t, 32> other_seed{};
  other_seed.fill(7);
  auto attacker = SigningKey::from_seed(other_seed);
  forged.signature = attacker.sign(signed_transcript_message(forged));  // host's key kept
  EXPECT_EQ(parse_error(encode_signed_transcript(forged)), SignedTranscriptError::kBadSignature);
  // Signed honestly by the attacker, it verifies, but names the attacker's key: `verify LINK`
  // compares that with the link's host key.
  auto own = sign_transcript(test_session_id(), conversation_transcript(), attacker);
  auto parsed = parse_signed_transcript(encode_signed_transcript(own));
  ASSERT_TRUE(parsed);
  EXPECT_NE(parsed->host_public_key, test_host_key().public_key());
}

TEST(SignedTranscript, MalformedFilesAreRefusedWithTheirReason) {
  const std::string file = signed_file();
  EXPECT_EQ(parse_error("not json"), SignedTranscriptError::kNotJson);
  EXPECT_EQ(parse_error(file.substr(0, file.size() / 2)), SignedTranscriptError::kNotJson);
  EXPECT_EQ(parse_error("{\"a\":\"\xFF\"}"), SignedTranscriptError::kNotJson);
  EXPECT_EQ(parse_error("[]"), SignedTranscriptError::kNotTranscript);
  EXPECT_EQ(parse_error("[[[[[[[[1]]]]]]]]"), SignedTranscriptError::kNotTranscript);
  EXPECT_EQ(parse_error(std::string(100000, '[')), SignedTranscriptError::kNotTranscript);
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"tokencast-signed-transcript/1", "tokencast-signed-transcript/2"},
           {"\"title\":", "\"extra\":1,\"title\":"},      // unknown field
           {"\"title\":\"demo\",", ""},                   // missing field
           {"\"model\":", "\"title\":\"x\",\"model\":"},  // a key twice
           {"\"tokens\":1", "\"tokens\":1.0"},            // not an integer
           {"\"tokens\":1", "\"tokens\":-1"},             // out of range
           {"\"status\":\"cancelled\"", "\"status\":\"paused\""},
           {"\"role\":\"user\"", "\"role\":\"admin\""},
           {"\"session_id\":\"0011", "\"session_id\":\"0G11"},
           {"\"signature\":\"", "\"signature\":\"AA"},  // wrong length
       }) {
    EXPECT_EQ(parse_error(replaced(file, from, to)), SignedTranscriptError::kNotTranscript)
        << from << " -> " << to;
  }
  std::string huge(kMaxSignedTranscriptBytes + 1, ' ');
  EXPECT_EQ(parse_error(huge), SignedTranscriptError::kTooLarge);
}

// tests/vectors/transcript.json: a signed transcript's known answers, for the TypeScript side
// (the web client's signed export) and any other implementation. Regenerate with
// TOKENCAST_WRITE_VECTORS=1 build/tests/core_transcript_test.
TEST(SignedTranscriptVectors, TranscriptJsonIsCurrent) {
  auto key = test_host_key();
  auto signed_transcript = sign_transcript(test_session_id(), conversation_transcript(), key);
  std::array<uint8_t, 32> seed{};
  key.export_seed(seed);
  auto message = signed_transcript_message(signed_transcript);
  nlohmann::ordered_json vectors = {
      {"about",
       "docs/PROTOCOL.md, Signed transcripts (exports): the file, the signed message "
       "and the signature for a fixed host key"},
      {"host_key_seed", base64url_encode(seed)},
      {"file", encode_signed_transcript(signed_transcript)},
      {"message_b64", base64url_encode(message)},
      {"signature_b64", base64url_encode(signed_transcript.signature)},
  };
  testing::expect_vector_file_current(std::string(TOKENCAST_VECTORS_DIR) + "/transcript.json",
                                      vectors.dump(2) + "\n");
}

}  // namespace
}  // namespace tokencast
