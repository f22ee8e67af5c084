// The client state machine against the real host state machine: frames cross unchanged, links
// drop at arbitrary points, and the client's transcript always equals the host's log prefix.
#include <gtest/gtest.h>

#include "tokencast/core/client_session.hpp"
#include "tokencast/core/host_session.hpp"

namespace tokencast {
namespace {

struct NullIo : HostIo {
  std::vector<TurnId> generations;
  void persist(const Event&) override {}
  void frames_ready(ConnId) override {}
  void wake_at(ConnId, int64_t) override {}
  void start_generation(TurnId t, std::vector<ChatMessage>) override { generations.push_back(t); }
  void cancel_generation() override {}
};

struct Harness {
  NullIo io;
  std::unique_ptr<HostSession> host;
  int64_t now = 1;
  Harness() {
    HostSessionConfig config;
    config.session_id.bytes.fill(7);
    config.flow.pace_interval_ms = 0;  // frames as they come; pacing has its own tests
    host = std::move(*HostSession::create(config, {}, io, 1));
  }
  // Opens a link, says hello, and returns the connection.
  ConnId connect(ClientSession& client, PeerRole role) {
    ConnId conn = host->peer_opened(role, 1);
    host->peer_frame(conn, client.hello(), 1);
    host->durable(host->log().head());
    return conn;
  }
  // Delivers up to `limit` frames; returns how many were delivered.
  size_t deliver(ClientSession& client, ConnId conn, size_t limit = SIZE_MAX) {
    size_t n = 0;
    while (n < limit) {
      auto out = host->next_frame(conn, now);
      if (!out) break;
      auto events = client.receive(out->bytes);
      EXPECT_TRUE(events) << events.error().message();
      // Time passes between frames: the client acknowledges as a real one would.
      now += kAckDelayMs;
      if (auto ack = client.take_ack(now)) host->peer_frame(conn, *ack, now);
      ++n;
    }
    return n;
  }
  void answer(std::string_view text) {
    TurnId turn = io.generations.back();
    for (char c : text) host->llm_delta(turn, std::string(1, c));
    host->llm_done(turn, text.size(), 2);
    host->durable(host->log().head());
  }
};

Transcript host_transcript(const HostSession& host) {
  Transcript t;
  for (const auto& e : host.log().events()) t.apply(e);
  return t;
}

TEST(ClientSession, WelcomedThenStreamsAndPrompts) {
  Harness h;
  ClientSession ada("ada");
  EXPECT_EQ(ada.prompt("early", 1).error(), ClientError::kNotWelcomed);
  ConnId conn = h.connect(ada, PeerRole::kParticipant);
  h.deliver(ada, conn);
  ASSERT_EQ(ada.role(), PeerRole::kParticipant);
  auto prompt = ada.prompt("hi there", 1);
  ASSERT_TRUE(prompt);
  h.host->peer_frame(conn, *prompt, 2);
  h.host->durable(h.host->log().head());
  h.deliver(ada, conn);
  auto cancel = ada.cancel();  // the answer turn is open now
  ASSERT_TRUE(cancel);
  h.answer("hello ada");
  h.deliver(ada, conn);
  EXPECT_EQ(ada.transcript().turns(), host_transcript(*h.host).turns());
  EXPECT_EQ(ada.transcript().turns().back().text, "hello ada");
  EXPECT_EQ(ada.cancel().error(), ClientError::kNothingToCancel);
}

TEST(ClientSession, ViewerCannotPrompt) {
  Harness h;
  ClientSession bob("bob");
  ConnId conn = h.connect(bob, PeerRole::kViewer);
  h.deliver(bob, conn);
  EXPECT_EQ(bob.prompt("x", 1).error(), ClientError::kNotParticipant);
  EXPECT_EQ(bob.cancel().error(), ClientError::kNotParticipant);
}

TEST(ClientSession, ResumesAfterLinkDropsBetweenFramesWithNoGapOrDuplicate) {
  Harness h;
  ClientSession ada("ada");
  ConnId conn = h.connect(ada, PeerRole::kParticipant);
  h.deliver(ada, conn);
  for (int i = 0; i < 3; ++i) {
    h.host->peer_frame(conn, *ada.prompt("question " + std::to_string(i), i), 2);
    // 40 KB answers: catch-up needs several 16 KiB frames, so links drop mid-catch-up.
    std::string long_answer;
    for (int w = 0; w < 5000; ++w) long_answer += "word" + std::to_string(w % 10) + " ";
    h.answer(long_answer);
  }
  // A fresh viewer whose link drops after one to three frames, reconnecting each time.
  ClientSession bob("bob");
  int links = 0;
  bool level = false;
  while (!level) {
    ++links;
    ConnId c = h.connect(bob, PeerRole::kViewer);
    h.deliver(bob, c, 1 + links % 3);
    level = bob.position().last_seq == h.host->log().head();
    h.host->peer_closed(c, 3);
    h.host->durable(h.host->log().head());
    ASSERT_LT(links, 1000);
  }
  // Every event of the log up to where bob stopped, exactly once: the turns are identical.
  EXPECT_EQ(bob.transcript().turns(), host_transcript(*h.host).turns());
  EXPECT_GT(links, 3);
}

TEST(ClientSession, RefusesAWelcomeFromAnotherSession) {
  Harness h;
  ClientSession ada("ada");
  ConnId conn = h.connect(ada, PeerRole::kViewer);
  h.deliver(ada, conn);
  WelcomeFrame other;
  other.session_id.bytes.fill(9);
  auto bytes = encode_frame(other);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(ada.receive(*bytes).error(), ClientError::kWrongSession);
}

}  // namespace
}  // namespace tokencast
