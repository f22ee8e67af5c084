// OutboundQueue: catch-up then live, 1-byte live deltas, merging for slow peers within frame
// limits and exact spans, the memory bound and the overflow sequence, and delivery that always
// equals the log whatever the interleaving of appends and pops.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "tokencast/core/frame.hpp"
#include "tokencast/core/outbound_queue.hpp"
#include "tokencast/core/session_log.hpp"

namespace tokencast {
namespace {

// The host side of one session with one peer: append to the log, then offer the event to the
// peer's queue, as the host does for every peer.
struct Host {
  SessionLog log;
  TurnId turn = 0;

  Event append(EventBody body) {
    auto seq = log.append(std::move(body));
    EXPECT_TRUE(seq.has_value()) << seq.error().message();
    return log.at(log.head());
  }
  void append_and_push(OutboundQueue& queue, EventBody body) {
    const Event event = append(std::move(body));
    auto pushed = queue.push_event(event);
    EXPECT_TRUE(pushed.has_value()) << pushed.error().message();
  }
  void start_turn(OutboundQueue* queue = nullptr) {
    EventBody body = TurnStarted{++turn, TurnRole::kAssistant, "m", 0};
    queue ? append_and_push(*queue, body) : (void)append(body);
  }
  void end_turn(OutboundQueue* queue = nullptr) {
    EventBody body = TurnEnded{turn, TurnEnd::kDone, "", 0, 0};
    queue ? append_and_push(*queue, body) : (void)append(body);
  }
};

OutboundQueue make_queue(const SessionLog& log, Seq last_seq, size_t max_pending = 1 << 20) {
  auto queue = OutboundQueue::create(log, last_seq, {max_pending});
  EXPECT_TRUE(queue.has_value());
  return std::move(*queue);
}

std::vector<FrameBytes> drain(OutboundQueue& queue) {
  std::vector<FrameBytes> frames;
  while (auto frame = queue.pop()) frames.push_back(std::move(*frame));
  return frames;
}

// What the peer has after decoding frames: text per turn, other events, its position.
struct Peer {
  FrameDecoder decoder;
  std::map<TurnId, std::string> text;
  std::vector<Event> others;
  std::vector<Frame> control;  // frames without events

  explicit Peer(StreamPosition start = {}) : decoder(start) {}
  void receive(const FrameBytes& bytes) {
    ASSERT_LE(bytes.size(), kMaxFrameBytes);
    auto frame = decoder.decode(bytes);
    ASSERT_TRUE(frame.has_value()) << frame.error().message();
    const auto* events = std::get_if<EventsFrame>(&*frame);
    if (!events) {
      control.push_back(*frame);
      return;
    }
    for (const Event& e : events->events) {
      if (const auto* d = std::get_if<TextDelta>(&e.body)) {
        text[d->turn] += d->bytes;
      } else {
        others.push_back(e);
      }
    }
  }
  void receive_all(const std::vector<FrameBytes>& frames) {
    for (const auto& f : frames) receive(f);
  }
};

void expect_peer_has_log(const Peer& peer, const SessionLog& log, Seq from = 0) {
  std::map<TurnId, std::string> text;
  std::vector<Event> others;
  for (const Event& e : log.after(from)) {
    if (const auto* d = std::get_if<TextDelta>(&e.body)) {
      text[d->turn] += d->bytes;
    } else {
      others.push_back(e);
    }
  }
  EXPECT_EQ(peer.text, text);
  EXPECT_EQ(peer.others, others);
  EXPECT_EQ(peer.decoder.position(), log.position_at(log.head()));
}

FrameBytes encoded(const Frame& frame) {
  auto bytes = encode_frame(frame);
  EXPECT_TRUE(bytes.has_value());
  return *bytes;
}

TEST(OutboundQueue, WelcomeThenCatchUpThenLive) {
  Host host;
  host.append(SessionMeta{"t", "m"});
  host.start_turn();
  host.append(TextDelta{1, "Hello"});
  host.append(TextDelta{1, ", "});

  OutboundQueue queue = make_queue(host.log, 0);
  EXPECT_EQ(queue.state(), OutboundQueue::State::kCatchingUp);
  EXPECT_TRUE(queue.has_frames());
  ASSERT_TRUE(queue
                  .push_frame(encoded(
                      WelcomeFrame{kProtocolVersion, {}, PeerRole::kViewer, 1, host.log.head()}))
                  .has_value());

  Peer peer;
  auto frames = drain(queue);
  ASSERT_EQ(frames.size(), 2u) << "welcome, then one catch-up frame";
  EXPECT_EQ(frames[0][0], static_cast<uint8_t>(FrameType::kWelcome));
  peer.receive_all(frames);
  EXPECT_EQ(queue.state(), OutboundQueue::State::kLive);
  EXPECT_FALSE(queue.has_frames());
  EXPECT_EQ(queue.popped_seq(), host.log.head());

  host.append_and_push(queue, TextDelta{1, "world"});
  EXPECT_TRUE(queue.has_frames());
  frames = drain(queue);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].size(), 1 + std::string("world").size()) << "1 byte of framing";
  peer.receive_all(frames);
  host.end_turn(&queue);
  peer.receive_all(drain(queue));
  expect_peer_has_log(peer, host.log);
  EXPECT_EQ(peer.text.at(1), "Hello, world");
}

TEST(OutboundQueue, LiveDeltasAverageOneByteOfFraming) {
  Host host;
  OutboundQueue queue = make_queue(host.log, 0);
  EXPECT_TRUE(drain(queue).empty());
  host.start_turn(&queue);
  Peer peer;
  peer.receive_all(drain(queue));
  size_t text = 0, wire = 0;
  const int tokens = 1000;
  for (int i = 0; i < tokens; ++i) {
    const std::string token = i % 5 == 0 ? " caf\xC3\xA9" : " the";
    host.append_and_push(queue, TextDelta{host.turn, token});
    auto frame = queue.pop();  // a fast peer: popped as soon as pushed
    ASSERT_TRUE(frame.has_value());
    text += token.size();
    wire += frame->size();
    peer.receive(*frame);
  }
  const double framing = static_cast<double>(wire - text) / tokens;
  std::printf("live: %d deltas, %zu text bytes, %zu frame bytes, %.2f framing bytes/delta\n",
              tokens, text, wire, framing);
  EXPECT_DOUBLE_EQ(framing, 1.0);
  expect_peer_has_log(peer, host.log);
}

// Live thinking rides its own 1-byte-framed frame; a slow peer gets thinking and text merged
// apart; a peer older than version 3 gets thinking as empty text deltas on the same sequences.
TEST(OutboundQueue, ThinkingGoesLiveInOneByteFramesAndMergesApartFromText) {
  for (bool v3 : {true, false}) {
    SCOPED_TRACE(v3 ? "version 3 peer" : "version 2 peer");
    Host host;
    auto created = OutboundQueue::create(host.log, 0, {size_t{1} << 20, /*thinking=*/v3});
    ASSERT_TRUE(created.has_value());
    OutboundQueue queue = std::move(*created);
    host.start_turn(&queue);
    FrameDecoder decoder;
    for (const auto& f : drain(queue)) ASSERT_TRUE(decoder.decode(f).has_value());

    host.append_and_push(queue, ThinkingDelta{host.turn, "hmm"});
    auto live = queue.pop();
    ASSERT_TRUE(live.has_value());
    EXPECT_EQ(*live, v3 ? encoded(ThinkingFrame{"hmm"}) : encoded(DeltaFrame{""}));
    auto decoded = decoder.decode(*live);
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, Frame(EventsFrame{{Event{2, make_delta(v3, 1, v3 ? "hmm" : "")}}}));

    host.append_and_push(queue, ThinkingDelta{host.turn, " so"});
    host.append_and_push(queue, ThinkingDelta{host.turn, " 4"});
    host.append_and_push(queue, TextDelta{host.turn, "Fo"});
    host.append_and_push(queue, TextDelta{host.turn, "ur"});
    auto frames = drain(queue);
    ASSERT_EQ(frames.size(), 1u);
    decoded = decoder.decode(frames[0]);
    ASSERT_TRUE(decoded.has_value());
    const EventsFrame want = v3 ? EventsFrame{{Event{3, ThinkingDelta{1, " so 4"}, 2},
                                               Event{5, TextDelta{1, "Four"}, 2}}}
                                : EventsFrame{{Event{3, TextDelta{1, "Four"}, 4}}};
    EXPECT_EQ(*decoded, Frame(want));
    EXPECT_EQ(decoder.position(), host.log.position_at(host.log.head()));
  }
}

TEST(OutboundQueue, SlowPeerGetsPendingDeltasMergedWithExactSpans) {
  Host host;
  OutboundQueue queue = make_queue(host.log, 0);
  drain(queue);
  host.start_turn(&queue);
  Peer peer;
  peer.receive_all(drain(queue));

  std::string text;
  for (int i = 0; i < 500; ++i) {
    const std::string token = "t" + std::to_string(i) + " ";
    text += token;
    host.append_and_push(queue, TextDelta{host.turn, token});
  }
  // One pending delta: the text plus a handful of bytes, not 500 entries.
  EXPECT_LE(queue.pending_bytes(), text.size() + 8);
  EXPECT_GE(queue.pending_bytes(), text.size());
  auto frames = drain(queue);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(queue.pending_bytes(), 0u);
  auto decoded = decode_frame(frames[0]);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, Frame(EventsFrame{{Event{2, TextDelta{1, text}, 500}}}));
  peer.receive_all(frames);
  EXPECT_EQ(peer.decoder.position().last_seq, 501u);
  expect_peer_has_log(peer, host.log);
}

TEST(OutboundQueue, MergingStopsAtOtherEvents) {
  Host host;
  OutboundQueue queue = make_queue(host.log, 0);
  drain(queue);
  host.start_turn(&queue);                                             // 1
  host.append_and_push(queue, TextDelta{1, "a"});                      // 2
  host.append_and_push(queue, TextDelta{1, "b"});                      // 3
  host.append_and_push(queue, PeerJoined{5, PeerRole::kViewer, "v"});  // 4
  host.append_and_push(queue, TextDelta{1, "c"});                      // 5
  host.end_turn(&queue);                                               // 6
  host.start_turn(&queue);                                             // 7
  host.append_and_push(queue, TextDelta{2, "d"});                      // 8
  host.append_and_push(queue, TextDelta{2, "e"});                      // 9
  auto frames = drain(queue);
  ASSERT_EQ(frames.size(), 1u) << "pending events pack into one frame";
  auto decoded = decode_frame(frames[0]);
  ASSERT_TRUE(decoded.has_value());
  const std::vector<Event> want = {
      host.log.at(1),
      Event{2, TextDelta{1, "ab"}, 2},
      host.log.at(4),
      Event{5, TextDelta{1, "c"}},
      host.log.at(6),
      host.log.at(7),
      Event{8, TextDelta{2, "de"}, 2},
  };
  EXPECT_EQ(std::get<EventsFrame>(*decoded).events, want);
}

TEST(OutboundQueue, MergedDeltasRespectTheFrameLimit) {
  Host host;
  OutboundQueue queue = make_queue(host.log, 0);
  drain(queue);
  host.start_turn(&queue);
  Peer peer;
  peer.receive_all(drain(queue));
  for (int i = 0; i < 10; ++i) {
    host.append_and_push(queue, TextDelta{1, std::string(5000, static_cast<char>('a' + i))});
  }
  auto frames = drain(queue);
  ASSERT_GE(frames.size(), 4u);
  Seq spans = 0;
  for (const auto& frame : frames) {
    EXPECT_LE(frame.size(), kMaxFrameBytes);
    auto decoded = decode_frame(frame);
    ASSERT_TRUE(decoded.has_value());
    if (const auto* events = std::get_if<EventsFrame>(&*decoded)) {
      for (const Event& e : events->events) spans += e.span;
    } else {
      ++spans;  // a single delta went out as a delta frame
    }
  }
  EXPECT_EQ(spans, 10u);
  peer.receive_all(frames);
  expect_peer_has_log(peer, host.log);
}

TEST(OutboundQueue, OverflowDropsPendingAndEndsWithErrorThenBye) {
  Host host;
  OutboundQueue queue = make_queue(host.log, 0, 4096);
  drain(queue);
  host.start_turn(&queue);
  host.append_and_push(queue, TextDelta{1, "delivered "});
  Peer peer;
  peer.receive_all(drain(queue));
  const Seq delivered = queue.popped_seq();
  EXPECT_EQ(delivered, 2u);

  // The peer stops reading; the host keeps streaming.
  std::error_code overflow;
  for (int i = 0; i < 2000 && !overflow; ++i) {
    const Event event = host.append(TextDelta{1, "more text "});
    auto pushed = queue.push_event(event);
    if (!pushed) overflow = pushed.error();
    EXPECT_LE(queue.pending_bytes(), 4096u);
  }
  ASSERT_EQ(overflow, QueueError::kOverflowed);
  EXPECT_EQ(queue.state(), OutboundQueue::State::kOverflowed);
  EXPECT_LT(queue.pending_bytes(), 200u) << "only the error and the bye are held";
  EXPECT_EQ(queue.push_event(host.append(TextDelta{1, "x"})).error(), QueueError::kOverflowed);
  EXPECT_EQ(queue.push_frame(encoded(PongFrame{1})).error(), QueueError::kOverflowed);

  auto error = queue.pop();
  ASSERT_TRUE(error.has_value());
  auto decoded_error = decode_frame(*error);
  ASSERT_TRUE(decoded_error.has_value());
  const auto& e = std::get<ErrorFrame>(*decoded_error);
  EXPECT_EQ(e.code, StatusCode::kSlowConsumer);
  EXPECT_NE(e.text.find("4096"), std::string::npos) << e.text;
  auto bye = queue.pop();
  ASSERT_TRUE(bye.has_value());
  auto decoded_bye = decode_frame(*bye);
  ASSERT_TRUE(decoded_bye.has_value());
  EXPECT_EQ(std::get<ByeFrame>(*decoded_bye).reason, StatusCode::kSlowConsumer);
  EXPECT_FALSE(queue.pop().has_value());
  EXPECT_EQ(queue.state(), OutboundQueue::State::kClosed);
  EXPECT_FALSE(queue.has_frames());
  EXPECT_EQ(queue.pending_bytes(), 0u);
  EXPECT_EQ(queue.popped_seq(), delivered) << "dropped events were never sent";

  // The peer comes back with what it holds and gets the rest exactly once.
  host.end_turn();
  OutboundQueue again = make_queue(host.log, peer.decoder.position().last_seq);
  peer.receive_all(drain(again));
  expect_peer_has_log(peer, host.log);
}

TEST(OutboundQueue, ControlFramesCountAgainstTheBound) {
  Host host;
  OutboundQueue queue = make_queue(host.log, 0, 64);
  const FrameBytes pong = encoded(PongFrame{123456789});
  size_t pushed = 0;
  while (queue.push_frame(pong).has_value()) ++pushed;
  EXPECT_EQ(pushed, 64 / pong.size());
  EXPECT_EQ(queue.state(), OutboundQueue::State::kOverflowed);
  auto frames = drain(queue);
  ASSERT_EQ(frames.size(), 2u) << "pongs dropped; error and bye remain";
  EXPECT_EQ(frames[0][0], static_cast<uint8_t>(FrameType::kError));
  EXPECT_EQ(frames[1][0], static_cast<uint8_t>(FrameType::kBye));
}

TEST(OutboundQueue, RejectsEventsOutOfOrder) {
  Host host;
  host.append(PeerLeft{1});
  OutboundQueue queue = make_queue(host.log, 0);
  // Catching up: an event the log does not have yet cannot be covered.
  EXPECT_EQ(queue.push_event(Event{5, PeerLeft{2}}).error(), QueueError::kOutOfOrder);
  drain(queue);
  ASSERT_EQ(queue.state(), OutboundQueue::State::kLive);
  const Event next = host.append(PeerLeft{2});
  const Event after = host.append(PeerLeft{3});
  EXPECT_EQ(queue.push_event(after).error(), QueueError::kOutOfOrder);
  EXPECT_EQ(queue.pending_bytes(), 0u);
  EXPECT_TRUE(queue.push_event(next).has_value());
  EXPECT_TRUE(queue.push_event(after).has_value());
  EXPECT_TRUE(queue.push_event(next).has_value()) << "already queued: ignored";
  EXPECT_EQ(drain(queue).size(), 1u);
}

TEST(OutboundQueue, EventsAppendedDuringCatchUpArriveOnce) {
  Host host;
  host.start_turn();
  for (int i = 0; i < 3000; ++i) host.append(TextDelta{1, "catch-up text "});
  OutboundQueue queue = make_queue(host.log, 0);
  Peer peer;
  // The transport sends one frame, then more tokens arrive while the peer is still behind.
  peer.receive(*queue.pop());
  EXPECT_EQ(queue.state(), OutboundQueue::State::kCatchingUp);
  for (int i = 0; i < 50; ++i) host.append_and_push(queue, TextDelta{1, "live "});
  EXPECT_EQ(queue.pending_bytes(), 0u) << "catch-up reads the log, it holds nothing";
  // The host appends, and the transport drains before the host offers the event to this queue.
  const Event late = host.append(TextDelta{1, "late"});
  peer.receive_all(drain(queue));
  EXPECT_EQ(queue.state(), OutboundQueue::State::kLive);
  EXPECT_TRUE(queue.push_event(late).has_value());
  EXPECT_FALSE(queue.has_frames()) << "covered by catch-up, not sent twice";
  host.append_and_push(queue, TextDelta{1, "!"});
  host.end_turn(&queue);
  peer.receive_all(drain(queue));
  expect_peer_has_log(peer, host.log);
}

TEST(OutboundQueue, ByeIsTheLastFrame) {
  Host host;
  host.start_turn();
  for (int i = 0; i < 5000; ++i) host.append(TextDelta{1, "long text "});
  OutboundQueue queue = make_queue(host.log, 0);
  ASSERT_TRUE(queue.pop().has_value());
  ASSERT_TRUE(queue.push_frame(encoded(ByeFrame{StatusCode::kShutdown, ""})).has_value());
  EXPECT_EQ(queue.push_frame(encoded(PingFrame{1})).error(), QueueError::kClosed);
  EXPECT_EQ(queue.push_event(host.append(TextDelta{1, "x"})).error(), QueueError::kClosed);
  auto frames = drain(queue);
  ASSERT_EQ(frames.size(), 1u) << "the bye cuts the remaining catch-up short";
  EXPECT_EQ(frames[0][0], static_cast<uint8_t>(FrameType::kBye));
  EXPECT_EQ(queue.state(), OutboundQueue::State::kClosed);
}

TEST(OutboundQueue, RefusesAPeerAheadOfTheLog) {
  SessionLog log;
  auto queue = OutboundQueue::create(log, 1);
  ASSERT_FALSE(queue.has_value());
  EXPECT_EQ(queue.error(), LogError::kBeyondHead);
}

// Random sessions, random starting points, random interleaving of appends and pops: the peer
// always ends with exactly the log, and pending memory never passes the bound.
TEST(OutboundQueue, AnyInterleavingDeliversTheLogExactly) {
  for (uint32_t seed = 1; seed <= 60; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    Host host;
    // A history the peer partly holds.
    for (int i = 0, n = static_cast<int>(rng() % 200); i < n; ++i) {
      if (!host.log.open_turn()) {
        rng() % 4 ? host.start_turn() : (void)host.append(PeerLeft{rng() % 9});
      } else if (rng() % 30 == 0) {
        host.end_turn();
      } else {
        host.append(TextDelta{host.turn, std::string(1 + rng() % 12, 'h')});
      }
    }
    const Seq start = host.log.head() ? rng() % (host.log.head() + 1) : 0;
    const size_t bound = 1 << 16;
    OutboundQueue queue = make_queue(host.log, start, bound);
    Peer peer(host.log.position_at(start));
    for (int step = 0; step < 600; ++step) {
      const uint32_t r = rng() % 10;
      if (r < 6) {
        if (!host.log.open_turn()) {
          rng() % 3 ? host.start_turn(&queue)
                    : host.append_and_push(queue, PeerJoined{rng() % 9, PeerRole::kViewer, "p"});
        } else if (rng() % 40 == 0) {
          host.end_turn(&queue);
        } else {
          host.append_and_push(queue, TextDelta{host.turn, std::string(1 + rng() % 30, 'x')});
        }
      } else if (r < 8) {
        if (auto frame = queue.pop()) peer.receive(*frame);
      } else if (r == 8) {
        ASSERT_TRUE(queue.push_frame(encoded(PongFrame{static_cast<uint64_t>(step)})).has_value());
      } else {
        // Flush like a transport that came back: send everything.
        peer.receive_all(drain(queue));
      }
      ASSERT_LE(queue.pending_bytes(), bound);
      ASSERT_NE(queue.state(), OutboundQueue::State::kOverflowed);
    }
    peer.receive_all(drain(queue));
    EXPECT_EQ(queue.pending_bytes(), 0u);
    expect_peer_has_log(peer, host.log, start);
    EXPECT_EQ(queue.popped_seq(), host.log.head());
  }
}

TEST(OutboundQueue, ErrorCodesHaveACategory) {
  std::error_code ec = QueueError::kOverflowed;
  EXPECT_EQ(ec.category().name(), std::string("tokencast.queue"));
  EXPECT_EQ(ec.message(), "outbound queue overflowed");
}

}  // namespace
}  // namespace tokencast
