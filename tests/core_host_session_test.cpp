// The host session state machine, driven input by input with a recording HostIo; what each
// peer receives is decoded with the client's FrameDecoder and compared with the log.
#include <gtest/gtest.h>

#include "tokencast/core/host_session.hpp"
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

}  // namespace
}  // namespace tokencast
