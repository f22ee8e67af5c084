// Flow control and pacing: FlowControl on its own (window, round trip, rate), then the host
// session with real client sessions on the other side: a peer that stops reading keeps at most
// a window in flight while its pending deltas merge, until the pending bound cuts it off; a
// paced peer gets one frame per interval; every transcript stays byte-exact.
#include <gtest/gtest.h>

#include "tokencast/core/client_session.hpp"
#include "tokencast/core/flow_control.hpp"
#include "tokencast/core/host_session.hpp"

namespace tokencast {
namespace {

FlowOptions small_window() {
  FlowOptions o;
  o.min_window_bytes = 1000;
  o.max_window_bytes = 100'000;
  o.per_frame_overhead_bytes = 100;
  o.pace_interval_ms = 0;
  return o;
}

TEST(FlowControl, KeepsUnacknowledgedBytesWithinTheWindow) {
  FlowControl flow(small_window(), true, 0);
  EXPECT_TRUE(flow.may_send(5000, false, 0).send);  // nothing in flight: any frame goes
  flow.sent(1, 5000, false, 0);
  EXPECT_EQ(flow.in_flight(), 5100u);
  EXPECT_FALSE(flow.may_send(1, false, 0).send);
  EXPECT_FALSE(flow.may_send(1, false, 0).retry_at_ms);  // waits for an ack, not for time
  ASSERT_TRUE(flow.acked(1, 10));
  EXPECT_EQ(flow.in_flight(), 0u);
  EXPECT_EQ(flow.min_rtt_ms(), 10);
  // 5,100 bytes delivered in 10 ms: 510,000 B/s; window = 2 x rate x (10 + 50 ms), capped.
  EXPECT_EQ(flow.window(), 61'200u);
}

// A minimum round trip older than 10 s is not replaced by a sample taken behind a standing
// queue (which would let the window, and the queue, grow each horizon): the window drains to its
// floor until a frame sent since is acknowledged, and that frame's round trip is the new minimum.
TEST(FlowControl, AnExpiredMinimumRoundTripIsMeasuredAgainAfterADrain) {
  FlowControl flow(small_window(), true, 0);
  flow.sent(1, 100, false, 0);
  ASSERT_TRUE(flow.acked(1, 20));
  EXPECT_EQ(flow.min_rtt_ms(), 20);
  // A queue builds: every later frame takes 200 ms. Within the horizon the minimum stays.
  Seq seq = 1;
  int64_t now = 20;
  while (now < 10'000) {
    flow.sent(++seq, 100, false, now);
    now += 200;
    ASSERT_TRUE(flow.acked(seq, now));
  }
  EXPECT_EQ(flow.min_rtt_ms(), 20);
  EXPECT_FALSE(flow.draining());
  // Past the horizon: two frames out, the first one's ack (200 ms, behind the queue) starts the
  // drain instead of becoming the minimum.
  flow.sent(++seq, 100, false, now);
  flow.sent(++seq, 100, false, now + 1);
  ASSERT_TRUE(flow.acked(seq - 1, now + 200));
  EXPECT_TRUE(flow.draining());
  EXPECT_EQ(flow.min_rtt_ms(), 20);
  EXPECT_EQ(flow.window(), 1000u);                          // the floor
  EXPECT_FALSE(flow.may_send(900, false, now + 200).send);  // 200 in flight + 1,000 > floor
  // A frame sent before the drain began measures nothing.
  ASSERT_TRUE(flow.acked(seq, now + 201));
  EXPECT_TRUE(flow.draining());
  // The first frame sent during the drain (nothing in flight now) ends it with its round trip.
  ASSERT_TRUE(flow.may_send(2000, false, now + 210).send);
  flow.sent(++seq, 2000, false, now + 210);
  ASSERT_TRUE(flow.acked(seq, now + 240));
  EXPECT_FALSE(flow.draining());
  EXPECT_EQ(flow.min_rtt_ms(), 30);
  EXPECT_GT(flow.window(), 1000u);
}

TEST(FlowControl, SmallFramesFillTheWindowExactly) {
  FlowControl flow(small_window(), true, 0);
  Seq seq = 0;
  while (flow.may_send(100, false, 0).send) flow.sent(++seq, 100, false, 0);
  EXPECT_EQ(seq, 5u);  // 5 x (100 + 100) = 1,000
  EXPECT_EQ(flow.in_flight(), 1000u);
  ASSERT_TRUE(flow.acked(2, 4));
  EXPECT_EQ(flow.in_flight(), 600u);
  EXPECT_TRUE(flow.may_send(100, false, 4).send);
}

TEST(FlowControl, RefusesAcksBeyondWhatWasSentOrGoingBack) {
  FlowControl flow(small_window(), true, 10);
  EXPECT_EQ(flow.acked(11, 0).error(), FlowError::kAckBeyondSent);
  flow.sent(12, 10, false, 0);
  ASSERT_TRUE(flow.acked(12, 1));
  EXPECT_EQ(flow.acked(11, 2).error(), FlowError::kAckWentBack);
  EXPECT_TRUE(flow.acked(12, 3));  // a repeat is harmless
}

TEST(FlowControl, WithoutAcksThereIsNoWindow) {
  FlowControl flow(small_window(), false, 0);
  for (Seq s = 1; s <= 100; ++s) {
    ASSERT_TRUE(flow.may_send(1000, false, 0).send);
    flow.sent(s, 1000, false, 0);
  }
  EXPECT_EQ(flow.in_flight(), 0u);
}

TEST(FlowControl, PacesLiveFramesButNotCatchUp) {
  FlowOptions o = small_window();
  o.pace_interval_ms = 16;
  FlowControl flow(o, false, 0);
  EXPECT_TRUE(flow.may_send(10, true, 100).send);  // the first after idle: at once
  flow.sent(1, 10, true, 100);
  auto gate = flow.may_send(10, true, 105);
  EXPECT_FALSE(gate.send);
  EXPECT_EQ(gate.retry_at_ms, 116);
  EXPECT_TRUE(flow.may_send(10, false, 105).send);  // catch-up is not paced
  EXPECT_TRUE(flow.may_send(10, true, 116).send);
}

// ---------------------------------------------------------------- with the host session

struct Io : HostIo {
  std::vector<TurnId> generations;
  std::vector<std::pair<ConnId, int64_t>> wakes;
  void persist(const Event&) override {}
  void frames_ready(ConnId) override {}
  void wake_at(ConnId c, int64_t at) override { wakes.emplace_back(c, at); }
  void start_generation(TurnId t, std::vector<ChatMessage>) override { generations.push_back(t); }
  void cancel_generation() override {}
};

struct Harness {
  Io io;
  std::unique_ptr<HostSession> host;
  int64_t now = 1000;
  TurnId turn = 0;

  explicit Harness(FlowOptions flow, size_t max_pending = size_t{1} << 20) {
    HostSessionConfig config;
    config.flow = flow;
    config.queue.max_pending_bytes = max_pending;
    host = std::move(*HostSession::create(config, {}, io, now));
  }
  ConnId connect(ClientSession& client) {
    ConnId conn = host->peer_opened(PeerRole::kViewer, now);
    host->peer_frame(conn, client.hello(), now);
    host->durable(host->log().head());
    return conn;
  }
  void start_answer() {
    host->host_prompt("go", now);
    turn = io.generations.back();
    host->durable(host->log().head());
  }
  void token(std::string_view text) {
    host->llm_delta(turn, text);
    host->durable(host->log().head());
  }
  // Hands the client what the host lets through now; returns the frames delivered.
  size_t deliver(ClientSession& client, ConnId conn, bool ack) {
    size_t n = 0;
    while (auto out = host->next_frame(conn, now)) {
      auto events = client.receive(out->bytes);
      EXPECT_TRUE(events) << events.error().message();
      ++n;
      if (ack) {
        if (auto frame = client.take_ack(now)) host->peer_frame(conn, *frame, now);
      }
    }
    return n;
  }
  void ack_now(ClientSession& client, ConnId conn) {
    now += kAckDelayMs;
    if (auto frame = client.take_ack(now)) host->peer_frame(conn, *frame, now);
  }
};

std::string host_text(const HostSession& host, TurnId turn) {
  std::string out;
  for (const auto& e : host.log().events()) {
    if (const auto* d = std::get_if<TextDelta>(&e.body); d && d->turn == turn) out += d->bytes;
  }
  return out;
}

std::string client_text(const ClientSession& client) {
  return client.transcript().turns().back().text;
}

TEST(HostFlow, APeerThatStopsReadingHoldsAWindowWhileItsDeltasMerge) {
  FlowOptions flow;
  flow.pace_interval_ms = 0;
  Harness h(flow);
  ClientSession slow("slow");
  ConnId conn = h.connect(slow);
  h.start_answer();
  h.deliver(slow, conn, false);  // welcome and catch-up, acknowledged 50 ms later
  h.ack_now(slow, conn);
  ASSERT_EQ(slow.link_version(), kProtocolVersion);
  ASSERT_EQ(h.host->peer_flow(conn)->window, flow.min_window_bytes);

  // The peer stops acknowledging: the host sends until the window is full, then holds.
  size_t frames = 0;
  for (int i = 0; i < 5000; ++i) {
    h.token("tok" + std::to_string(i) + " ");
    frames += h.deliver(slow, conn, false);
    auto state = h.host->peer_flow(conn);
    ASSERT_TRUE(state);
    ASSERT_LE(state->in_flight, state->window) << i;
  }
  auto state = *h.host->peer_flow(conn);
  EXPECT_LT(frames, 100u);            // 5,000 tokens, a window's worth of frames
  EXPECT_GT(state.pending, 30'000u);  // the rest waits in the queue...
  EXPECT_LT(state.pending, 60'000u);  // ...merged: about the text, not 5,000 frames

  // It reads again: a few large frames bring it level, byte-exact.
  size_t catch_up_frames = 0;
  for (int round = 0; round < 20; ++round) {
    h.ack_now(slow, conn);
    catch_up_frames += h.deliver(slow, conn, false);
  }
  h.ack_now(slow, conn);
  EXPECT_LT(catch_up_frames, 10u);
  EXPECT_EQ(h.host->peer_flow(conn)->pending, 0u);
  EXPECT_EQ(client_text(slow), host_text(*h.host, h.turn));
}

TEST(HostFlow, APeerThatNeverReadsAgainIsCutOffOnlyAtThePendingBound) {
  FlowOptions flow;
  flow.pace_interval_ms = 0;
  Harness h(flow, 64 * 1024);
  ClientSession stuck("stuck");
  ConnId conn = h.connect(stuck);
  h.start_answer();
  h.deliver(stuck, conn, true);
  size_t max_pending = 0;
  bool cut_off = false;
  for (int i = 0; i < 20000 && !cut_off; ++i) {
    h.token("0123456789");
    auto state = h.host->peer_flow(conn);
    max_pending = std::max(max_pending, state->pending);
    // Until the bound is hit the peer keeps its link: no error, no bye.
    while (auto out = h.host->next_frame(conn, h.now)) {
      auto events = stuck.receive(out->bytes);
      ASSERT_TRUE(events);
      for (const auto& e : *events) {
        if (const auto* left = std::get_if<HostLeft>(&e)) {
          EXPECT_EQ(left->bye.reason, StatusCode::kSlowConsumer);
          EXPECT_GT(i, 6000);  // 64 KiB of text before the cut, not one window
          cut_off = true;
        }
      }
    }
  }
  EXPECT_TRUE(cut_off);
  EXPECT_LE(max_pending, 64u * 1024);
  // What it holds is an exact prefix: it resumes from there.
  const std::string held = client_text(stuck);
  EXPECT_EQ(host_text(*h.host, h.turn).substr(0, held.size()), held);
}

TEST(HostFlow, AVersionOnePeerIsServedWithoutAWindow) {
  FlowOptions flow;
  flow.pace_interval_ms = 0;
  Harness h(flow);
  ConnId conn = h.host->peer_opened(PeerRole::kViewer, h.now);
  h.host->peer_frame(conn, *encode_frame(HelloFrame{1, 0, "old"}), h.now);
  h.host->durable(h.host->log().head());
  FrameDecoder decoder;
  auto welcome = decoder.decode(h.host->next_frame(conn, h.now)->bytes);
  ASSERT_TRUE(welcome);
  EXPECT_EQ(std::get<WelcomeFrame>(*welcome).version, 1u);
  while (auto out = h.host->next_frame(conn, h.now)) ASSERT_TRUE(decoder.decode(out->bytes));
  h.start_answer();
  size_t frames = 0;
  for (int i = 0; i < 3000; ++i) {
    h.token("abcdefgh");
    while (auto out = h.host->next_frame(conn, h.now)) {
      ASSERT_TRUE(decoder.decode(out->bytes));
      ++frames;
    }
  }
  EXPECT_GE(frames, 3000u);  // one frame per token, as before version 2
  // An ack from a version 1 peer is a protocol error.
  h.host->peer_frame(conn, *encode_frame(AckFrame{1}), h.now);
  bool bye = false;
  while (auto out = h.host->next_frame(conn, h.now)) bye = bye || out->last;
  EXPECT_TRUE(bye);
}

TEST(HostFlow, FastTokensArePacedToOneFramePerIntervalAndMerged) {
  FlowOptions flow;  // 16 ms
  Harness h(flow);
  ClientSession viewer("v");
  ConnId conn = h.connect(viewer);
  h.start_answer();
  h.deliver(viewer, conn, true);
  h.now += 1000;  // idle

  // 1,000 tokens/s for one second, the peer delivering whatever the host lets out each ms.
  size_t frames = 0;
  size_t first_token_frames = 0;
  for (int ms = 0; ms < 1000; ++ms) {
    h.token("t" + std::to_string(ms) + " ");
    const size_t n = h.deliver(viewer, conn, true);
    if (ms == 0) first_token_frames = n;
    frames += n;
    h.now += 1;
  }
  EXPECT_EQ(first_token_frames, 1u);  // the first token after idle goes at once
  EXPECT_GE(frames, 55u);
  EXPECT_LE(frames, 64u);  // ~1000 / 16
  ASSERT_FALSE(h.io.wakes.empty());
  EXPECT_EQ(h.io.wakes.back().first, conn);
  h.now += 16;
  h.deliver(viewer, conn, true);
  EXPECT_EQ(client_text(viewer), host_text(*h.host, h.turn));
}

TEST(HostFlow, SlowTokensAreNotDelayedByPacing) {
  FlowOptions flow;
  Harness h(flow);
  ClientSession viewer("v");
  ConnId conn = h.connect(viewer);
  h.start_answer();
  h.deliver(viewer, conn, true);
  for (int i = 0; i < 100; ++i) {
    h.now += 20;  // 50 tokens/s
    h.token("x");
    EXPECT_EQ(h.deliver(viewer, conn, true), 1u) << i;
  }
}

TEST(ClientAcks, AckAtOnceAfterAPauseThenAtMostEveryDelay) {
  Harness h(FlowOptions{});
  ClientSession c("c");
  ConnId conn = h.connect(c);
  h.start_answer();
  EXPECT_FALSE(c.take_ack(h.now));  // nothing held yet
  h.deliver(c, conn, false);
  auto first = c.take_ack(h.now);
  ASSERT_TRUE(first);
  EXPECT_FALSE(c.ack_due_ms());
  h.now += 16;
  h.token("a");
  h.deliver(c, conn, false);
  EXPECT_FALSE(c.take_ack(h.now));  // within the delay
  EXPECT_EQ(c.ack_due_ms(), h.now - 16 + kAckDelayMs);
  auto decoded = decode_frame(*c.take_ack(h.now - 16 + kAckDelayMs));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(std::get<AckFrame>(*decoded).last_seq, c.position().last_seq);
}

TEST(ClientAcks, StepsDownAVersionEachTimeAnOlderHostRefusesOne) {
  ClientSession c("c");
  EXPECT_EQ(std::get<HelloFrame>(*decode_frame(c.hello())).version, 5u);
  ASSERT_TRUE(c.receive(*encode_frame(ErrorFrame{StatusCode::kUnsupportedVersion, "1 to 4"})));
  EXPECT_EQ(std::get<HelloFrame>(*decode_frame(c.hello())).version, 4u);
  ASSERT_TRUE(c.receive(*encode_frame(ErrorFrame{StatusCode::kUnsupportedVersion, "1 to 3"})));
  EXPECT_EQ(std::get<HelloFrame>(*decode_frame(c.hello())).version, 3u);
  ASSERT_TRUE(c.receive(*encode_frame(ErrorFrame{StatusCode::kUnsupportedVersion, "1 to 2"})));
  EXPECT_EQ(std::get<HelloFrame>(*decode_frame(c.hello())).version, 2u);
  ASSERT_TRUE(c.receive(*encode_frame(ErrorFrame{StatusCode::kUnsupportedVersion, "v1 only"})));
  EXPECT_EQ(std::get<HelloFrame>(*decode_frame(c.hello())).version, 1u);
  ASSERT_TRUE(c.receive(*encode_frame(ErrorFrame{StatusCode::kUnsupportedVersion, "v1 only"})));
  EXPECT_EQ(std::get<HelloFrame>(*decode_frame(c.hello())).version, 1u);
}

}  // namespace
}  // namespace tokencast
