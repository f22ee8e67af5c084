// PeerLink over libwebrtc: in-process pairs on loopback (works in a namespace with only `lo`).
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "rtc_base/openssl_certificate.h"
#include "support/run_process.hpp"
#include "tokencast/core/log.hpp"
#include "tokencast/rtc/peer_link.hpp"
#include "turn_tls_trust.hpp"

namespace tokencast {
namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<uint8_t>;

constexpr auto kOpenTimeout = 10s;

// One side of a pair: owns its link, records every callback, forwards signaling to its peer.
struct Endpoint {
  std::mutex mu;
  std::condition_variable cv;
  std::unique_ptr<PeerLink> link;
  Endpoint* peer = nullptr;

  // What to forward to the peer as it happens (false: the test delivers it by hand).
  bool forward_description = true;
  bool forward_candidates = true;

  std::vector<LinkEvent> states;
  std::vector<Bytes> messages;
  std::vector<IceCandidate> candidates;
  std::string local_sdp;
  bool gathered = false;
  int drains = 0;
  std::thread::id callback_thread;
  bool callbacks_on_one_thread = true;
  std::function<void(Endpoint&, const LinkEvent&)> on_state_hook;  // runs outside mu
  std::function<void(Endpoint&)> on_drain_hook;                    // runs outside mu

  void note_thread() {  // with mu held
    if (callback_thread == std::thread::id{}) callback_thread = std::this_thread::get_id();
    if (callback_thread != std::this_thread::get_id()) callbacks_on_one_thread = false;
  }

  template <class Fn>
  void with_link(Fn&& fn) {
    std::lock_guard lock(mu);
    if (link) fn(*link);
  }

  // Destroys the link; callbacks of the peer that forward here find no link any more.
  void destroy() {
    std::unique_ptr<PeerLink> doomed;
    {
      std::lock_guard lock(mu);
      doomed = std::move(link);
    }
    doomed.reset();
  }

  template <class Pred>
  bool wait(Pred pred, std::chrono::milliseconds timeout = kOpenTimeout) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] { return pred(*this); });
  }

  bool has_state(LinkState s) const {
    return std::any_of(states.begin(), states.end(), [&](auto& e) { return e.state == s; });
  }
  bool ended() const { return has_state(LinkState::kClosed) || has_state(LinkState::kFailed); }

  LinkCallbacks callbacks() {
    LinkCallbacks cb;
    cb.on_local_description = [this](const std::string& sdp) {
      {
        std::lock_guard lock(mu);
        note_thread();
        local_sdp = sdp;
      }
      cv.notify_all();
      if (forward_description && peer) deliver_description(*peer, sdp);
    };
    cb.on_local_candidate = [this](const IceCandidate& c) {
      {
        std::lock_guard lock(mu);
        note_thread();
        candidates.push_back(c);
      }
      cv.notify_all();
      if (forward_candidates && peer) {
        peer->with_link([&](PeerLink& l) { EXPECT_TRUE(l.add_remote_candidate(c)); });
      }
    };
    cb.on_local_candidates_done = [this] {
      {
        std::lock_guard lock(mu);
        note_thread();
        gathered = true;
      }
      cv.notify_all();
    };
    cb.on_state = [this](const LinkEvent& e) {
      {
        std::lock_guard lock(mu);
        note_thread();
        states.push_back(e);
      }
      cv.notify_all();
      if (on_state_hook) on_state_hook(*this, e);
    };
    cb.on_message = [this](std::span<const uint8_t> m) {
      {
        std::lock_guard lock(mu);
        note_thread();
        messages.emplace_back(m.begin(), m.end());
      }
      cv.notify_all();
    };
    cb.on_drain = [this] {
      {
        std::lock_guard lock(mu);
        note_thread();
        ++drains;
      }
      cv.notify_all();
      if (on_drain_hook) on_drain_hook(*this);
    };
    return cb;
  }

  // The peer's description arrives here: apply it, and answer if it was an offer.
  static void deliver_description(Endpoint& to, const std::string& sdp) {
    to.with_link([&](PeerLink& l) {
      EXPECT_TRUE(l.set_remote_description(sdp));
      if (l.role() == NegotiationRole::kAnswerer) EXPECT_TRUE(l.create_answer());
    });
  }
};

struct Pair {
  Endpoint a;  // offerer
  Endpoint b;  // answerer

  explicit Pair(LinkConfig config = {}) : Pair(config, config) {}
  Pair(const LinkConfig& offerer, const LinkConfig& answerer) {
    a.peer = &b;
    b.peer = &a;
    auto la = PeerLink::create(NegotiationRole::kOfferer, offerer, a.callbacks());
    auto lb = PeerLink::create(NegotiationRole::kAnswerer, answerer, b.callbacks());
    EXPECT_TRUE(la.has_value());
    EXPECT_TRUE(lb.has_value());
    if (la) a.link = std::move(*la);
    if (lb) b.link = std::move(*lb);
  }
  ~Pair() {
    a.destroy();
    b.destroy();
  }

  void start() {
    ASSERT_TRUE(a.link && b.link);
    ASSERT_TRUE(a.link->create_offer());
  }
  bool wait_open() {
    return a.wait([](auto& e) { return e.has_state(LinkState::kOpen) || e.ended(); }) &&
           b.wait([](auto& e) { return e.has_state(LinkState::kOpen) || e.ended(); }) &&
           a.link->state() == LinkState::kOpen && b.link->state() == LinkState::kOpen;
  }
};

Bytes numbered(uint32_t n, size_t size, uint8_t fill) {
  Bytes m(std::max<size_t>(size, 4), fill);
  std::memcpy(m.data(), &n, 4);
  m.resize(size);
  return m;
}

TEST(RtcPeerLink, OpensOnLoopbackAndCallbacksRunOnTheSignalingThread) {
  Pair p;
  p.start();
  ASSERT_TRUE(p.wait_open());
  std::scoped_lock both(p.a.mu, p.b.mu);
  // connecting, then open, and nothing else yet.
  ASSERT_EQ(p.a.states.size(), 2u);
  EXPECT_EQ(p.a.states[0].state, LinkState::kConnecting);
  EXPECT_EQ(p.a.states[1].state, LinkState::kOpen);
  EXPECT_EQ(p.b.states.back().state, LinkState::kOpen);
  EXPECT_FALSE(p.a.candidates.empty());
  EXPECT_NE(p.a.local_sdp.find("a=fingerprint:"), std::string::npos);
  EXPECT_NE(p.b.local_sdp.find("a=fingerprint:"), std::string::npos);
  EXPECT_EQ(p.a.link->local_description(), p.a.local_sdp);
  EXPECT_EQ(p.b.link->remote_description(), p.a.local_sdp);
  EXPECT_EQ(p.a.link->remote_description(), p.b.local_sdp);
  // Every callback of both links ran on one thread: the runtime's signaling thread.
  EXPECT_TRUE(p.a.callbacks_on_one_thread);
  EXPECT_TRUE(p.b.callbacks_on_one_thread);
  EXPECT_EQ(p.a.callback_thread, p.b.callback_thread);
  EXPECT_NE(p.a.callback_thread, std::this_thread::get_id());
}

std::string fingerprint_line(const std::string& sdp) {
  auto at = sdp.find("a=fingerprint:");
  return at == std::string::npos ? "" : sdp.substr(at, sdp.find('\n', at) - at);
}

// A client's links share one certificate (DtlsIdentity): each opens, and each presents the
// same fingerprint, which a host can recognise (and refuse after removing the client).
TEST(RtcPeerLink, LinksWithOneIdentityOpenAndPresentOneFingerprint) {
  auto identity = DtlsIdentity::generate();
  ASSERT_TRUE(identity);
  LinkConfig config;
  config.identity = *identity;
  std::string first;
  for (int i = 0; i < 2; ++i) {
    Pair p(config, LinkConfig{});  // as a joiner: only the offerer brings its own
    p.start();
    ASSERT_TRUE(p.wait_open()) << "link " << i;
    std::scoped_lock both(p.a.mu, p.b.mu);
    std::string line = fingerprint_line(p.a.local_sdp);
    ASSERT_FALSE(line.empty());
    if (i == 0) first = line;
    EXPECT_EQ(line, first);
  }
  Pair fresh;  // no identity: a certificate of its own
  fresh.start();
  ASSERT_TRUE(fresh.wait_open());
  std::scoped_lock lock(fresh.a.mu);
  EXPECT_NE(fingerprint_line(fresh.a.local_sdp), first);
}

TEST(RtcPeerLink, MessagesBothWaysInOrderAndIntact) {
  Pair p;
  p.start();
  ASSERT_TRUE(p.wait_open());
  constexpr uint32_t kCount = 300;
  std::mt19937 rng(7);
  std::vector<Bytes> from_a, from_b;
  for (uint32_t i = 0; i < kCount; ++i) {
    const size_t size = i % 50 == 0 ? 16 * 1024 : rng() % 2000;  // includes 0..3-byte messages
    from_a.push_back(numbered(i, size, static_cast<uint8_t>(rng())));
    from_b.push_back(numbered(i, rng() % 3000, static_cast<uint8_t>(rng())));
  }
  from_a[5].clear();  // an empty message is a message
  // Both directions at once, from two threads other than the signaling thread.
  std::thread ta([&] {
    for (auto& m : from_a) ASSERT_EQ(p.a.link->send(m), SendResult::kSent);
  });
  std::thread tb([&] {
    for (auto& m : from_b) ASSERT_EQ(p.b.link->send(m), SendResult::kSent);
  });
  ta.join();
  tb.join();
  ASSERT_TRUE(p.b.wait([](auto& e) { return e.messages.size() >= kCount; }));
  ASSERT_TRUE(p.a.wait([](auto& e) { return e.messages.size() >= kCount; }));
  std::scoped_lock both(p.a.mu, p.b.mu);
  EXPECT_EQ(p.b.messages, from_a);
  EXPECT_EQ(p.a.messages, from_b);
}

// The host's fan-out: one message to every link, round after round, from one thread. The
// links' flushes share network-thread tasks (RtcRuntime::Impl::post_batched); each link still
// gets every message once, in order, and a link destroyed mid-burst (its flush still batched)
// takes nothing from the others.
TEST(RtcPeerLink, ManyLinksFannedOutInOneBurstEachGetEveryMessageInOrder) {
  constexpr size_t kLinks = 6;
  constexpr uint32_t kRounds = 200;
  std::vector<std::unique_ptr<Pair>> pairs;
  for (size_t i = 0; i < kLinks; ++i) {
    pairs.push_back(std::make_unique<Pair>());
    pairs.back()->start();
  }
  for (auto& p : pairs) ASSERT_TRUE(p->wait_open());
  std::vector<Bytes> sent;
  for (uint32_t round = 0; round < kRounds; ++round) {
    sent.push_back(numbered(round, 4 + round % 40, static_cast<uint8_t>(round)));
    for (auto& p : pairs) {
      if (p->a.link) ASSERT_EQ(p->a.link->send(sent.back()), SendResult::kSent);
    }
    if (round == kRounds / 2) pairs[0]->a.destroy();  // with its flush likely still queued
  }
  for (size_t i = 1; i < kLinks; ++i) {
    ASSERT_TRUE(pairs[i]->b.wait([](auto& e) { return e.messages.size() >= kRounds; }));
    std::lock_guard lock(pairs[i]->b.mu);
    EXPECT_EQ(pairs[i]->b.messages, sent) << "link " << i;
  }
  // The destroyed link's peer got a prefix of the rounds, in order, and then the close.
  ASSERT_TRUE(pairs[0]->b.wait([](auto& e) { return e.ended(); }));
  std::lock_guard lock(pairs[0]->b.mu);
  ASSERT_LE(pairs[0]->b.messages.size(), sent.size());
  EXPECT_TRUE(std::equal(pairs[0]->b.messages.begin(), pairs[0]->b.messages.end(), sent.begin()));
}

// Loopback is ignored on a machine with another interface (peers on it use that one), and used
// where there is nothing else: this test binary runs the test above again inside a new network
// namespace that has only `lo`.
TEST(RtcPeerLink, OpensInANetworkNamespaceWithOnlyLoopback) {
  if (std::getenv("TOKENCAST_LO_ONLY_NAMESPACE") != nullptr) GTEST_SKIP() << "already inside";
  if (access("/usr/bin/unshare", X_OK) != 0) GTEST_SKIP() << "no unshare(1)";
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  auto r = testing::run_process({"/usr/bin/unshare", "-rn", "/bin/sh", "-c",
                                 "PATH=$PATH:/usr/sbin:/sbin; ip link set lo up || exit 77; "
                                 "TOKENCAST_LO_ONLY_NAMESPACE=1 exec \"$0\" "
                                 "--gtest_filter=RtcPeerLink.MessagesBothWaysInOrderAndIntact",
                                 self});
  if (r.exit_code == 77 || r.err.find("unshare failed") != std::string::npos) {
    GTEST_SKIP() << "cannot make a network namespace here: " << r.err;
  }
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("[  PASSED  ] 1 test"), std::string::npos) << r.out;
}

TEST(RtcPeerLink, TextHelperSendsBytes) {
  Pair p;
  p.start();
  ASSERT_TRUE(p.wait_open());
  ASSERT_EQ(p.a.link->send(std::string_view("hello")), SendResult::kSent);
  ASSERT_TRUE(p.b.wait([](auto& e) { return !e.messages.empty(); }));
  std::lock_guard lb(p.b.mu);
  EXPECT_EQ(std::string(p.b.messages[0].begin(), p.b.messages[0].end()), "hello");
}

// The offerer gets the answerer's candidates BEFORE the answer; the answerer never gets the
// offerer's. ICE can only start from the offerer's side, with the candidates it had to hold.
TEST(RtcPeerLink, OffererBuffersCandidatesThatArriveBeforeTheAnswer) {
  Pair p;
  p.a.forward_candidates = false;  // the answerer never learns the offerer's candidates
  p.b.forward_candidates = false;
  p.b.forward_description = false;  // the answer is held back
  p.start();
  ASSERT_TRUE(p.b.wait([](auto& e) { return e.gathered && !e.local_sdp.empty(); }));
  std::vector<IceCandidate> held;
  std::string answer;
  {
    std::lock_guard lock(p.b.mu);
    held = p.b.candidates;
    answer = p.b.local_sdp;
  }
  ASSERT_FALSE(held.empty());
  for (auto& c : held) ASSERT_TRUE(p.a.link->add_remote_candidate(c));
  std::this_thread::sleep_for(50ms);  // let them reach the signaling thread first
  Endpoint::deliver_description(p.a, answer);
  EXPECT_TRUE(p.wait_open());
}

// Mirror: the answerer gets the offerer's candidates before the offer.
TEST(RtcPeerLink, AnswererBuffersCandidatesThatArriveBeforeTheOffer) {
  Pair p;
  p.a.forward_candidates = false;
  p.b.forward_candidates = false;  // the offerer never learns the answerer's candidates
  p.a.forward_description = false;
  p.start();
  ASSERT_TRUE(p.a.wait([](auto& e) { return e.gathered && !e.local_sdp.empty(); }));
  std::vector<IceCandidate> held;
  std::string offer;
  {
    std::lock_guard lock(p.a.mu);
    held = p.a.candidates;
    offer = p.a.local_sdp;
  }
  ASSERT_FALSE(held.empty());
  for (auto& c : held) ASSERT_TRUE(p.b.link->add_remote_candidate(c));
  ASSERT_TRUE(p.b.link->add_remote_candidate({"0", 0, ""}));  // end-of-candidates: ignored
  std::this_thread::sleep_for(50ms);
  Endpoint::deliver_description(p.b, offer);
  EXPECT_TRUE(p.wait_open());
}

TEST(RtcPeerLink, SixteenKiBPassesAndLargerIsRefusedWithoutClosing) {
  Pair p;
  p.start();
  ASSERT_TRUE(p.wait_open());
  const Bytes max = numbered(1, 16 * 1024, 0xab);
  const Bytes over = numbered(2, 16 * 1024 + 1, 0xcd);
  EXPECT_EQ(p.a.link->send(over), SendResult::kRefusedTooLarge);
  EXPECT_EQ(p.a.link->send(max), SendResult::kSent);
  EXPECT_EQ(p.a.link->send(Bytes(200 * 1024, 1)), SendResult::kRefusedTooLarge);
  EXPECT_EQ(p.a.link->send(numbered(3, 10, 0)), SendResult::kSent);
  ASSERT_TRUE(p.b.wait([](auto& e) { return e.messages.size() >= 2; }));
  std::this_thread::sleep_for(100ms);
  std::lock_guard lb(p.b.mu);
  ASSERT_EQ(p.b.messages.size(), 2u);
  EXPECT_EQ(p.b.messages[0], max);
  EXPECT_EQ(p.b.messages[1], numbered(3, 10, 0));
  EXPECT_EQ(p.b.link->state(), LinkState::kOpen);
}

TEST(RtcPeerLink, BackpressureHighWaterThenDrainNotice) {
  LinkConfig config;
  config.high_water = 64 * 1024;
  config.low_water = 16 * 1024;
  config.max_buffered = 256 * 1024;
  Pair p(config);
  p.start();
  ASSERT_TRUE(p.wait_open());
  const size_t kSize = 16 * 1024;
  uint32_t count = 0;
  bool over = false;
  bool full = false;
  for (int i = 0; i < 200000 && !full; ++i) {
    const SendResult r = p.a.link->send(numbered(count, kSize, 0x5a));
    if (r == SendResult::kSentOverHighWater) over = true;
    if (r == SendResult::kRefusedFull) full = true;
    if (accepted(r)) ++count;
    if (!accepted(r) && r != SendResult::kRefusedFull) FAIL() << to_string(r);
    EXPECT_LE(p.a.link->buffered_amount(), config.max_buffered);
  }
  ASSERT_TRUE(over) << "never went over the high-water mark";
  ASSERT_TRUE(full) << "never refused a send as full";
  // On a busy machine the receiver may drain the buffer below low water while this loop is still
  // filling it: that fires a drain notice, and the next send over high water arms another. The
  // notice asserted here is the one for the buffer this loop left full.
  int drains_when_full = 0;
  {
    std::lock_guard la(p.a.mu);
    drains_when_full = p.a.drains;
  }
  ASSERT_TRUE(p.a.wait([&](auto& e) { return e.drains > drains_when_full; }));
  EXPECT_LE(p.a.link->buffered_amount(), config.low_water);
  // Sending resumes and everything accepted arrives, in order.
  EXPECT_EQ(p.a.link->send(numbered(count, kSize, 0x5a)), SendResult::kSent);
  ++count;
  ASSERT_TRUE(p.b.wait([&](auto& e) { return e.messages.size() >= count; }));
  std::scoped_lock both(p.a.mu, p.b.mu);
  ASSERT_EQ(p.b.messages.size(), count);
  for (uint32_t i = 0; i < count; ++i) ASSERT_EQ(p.b.messages[i], numbered(i, kSize, 0x5a));
  EXPECT_EQ(p.a.drains, drains_when_full + 1);  // once per arming
}

TEST(RtcPeerLink, SendBeforeOpenAndAfterCloseIsRefused) {
  Pair p;
  EXPECT_EQ(p.a.link->send(std::string_view("early")), SendResult::kNotOpen);
  p.start();
  ASSERT_TRUE(p.wait_open());
  p.a.link->close("done");
  EXPECT_EQ(p.a.link->send(std::string_view("late")), SendResult::kClosed);
  ASSERT_TRUE(p.a.wait([](auto& e) { return e.ended(); }));
  EXPECT_EQ(p.a.link->state(), LinkState::kClosed);
  EXPECT_EQ(p.a.link->send(std::string_view("later")), SendResult::kClosed);
  EXPECT_FALSE(p.a.link->create_offer());
}

void close_from(Endpoint& closer, Endpoint& other) {
  // Messages sent just before close() still arrive, before the peer sees the close.
  constexpr uint32_t kCount = 200;  // far more than SCTP's first congestion window
  for (uint32_t i = 0; i < kCount; ++i) {
    ASSERT_TRUE(accepted(closer.link->send(numbered(i, 1000, 7))));
  }
  closer.link->close("host ended the session");
  ASSERT_TRUE(closer.wait([](auto& e) { return e.ended(); }, 5s));
  ASSERT_TRUE(other.wait([](auto& e) { return e.ended(); }, 5s));
  std::scoped_lock both(closer.mu, other.mu);
  const LinkEvent& mine = closer.states.back();
  EXPECT_EQ(mine.state, LinkState::kClosed);
  EXPECT_EQ(mine.cause, CloseCause::kLocal);
  EXPECT_EQ(mine.reason, "host ended the session");
  const LinkEvent& theirs = other.states.back();
  EXPECT_EQ(theirs.state, LinkState::kClosed);
  EXPECT_EQ(theirs.cause, CloseCause::kRemote);
  EXPECT_FALSE(theirs.reason.empty());
  ASSERT_EQ(other.messages.size(), kCount);
  for (uint32_t i = 0; i < kCount; ++i) EXPECT_EQ(other.messages[i], numbered(i, 1000, 7));
  // Exactly one terminal event each.
  auto terminal = [](auto& v) {
    return std::count_if(v.begin(), v.end(), [](auto& e) {
      return e.state == LinkState::kClosed || e.state == LinkState::kFailed;
    });
  };
  EXPECT_EQ(terminal(closer.states), 1);
  EXPECT_EQ(terminal(other.states), 1);
}

TEST(RtcPeerLink, CloseFromOffererReachesAnswerer) {
  Pair p;
  p.start();
  ASSERT_TRUE(p.wait_open());
  close_from(p.a, p.b);
}

TEST(RtcPeerLink, CloseFromAnswererReachesOfferer) {
  Pair p;
  p.start();
  ASSERT_TRUE(p.wait_open());
  close_from(p.b, p.a);
}

TEST(RtcPeerLink, DestroyingOneSideClosesTheOther) {
  Pair p;
  p.start();
  ASSERT_TRUE(p.wait_open());
  const auto t0 = std::chrono::steady_clock::now();
  p.a.destroy();
  ASSERT_TRUE(p.b.wait([](auto& e) { return e.ended(); }, 10s));
  const auto took = std::chrono::steady_clock::now() - t0;
  std::lock_guard lb(p.b.mu);
  EXPECT_EQ(p.b.states.back().state, LinkState::kClosed) << p.b.states.back().reason;
  EXPECT_EQ(p.b.states.back().cause, CloseCause::kRemote) << p.b.states.back().reason;
  EXPECT_LT(took, 2s);
}

TEST(RtcPeerLink, DestroyFromInsideItsOwnCallback) {
  Pair p;
  p.b.on_state_hook = [](Endpoint& self, const LinkEvent& e) {
    if (e.state == LinkState::kOpen) self.destroy();  // on the signaling thread
  };
  p.start();
  ASSERT_TRUE(p.a.wait([](auto& e) { return e.has_state(LinkState::kOpen) || e.ended(); }));
  ASSERT_TRUE(p.a.wait([](auto& e) { return e.ended(); }, 10s));
  std::lock_guard lb(p.b.mu);
  EXPECT_EQ(p.b.link, nullptr);
  EXPECT_FALSE(p.b.ended());  // no callback after the destructor
}

TEST(RtcPeerLink, ConnectTimeoutFailsALinkThatNeverOpens) {
  LinkConfig config;
  config.connect_timeout = 300ms;
  Pair p(config);
  p.a.forward_description = false;  // the answerer never hears of the offer
  p.start();
  ASSERT_TRUE(p.a.wait([](auto& e) { return e.ended(); }, 5s));
  std::lock_guard la(p.a.mu);
  EXPECT_EQ(p.a.states.back().state, LinkState::kFailed);
  EXPECT_EQ(p.a.states.back().cause, CloseCause::kTransport);
  EXPECT_EQ(p.a.link->state(), LinkState::kFailed);
}

// Nobody but the links holds the runtime, and both links destroy themselves from inside their
// callbacks: the last runtime reference goes on the signaling thread itself. The runtime must
// shut down without joining itself, and a new one must start for the next links.
TEST(RtcPeerLink, LastLinkDestroyedOnTheSignalingThreadShutsTheRuntimeDown) {
  std::atomic<int> helper_shutdowns{0};
  log::set_sink(
      [&](log::Level, std::string_view component, std::string_view message) {
        if (component == "rtc" && message.find("helper thread") != std::string_view::npos) {
          ++helper_shutdowns;
        }
      },
      log::Level::kWarn);
  for (int round = 0; round < 3; ++round) {
    auto p = std::make_unique<Pair>();
    std::atomic<int> gone{0};
    auto self_destroy = [&gone](Endpoint& self, const LinkEvent& e) {
      if (e.state == LinkState::kOpen || e.state == LinkState::kClosed) {
        self.destroy();
        ++gone;
      }
    };
    p->a.on_state_hook = self_destroy;
    p->b.on_state_hook = self_destroy;
    p->start();
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (gone.load() < 2 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(5ms);
    }
    ASSERT_EQ(gone.load(), 2);
    std::this_thread::sleep_for(50ms);  // the helper thread finishes the shutdown
    p.reset();
  }
  log::set_sink(nullptr);
  EXPECT_GE(helper_shutdowns.load(), 1);
  Pair fresh;
  fresh.start();
  EXPECT_TRUE(fresh.wait_open());
}

// Links created, negotiated to various depths and destroyed quickly, from several threads and
// from inside callbacks, while other threads send. Must not crash or hang (run it under ASan).
TEST(RtcPeerLink, ManyLinksCreatedAndDestroyedQuickly) {
  constexpr int kPairs = 60;
  std::vector<std::unique_ptr<Pair>> pairs;
  std::mt19937 rng(11);
  for (int i = 0; i < kPairs; ++i) {
    pairs.push_back(std::make_unique<Pair>());
    Pair& p = *pairs.back();
    const int mode = i % 5;
    if (mode == 0) continue;  // never started
    if (mode == 4) {
      p.b.on_state_hook = [](Endpoint& self, const LinkEvent& e) {
        if (e.state == LinkState::kOpen) self.destroy();
      };
    }
    p.start();
  }
  // Senders streaming to whatever is open, every 5 ms (a fast token stream), as a host would.
  std::atomic<bool> stop{false};
  std::vector<std::thread> senders;
  for (int t = 0; t < 2; ++t) {
    senders.emplace_back([&, t] {
      const Bytes m(100, static_cast<uint8_t>(t));
      while (!stop.load()) {
        for (int i = t; i < kPairs; i += 2) {
          pairs[i]->a.with_link([&](PeerLink& l) { (void)l.send(m); });
          pairs[i]->b.with_link([&](PeerLink& l) { (void)l.send(m); });
        }
        std::this_thread::sleep_for(5ms);
      }
    });
  }
  // Destroy at random moments, from two threads.
  std::vector<int> order(kPairs);
  for (int i = 0; i < kPairs; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<std::thread> destroyers;
  for (int t = 0; t < 2; ++t) {
    destroyers.emplace_back([&, t] {
      std::mt19937 r(100 + t);
      for (size_t k = t; k < order.size(); k += 2) {
        std::this_thread::sleep_for(std::chrono::microseconds(r() % 3000));
        Pair& p = *pairs[order[k]];
        if (k % 3 == 0) p.a.link->close("bye");
        if (k % 2 == 0) {
          p.a.destroy();
          p.b.destroy();
        } else {
          p.b.destroy();
          p.a.destroy();
        }
      }
    });
  }
  for (auto& t : destroyers) t.join();
  stop = true;
  for (auto& t : senders) t.join();
  pairs.clear();
  // The runtime is still healthy: a fresh pair opens.
  Pair fresh;
  fresh.start();
  EXPECT_TRUE(fresh.wait_open());
}

TEST(RtcPeerLink, NegotiationMisuseGivesClearErrors) {
  Pair p;
  auto e1 = p.a.link->create_answer();
  ASSERT_FALSE(e1);
  EXPECT_EQ(e1.error().code, RtcErrc::kWrongState);
  auto e2 = p.b.link->create_offer();
  ASSERT_FALSE(e2);
  EXPECT_EQ(e2.error().code, RtcErrc::kWrongState);
  auto e3 = p.b.link->create_answer();  // before the offer
  ASSERT_FALSE(e3);
  EXPECT_EQ(e3.error().code, RtcErrc::kWrongState);
  auto e4 = p.b.link->set_remote_description("v=0\r\nthis is not sdp\r\n");
  ASSERT_FALSE(e4);
  EXPECT_EQ(e4.error().code, RtcErrc::kInvalidSdp);
  EXPECT_FALSE(e4.error().message.empty());
  auto e5 = p.a.link->add_remote_candidate({"0", 0, "candidate:nonsense"});
  ASSERT_FALSE(e5);
  EXPECT_EQ(e5.error().code, RtcErrc::kInvalidCandidate);
}

TEST(RtcPeerLink, RejectedRemoteDescriptionFailsTheLink) {
  Pair p;
  p.a.forward_description = false;
  p.start();
  ASSERT_TRUE(p.a.wait([](auto& e) { return !e.local_sdp.empty(); }));
  // An offer given to the offerer as if it were the answer: parses, but libwebrtc refuses it.
  ASSERT_TRUE(p.a.link->set_remote_description(p.a.link->local_description()));
  ASSERT_TRUE(p.a.wait([](auto& e) { return e.ended(); }, 5s));
  std::lock_guard la(p.a.mu);
  EXPECT_EQ(p.a.states.back().state, LinkState::kFailed);
  EXPECT_EQ(p.a.states.back().cause, CloseCause::kNegotiation);
}

TEST(RtcPeerLink, ConfigValidation) {
  auto bad = [](LinkConfig c) {
    auto link = PeerLink::create(NegotiationRole::kOfferer, std::move(c), {});
    return !link && link.error().code == RtcErrc::kInvalidConfig;
  };
  LinkConfig c;
  c.low_water = c.high_water;
  EXPECT_TRUE(bad(c));
  c = {};
  c.max_buffered = 16 * 1024 * 1024;
  EXPECT_TRUE(bad(c));
  c = {};
  c.max_message_size = 128 * 1024;
  EXPECT_TRUE(bad(c));
  c = {};
  c.label.clear();
  EXPECT_TRUE(bad(c));
  c = {};
  c.close_linger = c.close_timeout + 1ms;
  EXPECT_TRUE(bad(c));
  c = {};
  c.connect_timeout = -1ms;
  EXPECT_TRUE(bad(c));
  c = {};
  c.ice_servers = {{{"turn:turn.example.org"}, "", ""}};
  EXPECT_TRUE(bad(c));
}

TEST(RtcIceServers, GoodListsPass) {
  std::vector<IceServer> servers = {
      {{"stun:stun.l.google.com:19302"}, "", ""},
      {{"stun:192.0.2.1", "stuns:stun.example.org:5349"}, "", ""},
      {{"turn:turn.example.org:3478?transport=udp", "turn:turn.example.org:3478?transport=tcp",
        "turns:turn.example.org:5349?transport=tcp"},
       "alice",
       "s3cret"},
      {{"turn:[2001:db8::1]:3478"}, "alice", "s3cret"},
  };
  auto r = validate_ice_servers(servers);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  EXPECT_TRUE(validate_ice_servers({}));
}

TEST(RtcIceServers, BadUrlsGiveClearErrors) {
  struct Case {
    IceServer server;
    std::string expect;  // a fragment of the message
  };
  const std::vector<Case> cases = {
      {{{"turn:"}, "u", "p"}, "no host"},
      {{{"turn:turn.example.org:99999"}, "u", "p"}, "port"},
      {{{"turn:turn.example.org:"}, "u", "p"}, "empty port"},
      {{{"turn:turn.example.org:34x"}, "u", "p"}, "port"},
      {{{"turn://turn.example.org:3478"}, "u", "p"}, "'//'"},
      {{{"turn:turn.example.org?transport=sctp"}, "u", "p"}, "transport"},
      {{{"turn:turn.example.org:3478"}, "", ""}, "username"},
      {{{"http://turn.example.org"}, "u", "p"}, "scheme"},
      {{{"turn.example.org:3478"}, "u", "p"}, "scheme"},
      {{{"stun:stun.example.org?transport=udp"}, "", ""}, "parameters"},
      {{{"turn:[2001:db8::1:3478"}, "u", "p"}, "IPv6"},
      {{{"turn:bad host:3478"}, "u", "p"}, "host"},
      {{{}, "", ""}, "no URL"},
  };
  for (const Case& c : cases) {
    auto r = validate_ice_servers({c.server});
    ASSERT_FALSE(r) << (c.server.urls.empty() ? "" : c.server.urls[0]);
    EXPECT_EQ(r.error().code, RtcErrc::kInvalidConfig);
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << r.error().message;
    if (!c.server.urls.empty()) {
      EXPECT_NE(r.error().message.find(c.server.urls[0]), std::string::npos)
          << "the error names the URL: " << r.error().message;
    }
  }
}

TEST(RtcIceServers, CredentialsNeverEchoed) {
  auto r = validate_ice_servers({{{"turn:alice:hunter2@turn.example.org"}, "", ""}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.find("hunter2"), std::string::npos) << r.error().message;
  LinkConfig c;
  c.ice_servers = {{{"turn:turn.example.org:0"}, "alice", "hunter2"}};
  auto link = PeerLink::create(NegotiationRole::kAnswerer, c, {});
  ASSERT_FALSE(link);
  EXPECT_EQ(link.error().code, RtcErrc::kInvalidConfig);
  EXPECT_NE(link.error().message.find("turn:turn.example.org:0"), std::string::npos);
  EXPECT_EQ(link.error().message.find("hunter2"), std::string::npos);
}

TEST(RtcIceServers, ConfiguredServersAreAcceptedByTheLink) {
  LinkConfig c;
  c.ice_servers = {{{"stun:127.0.0.1:3478"}, "", ""},
                   {{"turn:127.0.0.1:3478?transport=udp"}, "alice", "s3cret"}};
  Pair p(c);
  p.start();
  // Host candidates still connect on loopback; the unreachable servers only add nothing.
  EXPECT_TRUE(p.wait_open());
}

TEST(RtcLog, LibwebrtcLogIsRoutedToTheSinkAndQuietByDefault) {
  EXPECT_EQ(log::level(), log::Level::kOff);  // quiet unless the application asks
  std::mutex mu;
  std::vector<std::string> lines;
  log::set_sink(
      [&](log::Level, std::string_view component, std::string_view message) {
        std::lock_guard lock(mu);
        lines.push_back(std::string(component) + ": " + std::string(message));
      },
      log::Level::kDebug);
  {
    Pair p;
    p.start();
    EXPECT_TRUE(p.wait_open());
  }
  log::set_sink(nullptr);
  RtcRuntime::refresh_log_level();
  std::lock_guard lock(mu);
  const bool from_webrtc = std::any_of(lines.begin(), lines.end(), [](auto& l) {
    return l.starts_with("webrtc: ") && l.find('\n') == std::string::npos;
  });
  EXPECT_TRUE(from_webrtc) << lines.size() << " lines";
}

// ---------------------------------------------------------------------------------------------
// TURN TLS trust (--turn-ca): certificates made here with libcrypto.

struct TestCert {
  std::string pem;
  EVP_PKEY* key = nullptr;  // owned by the test's keys list
  X509* cert = nullptr;
};

class TurnTlsTrustTest : public ::testing::Test {
 protected:
  ~TurnTlsTrustTest() override {
    for (X509* c : certs_) X509_free(c);
    for (EVP_PKEY* k : keys_) EVP_PKEY_free(k);
  }
  // A certificate for `name`, issued by `issuer` (self-signed when null), valid from
  // `from_s` to `to_s` seconds from now.
  TestCert make(const char* name, const TestCert* issuer, long from_s = -60, long to_s = 3600) {
    TestCert out;
    out.key = EVP_EC_gen("P-256");
    keys_.push_back(out.key);
    out.cert = X509_new();
    certs_.push_back(out.cert);
    X509_set_version(out.cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(out.cert), static_cast<long>(certs_.size()));
    X509_gmtime_adj(X509_getm_notBefore(out.cert), from_s);
    X509_gmtime_adj(X509_getm_notAfter(out.cert), to_s);
    X509_NAME* subject = X509_get_subject_name(out.cert);
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(name), -1, -1, 0);
    X509_set_issuer_name(out.cert, issuer ? X509_get_subject_name(issuer->cert) : subject);
    X509_set_pubkey(out.cert, out.key);
    X509_sign(out.cert, issuer ? issuer->key : out.key, EVP_sha256());
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, out.cert);
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    out.pem.assign(data, static_cast<size_t>(size));
    BIO_free(bio);
    return out;
  }
  static bool verify(rtc_internal::TurnTlsTrust& trust, const TestCert& presented) {
    auto cert = rtc::OpenSSLCertificate::FromPEMString(presented.pem);
    return cert && trust.Verify(*cert);
  }
  std::vector<EVP_PKEY*> keys_;
  std::vector<X509*> certs_;
};

TEST_F(TurnTlsTrustTest, TrustsTheGivenCertificatesAndWhatTheyIssueOnly) {
  TestCert ca = make("lab CA", nullptr);
  TestCert leaf = make("turn.lab", &ca);
  TestCert self_signed = make("turn.self", nullptr);
  TestCert stranger_ca = make("other CA", nullptr);
  TestCert stranger_leaf = make("turn.lab", &stranger_ca);
  TestCert expired = make("turn.lab", &ca, -7200, -3600);
  TestCert not_yet = make("turn.lab", &ca, 3600, 7200);

  auto trust = rtc_internal::TurnTlsTrust::from_pem(ca.pem + self_signed.pem);
  ASSERT_TRUE(trust) << trust.error();
  EXPECT_TRUE(verify(**trust, ca));
  EXPECT_TRUE(verify(**trust, leaf));
  EXPECT_TRUE(verify(**trust, self_signed));
  EXPECT_FALSE(verify(**trust, stranger_ca));
  EXPECT_FALSE(verify(**trust, stranger_leaf));  // same name, another issuer's signature
  EXPECT_FALSE(verify(**trust, expired));
  EXPECT_FALSE(verify(**trust, not_yet));
}

TEST_F(TurnTlsTrustTest, BadCertificateFilesAreRefused) {
  TestCert ca = make("lab CA", nullptr);
  EXPECT_TRUE(validate_turn_tls_ca(ca.pem));
  EXPECT_FALSE(validate_turn_tls_ca(""));
  EXPECT_FALSE(validate_turn_tls_ca("not a certificate\n"));
  std::string broken = ca.pem;  // a line of its base64 body gone: the DER is cut short
  size_t line = broken.find('\n') + 1;
  broken.erase(line, broken.find('\n', line) + 1 - line);
  EXPECT_FALSE(validate_turn_tls_ca(broken));
  EXPECT_FALSE(validate_turn_tls_ca(
      ca.pem + "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
  // A link refuses such a configuration instead of ignoring it.
  LinkConfig config;
  config.turn_tls_ca_pem = "garbage";
  auto link = PeerLink::create(NegotiationRole::kOfferer, config, {});
  ASSERT_FALSE(link);
  EXPECT_EQ(link.error().code, RtcErrc::kInvalidConfig);
}

}  // namespace
}  // namespace tokencast
