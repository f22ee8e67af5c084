// The host session state machine, driven input by input with a recording HostIo; what each
// peer receives is decoded with the client's FrameDecoder and compared with the log.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/hex.hpp"
#include "support/vector_file.hpp"
#include "tokencast/core/catchup.hpp"
#include "tokencast/core/handshake.hpp"
#include "tokencast/core/host_session.hpp"
#include "tokencast/core/signed_transcript.hpp"
#include "tokencast/core/signing.hpp"
#include "tokencast/core/transcript.hpp"

namespace tokencast {
namespace {

struct RecordingIo : HostIo {
  std::vector<Event> persisted;
  std::vector<ConnId> ready;
  std::vector<std::pair<TurnId, std::vector<ChatMessage>>> generations;
  int cancels = 0;
  void persist(const Event& e) override { persisted.push_back(e); }
  void frames_ready(ConnId c) override { ready.push_back(c); }
  void wake_at(ConnId, int64_t) override {}
  void start_generation(TurnId t, std::vector<ChatMessage> h) override {
    generations.emplace_back(t, std::move(h));
  }
  void cancel_generation() override { ++cancels; }
};

FrameBytes encode(const Frame& f) {
  auto bytes = encode_frame(f);
  EXPECT_TRUE(bytes);
  return *bytes;
}

// A peer as a client sees it: frames decoded in order, events applied to a transcript.
struct Client {
  ConnId conn = 0;
  FrameDecoder decoder;
  Transcript transcript;
  std::vector<Frame> control;  // non-event frames
  bool closed = false;

  void drain(HostSession& s) {
    while (auto out = s.next_frame(conn, 1000)) {
      auto frame = decoder.decode(out->bytes);
      ASSERT_TRUE(frame) << frame.error().message();
      if (auto* events = std::get_if<EventsFrame>(&*frame)) {
        for (const auto& e : events->events) transcript.apply(e);
      } else {
        control.push_back(*frame);
      }
      if (out->last) closed = true;
    }
  }
  template <class T>
  const T* last_control() const {
    for (auto it = control.rbegin(); it != control.rend(); ++it) {
      if (const auto* f = std::get_if<T>(&*it)) return f;
    }
    return nullptr;
  }
};

Transcript transcript_of(const SessionLog& log, Seq up_to) {
  Transcript t;
  for (const auto& e : log.range(1, up_to)) t.apply(e);
  return t;
}

class HostSessionTest : public ::testing::Test {
 protected:
  std::unique_ptr<HostSession> make(HostSessionConfig config = {}, std::vector<Event> stored = {}) {
    config.model_name = "llama";
    // These tests are about the session, not pacing (core_flow_control_test covers it).
    config.flow.pace_interval_ms = 0;
    auto s = HostSession::create(config, std::move(stored), io, 1000);
    EXPECT_TRUE(s);
    return std::move(*s);
  }
  Client join(HostSession& s, PeerRole role, const std::string& name, Seq last_seq = 0) {
    Client c;
    c.conn = s.peer_opened(role, 1000);
    if (last_seq > 0) c.decoder = FrameDecoder(s.log().position_at(last_seq));
    // Version 1: no acks, no window (core_flow_control_test covers version 2).
    s.peer_frame(c.conn, encode(HelloFrame{1, last_seq, name}), 1000);
    return c;
  }
  void make_durable(HostSession& s) { s.durable(s.log().head()); }

  RecordingIo io;
};

TEST_F(HostSessionTest, HistoryKeepsFinishedTurnsWithinTheBudgetAndDropsFailedAnswers) {
  HostSessionConfig config;
  config.max_history_bytes = 12;
  auto s = make(config);
  auto answer = [&](const std::string& text) {
    TurnId turn = io.generations.back().first;
    s->llm_delta(turn, text.substr(0, 2));
    s->llm_delta(turn, text.substr(2));
    s->llm_done(turn, 2, 1002);
  };
  s->host_prompt("q1", 1001);
  answer("ans1");
  s->host_prompt("q2", 1003);
  s->llm_error(io.generations.back().first, "the model failed", 1004);
  s->host_prompt("q3", 1005);
  answer("ans3");
  s->host_prompt("q4", 1006);
  ASSERT_EQ(io.generations.size(), 4u);
  using M = std::vector<std::pair<TurnRole, std::string>>;
  auto flat = [](const std::vector<ChatMessage>& h) {
    M out;
    for (const auto& m : h) out.emplace_back(m.role, m.content);
    return out;
  };
  EXPECT_EQ(flat(io.generations[1].second),
            (M{{TurnRole::kUser, "q1"}, {TurnRole::kAssistant, "ans1"}, {TurnRole::kUser, "q2"}}));
  // The failed answer to q2 is left out; 12 bytes hold q4, ans3, q3 and q2 but not ans1.
  EXPECT_EQ(flat(io.generations[3].second), (M{{TurnRole::kUser, "q2"},
                                               {TurnRole::kUser, "q3"},
                                               {TurnRole::kAssistant, "ans3"},
                                               {TurnRole::kUser, "q4"}}));
}

// Thinking streams to version 3 peers as its own part of the turn, to older peers not at all
// (their text and position are exact); it never goes back to the model, and thinking after the
// answer's first text is dropped.
TEST_F(HostSessionTest, ThinkingStreamsApartAndNeverReturnsToTheModel) {
  auto s = make();
  auto old_peer = join(*s, PeerRole::kViewer, "old");  // version 1
  Client dee;
  dee.conn = s->peer_opened(PeerRole::kParticipant, 1000);
  s->peer_frame(dee.conn, encode(HelloFrame{kProtocolVersion, 0, "dee"}), 1000);
  s->peer_frame(dee.conn, encode(PromptFrame{1, "2+2?"}), 1001);
  ASSERT_EQ(io.generations.size(), 1u);
  TurnId turn = io.generations[0].first;
  s->llm_thinking(turn, "add ");
  s->llm_thinking(turn, "them");
  s->llm_delta(turn, "4");
  s->llm_thinking(turn, "late");  // after the text: dropped
  s->llm_done(turn, 3, 1002);
  make_durable(*s);
  dee.drain(*s);
  old_peer.drain(*s);
  ASSERT_EQ(dee.transcript.turns().size(), 2u);
  EXPECT_EQ(dee.transcript.turns()[1].thinking, "add them");
  EXPECT_EQ(dee.transcript.turns()[1].text, "4");
  EXPECT_EQ(dee.transcript.turns(), transcript_of(s->log(), s->log().head()).turns());
  ASSERT_EQ(old_peer.transcript.turns().size(), 2u);
  EXPECT_EQ(old_peer.transcript.turns()[1].thinking, "");
  EXPECT_EQ(old_peer.transcript.turns()[1].text, "4");
  EXPECT_EQ(old_peer.decoder.position(), s->log().position_at(s->log().head()));

  s->host_prompt("and 3+3?", 1003);
  ASSERT_EQ(io.generations.size(), 2u);
  const auto& history = io.generations[1].second;
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[1].content, "4");
}

TEST_F(HostSessionTest, PromptStreamsToEveryPeerOnlyOnceDurable) {
  auto s = make();
  auto ada = join(*s, PeerRole::kParticipant, "ada");
  auto bob = join(*s, PeerRole::kViewer, "bob");
  s->peer_frame(ada.conn, encode(PromptFrame{1, "why is the sky blue?"}), 1001);
  ASSERT_EQ(io.generations.size(), 1u);
  TurnId turn = io.generations[0].first;
  ASSERT_EQ(io.generations[0].second.size(), 1u);
  EXPECT_EQ(io.generations[0].second[0].content, "why is the sky blue?");
  EXPECT_EQ(io.generations[0].second[0].role, TurnRole::kUser);

  ada.drain(*s);
  ASSERT_NE(ada.last_control<WelcomeFrame>(), nullptr);
  EXPECT_EQ(ada.last_control<WelcomeFrame>()->role, PeerRole::kParticipant);
  EXPECT_TRUE(ada.transcript.turns().empty());  // nothing durable yet

  s->llm_delta(turn, "Rayleigh \xE2\x80");
  s->llm_delta(turn, "\x94 scattering");
  s->llm_done(turn, 2, 1002);
  EXPECT_EQ(io.persisted.size(), s->log().head());
  make_durable(*s);
  ada.drain(*s);
  bob.drain(*s);
  auto expected = transcript_of(s->log(), s->log().head());
  EXPECT_EQ(ada.transcript.turns(), expected.turns());
  EXPECT_EQ(bob.transcript.turns(), expected.turns());
  ASSERT_EQ(expected.turns().size(), 2u);
  EXPECT_EQ(expected.turns()[0].author, "ada");
  EXPECT_EQ(expected.turns()[1].text, "Rayleigh \xE2\x80\x94 scattering");
  EXPECT_EQ(expected.turns()[1].author, "llama");
  EXPECT_EQ(ada.decoder.position().last_seq, s->log().head());
}

TEST_F(HostSessionTest, PartialDurabilityShowsExactlyThePrefix) {
  auto s = make();
  auto ada = join(*s, PeerRole::kParticipant, "ada");
  s->peer_frame(ada.conn, encode(PromptFrame{1, "q"}), 1001);
  TurnId turn = io.generations.at(0).first;
  for (int i = 0; i < 10; ++i) s->llm_delta(turn, "t" + std::to_string(i));
  Seq half = s->log().head() - 4;
  s->durable(half);
  ada.drain(*s);
  EXPECT_EQ(ada.decoder.position().last_seq, half);
  EXPECT_EQ(ada.transcript.turns(), transcript_of(s->log(), half).turns());
}

TEST_F(HostSessionTest, ViewersCannotPromptOrCancel) {
  auto s = make();
  auto bob = join(*s, PeerRole::kViewer, "bob");
  s->peer_frame(bob.conn, encode(PromptFrame{1, "hi"}), 1001);
  s->peer_frame(bob.conn, encode(CancelFrame{1}), 1001);
  EXPECT_TRUE(io.generations.empty());
  bob.drain(*s);
  const auto* error = bob.last_control<ErrorFrame>();
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->code, StatusCode::kNotPermitted);
  EXPECT_FALSE(bob.closed);  // a refused prompt does not end the link
}

TEST_F(HostSessionTest, LateJoinerAndResumingPeerCatchUpExactly) {
  auto s = make();
  auto ada = join(*s, PeerRole::kParticipant, "ada");
  for (int round = 0; round < 3; ++round) {
    s->peer_frame(ada.conn, encode(PromptFrame{uint64_t(round), "q" + std::to_string(round)}), 1);
    TurnId turn = io.generations.back().first;
    for (int i = 0; i < 50; ++i) s->llm_delta(turn, "w" + std::to_string(i) + " ");
    s->llm_done(turn, 50, 2);
  }
  make_durable(*s);
  auto late = join(*s, PeerRole::kViewer, "late");
  make_durable(*s);
  late.drain(*s);
  EXPECT_EQ(late.transcript.turns(), transcript_of(s->log(), s->log().head()).turns());
  for (Seq k : {Seq{1}, Seq{5}, Seq{60}, s->log().head() - 1}) {
    auto resumed = join(*s, PeerRole::kViewer, "r", k);
    make_durable(*s);
    // Replay the prefix the peer already had, then what it was sent: the whole log, once.
    for (const auto& e : s->log().range(1, k)) resumed.transcript.apply(e);
    resumed.drain(*s);
    EXPECT_EQ(resumed.transcript.turns(), transcript_of(s->log(), s->log().head()).turns()) << k;
    EXPECT_EQ(resumed.decoder.position().last_seq, s->log().head());
  }
}

TEST_F(HostSessionTest, ResumeBeyondHeadIsRefusedAndClosed) {
  auto s = make();
  auto c = join(*s, PeerRole::kViewer, "x", 0);
  c.drain(*s);
  Client bad;
  bad.conn = s->peer_opened(PeerRole::kViewer, 1000);
  s->peer_frame(bad.conn, encode(HelloFrame{kProtocolVersion, 999, "x"}), 1000);
  std::vector<HostSession::OutFrame> out;
  while (auto f = s->next_frame(bad.conn, 1000)) out.push_back(*f);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out.back().last);
  auto error = decode_frame(out[0].bytes);
  ASSERT_TRUE(error);
  EXPECT_EQ(std::get<ErrorFrame>(*error).code, StatusCode::kResumeUnavailable);
}

TEST_F(HostSessionTest, CancelStopsGenerationAndLateDeltasAreIgnored) {
  auto s = make();
  auto ada = join(*s, PeerRole::kParticipant, "ada");
  s->peer_frame(ada.conn, encode(PromptFrame{1, "long story"}), 1);
  TurnId turn = io.generations.at(0).first;
  s->llm_delta(turn, "once upon");
  s->peer_frame(ada.conn, encode(CancelFrame{turn}), 2);
  EXPECT_EQ(io.cancels, 1);
  Seq head = s->log().head();
  s->llm_delta(turn, " a time");  // already in flight when the cancel landed
  s->llm_done(turn, 3, 3);
  EXPECT_EQ(s->log().head(), head);
  const auto& ended = std::get<TurnEnded>(s->log().at(head).body);
  EXPECT_EQ(ended.end, TurnEnd::kCancelled);
  EXPECT_EQ(ended.reason, "cancelled by ada");
  EXPECT_FALSE(s->status().turn);
}

TEST_F(HostSessionTest, AParticipantsCancelStartsTheNextQueuedPrompt) {
  auto s = make();
  auto ada = join(*s, PeerRole::kParticipant, "ada");
  auto cy = join(*s, PeerRole::kParticipant, "cy");
  s->peer_frame(ada.conn, encode(PromptFrame{1, "long story"}), 1);
  s->peer_frame(cy.conn, encode(PromptFrame{1, "next question"}), 1);
  ASSERT_EQ(io.generations.size(), 1u);
  s->peer_frame(ada.conn, encode(CancelFrame{io.generations.at(0).first}), 2);
  // The queued prompt is answered at once, not when some later event comes along.
  ASSERT_EQ(io.generations.size(), 2u);
  EXPECT_EQ(io.generations.back().second.back().content, "next question");
  EXPECT_EQ(s->status().queued_prompts, 0u);
}

TEST_F(HostSessionTest, OnlyTheAskerOrTheHostCanStopAnAnswer) {
  auto s = make();
  auto ada = join(*s, PeerRole::kParticipant, "ada");
  auto cy = join(*s, PeerRole::kParticipant, "cy");
  s->peer_frame(ada.conn, encode(PromptFrame{1, "long story"}), 1);
  TurnId turn = io.generations.at(0).first;
  s->peer_frame(cy.conn, encode(CancelFrame{turn}), 2);
  EXPECT_EQ(io.cancels, 0);
  EXPECT_EQ(s->status().turn, turn);
  s->durable(s->log().head());
  cy.drain(*s);
  const auto* refused = cy.last_control<ErrorFrame>();
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(refused->code, StatusCode::kNotPermitted);
  EXPECT_EQ(refused->text, kOnlyAskerMayCancel);
  EXPECT_FALSE(cy.closed);

  s->host_cancel(3);  // the host may stop anyone's answer
  EXPECT_EQ(io.cancels, 1);
  EXPECT_FALSE(s->status().turn);

  // An answer to the host's own prompt: no participant may stop it.
  s->host_prompt("host question", 4);
  TurnId host_turn = io.generations.at(1).first;
  s->peer_frame(ada.conn, encode(CancelFrame{host_turn}), 5);
  EXPECT_EQ(io.cancels, 1);
  EXPECT_EQ(s->status().turn, host_turn);
}

TEST_F(HostSessionTest, TheHostRemovesAPeerByItsShownName) {
  auto s = make();
  auto ada = join(*s, PeerRole::kParticipant, "ada");
  auto cy = join(*s, PeerRole::kParticipant, "cy");
  auto bob = join(*s, PeerRole::kViewer, "bob");
  s->peer_frame(ada.conn, encode(PromptFrame{1, "first"}), 1);
  s->peer_frame(cy.conn, encode(PromptFrame{1, "queued, then dropped"}), 1);
  s->peer_frame(cy.conn, encode(PromptFrame{2, "also dropped"}), 1);
  ASSERT_EQ(s->status().queued_prompts, 2u);
  ASSERT_EQ(s->present_peers().size(), 3u);

  EXPECT_FALSE(s->remove_peer("nobody"));
  EXPECT_FALSE(s->remove_peer("CY"));  // the name exactly as shown
  auto removed = s->remove_peer("cy");
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, cy.conn);
  EXPECT_EQ(s->status().queued_prompts, 0u);
  make_durable(*s);
  cy.drain(*s);
  const auto* bye = cy.last_control<ByeFrame>();
  ASSERT_NE(bye, nullptr);
  EXPECT_EQ(bye->reason, StatusCode::kRemoved);
  EXPECT_TRUE(cy.closed);
  EXPECT_FALSE(s->remove_peer("cy"));  // already leaving
  s->peer_closed(cy.conn, 2);
  auto present = s->present_peers();
  ASSERT_EQ(present.size(), 2u);
  EXPECT_EQ(present[0].name, "ada");
  EXPECT_EQ(present[1].name, "bob");
  EXPECT_EQ(present[1].role, PeerRole::kViewer);
  // Everyone else stays, and sees cy leave.
  make_durable(*s);
  bob.drain(*s);
  EXPECT_FALSE(bob.closed);
  EXPECT_EQ(bob.transcript.peers().size(), 2u);
}

TEST_F(HostSessionTest, WithApprovalPromptsWaitForTheHost) {
  HostSessionConfig config;
  config.approve_prompts = true;
  auto s = make(config);
  auto ada = join(*s, PeerRole::kParticipant, "ada");
  auto cy = join(*s, PeerRole::kParticipant, "cy");
  s->peer_frame(ada.conn, encode(PromptFrame{1, "first"}), 1);
  s->peer_frame(cy.conn, encode(PromptFrame{1, "spam"}), 1);
  EXPECT_TRUE(io.generations.empty());  // nothing reaches the model yet
  EXPECT_EQ(s->status().held_prompts, 2u);
  make_durable(*s);
  ada.drain(*s);
  const auto* told = ada.last_control<ErrorFrame>();
  ASSERT_NE(told, nullptr);
  EXPECT_EQ(told->text, kPromptAwaitsApproval);

  auto held = s->held_prompts();
  ASSERT_EQ(held.size(), 2u);
  EXPECT_EQ(held[0].author, "ada");
  EXPECT_EQ(held[1].text, "spam");
  EXPECT_FALSE(s->approve_prompt(99, 2));
  EXPECT_TRUE(s->decline_prompt(held[1].id));
  EXPECT_FALSE(s->decline_prompt(held[1].id));
  make_durable(*s);
  cy.drain(*s);
  ASSERT_NE(cy.last_control<ErrorFrame>(), nullptr);
  EXPECT_EQ(cy.last_control<ErrorFrame>()->text, "the host declined your prompt");

  EXPECT_TRUE(s->approve_prompt(held[0].id, 3));
  ASSERT_EQ(io.generations.size(), 1u);
  EXPECT_EQ(io.generations[0].second.back().content, "first");
  EXPECT_EQ(s->status().held_prompts, 0u);
}

TEST_F(HostSessionTest, PromptsQueueInOrderWithAttribution) {
  auto s = make();
  auto ada = join(*s, PeerRole::kParticipant, "ada");
  auto cy = join(*s, PeerRole::kParticipant, "cy");
  s->peer_frame(ada.conn, encode(PromptFrame{1, "first"}), 1);
  s->peer_frame(cy.conn, encode(PromptFrame{1, "second"}), 1);
  s->host_prompt("third", 1);
  EXPECT_EQ(s->status().queued_prompts, 2u);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(io.generations.size(), size_t(i + 1));
    s->llm_delta(io.generations.back().first, "answer");
    s->llm_done(io.generations.back().first, 1, 2);
  }
  auto t = transcript_of(s->log(), s->log().head());
  ASSERT_EQ(t.turns().size(), 6u);
  EXPECT_EQ(t.turns()[0].author, "ada");
  EXPECT_EQ(t.turns()[2].author, "cy");
  EXPECT_EQ(t.turns()[2].text, "second");
  EXPECT_EQ(t.turns()[4].author, "host");
  // The third generation saw the whole conversation before it.
  EXPECT_EQ(io.generations[2].second.size(), 5u);
}

TEST_F(HostSessionTest, TooManyPendingPromptsAreRefused) {
  HostSessionConfig config;
  config.max_pending_prompts_per_peer = 2;
  auto s = make(config);
  auto ada = join(*s, PeerRole::kParticipant, "ada");
  for (int i = 0; i < 4; ++i) s->peer_frame(ada.conn, encode(PromptFrame{uint64_t(i), "q"}), 1);
  ada.drain(*s);
  const auto* error = ada.last_control<ErrorFrame>();
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->code, StatusCode::kBusy);
  EXPECT_EQ(s->status().queued_prompts, 2u);  // one generating, two waiting, one refused
}

TEST_F(HostSessionTest, WithoutAModelPromptsGetAClearErrorTurnAndHostTextIsBroadcast) {
  HostSessionConfig config;
  config.llm_attached = false;
  auto s = make(config);
  auto ada = join(*s, PeerRole::kParticipant, "ada");
  s->peer_frame(ada.conn, encode(PromptFrame{1, "hello?"}), 1);
  s->host_prompt("welcome everyone", 2);
  EXPECT_TRUE(io.generations.empty());
  auto t = transcript_of(s->log(), s->log().head());
  ASSERT_EQ(t.turns().size(), 3u);
  EXPECT_EQ(t.turns()[1].end, TurnEnd::kError);
  EXPECT_EQ(t.turns()[1].reason, kNoModelReason);
  EXPECT_EQ(t.turns()[2].text, "welcome everyone");
  EXPECT_EQ(t.turns()[2].author, "host");
}

TEST_F(HostSessionTest, RestartEndsTheOpenTurnAndMarksPeersGone) {
  std::vector<Event> stored{
      {1, PeerJoined{4, PeerRole::kViewer, "bob"}},
      {2, TurnStarted{1, TurnRole::kAssistant, "llama", 5}},
      {3, TextDelta{1, "half an ans"}},
  };
  auto s = make({}, stored);
  ASSERT_EQ(s->log().head(), 5u);
  const auto& ended = std::get<TurnEnded>(s->log().at(4).body);
  EXPECT_EQ(ended.end, TurnEnd::kError);
  EXPECT_EQ(std::get<PeerLeft>(s->log().at(5).body).peer, 4u);
  EXPECT_EQ(io.persisted.size(), 2u);  // only the new events are persisted
  auto ada = join(*s, PeerRole::kParticipant, "ada");
  make_durable(*s);
  ada.drain(*s);
  EXPECT_EQ(ada.last_control<WelcomeFrame>()->peer, 5u);  // ids continue past stored ones
}

TEST_F(HostSessionTest, BadFramesAndMissingHelloCloseTheLink) {
  auto s = make();
  Client c;
  c.conn = s->peer_opened(PeerRole::kParticipant, 1000);
  s->peer_frame(c.conn, encode(PromptFrame{1, "no hello first"}), 1000);
  std::vector<HostSession::OutFrame> out;
  while (auto f = s->next_frame(c.conn, 1000)) out.push_back(*f);
  ASSERT_FALSE(out.empty());
  EXPECT_TRUE(out.back().last);

  Client garbage;
  garbage.conn = s->peer_opened(PeerRole::kParticipant, 1000);
  const uint8_t junk[] = {0xEE, 0x01};
  s->peer_frame(garbage.conn, junk, 1000);
  out.clear();
  while (auto f = s->next_frame(garbage.conn, 1000)) out.push_back(*f);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(std::get<ErrorFrame>(*decode_frame(out[0].bytes)).code, StatusCode::kProtocolError);

  Client silent;
  silent.conn = s->peer_opened(PeerRole::kViewer, 1000);
  s->tick(5000);
  EXPECT_FALSE(s->next_frame(silent.conn, 1000));
  s->tick(11'001);
  out.clear();
  while (auto f = s->next_frame(silent.conn, 1000)) out.push_back(*f);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out.back().last);
}

TEST_F(HostSessionTest, SilentPeersAreClosedAndPingsKeepPeersOpen) {
  auto s = make();
  auto quiet = join(*s, PeerRole::kViewer, "quiet");
  auto chatty = join(*s, PeerRole::kViewer, "chatty");
  quiet.drain(*s);
  chatty.drain(*s);
  for (int64_t t = 2000; t <= 20'000; t += 2000) {
    s->peer_frame(chatty.conn, encode(PingFrame{uint64_t(t)}), t);
    s->tick(t);
  }
  quiet.drain(*s);
  chatty.drain(*s);
  EXPECT_TRUE(quiet.closed);
  EXPECT_FALSE(chatty.closed);
}

TEST_F(HostSessionTest, SlowPeerIsCutOffWithoutHurtingOthers) {
  HostSessionConfig config;
  config.queue.max_pending_bytes = 4096;
  auto s = make(config);
  auto ada = join(*s, PeerRole::kParticipant, "ada");
  auto slow = join(*s, PeerRole::kViewer, "slow");
  ada.drain(*s);
  slow.drain(*s);
  s->peer_frame(ada.conn, encode(PromptFrame{1, "q"}), 1);
  TurnId turn = io.generations.at(0).first;
  for (int i = 0; i < 2000; ++i) {
    s->llm_delta(turn, "token ");
    make_durable(*s);
    ada.drain(*s);  // ada keeps up; slow never reads, and its queue merges then overflows
    if (i == 50) s->peer_frame(ada.conn, encode(PingFrame{7}), 1);
  }
  // Merged deltas stay bounded: 2000 tokens of 6 bytes fit in 4 KiB only until they do not.
  slow.drain(*s);
  EXPECT_TRUE(slow.closed);
  const auto* error = slow.last_control<ErrorFrame>();
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->code, StatusCode::kSlowConsumer);
  EXPECT_FALSE(ada.closed);
  EXPECT_EQ(ada.decoder.position().last_seq, s->log().head());
  ASSERT_NE(ada.last_control<PongFrame>(), nullptr);
  EXPECT_EQ(ada.last_control<PongFrame>()->nonce, 7u);
}

TEST_F(HostSessionTest, ShutdownSaysByeToEveryone) {
  auto s = make();
  auto a = join(*s, PeerRole::kViewer, "a");
  auto b = join(*s, PeerRole::kParticipant, "b");
  s->shutdown();
  a.drain(*s);
  b.drain(*s);
  EXPECT_TRUE(a.closed);
  EXPECT_TRUE(b.closed);
  EXPECT_EQ(a.last_control<ByeFrame>()->reason, StatusCode::kShutdown);
}

TEST_F(HostSessionTest, PeerLeavingIsLoggedAndNamesAreCleaned) {
  auto s = make();
  auto a = join(*s, PeerRole::kViewer, "");
  auto b = join(*s, PeerRole::kViewer, std::string(100, 'n'));
  s->peer_closed(a.conn, 2);
  auto t = transcript_of(s->log(), s->log().head());
  ASSERT_EQ(t.peers().size(), 1u);
  EXPECT_EQ(t.peers().begin()->second.name, std::string(64, 'n'));
  EXPECT_EQ(s->status().peers, 1u);
  const auto& joined = std::get<PeerJoined>(s->log().at(1).body);
  EXPECT_EQ(joined.name, "guest-1");
}

// Issue 14, finding 6: with no model attached nothing waits, so only a rate limit and a
// per-session cap keep a participant from growing the log (memory, SQLite, every viewer's
// IndexedDB) without bound. The participant is told why (busy error frame).
TEST_F(HostSessionTest, PromptsAreRateLimitedPerParticipantEvenWithoutAModel) {
  HostSessionConfig config;
  config.llm_attached = false;
  config.prompt_burst = 3;
  config.prompt_refill_ms = 10'000;
  auto s = make(config);
  auto ada = join(*s, PeerRole::kParticipant, "ada");
  auto bob = join(*s, PeerRole::kParticipant, "bob");
  for (int i = 0; i < 100; ++i) s->peer_frame(ada.conn, encode(PromptFrame{uint64_t(i), "q"}), 1);
  auto user_turns = [&] {
    size_t n = 0;
    const Transcript t_all = transcript_of(s->log(), s->log().head());
    for (const auto& t : t_all.turns()) {
      n += t.role == TurnRole::kUser ? 1 : 0;
    }
    return n;
  };
  EXPECT_EQ(user_turns(), 3u);
  ada.drain(*s);
  const auto* error = ada.last_control<ErrorFrame>();
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->code, StatusCode::kBusy);
  EXPECT_NE(error->text.find("too fast"), std::string::npos);
  // Another participant has a bucket of its own.
  s->peer_frame(bob.conn, encode(PromptFrame{1, "q"}), 1);
  EXPECT_EQ(user_turns(), 4u);
  // Time refills the bucket (one prompt per refill period).
  s->peer_frame(ada.conn, encode(PromptFrame{200, "q"}), 10'001);
  EXPECT_EQ(user_turns(), 5u);
  s->peer_frame(ada.conn, encode(PromptFrame{201, "q"}), 10'002);
  EXPECT_EQ(user_turns(), 5u);
}

TEST_F(HostSessionTest, ASessionTakesAtMostItsCapOfParticipantPrompts) {
  HostSessionConfig config;
  config.llm_attached = false;
  config.max_session_prompts = 5;
  auto s = make(config);
  int64_t now = 1;
  for (int p = 0; p < 3; ++p) {
    auto c = join(*s, PeerRole::kParticipant, "p" + std::to_string(p));
    for (int i = 0; i < 3; ++i) {
      now += 60'000;  // slow enough for the rate limit
      s->peer_frame(c.conn, encode(PromptFrame{uint64_t(i), "q"}), now);
    }
    if (p == 2) {
      c.drain(*s);
      const auto* error = c.last_control<ErrorFrame>();
      ASSERT_NE(error, nullptr);
      EXPECT_EQ(error->code, StatusCode::kBusy);
      EXPECT_NE(error->text.find("limit"), std::string::npos);
    }
  }
  size_t user = 0;
  const Transcript all = transcript_of(s->log(), s->log().head());
  for (const auto& t : all.turns()) {
    user += t.role == TurnRole::kUser ? 1 : 0;
  }
  EXPECT_EQ(user, 5u);
  // The host itself is not capped.
  s->host_prompt("still here", now + 1);
  EXPECT_EQ(transcript_of(s->log(), s->log().head()).turns().back().text, "still here");
}

// Issue 14, finding 7: a participant named "host" must not look like the host, and two
// people must not share a name.
TEST_F(HostSessionTest, HostLikeNamesAreReservedAndNamesAreUnique) {
  HostSessionConfig config;
  config.host_name = "Grace";
  auto s = make(config);
  std::vector<std::string> asked = {
      "host",      "HOST",   "\xef\xbd\x88\xef\xbd\x8f\xef\xbd\x93\xef\xbd\x94",
      " Admin ",   "system", "TokenCast",
      "moderator", "grace",  "ada",
      "ada",       "Ada",    "ada (2)"};
  std::vector<Client> clients;
  for (const auto& name : asked) clients.push_back(join(*s, PeerRole::kParticipant, name));
  std::vector<std::string> names;
  for (const auto& e : s->log().range(1, s->log().head())) {
    if (const auto* joined = std::get_if<PeerJoined>(&e.body)) names.push_back(joined->name);
  }
  ASSERT_EQ(names.size(), asked.size());
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(names[i], "guest-" + std::to_string(i + 1)) << asked[i];
  EXPECT_EQ(names[8], "ada");
  EXPECT_EQ(names[9], "ada (2)");
  EXPECT_EQ(names[10], "Ada (3)");
  EXPECT_EQ(names[11], "ada (2) (2)");
  // A name is free again once its holder has left.
  s->peer_closed(clients[8].conn, 2);
  auto again = join(*s, PeerRole::kViewer, "ada");
  EXPECT_EQ(std::get<PeerJoined>(s->log().at(s->log().head()).body).name, "ada");
}

TEST_F(HostSessionTest, HostileNamesAreSanitizedAtHello) {
  auto s = make();
  join(*s, PeerRole::kViewer, "ev\x1B]0;t\x07il\xC2\x85\xE2\x80\xAEname\nx");
  auto t = transcript_of(s->log(), s->log().head());
  ASSERT_EQ(t.peers().size(), 1u);
  EXPECT_EQ(t.peers().begin()->second.name, "evil\xEF\xBF\xBD\xEF\xBF\xBDname x");
}

// --------------------------------------------------------------------------------------------
// Host-side known answers: tests/vectors/host.json. Scripted sessions (inputs with their times,
// and every frame each peer is sent, byte for byte) and beacons, generated here from the C++
// host; the browser host (web/test/host.test.ts) replays the same scripts and must send the
// same bytes. Regenerate with TOKENCAST_WRITE_VECTORS=1 build/tests/core_host_session_test.

using Json = nlohmann::ordered_json;
using tokencast::testing::hex;

const char* peer_role_name(PeerRole r) {
  return r == PeerRole::kParticipant ? "participant" : "viewer";
}

// Runs a session input by input and records each input and each drain's output as a step.
class Script {
 public:
  Script(HostSessionConfig config, std::vector<Event> stored, int64_t now) : now_(now) {
    config_ = {{"session_id_hex", config.session_id.hex()},
               {"model_name", config.model_name},
               {"host_name", config.host_name},
               {"llm_attached", config.llm_attached},
               {"no_model_reason", kNoModelReason},
               {"restart_reason", "the host restarted during this turn"},
               {"max_pending_bytes", config.queue.max_pending_bytes},
               {"pace_interval_ms", config.flow.pace_interval_ms}};
    Json st = Json::array();
    for (const auto& e : stored) st.push_back(hex(*encode_frame(EventsFrame{{e}})));
    config_["stored"] = st;
    config_["created_at_ms"] = now;
    session_ = std::move(*HostSession::create(config, std::move(stored), io_, now));
    step({{"op", "created"}});  // with what creation persisted (a restored open turn's end)
  }
  HostSession& s() { return *session_; }
  void at(int64_t now) { now_ = now; }
  ConnId open(PeerRole role) {
    ConnId c = session_->peer_opened(role, now_);
    step({{"op", "open"}, {"role", peer_role_name(role)}, {"conn", c}});
    return c;
  }
  void frame(ConnId c, const Frame& f) { raw(c, *encode_frame(f)); }
  void raw(ConnId c, const FrameBytes& bytes) {
    session_->peer_frame(c, bytes, now_);
    step({{"op", "frame"}, {"conn", c}, {"hex", hex(bytes)}});
  }
  void durable() {
    session_->durable(session_->log().head());
    step({{"op", "durable"}});
  }
  void drain(ConnId c) {
    Json frames = Json::array();
    bool closed = false;
    while (auto out = session_->next_frame(c, now_)) {
      frames.push_back(hex(out->bytes));
      closed = closed || out->last;
    }
    steps_.push_back(
        {{"at_ms", now_}, {"op", "drain"}, {"conn", c}, {"frames", frames}, {"closed", closed}});
  }
  void host_prompt(const std::string& text) {
    session_->host_prompt(text, now_);
    step({{"op", "host_prompt"}, {"text", text}});
  }
  void llm_delta(const std::string& text) {
    session_->llm_delta(turn(), text);
    // Hex: a delta may end inside a character.
    step({{"op", "llm_delta"},
          {"hex", hex(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()))}});
  }
  void llm_done(uint64_t tokens) {
    session_->llm_done(turn(), tokens, now_);
    step({{"op", "llm_done"}, {"token_count", tokens}});
  }
  void host_cancel() {
    session_->host_cancel(now_);
    step({{"op", "host_cancel"}});
  }
  void set_meta(const std::string& title, const std::string& model) {
    session_->set_meta(title, model);
    step({{"op", "set_meta"}, {"title", title}, {"model", model}});
  }
  void closed(ConnId c) {
    session_->peer_closed(c, now_);
    step({{"op", "closed"}, {"conn", c}});
  }
  Json finish(const std::string& name) {
    Json log = Json::array();
    const auto planned = plan_catchup(session_->log(), 0);  // held: *temporary would dangle
    for (const auto& f : *planned) log.push_back(hex(f.bytes));
    Json gens = Json::array();
    for (const auto& [turn, history] : io_.generations) {
      Json h = Json::array();
      for (const auto& m : history)
        h.push_back({{"role", turn_role_name(m.role)}, {"content", m.content}});
      gens.push_back({{"turn", turn}, {"history", h}});
    }
    return {{"name", name},        {"config", config_},      {"steps", steps_},
            {"generations", gens}, {"cancels", io_.cancels}, {"log_frames", log}};
  }

 private:
  TurnId turn() const { return io_.generations.empty() ? 0 : io_.generations.back().first; }
  // Each input step lists the events it persisted (as one-event frames), so the log's growth
  // is checked step by step, not only at the end.
  void step(Json j) {
    Json persisted = Json::array();
    for (size_t i = persisted_mark_; i < io_.persisted.size(); ++i) {
      persisted.push_back(hex(*encode_frame(EventsFrame{{io_.persisted[i]}})));
    }
    persisted_mark_ = io_.persisted.size();
    Json out = {{"at_ms", now_}};
    for (auto& [k, v] : j.items()) out[k] = v;
    out["persisted"] = persisted;
    steps_.push_back(out);
  }

  RecordingIo io_;
  std::unique_ptr<HostSession> session_;
  Json config_;
  Json steps_ = Json::array();
  int64_t now_ = 0;
  size_t persisted_mark_ = 0;
};

HostSessionConfig vector_config() {
  HostSessionConfig c;
  for (size_t i = 0; i < c.session_id.bytes.size(); ++i)
    c.session_id.bytes[i] = static_cast<uint8_t>(0xa0 + i);
  c.model_name = "llama";
  c.flow.pace_interval_ms = 0;
  return c;
}

Json stream_and_resume_script() {
  Script t(vector_config(), {}, 1000);
  ConnId ada = t.open(PeerRole::kParticipant);
  ConnId bob = t.open(PeerRole::kViewer);
  t.frame(ada, HelloFrame{2, 0, "Ada"});
  t.frame(bob, HelloFrame{1, 0, "bob"});
  t.set_meta("demo", "llama");
  t.durable();
  t.drain(ada);
  t.drain(bob);
  t.at(1001);
  t.frame(ada, PromptFrame{1, "why is the sky blue?"});
  t.durable();
  t.drain(ada);
  t.drain(bob);
  t.llm_delta("Rayleigh");
  t.durable();
  t.drain(ada);
  t.drain(bob);
  const Seq bob_holds = t.s().log().head();
  t.llm_delta(" scat");
  t.llm_delta("tering \xE2\x80");  // a character split across two deltas
  t.llm_delta("\x94 light");
  t.durable();
  t.drain(ada);
  t.at(1002);
  t.frame(ada, AckFrame{t.s().log().head()});
  t.drain(bob);  // bob was slow: his pending deltas went out merged
  t.closed(bob);
  t.llm_delta(" waves");
  t.durable();
  t.drain(ada);
  t.at(1003);
  ConnId bob2 = t.open(PeerRole::kViewer);
  t.frame(bob2, HelloFrame{2, bob_holds, "bob"});
  t.durable();
  t.drain(bob2);  // resumes mid-turn: a merged delta, then live
  t.llm_done(5);
  t.durable();
  t.drain(ada);
  t.drain(bob2);
  t.frame(bob2, PingFrame{7});
  t.drain(bob2);
  t.at(1004);
  t.frame(ada, PromptFrame{2, "and at sunset?"});
  t.llm_delta("Longer paths.");
  t.frame(ada, CancelFrame{t.s().log().open_turn().value_or(0)});
  t.durable();
  t.drain(ada);
  t.frame(bob2, ByeFrame{StatusCode::kNormal, "bye"});
  t.drain(bob2);
  t.closed(bob2);
  t.closed(ada);
  return t.finish("stream_resume_slow_peer_cancel");
}

// Only the asker (or the host) stops an answer: another participant's cancel is refused.
Json cancel_rights_script() {
  Script t(vector_config(), {}, 1000);
  ConnId ada = t.open(PeerRole::kParticipant);
  t.frame(ada, HelloFrame{2, 0, "ada"});
  ConnId cy = t.open(PeerRole::kParticipant);
  t.frame(cy, HelloFrame{2, 0, "cy"});
  t.durable();
  t.drain(ada);
  t.drain(cy);
  t.at(1001);
  t.frame(ada, PromptFrame{1, "long story"});
  t.llm_delta("Once upon");
  TurnId answer = t.s().log().open_turn().value_or(0);
  t.frame(cy, CancelFrame{answer});
  t.durable();
  t.drain(cy);
  t.frame(ada, CancelFrame{answer});
  t.durable();
  t.drain(ada);
  t.drain(cy);
  return t.finish("cancel_rights");
}

Json refusals_script() {
  Script t(vector_config(), {}, 1000);
  ConnId v = t.open(PeerRole::kViewer);
  t.frame(v, HelloFrame{2, 0, "host"});  // a reserved name: replaced
  t.durable();
  t.drain(v);
  t.frame(v, PromptFrame{1, "may I?"});
  t.frame(v, CancelFrame{1});
  t.drain(v);
  ConnId future = t.open(PeerRole::kViewer);
  t.raw(future, FrameBytes{0x01, 0x06, 0x00, 0x00});  // hello version 6
  t.drain(future);
  ConnId ahead = t.open(PeerRole::kViewer);
  t.frame(ahead, HelloFrame{2, 99, "x"});
  t.drain(ahead);
  ConnId rude = t.open(PeerRole::kParticipant);
  t.frame(rude, PingFrame{1});
  t.drain(rude);
  ConnId old = t.open(PeerRole::kParticipant);
  t.frame(old, HelloFrame{1, 0, "old"});
  t.durable();
  t.drain(old);
  t.frame(old, AckFrame{0});
  t.drain(old);
  ConnId eager = t.open(PeerRole::kParticipant);
  t.frame(eager, HelloFrame{2, 0, "eager"});
  t.durable();
  t.drain(eager);
  t.frame(eager, AckFrame{1000});
  t.drain(eager);
  ConnId odd = t.open(PeerRole::kParticipant);
  t.raw(odd, FrameBytes{0x03, 0x01, 0x01, 0x05, 0x01});  // an events frame from a client
  t.drain(odd);
  ConnId twice = t.open(PeerRole::kParticipant);
  t.frame(twice, HelloFrame{2, 0, "Twice"});
  t.frame(twice, HelloFrame{2, 0, "Twice"});
  t.durable();
  t.drain(twice);
  return t.finish("refusals");
}

Json no_model_script() {
  HostSessionConfig c = vector_config();
  c.llm_attached = false;
  c.host_name = "Eve";
  Script t(c, {}, 1000);
  std::string answer;
  for (int i = 0; i < 2000; ++i) answer += "token " + std::to_string(i % 97) + " ";
  t.host_prompt(answer);  // more than two deltas' worth, then a frame's worth of catch-up
  ConnId p = t.open(PeerRole::kParticipant);
  t.frame(p, HelloFrame{2, 0, "Zoë"});
  t.durable();
  t.drain(p);
  const Seq caught_up = t.s().log().head();
  t.frame(p, PromptFrame{1, "hello?"});
  t.durable();
  t.drain(p);  // held: the catch-up is in flight and unacknowledged
  t.frame(p, AckFrame{caught_up});
  t.drain(p);
  return t.finish("no_model_long_answer");
}

Json paced_script() {
  HostSessionConfig c = vector_config();
  c.flow.pace_interval_ms = 16;
  Script t(c, {}, 1000);
  ConnId v = t.open(PeerRole::kViewer);
  t.frame(v, HelloFrame{1, 0, "v"});
  t.durable();
  t.drain(v);
  t.host_prompt("q");
  t.durable();
  t.drain(v);
  t.llm_delta("a");
  t.durable();
  t.drain(v);
  t.at(1005);
  t.llm_delta("b");
  t.durable();
  t.drain(v);  // held by the pace
  t.at(1010);
  t.llm_delta("c");
  t.durable();
  t.at(1016);
  t.drain(v);
  t.at(1040);
  t.llm_done(3);
  t.durable();
  t.drain(v);
  return t.finish("paced_version_1_viewer");
}

Json restored_script() {
  std::vector<Event> stored = {
      {1, SessionMeta{"kept", "llama"}},
      {2, PeerJoined{1, PeerRole::kParticipant, "Ada"}},
      {3, TurnStarted{1, TurnRole::kUser, "Ada", 5}},
      {4, TextDelta{1, "q"}},
      {5, TurnEnded{1, TurnEnd::kDone, "", 0, 6}},
      {6, TurnStarted{2, TurnRole::kAssistant, "llama", 7}},
      {7, TextDelta{2, "part"}},
  };
  Script t(vector_config(), std::move(stored), 2000);
  ConnId v = t.open(PeerRole::kViewer);
  t.frame(v, HelloFrame{2, 7, "Ada"});
  t.durable();
  t.drain(v);
  return t.finish("restored_with_open_turn");
}

// Hostile and clashing names: what each peer is shown as (the persisted peer_joined events).
Json names_script() {
  Script t(vector_config(), {}, 1000);
  std::string long_name;
  for (int i = 0; i < 30; ++i) long_name += "\xC3\xA9";  // 60 bytes of "é", then more
  long_name += "abcdefgh";
  for (const std::string& name :
       {std::string("\x1B[31mred\x1B[0m"), std::string("a\tb\nc\rd"),
        std::string("\xE2\x80\xAE"
                    "evil"),
        std::string("\x1B]0;title\x07x"), std::string("Host"), std::string("h0st"),
        std::string("\xEF\xBC\xA8\xEF\xBC\xAF\xEF\xBC\xB3\xEF\xBC\xB4"), std::string("   "),
        std::string("Ada"), std::string("ada"), std::string(" ADA "), long_name, long_name,
        std::string("\xC2\x85next")}) {
    ConnId c = t.open(PeerRole::kParticipant);
    t.frame(c, HelloFrame{2, 0, name});
  }
  t.durable();
  return t.finish("hostile_and_clashing_names");
}

// The fixed keys of the beacon vectors: host seed 0x40.., viewer secret 0x00.., participant
// secret 0x20...
struct BeaconKeys {
  std::array<uint8_t, 32> seed{}, vs{}, ps{};
  BeaconKeys() {
    for (size_t i = 0; i < 32; ++i) {
      seed[i] = static_cast<uint8_t>(0x40 + i);
      vs[i] = static_cast<uint8_t>(i);
      ps[i] = static_cast<uint8_t>(0x20 + i);
    }
  }
  HostHandshake host() const {
    return *HostHandshake::create(SigningKey::from_seed(seed), RoomSecret(vs), RoomSecret(ps));
  }
};

Json beacon_vectors() {
  const BeaconKeys k;
  const HostHandshake host = k.host();
  Json out = Json::array();
  struct B {
    LinkRole role;
    uint64_t to, from;
  };
  for (const B& b : {B{LinkRole::kViewer, 0x1a2b3c4d5e6f7081ull, 0x99aabbccddeeff00ull},
                     B{LinkRole::kParticipant, 5, 9}}) {
    out.push_back({{"host_seed_hex", hex(k.seed)},
                   {"viewer_secret_hex", hex(k.vs)},
                   {"participant_secret_hex", hex(k.ps)},
                   {"role", b.role == LinkRole::kViewer ? 0 : 1},
                   {"to", std::to_string(b.to)},
                   {"from", std::to_string(b.from)},
                   {"beacon_hex", hex(host.beacon(b.role, b.to, b.from))}});
  }
  return out;
}

// ICE beacons: the same host, a fixed nonce, the servers the joiner must find inside.
Json ice_beacon_vectors() {
  const BeaconKeys k;
  const HostHandshake host = k.host();
  std::array<uint8_t, kIceBeaconNonceSize> nonce{};
  for (size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<uint8_t>(0xa0 + i);
  struct B {
    LinkRole role;
    uint64_t to, from;
    std::vector<IceServerEntry> ice;
  };
  Json out = Json::array();
  for (const B& b : {B{LinkRole::kViewer,
                       0x1a2b3c4d5e6f7081ull,
                       0x99aabbccddeeff00ull,
                       {{"stun:stun.example.net:3478", "", ""}}},
                     B{LinkRole::kParticipant,
                       5,
                       9,
                       {{"stun:198.51.100.7:3478", "", ""},
                        {"turn:198.51.100.7:3478?transport=udp", "ada", "long-term-secret"},
                        {"turns:turn.example.net:443?transport=tcp", "1700003600:0123456789abcdef",
                         "jZ4GqKzeVsiE6d1Fr8azdNFySxo="}}}}) {
    Json servers = Json::array();
    for (const auto& e : b.ice) {
      servers.push_back({{"url", e.url}, {"username", e.username}, {"credential", e.credential}});
    }
    auto beacon = host.ice_beacon(b.role, b.to, b.from, b.ice, nonce);
    out.push_back({{"host_seed_hex", hex(k.seed)},
                   {"viewer_secret_hex", hex(k.vs)},
                   {"participant_secret_hex", hex(k.ps)},
                   {"role", b.role == LinkRole::kViewer ? 0 : 1},
                   {"to", std::to_string(b.to)},
                   {"from", std::to_string(b.from)},
                   {"nonce_hex", hex(nonce)},
                   {"servers", servers},
                   {"beacon_hex", beacon ? hex(*beacon) : std::string("error")}});
  }
  return out;
}

Json build_host_vectors() {
  Json root;
  root["about"] =
      "Host-side known answers, generated by tests/core_host_session_test.cpp. sessions: a "
      "HostSession is created from config (stored: one-event frames) at created_at_ms and driven "
      "by steps in order, each at its at_ms: open (returns conn), frame (peer_frame), durable "
      "(durable(head)), host_prompt, llm_delta / llm_done (the turn of the latest "
      "start_generation), host_cancel, set_meta, closed (peer_closed); every input step lists "
      "the events persisted meanwhile (one-event frames). drain calls next_frame until it "
      "returns nothing: the frames, byte for byte, and whether one was the last. generations: "
      "every start_generation with its history; log_frames: the whole log as catch-up from 0. "
      "beacons: HostHandshake::beacon. ice_beacons: HostHandshake::ice_beacon with a fixed "
      "nonce; a joiner with the link of `role` opens each to `servers`.";
  root["sessions"] =
      Json::array({stream_and_resume_script(), refusals_script(), no_model_script(), paced_script(),
                   restored_script(), names_script(), cancel_rights_script()});
  root["beacons"] = beacon_vectors();
  root["ice_beacons"] = ice_beacon_vectors();
  return root;
}

TEST(HostVectors, HostJsonIsCurrent) {
  tokencast::testing::expect_vector_file_current(std::string(TOKENCAST_VECTORS_DIR) + "/host.json",
                                                 build_host_vectors().dump(2) + "\n");
}

// Protocol version 4: after each ended turn the host signs the transcript up to that turn_ended
// and sends the signature to version 4 peers (never to older ones); a peer pairs it with its own
// copy of the events up to that sequence and gets a file `tokencast verify` accepts. A peer that
// joins later gets the latest signature right after its welcome.
TEST_F(HostSessionTest, SignsTheTranscriptAfterEachEndedTurnForVersion4Peers) {
  std::array<uint8_t, kEd25519SeedSize> seed{};
  seed.fill(7);
  HostSessionConfig config;
  config.session_id = SessionId{{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};
  config.signing_key = SigningKey::from_seed(seed);
  const Ed25519PublicKey host_key = config.signing_key->public_key();
  auto s = make(config);
  s->set_meta("Trip", "llama");

  auto join_v = [&](uint64_t version, const std::string& name) {
    Client c;
    c.conn = s->peer_opened(PeerRole::kViewer, 1000);
    s->peer_frame(c.conn, encode(HelloFrame{version, 0, name}), 1000);
    return c;
  };
  Client v4 = join_v(4, "four");
  Client v3 = join_v(3, "three");
  make_durable(*s);
  v4.drain(*s);
  EXPECT_EQ(v4.last_control<SignatureFrame>(), nullptr);  // no turn has ended yet

  // The events a client holds up to `seq`, as a transcript, signed by the host's frame.
  auto file_of = [&](const Client& c, const SignatureFrame& sig) {
    Transcript upto = transcript_of(s->log(), sig.seq);
    EXPECT_EQ(upto.turns().size(), sig.turns);
    // The client's own copy agrees with the log up to there (it decoded every frame).
    EXPECT_GE(c.decoder.position().last_seq, sig.seq);
    SignedTranscript t = transcript_to_sign(config.session_id, upto, host_key);
    t.signature = sig.signature;
    return t;
  };

  s->host_prompt("Where to?", 1001);  // the user turn ends at once; the answer starts
  make_durable(*s);
  v4.drain(*s);
  ASSERT_NE(v4.last_control<SignatureFrame>(), nullptr);
  const SignatureFrame first_frame = *v4.last_control<SignatureFrame>();  // copied: control grows
  const SignatureFrame* first = &first_frame;
  EXPECT_EQ(first->turns, 1u);
  EXPECT_TRUE(std::holds_alternative<TurnEnded>(s->log().at(first->seq).body));
  EXPECT_TRUE(verify_signed_transcript(file_of(v4, *first)));

  TurnId answer = io.generations.back().first;
  s->llm_delta(answer, "Lisbon, ");
  s->llm_delta(answer, "in May.");
  make_durable(*s);
  v4.drain(*s);
  EXPECT_EQ(v4.last_control<SignatureFrame>()->seq, first->seq);  // mid-answer: nothing new
  s->llm_done(answer, 2, 1002);
  make_durable(*s);
  v4.drain(*s);
  v3.drain(*s);
  const SignatureFrame second = *v4.last_control<SignatureFrame>();
  EXPECT_EQ(second.turns, 2u);
  EXPECT_EQ(second, *s->latest_signature());
  SignedTranscript file = file_of(v4, second);
  ASSERT_TRUE(verify_signed_transcript(file));
  EXPECT_EQ(file.turns.back().text, "Lisbon, in May.");
  // The file a viewer writes is one `tokencast verify` reads back.
  auto parsed = parse_signed_transcript(encode_signed_transcript(file));
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(*parsed, file);
  // Tampered: any signed field changed is refused.
  SignedTranscript tampered = file;
  tampered.turns.back().text = "Lisbon, in June.";
  EXPECT_FALSE(verify_signed_transcript(tampered));
  EXPECT_FALSE(parse_signed_transcript(encode_signed_transcript(tampered)));
  // The signature over the earlier prefix does not cover the longer transcript.
  SignedTranscript stale = file;
  stale.signature = first->signature;
  EXPECT_FALSE(verify_signed_transcript(stale));
  // A version 3 peer never sees a signature frame (it could not decode one).
  EXPECT_EQ(v3.last_control<SignatureFrame>(), nullptr);
  EXPECT_EQ(v3.decoder.position(), v4.decoder.position());

  // A late joiner gets the latest signature right after its welcome, before the catch-up.
  Client late = join_v(4, "late");
  make_durable(*s);
  late.drain(*s);
  ASSERT_GE(late.control.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<WelcomeFrame>(late.control[0]));
  EXPECT_EQ(std::get<SignatureFrame>(late.control[1]), second);
  EXPECT_TRUE(verify_signed_transcript(file_of(late, second)));

  // A host restarted on the stored log signs its last ended turn at once (resume, catch-up).
  RecordingIo io2;
  auto restarted = HostSession::create(config, io.persisted, io2, 2000);
  ASSERT_TRUE(restarted);
  ASSERT_TRUE((*restarted)->latest_signature());
  EXPECT_EQ(*(*restarted)->latest_signature(), second);
}

// Without a signing key (or before any turn ended) nothing is signed or sent.
TEST_F(HostSessionTest, SendsNoSignatureWithoutAKey) {
  auto s = make();
  Client c;
  c.conn = s->peer_opened(PeerRole::kViewer, 1000);
  s->peer_frame(c.conn, encode(HelloFrame{4, 0, "v"}), 1000);
  s->host_prompt("hi", 1001);
  make_durable(*s);
  c.drain(*s);
  EXPECT_FALSE(s->latest_signature());
  EXPECT_EQ(c.last_control<SignatureFrame>(), nullptr);
}

}  // namespace
}  // namespace tokencast
