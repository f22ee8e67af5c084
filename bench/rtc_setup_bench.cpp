// Native PeerLink pairs in one process, on loopback:
//   setup    create both links -> offer/answer + trickle -> both channels open (p50/p90/p99/max,
//            and how many took over 1 s), one pair at a time, all kept open
//   memory   RSS growth per peer connection with all pairs open
//   rtt      round trip of a 6-byte message echoed by the answerer
//   send     cost to the caller of PeerLink::send() (queued to the signaling thread) against
//            calling libwebrtc's DataChannel proxy from the caller's thread, and the rate the
//            signaling thread hands messages to SCTP
//   teardown time to destroy one link from a non-signaling thread
// Bounded: every wait has a deadline; the whole run stops early past --budget seconds.
//
//   rtc_setup_bench [--pairs N] [--rtt N] [--send-links N] [--send-messages N] [--budget S]
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "peer_link_internals.hpp"
#include "support/bench_util.hpp"
#include "tokencast/rtc/peer_link.hpp"

namespace {

using namespace tokencast;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::mutex g_mu;
std::condition_variable g_cv;

struct Side {
  std::unique_ptr<PeerLink> link;
  Side* peer = nullptr;
  bool open = false;              // guarded by g_mu
  bool ended = false;             // guarded by g_mu
  std::atomic<bool> echo{false};  // answerer echoes every message
  uint64_t received = 0;          // guarded by g_mu
  std::mutex link_mu;             // held while a peer's callback uses `link`, and to destroy it

  template <class Fn>
  void with_link(Fn&& fn) {
    std::lock_guard lock(link_mu);
    if (link) fn(*link);
  }
  void destroy() {
    std::unique_ptr<PeerLink> doomed;
    {
      std::lock_guard lock(link_mu);
      doomed = std::move(link);
    }
    doomed.reset();  // blocks until the signaling thread has torn it down
  }

  LinkCallbacks callbacks() {
    LinkCallbacks cb;
    cb.on_local_description = [this](const std::string& sdp) {
      peer->with_link([&](PeerLink& l) {
        (void)l.set_remote_description(sdp);
        if (l.role() == NegotiationRole::kAnswerer) (void)l.create_answer();
      });
    };
    cb.on_local_candidate = [this](const IceCandidate& c) {
      peer->with_link([&](PeerLink& l) { (void)l.add_remote_candidate(c); });
    };
    cb.on_state = [this](const LinkEvent& e) {
      std::lock_guard lock(g_mu);
      if (e.state == LinkState::kOpen) open = true;
      if (e.state == LinkState::kClosed || e.state == LinkState::kFailed) ended = true;
      g_cv.notify_all();
    };
    cb.on_message = [this](std::span<const uint8_t> m) {
      if (echo) (void)link->send(m);
      std::lock_guard lock(g_mu);
      ++received;
      g_cv.notify_all();
    };
    return cb;
  }
};

struct Pair {
  Side a, b;
  Pair() {
    a.peer = &b;
    b.peer = &a;
  }
  bool create() {
    auto la = PeerLink::create(NegotiationRole::kOfferer, {}, a.callbacks());
    auto lb = PeerLink::create(NegotiationRole::kAnswerer, {}, b.callbacks());
    if (!la || !lb) return false;
    a.link = std::move(*la);
    b.link = std::move(*lb);
    return true;
  }
  ~Pair() {
    a.destroy();
    b.destroy();
  }
};

size_t heap_bytes() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;  // in use, small and mmapped chunks
}

long rss_kb() { return static_cast<long>(bench::resident_bytes() / 1024); }

struct Stats {
  double p50, p90, p99, max;
};
Stats stats(const std::vector<double>& v) {
  return {bench::percentile(v, 50), bench::percentile(v, 90), bench::percentile(v, 99),
          bench::percentile(v, 100)};
}

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  int pairs = 200, rtts = 2000, send_links = 100, send_messages = 200;
  double budget_s = 120;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const double value = std::atof(argv[i + 1]);
    if (flag == "--pairs")
      pairs = static_cast<int>(value);
    else if (flag == "--rtt")
      rtts = static_cast<int>(value);
    else if (flag == "--send-links")
      send_links = static_cast<int>(value);
    else if (flag == "--send-messages")
      send_messages = static_cast<int>(value);
    else if (flag == "--budget")
      budget_s = value;
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  const auto deadline = Clock::now() + std::chrono::duration<double>(budget_s);
  auto runtime = RtcRuntime::instance();  // held for the whole run

  // ---- setup + memory -----------------------------------------------------------------------
  // Warm up (first PC pays for network enumeration and certificate code paths).
  {
    Pair warm;
    if (!warm.create() || !warm.a.link->create_offer()) return 1;
    std::unique_lock lock(g_mu);
    g_cv.wait_for(lock, 10s, [&] { return warm.a.open && warm.b.open; });
  }
  const long rss_before = rss_kb();
  const size_t heap_before = heap_bytes();
  std::vector<std::unique_ptr<Pair>> all;
  std::vector<double> setup_ms;
  int failures = 0;
  for (int i = 0; i < pairs && Clock::now() < deadline; ++i) {
    auto p = std::make_unique<Pair>();
    const auto t0 = Clock::now();
    if (!p->create() || !p->a.link->create_offer()) return 1;
    bool ok;
    {
      std::unique_lock lock(g_mu);
      ok = g_cv.wait_for(lock, 10s,
                         [&] { return (p->a.open && p->b.open) || p->a.ended || p->b.ended; }) &&
           p->a.open && p->b.open;
    }
    if (!ok) {
      ++failures;
      continue;
    }
    setup_ms.push_back(ms_since(t0));
    all.push_back(std::move(p));
  }
  const long rss_after = rss_kb();
  const size_t heap_after = heap_bytes();
  if (setup_ms.empty()) {
    std::printf("no pair opened\n");
    return 1;
  }
  const Stats s = stats(setup_ms);
  const auto over_1s =
      std::count_if(setup_ms.begin(), setup_ms.end(), [](double x) { return x > 1000; });
  tokencast::bench::JsonLine result;
  result.dist("setup_ms", setup_ms)
      .num("failed", failures)
      .num("rss_kb_per_connection",
           static_cast<double>(rss_after - rss_before) / (2.0 * static_cast<double>(all.size())));
  std::printf("setup pairs=%zu failed=%d p50=%.2fms p90=%.2fms p99=%.2fms max=%.2fms over_1s=%ld\n",
              setup_ms.size(), failures, s.p50, s.p90, s.p99, s.max, static_cast<long>(over_1s));
  std::printf(
      "memory rss_before=%ldKB rss_after=%ldKB per_peer_connection: rss=%.0fKB heap=%.0fKB "
      "(%zu PCs)\n",
      rss_before, rss_after, static_cast<double>(rss_after - rss_before) / (2.0 * all.size()),
      static_cast<double>(heap_after - heap_before) / 1024 / (2.0 * all.size()), 2 * all.size());

  // ---- round trip -----------------------------------------------------------------------------
  {
    Pair& p = *all.front();
    p.b.echo = true;
    const uint8_t msg[6] = {'p', 'i', 'n', 'g', '!', '\n'};
    std::vector<double> rtt_us;
    for (int i = 0; i < rtts && Clock::now() < deadline; ++i) {
      uint64_t before;
      {
        std::lock_guard lock(g_mu);
        before = p.a.received;
      }
      const auto t0 = Clock::now();
      if (!accepted(p.a.link->send(std::span<const uint8_t>(msg, 6)))) return 1;
      std::unique_lock lock(g_mu);
      if (!g_cv.wait_for(lock, 5s, [&] { return p.a.received > before; })) {
        std::printf("rtt: echo lost\n");
        return 1;
      }
      rtt_us.push_back(ms_since(t0) * 1000);
    }
    p.b.echo = false;
    result.dist("rtt_us", rtt_us, 1e6);
    const Stats r = stats(rtt_us);
    std::printf("rtt samples=%zu p50=%.0fus p90=%.0fus p99=%.0fus max=%.0fus\n", rtt_us.size(),
                r.p50, r.p90, r.p99, r.max);
  }

  // ---- send path ------------------------------------------------------------------------------
  // One caller thread sends send_messages 64-byte messages to each of send_links links.
  const int links = std::min<int>(send_links, static_cast<int>(all.size()));
  auto run_send = [&](const char* name, auto&& send_one) {
    uint64_t base = 0;
    {
      std::lock_guard lock(g_mu);
      for (int l = 0; l < links; ++l) base += all[l]->b.received;
    }
    const uint8_t payload[64] = {};
    std::vector<double> call_us;
    call_us.reserve(static_cast<size_t>(links) * send_messages);
    const auto t0 = Clock::now();
    for (int m = 0; m < send_messages; ++m) {
      for (int l = 0; l < links; ++l) {
        const auto c0 = Clock::now();
        send_one(l, std::span<const uint8_t>(payload, 64));
        call_us.push_back(ms_since(c0) * 1000);
      }
    }
    const double caller_ms = ms_since(t0);
    const uint64_t total = static_cast<uint64_t>(links) * send_messages;
    std::unique_lock lock(g_mu);
    const bool done = g_cv.wait_for(lock, 60s, [&] {
      uint64_t n = 0;
      for (int l = 0; l < links; ++l) n += all[l]->b.received;
      return n - base >= total;
    });
    const double delivered_ms = ms_since(t0);
    const Stats c = stats(call_us);
    std::printf(
        "send %s links=%d messages=%llu caller_total=%.1fms per_call p50=%.2fus p99=%.2fus "
        "max=%.0fus all_delivered=%s in %.1fms (%.0f msg/s)\n",
        name, links, static_cast<unsigned long long>(total), caller_ms, c.p50, c.p99, c.max,
        done ? "yes" : "NO", delivered_ms, total / (delivered_ms / 1000));
  };
  if (links > 0 && Clock::now() < deadline) {
    run_send("peerlink(queued)",
             [&](int l, std::span<const uint8_t> m) { (void)all[l]->a.link->send(m); });
    std::vector<std::function<bool(std::span<const uint8_t>)>> direct;
    for (int l = 0; l < links; ++l) {
      direct.push_back(PeerLinkInternals::direct_proxy_sender(*all[l]->a.link));
    }
    run_send("libwebrtc-proxy(blocking)",
             [&](int l, std::span<const uint8_t> m) { (void)direct[l](m); });
  }

  // ---- teardown -------------------------------------------------------------------------------
  std::vector<double> destroy_ms;
  for (auto& p : all) {
    auto t0 = Clock::now();
    p->a.destroy();
    destroy_ms.push_back(ms_since(t0));
    t0 = Clock::now();
    p->b.destroy();
    destroy_ms.push_back(ms_since(t0));
  }
  const Stats d = stats(destroy_ms);
  std::printf("teardown links=%zu p50=%.2fms p99=%.2fms max=%.2fms\n", destroy_ms.size(), d.p50,
              d.p99, d.max);
  all.clear();
  result.print_result();
  return failures == 0 ? 0 : 1;
}
