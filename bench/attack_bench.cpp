// Under attack, well-behaved people still get in (issue 14). Holders of the public viewer link
// flood the host through the real rendezvous on loopback with authentic offers (each one a
// fresh join id, sealed with the link's keys, as a real joiner's) and with junk envelopes,
// while N well-behaved native joiners join one by one. Their join time (link in hand -> first
// event) is reported beside the same joins without the attack, with how many were refused and
// the process's peak memory. Host, rendezvous, attackers and joiners share this process.
//
//   attack_bench [--joins N] [--offers-per-second R] [--envelopes-per-second E]
//                [--attackers K]
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/bench_util.hpp"
#include "tokencast/client/join_client.hpp"
#include "tokencast/core/handshake.hpp"
#include "tokencast/host/host.hpp"
#include "tokencast/rtc/peer_link.hpp"
#include "tokencast/signal/rendezvous.hpp"
#include "tokencast/signal/rendezvous_client.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace bench = tokencast::bench;
namespace rv = tokencast::rendezvous;

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct JoinRun {
  std::vector<double> first_event_ms;
  int refused = 0;  // ended with room_full or another refusal
  int failed = 0;   // any other end, or no first event within 10 s
};

// N joins one after the other, each timed from the link to its first event.
JoinRun run_joins(const std::string& link, int joins) {
  JoinRun run;
  for (int i = 0; i < joins; ++i) {
    std::mutex mu;
    std::condition_variable cv;
    bool first_event = false;
    std::optional<tokencast::JoinFailure> ended;
    tokencast::JoinOptions o;
    o.link = link;
    o.name = "polite";
    o.reconnect = false;
    tokencast::JoinCallbacks cb;
    cb.on_event = [&](const tokencast::ClientEvent&) {
      std::lock_guard lock(mu);
      first_event = true;
      cv.notify_all();
    };
    cb.on_ended = [&](tokencast::JoinFailure failure, const std::string&) {
      std::lock_guard lock(mu);
      ended = failure;
      cv.notify_all();
    };
    Clock::time_point start = Clock::now();
    auto client = tokencast::JoinClient::start(o, cb);
    if (!client) {
      ++run.failed;
      continue;
    }
    {
      std::unique_lock lock(mu);
      cv.wait_for(lock, 10s, [&] { return first_event || ended; });
      if (first_event) {
        run.first_event_ms.push_back(bench::ms_between(start, Clock::now()));
      } else if (ended == tokencast::JoinFailure::kRefused) {
        ++run.refused;
      } else {
        ++run.failed;
      }
    }
    client->reset();
  }
  return run;
}

// A real SDP offer (the attackers' offers must pass the host's fingerprint check).
std::string real_offer_sdp(std::unique_ptr<tokencast::PeerLink>& keep) {
  std::promise<std::string> sdp;
  tokencast::LinkCallbacks cb;
  cb.on_local_description = [&sdp](const std::string& s) { sdp.set_value(s); };
  auto link = tokencast::PeerLink::create(tokencast::NegotiationRole::kOfferer, {}, std::move(cb));
  if (!link) return "";
  keep = std::move(*link);
  if (!keep->create_offer()) return "";
  return sdp.get_future().get();
}

// One link holder at the rendezvous: in the viewer room, it learns the host's id from the
// host's (verified) beacon and then sends whatever the attack loop gives it.
struct Attacker {
  std::unique_ptr<rv::Client> client;
  std::atomic<rv::PeerId> self{0};  // set by on_joined, before any envelope arrives
  std::atomic<rv::PeerId> host{0};
};

std::unique_ptr<Attacker> start_attacker(const std::string& url,
                                         const tokencast::InviteLink& link) {
  auto a = std::make_unique<Attacker>();
  rv::ClientOptions o;
  o.url = url;
  o.room = tokencast::invite_room_locator(link);
  o.max_queued_bytes = 64 << 20;
  rv::ClientCallbacks cb;
  Attacker* raw = a.get();
  cb.on_joined = [raw](rv::PeerId self, std::vector<rv::PeerId>) { raw->self = self; };
  cb.on_envelope = [raw, link](rv::PeerId from, std::span<const uint8_t> bytes) {
    if (raw->host == 0 && tokencast::looks_like_beacon(bytes) &&
        tokencast::verify_host_beacon(link, bytes, raw->self, from)) {
      raw->host = from;
    }
  };
  a->client = std::make_unique<rv::Client>(std::move(o), std::move(cb));
  return a;
}

// Peak resident memory, sampled every 20 ms while it runs.
class PeakMemory {
 public:
  PeakMemory() : thread_([this] { loop(); }) {}
  ~PeakMemory() {
    stop_ = true;
    thread_.join();
  }
  size_t take() { return peak_.exchange(bench::resident_bytes()); }  // peak since last take

 private:
  void loop() {
    while (!stop_) {
      size_t now = bench::resident_bytes();
      size_t seen = peak_.load();
      while (now > seen && !peak_.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(20ms);
    }
  }
  std::atomic<bool> stop_{false};
  std::atomic<size_t> peak_{0};
  std::thread thread_;
};

void report(const char* what, const JoinRun& run) {
  const auto& v = run.first_event_ms;
  std::printf("%-22s joined=%zu refused=%d failed=%d p50=%.1f p99=%.1f max=%.1f ms\n", what,
              v.size(), run.refused, run.failed, bench::percentile(v, 50), bench::percentile(v, 99),
              v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()));
}

}  // namespace

int main(int argc, char** argv) {
  int joins = 50;
  int offers_per_second = 1000;
  int envelopes_per_second = 2000;
  int attackers = 20;
  for (int i = 1; i < argc; ++i) {
    auto value = [&](int& out) {
      if (i + 1 >= argc) return false;
      out = std::max(0, std::atoi(argv[++i]));
      return true;
    };
    bool ok = false;
    if (std::strcmp(argv[i], "--joins") == 0) ok = value(joins);
    if (std::strcmp(argv[i], "--offers-per-second") == 0) ok = value(offers_per_second);
    if (std::strcmp(argv[i], "--envelopes-per-second") == 0) ok = value(envelopes_per_second);
    if (std::strcmp(argv[i], "--attackers") == 0) ok = value(attackers);
    if (!ok) {
      std::fprintf(stderr,
                   "usage: attack_bench [--joins N] [--offers-per-second R] "
                   "[--envelopes-per-second E] [--attackers K]\n");
      return 2;
    }
  }
  attackers = std::max(1, attackers);
  rv::ServerOptions so;
  so.listen_host = "127.0.0.1";
  so.listen_port = 0;
  rv::Server server(so);
  if (!server.start()) {
    std::fprintf(stderr, "cannot start the rendezvous\n");
    return 1;
  }
  const std::string url = "ws://127.0.0.1:" + std::to_string(server.port()) + "/ws";
  auto dir = std::filesystem::temp_directory_path() /
             ("tokencast-attack-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  tokencast::HostOptions options;
  options.db_path = (dir / "bench.db").string();
  options.rendezvous_url = url;
  options.public_url = "http://127.0.0.1:" + std::to_string(server.port());
  auto started = tokencast::HostRuntime::start(std::move(options));
  if (!started) {
    std::fprintf(stderr, "cannot start the host: %s\n", started.error().c_str());
    return 1;
  }
  auto host = std::move(*started);
  while (host->stats().rooms_joined < 2) std::this_thread::sleep_for(1ms);
  const std::string viewer_link = host->links().viewer;
  auto link = tokencast::parse_invite_link(viewer_link);
  std::unique_ptr<tokencast::PeerLink> keep;
  std::string sdp = real_offer_sdp(keep);
  if (!link || sdp.empty()) {
    std::fprintf(stderr, "cannot prepare the attack\n");
    return 1;
  }

  PeakMemory memory;
  JoinRun calm = run_joins(viewer_link, joins);
  size_t calm_peak = memory.take();

  std::vector<std::unique_ptr<Attacker>> crowd;
  for (int i = 0; i < attackers; ++i) crowd.push_back(start_attacker(url, *link));
  auto deadline = Clock::now() + 10s;
  auto all_found = [&] {
    for (const auto& a : crowd) {
      if (a->host == 0) return false;
    }
    return true;
  };
  while (!all_found() && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
  if (!all_found()) {
    std::fprintf(stderr, "the attackers never saw the host's beacon\n");
    return 1;
  }

  // The attack loop: every 10 ms, its share of offers and junk envelopes, spread over the
  // attackers' connections.
  std::atomic<bool> attacking{true};
  std::atomic<uint64_t> offers_sent{0};
  std::atomic<uint64_t> envelopes_sent{0};
  std::thread attack([&] {
    std::mt19937_64 random(42);
    double offer_debt = 0;
    double envelope_debt = 0;
    size_t next = 0;
    auto tick = Clock::now();
    while (attacking) {
      tick += 10ms;
      offer_debt += offers_per_second / 100.0;
      envelope_debt += envelopes_per_second / 100.0;
      for (; offer_debt >= 1; offer_debt -= 1) {
        Attacker& a = *crowd[next++ % crowd.size()];
        auto offer = tokencast::JoinerHandshake::start(*link, "flood", sdp, unix_ms(),
                                                       tokencast::system_random());
        if (offer && a.client->send(a.host, offer->offer_envelope())) offers_sent += 1;
      }
      for (; envelope_debt >= 1; envelope_debt -= 1) {
        Attacker& a = *crowd[next++ % crowd.size()];
        std::vector<uint8_t> junk(300);
        for (auto& b : junk) b = static_cast<uint8_t>(random());
        junk[0] = 1;  // envelope version: it gets as far as the host's crypto
        if (a.client->send(a.host, junk)) envelopes_sent += 1;
      }
      std::this_thread::sleep_until(tick);
    }
  });
  std::this_thread::sleep_for(1s);  // the flood is in full swing before the first join
  auto attack_start = Clock::now();
  JoinRun attacked = run_joins(viewer_link, joins);
  double attack_seconds = std::chrono::duration<double>(Clock::now() - attack_start).count() + 1;
  attacking = false;
  attack.join();
  size_t attack_peak = memory.take();
  tokencast::HostStats stats = host->stats();
  crowd.clear();

  uint64_t refused_envelopes = 0;
  for (const auto& [_, n] : stats.refused) refused_envelopes += n;
  std::printf(
      "attack_bench: %d joins without and with %d attackers (%d offers/s, %d junk "
      "envelopes/s; sent %.0f offers/s, %.0f envelopes/s)\n",
      joins, attackers, offers_per_second, envelopes_per_second,
      static_cast<double>(offers_sent) / attack_seconds,
      static_cast<double>(envelopes_sent) / attack_seconds);
  report("without attack", calm);
  report("under attack", attacked);
  std::printf(
      "host: offers dropped (sender busy) %llu, envelopes over the inbox bound %llu, "
      "refused by the handshake %llu, room_full %llu, evicted %llu, timed out %llu\n",
      static_cast<unsigned long long>(stats.offers_dropped_busy),
      static_cast<unsigned long long>(stats.envelopes_dropped),
      static_cast<unsigned long long>(refused_envelopes),
      static_cast<unsigned long long>(stats.joins_refused_full),
      static_cast<unsigned long long>(stats.joins_evicted),
      static_cast<unsigned long long>(stats.joins_timed_out));
  std::printf("peak memory (whole process): %.1f MB without, %.1f MB under attack\n",
              calm_peak / 1e6, attack_peak / 1e6);
  bench::JsonLine result;
  result.num("joins", joins)
      .num("attackers", attackers)
      .num("offers_per_second", offers_per_second)
      .num("envelopes_per_second", envelopes_per_second)
      .num("offers_sent_per_second", static_cast<double>(offers_sent) / attack_seconds)
      .num("envelopes_sent_per_second", static_cast<double>(envelopes_sent) / attack_seconds)
      .dist("calm_ms", calm.first_event_ms)
      .num("calm_refused", calm.refused)
      .num("calm_failed", calm.failed)
      .dist("attack_ms", attacked.first_event_ms)
      .num("attack_refused", attacked.refused)
      .num("attack_failed", attacked.failed)
      .num("offers_dropped_busy", static_cast<double>(stats.offers_dropped_busy))
      .num("envelopes_dropped", static_cast<double>(stats.envelopes_dropped))
      .num("envelopes_refused", static_cast<double>(refused_envelopes))
      .num("calm_peak_rss_mb", calm_peak / 1e6)
      .num("attack_peak_rss_mb", attack_peak / 1e6);
  result.print_result();
  host.reset();
  std::filesystem::remove_all(dir);
  return 0;  // refused or failed joins are results (the report's verdict), not a broken bench
}
