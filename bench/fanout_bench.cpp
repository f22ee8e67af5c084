// Added token latency with many native peers: a token handed to the host -> the same token
// decoded by each peer, at a steady rate, on loopback, through everything the product does
// (store and group commit, session, outbound queues, libwebrtc data channels, the client's
// decoder). Also the host's CPU time per token per peer and its memory per peer.
//
// Two processes, so that each side's CPU time and memory are its own: this one runs the host
// (embedded rendezvous, a PacedSource as its model) and starts itself again with --clients N to
// join N JoinClients. Each token's text is the CLOCK_MONOTONIC time (ns) at which it was handed
// to the host, followed by a space; a peer subtracts it from the time it decoded the token.
// Deltas merged by a peer's queue count for every token they hold.
//
//   fanout_bench [--peers 1,10,100] [--tokens 1000] [--rate 100] [--db-dir DIR]
//                [--concurrency 8] [--throttle-ms MS] [--pace-ms MS] [--batch-ms MS]
//                [--relays R --relay-children K [--kill-relays N] [--direct-relays D]]
//                [--tbf-peer-kbit KBIT]
//                [--verbose]
//   fanout_bench --clients N [--concurrency K] [--throttle-ms MS] [--relays R --relay-children K
//                [--kill-relays N]]   (the peers' side; reads the link on stdin)
//
// --relays R (issue 15, the relay tree): the host serves R viewers directly (--direct-peers R)
// and the first R peers offer to relay for K children each (`join --relay K`); the other peers
// are introduced to them and get the host's signed stream through them. Latencies are reported
// for the relays and for their children apart. --kill-relays N: after the answer, N relays
// leave at once (their clients closed); the time each orphaned child took to be connected
// again (through the host) is reported. --direct-relays D (< R): the host serves only D viewers
// directly, so the other R - D relays are placed below them and relay from depth 2, introduced
// through their parents (docs/PROTOCOL.md section 6, "Relays below relays"); with D x K = R - D
// every child is at depth 3. Their latencies are reported apart (relay_below_latency_ms).
//
// --throttle-ms MS: the first peer reads slowly (its client sleeps MS ms after each frame of
// the answer); its latencies are reported apart from the others'. --pace-ms: the host's pacing
// interval (default 16); --batch-ms: the host's commit batching (default 0). The host also reports
// the data-channel messages and payload bytes it sent per token per peer, and the frames it
// received (acks, pings).
//
// --tbf-peer-kbit KBIT (needs root): one of the peers runs behind a real slow link. The bench
// creates a network namespace and a veth pair to it (bench/support/netns_link.hpp), shapes the
// host -> namespace direction with `tc qdisc ... tbf rate KBIT`, listens for the rendezvous on
// the pair's host address (the link names it; the other peers reach it locally), and starts a
// third process, `ip netns exec NS fanout_bench --clients 1`, whose one peer must gather its
// candidates on the pair, so everything the host sends it (ICE, DTLS, SCTP, the rendezvous'
// WebSocket) crosses the token bucket. The other N-1 peers are where they always are. Reported
// apart ("tbf_peer_side"): its latencies, their maximum per tenth of the answer (bounded or
// growing?) and the last token's; the bucket's counters (bytes, drops) while the answer streamed.
// The namespace is removed on exit, on error and on SIGINT/SIGTERM.
//
// Prints one "RESULT {json}" line per peer count.
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/bench_host.hpp"
#include "support/bench_util.hpp"
#include "support/child_process.hpp"
#include "support/netns_link.hpp"
#include "tokencast/client/join_client.hpp"
#include "tokencast/core/log.hpp"
#include "tokencast/host/host.hpp"

namespace {

using namespace tokencast;
using bench::Clock;
using namespace std::chrono_literals;

int64_t monotonic_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------- the peers' process

// One joined peer. Its callbacks run on its JoinClient's thread only; the main thread reads
// the fields after `done` was set under the shared mutex.
struct Peer {
  std::unique_ptr<JoinClient> client;
  bool in_bench_turn = false;
  std::string pending;            // text of the bench turn not yet split into tokens
  std::vector<double> latencies;  // ms
  int throttle_ms = 0;            // sleep this long after each frame of the answer
  bool relay = false;             // offered to relay (--relays)
  bool connected = false;
  bool done = false;
  bool failed = false;
};

struct PeerGroup {
  std::mutex mu;
  std::condition_variable cv;
  size_t connecting = 0;
  size_t connected = 0;
  size_t done = 0;
  size_t failed = 0;
};

void on_peer_event(Peer& peer, PeerGroup& group, const ClientEvent& event) {
  const auto* applied = std::get_if<Applied>(&event);
  if (applied == nullptr) return;
  const auto& body = applied->event.body;
  if (const auto* started = std::get_if<TurnStarted>(&body)) {
    peer.in_bench_turn = started->role == TurnRole::kAssistant;
  } else if (const auto* delta = std::get_if<TextDelta>(&body)) {
    if (!peer.in_bench_turn) return;
    int64_t now = monotonic_ns();
    peer.pending += delta->bytes;
    size_t from = 0;
    for (size_t space; (space = peer.pending.find(' ', from)) != std::string::npos;
         from = space + 1) {
      int64_t sent = std::strtoll(peer.pending.c_str() + from, nullptr, 10);
      peer.latencies.push_back(static_cast<double>(now - sent) / 1e6);
    }
    peer.pending.erase(0, from);
    if (peer.throttle_ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(peer.throttle_ms));
  } else if (std::get_if<TurnEnded>(&body) != nullptr && peer.in_bench_turn) {
    peer.in_bench_turn = false;
    std::lock_guard lock(group.mu);
    peer.done = true;
    ++group.done;
    group.cv.notify_all();
  }
}

struct RelayPlan {
  size_t relays = 0;
  size_t children = 0;  // k, each relay's offer
  size_t kill = 0;      // relays that leave after the answer
  size_t direct = 0;    // relays the host serves itself (0: all of them); the others relay below
  size_t direct_relays() const { return direct == 0 ? relays : std::min(direct, relays); }
};

// --kill-relays: closes the first N relays at once and waits for every other peer that lost
// its link to be connected again; the times (ms) from the close to each one's return.
std::vector<double> kill_relays(std::vector<std::unique_ptr<Peer>>& peers, size_t kill) {
  std::vector<Peer*> watched;
  for (auto& peer : peers) {
    if (!peer->relay && peer->client->via_relay()) watched.push_back(peer.get());
  }
  std::vector<std::optional<Clock::time_point>> lost(watched.size());
  std::vector<double> back;
  const auto killed_at = Clock::now();
  size_t closed = 0;
  for (auto& peer : peers) {
    if (peer->relay && closed < kill) {
      peer->client.reset();
      ++closed;
    }
  }
  // A child of a closed relay notices at once (its data channel closes) and joins through the
  // host; children of the other relays never lose their link. So: until every child that lost
  // its relay is back, and at least 3 s, more than any child takes to notice.
  const auto deadline = killed_at + 30s;
  std::vector<bool> done(watched.size(), false);
  while (Clock::now() < deadline) {
    bool waiting = false;
    for (size_t i = 0; i < watched.size(); ++i) {
      if (done[i]) continue;
      const bool connected = watched[i]->client->connected();
      if (!lost[i] && (!connected || !watched[i]->client->via_relay())) lost[i] = Clock::now();
      if (lost[i] && connected) {
        back.push_back(bench::ms_between(killed_at, Clock::now()));
        done[i] = true;
      }
      waiting = waiting || (lost[i] && !done[i]);
    }
    if (!waiting && bench::ms_between(killed_at, Clock::now()) > 3000) break;
    std::this_thread::sleep_for(2ms);
  }
  return back;
}

// The largest latency in each tenth of a peer's tokens, in order: flat when the lag is bounded,
// rising when it grows over the answer. A JSON array.
std::string max_by_tenth(const std::vector<double>& latencies) {
  std::string out = "[";
  for (size_t tenth = 0; tenth < 10 && !latencies.empty(); ++tenth) {
    const size_t from = latencies.size() * tenth / 10;
    const size_t to = std::max(from + 1, latencies.size() * (tenth + 1) / 10);
    double worst = 0;
    for (size_t i = from; i < to && i < latencies.size(); ++i)
      worst = std::max(worst, latencies[i]);
    char text[32];
    std::snprintf(text, sizeof text, "%s%.1f", tenth > 0 ? "," : "", worst);
    out += text;
  }
  return out + "]";
}

int run_peers(size_t count, size_t concurrency, int throttle_ms, const RelayPlan& plan) {
  // Gone with the host's process, however it ends (an interrupted bench leaves no peers behind,
  // nor a peer in a deleted namespace).
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 1;
  std::string link;
  if (!std::getline(std::cin, link) || link.empty()) {
    std::fprintf(stderr, "fanout_bench --clients: expected the link on stdin\n");
    return 2;
  }
  size_t rss_before = bench::resident_bytes();
  std::vector<std::unique_ptr<Peer>> peers;
  PeerGroup group;
  auto join_start = Clock::now();
  for (size_t i = 0; i < count; ++i) {
    {
      std::unique_lock lock(group.mu);
      group.cv.wait(lock, [&] { return group.connecting < concurrency; });
      ++group.connecting;
    }
    if (plan.relays > 0 && (i == plan.direct_relays() || i == plan.relays)) {
      // The direct relays are in the host's tree before the relays below them offer, and all
      // relays before any child offers.
      std::unique_lock lock(group.mu);
      group.cv.wait(lock, [&] { return group.connected + group.failed == i; });
      if (i == plan.relays && plan.direct_relays() < plan.relays) {
        // A relay below a relay offers its capacity to the host through its parent once it is
        // connected: a moment for those offers to arrive (children that come first are served
        // by the host directly, which peers_via_relay shows).
        lock.unlock();
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
      }
    }
    auto peer = std::make_unique<Peer>();
    peer->latencies.reserve(4096);
    if (i == 0) peer->throttle_ms = throttle_ms;
    peer->relay = i < plan.relays;
    Peer* p = peer.get();
    JoinOptions options;
    options.link = link;
    options.name = "peer" + std::to_string(i);
    if (p->relay) options.relay_capacity = plan.children;
    JoinCallbacks callbacks;
    callbacks.on_event = [p, &group](const ClientEvent& event) { on_peer_event(*p, group, event); };
    callbacks.on_status = [p, &group](const std::string& status) {
      if (!status.starts_with("connected")) return;  // also "connected via relay"
      std::lock_guard lock(group.mu);
      if (p->connected) return;  // a resume after a drop
      p->connected = true;
      --group.connecting;
      ++group.connected;
      group.cv.notify_all();
    };
    callbacks.on_ended = [p, &group](JoinFailure failure, const std::string& detail) {
      std::fprintf(stderr, "peer ended: %s %s\n", join_failure_text(failure), detail.c_str());
      std::lock_guard lock(group.mu);
      if (!p->connected) --group.connecting;
      p->failed = true;
      ++group.failed;
      group.cv.notify_all();
    };
    auto client = JoinClient::start(options, callbacks);
    if (!client) {
      std::fprintf(stderr, "cannot start a client: %s\n", client.error().second.c_str());
      return 1;
    }
    p->client = std::move(*client);
    peers.push_back(std::move(peer));
  }
  {
    std::unique_lock lock(group.mu);
    if (!group.cv.wait_for(lock, 120s, [&] { return group.connected + group.failed == count; }) ||
        group.failed > 0) {
      std::fprintf(stderr, "only %zu of %zu peers connected\n", group.connected, count);
      return 1;
    }
  }
  double join_seconds = bench::ms_between(join_start, Clock::now()) / 1000;
  size_t rss_joined = bench::resident_bytes();
  std::printf("READY\n");
  std::fflush(stdout);
  double cpu_before = bench::process_cpu_seconds();
  {
    std::unique_lock lock(group.mu);
    // The host streams after READY; the longest bench (1,000 tokens at 100/s) takes ~10 s.
    if (!group.cv.wait_for(lock, 600s, [&] { return group.done + group.failed == count; })) {
      std::fprintf(stderr, "timed out: %zu of %zu peers saw the answer end\n", group.done, count);
      return 1;
    }
  }
  double cpu_used = bench::process_cpu_seconds() - cpu_before;
  std::vector<double> all;
  std::vector<double> throttled;
  std::vector<double> relays;
  std::vector<double> relays_below;  // relays below a relay (--direct-relays)
  std::vector<double> children;
  size_t via_relay = 0;
  for (auto& peer : peers) {
    auto& into = peer->throttle_ms > 0 ? throttled : all;
    into.insert(into.end(), peer->latencies.begin(), peer->latencies.end());
    if (plan.relays == 0) continue;
    const bool relayed = peer->client->via_relay();
    via_relay += relayed ? 1 : 0;
    auto& side = peer->relay ? (relayed ? relays_below : relays) : children;
    if (peer->relay || relayed)
      side.insert(side.end(), peer->latencies.begin(), peer->latencies.end());
  }
  bench::JsonLine result;
  result.num("peers", static_cast<double>(count))
      .num("failed", static_cast<double>(group.failed))
      .num("join_seconds", join_seconds)
      .num("peer_side_rss_per_peer_kb",
           static_cast<double>(rss_joined - rss_before) / static_cast<double>(count) / 1024)
      .num("peer_side_cpu_seconds", cpu_used)
      .dist("latency_ms", all);
  if (throttle_ms > 0) {
    result.num("throttle_ms", throttle_ms)
        .dist("throttled_latency_ms", throttled)
        .raw("throttled_max_by_tenth_ms", max_by_tenth(throttled))
        .num("throttled_last_token_ms", throttled.empty() ? 0.0 : throttled.back());
  }
  if (count == 1) {
    // One peer (the --tbf-peer-kbit process): how its lag evolves over the answer.
    result.raw("max_by_tenth_ms", max_by_tenth(all))
        .num("last_token_ms", all.empty() ? 0.0 : all.back());
  }
  if (plan.relays > 0) {
    result.num("relays", static_cast<double>(plan.relays))
        .num("relay_children", static_cast<double>(plan.children))
        .num("peers_via_relay", static_cast<double>(via_relay))
        .dist("relay_latency_ms", relays)
        .dist("child_latency_ms", children);
    if (plan.direct_relays() < plan.relays) {
      result.num("direct_relays", static_cast<double>(plan.direct_relays()))
          .dist("relay_below_latency_ms", relays_below);
    }
    if (plan.kill > 0) {
      result.num("relays_killed", static_cast<double>(plan.kill))
          .dist("reparent_ms", kill_relays(peers, plan.kill));
    }
  }
  result.print_result();
  for (auto& peer : peers) {
    if (peer->client) peer->client.reset();
  }
  return group.failed == 0 ? 0 : 1;
}

// ---------------------------------------------------------------- the host's process

struct Options {
  std::vector<size_t> peer_counts{1, 10, 100};
  uint64_t tokens = 1000;
  double rate = 100;
  std::filesystem::path db_dir = std::filesystem::temp_directory_path();
  size_t concurrency = 8;
  int throttle_ms = 0;
  int64_t pace_ms = 16;
  int64_t batch_ms = 0;
  RelayPlan relay;
  int tbf_kbit = 0;  // --tbf-peer-kbit: one peer behind a shaped link in its own namespace
  bool verbose = false;
};

// The peers' process: `self --clients N ...`, prefixed with `ip netns exec NS` for the shaped one.
std::vector<std::string> peers_command(const Options& o, const std::string& self, size_t count,
                                       int throttle_ms, const RelayPlan& plan,
                                       const std::string& netns) {
  std::vector<std::string> args;
  if (!netns.empty()) args = {"ip", "netns", "exec", netns};
  std::vector<std::string> rest{self,
                                "--clients",
                                std::to_string(count),
                                "--concurrency",
                                std::to_string(o.concurrency),
                                "--throttle-ms",
                                std::to_string(throttle_ms),
                                "--relays",
                                std::to_string(plan.relays),
                                "--relay-children",
                                std::to_string(plan.children),
                                "--kill-relays",
                                std::to_string(plan.kill),
                                "--direct-relays",
                                std::to_string(plan.direct)};
  args.insert(args.end(), rest.begin(), rest.end());
  if (o.verbose) args.push_back("--verbose");
  return args;
}

bool measure(const Options& o, size_t peers, const std::string& self) {
  auto dir =
      o.db_dir / ("tokencast-fanout-" + std::to_string(::getpid()) + "-" + std::to_string(peers));
  // --tbf-peer-kbit: the namespace exists before the host starts, so that the host's network
  // list (read when its RTC runtime starts) has the pair's address to gather candidates on.
  std::unique_ptr<bench::ShapedNamespace> shaped;
  if (o.tbf_kbit > 0) {
    shaped = std::make_unique<bench::ShapedNamespace>();
    if (!shaped->create(o.tbf_kbit)) return false;
  }
  const size_t local_peers = shaped ? peers - 1 : peers;
  auto source = std::make_unique<bench::PacedSource>(
      o.tokens, o.rate, [](uint64_t) { return std::to_string(monotonic_ns()) + " "; });
  bench::PacedSource* paced = source.get();
  // The peers join as viewers, and the host keeps up to 50 of --max-peers for participants:
  // room for every peer beside that reserve.
  auto host = bench::start_loopback_host(
      dir, std::move(source), std::max<size_t>(peers + 50, 1000), o.pace_ms, o.batch_ms,
      o.relay.relays > 0 ? o.relay.direct_relays() : 100, std::max<size_t>(o.relay.children, 1),
      shaped ? shaped->host_address() : "127.0.0.1");
  if (!host) return false;
  while (host->stats().rooms_joined < 2) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(200ms);
  size_t rss_before = bench::resident_bytes();

  // The shaped peer joins first (alone, so that its join is not queued behind the others').
  bench::ChildProcess shaped_child;
  if (shaped) {
    if (!shaped_child.start(peers_command(o, self, 1, 0, RelayPlan{}, shaped->name())) ||
        !shaped_child.write_line(host->links().viewer)) {
      std::fprintf(stderr, "cannot start the shaped peer's process\n");
      return false;
    }
    auto ready = shaped_child.read_line(180s);
    if (!ready || *ready != "READY") {
      std::fprintf(stderr, "the shaped peer did not join\n");
      return false;
    }
  }
  bench::ChildProcess child;
  if (local_peers > 0) {
    if (!child.start(peers_command(o, self, local_peers, o.throttle_ms, o.relay, "")) ||
        !child.write_line(host->links().viewer)) {
      std::fprintf(stderr, "cannot start the peers' process\n");
      return false;
    }
    auto ready = child.read_line(180s);
    if (!ready || *ready != "READY") {
      std::fprintf(stderr, "the peers did not all join\n");
      return false;
    }
  }
  // Peers served by relays are not the host's peers.
  while (host->stats().peers + host->stats().relayed_viewers < peers)
    std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(1s);  // joins settle (last welcomes, candidates)
  size_t rss_joined = bench::resident_bytes();
  // What the peers cost the host while nothing streams (keepalives), to tell apart from tokens.
  double idle_cpu_start = bench::process_cpu_seconds();
  std::this_thread::sleep_for(2s);
  double idle_cpu_per_second = (bench::process_cpu_seconds() - idle_cpu_start) / 2;

  const auto bucket_before = shaped ? shaped->counters() : std::nullopt;
  double cpu_before = bench::process_cpu_seconds();
  const HostStats stats_before = host->stats();
  auto stream_start = Clock::now();
  // With a shaped peer: the window of the peer with the most bytes in flight (the shaped one,
  // whenever it has a frame out), sampled every 100 ms while the answer streams.
  std::atomic<bool> streaming{true};
  std::vector<double> windows;
  std::vector<double> in_flight;
  std::thread sampler;
  if (shaped) {
    sampler = std::thread([&] {
      while (streaming.load()) {
        const HostStats now = host->stats();
        if (now.most_in_flight_bytes > 0) {
          windows.push_back(static_cast<double>(now.most_in_flight_window));
          in_flight.push_back(static_cast<double>(now.most_in_flight_bytes));
        }
        std::this_thread::sleep_for(100ms);
      }
    });
  }
  auto stop_sampler = [&] {
    streaming = false;
    if (sampler.joinable()) sampler.join();
  };
  struct OnExit {
    std::function<void()> run;
    ~OnExit() { run(); }
  } stop_on_exit{stop_sampler};
  host->prompt("go");
  const auto answer_timeout = std::chrono::seconds(60 + static_cast<int>(o.tokens / o.rate) * 3);
  std::optional<std::string> line = "RESULT {}";
  if (local_peers > 0) line = child.read_line(answer_timeout);
  double stream_seconds = bench::ms_between(stream_start, Clock::now()) / 1000;
  double cpu_used = bench::process_cpu_seconds() - cpu_before;
  const HostStats stats_after = host->stats();
  if (!line || !line->starts_with("RESULT ") || !paced->finished()) {
    std::fprintf(stderr, "the peers did not report\n");
    return false;
  }
  std::optional<std::string> shaped_line;
  std::optional<bench::ShapedNamespace::Counters> bucket_after;
  double shaped_seconds = 0;
  if (shaped) {
    shaped_line = shaped_child.read_line(answer_timeout);
    shaped_seconds = bench::ms_between(stream_start, Clock::now()) / 1000;
    stop_sampler();
    bucket_after = shaped->counters();
    if (!shaped_line || !shaped_line->starts_with("RESULT ")) {
      std::fprintf(stderr, "the shaped peer did not report\n");
      return false;
    }
  }
  double token_peer = static_cast<double>(o.tokens) * static_cast<double>(peers);
  double stream_cpu_tokens = std::max(0.0, cpu_used - idle_cpu_per_second * stream_seconds);
  bench::JsonLine result;
  result.num("peers", static_cast<double>(peers))
      .num("tokens", static_cast<double>(o.tokens))
      .num("rate", o.rate)
      .str("db_dir", o.db_dir.string())
      .num("host_rss_per_peer_kb",
           static_cast<double>(rss_joined - rss_before) / static_cast<double>(peers) / 1024)
      .num("host_cpu_us_per_token_per_peer", cpu_used / token_peer * 1e6)
      .num("host_cpu_us_per_token_per_peer_less_idle", stream_cpu_tokens / token_peer * 1e6)
      .num("host_idle_cpu_percent", idle_cpu_per_second * 100)
      .num("host_cpu_percent_streaming", cpu_used / stream_seconds * 100)
      .num("pace_ms", static_cast<double>(o.pace_ms))
      .num("batch_ms", static_cast<double>(o.batch_ms))
      // Messages and payload bytes per token per peer (welcome, pings and pongs included; the
      // turn's start and end too), and what the peers sent (acks, pings) per token per peer.
      .num("frames_sent_per_token_per_peer",
           static_cast<double>(stats_after.frames_sent - stats_before.frames_sent) / token_peer)
      .num("payload_bytes_per_token_per_peer",
           static_cast<double>(stats_after.frame_bytes_sent - stats_before.frame_bytes_sent) /
               token_peer)
      .num("frames_received_per_token_per_peer",
           static_cast<double>(stats_after.frames_received - stats_before.frames_received) /
               token_peer)
      .num("host_relays", static_cast<double>(stats_after.relays))
      .num("host_relayed_viewers", static_cast<double>(stats_after.relayed_viewers))
      // The host's upload per token, whatever the audience: with relays it serves only its
      // direct peers.
      .num("host_payload_bytes_per_token",
           static_cast<double>(stats_after.frame_bytes_sent - stats_before.frame_bytes_sent) /
               static_cast<double>(o.tokens))
      .raw("peer_side", line->substr(7));
  if (shaped) {
    result.num("tbf_peer_kbit", o.tbf_kbit)
        .num("tbf_peer_answer_seconds", shaped_seconds)
        .raw("tbf_peer_side", shaped_line->substr(7))
        // In bytes, and as time on the shaped link (bytes / its rate).
        .dist("tbf_window_bytes", windows, 1e9)
        .dist("tbf_in_flight_bytes", in_flight, 1e9)
        .num("tbf_window_p50_ms_at_link_rate", bench::percentile(windows, 50) * 8 / o.tbf_kbit)
        .num("tbf_window_max_ms_at_link_rate",
             windows.empty() ? 0.0
                             : *std::max_element(windows.begin(), windows.end()) * 8 / o.tbf_kbit);
    if (bucket_before && bucket_after) {
      // What crossed the bucket while the answer streamed (to the shaped peer: every packet).
      result.num("tbf_bytes", static_cast<double>(bucket_after->bytes - bucket_before->bytes))
          .num("tbf_packets", static_cast<double>(bucket_after->packets - bucket_before->packets))
          .num("tbf_dropped", static_cast<double>(bucket_after->dropped - bucket_before->dropped))
          .num("tbf_overlimits",
               static_cast<double>(bucket_after->overlimits - bucket_before->overlimits))
          .num("tbf_kbit_used", static_cast<double>(bucket_after->bytes - bucket_before->bytes) *
                                    8 / 1000 / shaped_seconds);
    }
  }
  result.print_result();
  std::fprintf(stderr, "peers=%zu: %s\n", peers, result.text().c_str());
  if (local_peers > 0) {
    child.close_stdin();
    child.wait();
  }
  if (shaped) {
    shaped_child.close_stdin();
    shaped_child.wait();
  }
  host.reset();
  std::filesystem::remove_all(dir);
  return true;
}

bool parse_counts(const std::string& text, std::vector<size_t>* out) {
  out->clear();
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    long n = std::atol(item.c_str());
    if (n < 1 || n > 4096) return false;
    out->push_back(static_cast<size_t>(n));
  }
  return !out->empty();
}

int usage() {
  std::fprintf(
      stderr,
      "usage: fanout_bench [--peers 1,10,100] [--tokens N] [--rate PER_SECOND]\n"
      "                    [--db-dir DIR] [--concurrency K] [--throttle-ms MS]\n"
      "                    [--pace-ms MS] [--batch-ms MS]\n"
      "                    [--relays R --relay-children K [--kill-relays N] [--direct-relays D]]\n"
      "                    [--tbf-peer-kbit KBIT (root)] [--verbose]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  size_t clients = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    bool has_value = i + 1 < argc;
    if (arg == "--peers" && has_value) {
      if (!parse_counts(argv[++i], &o.peer_counts)) return usage();
    } else if (arg == "--tokens" && has_value) {
      o.tokens = std::max(1L, std::atol(argv[++i]));
    } else if (arg == "--rate" && has_value) {
      o.rate = std::atof(argv[++i]);
      if (!(o.rate > 0)) return usage();
    } else if (arg == "--db-dir" && has_value) {
      o.db_dir = argv[++i];
    } else if (arg == "--concurrency" && has_value) {
      o.concurrency = static_cast<size_t>(std::max(1L, std::atol(argv[++i])));
    } else if (arg == "--throttle-ms" && has_value) {
      o.throttle_ms = static_cast<int>(std::max(0L, std::atol(argv[++i])));
    } else if (arg == "--pace-ms" && has_value) {
      o.pace_ms = std::max(0L, std::atol(argv[++i]));
    } else if (arg == "--batch-ms" && has_value) {
      o.batch_ms = std::max(0L, std::atol(argv[++i]));
    } else if (arg == "--relays" && has_value) {
      o.relay.relays = static_cast<size_t>(std::max(0L, std::atol(argv[++i])));
    } else if (arg == "--relay-children" && has_value) {
      o.relay.children = static_cast<size_t>(std::clamp(std::atol(argv[++i]), 0L, 64L));
    } else if (arg == "--direct-relays" && has_value) {
      o.relay.direct = static_cast<size_t>(std::max(0L, std::atol(argv[++i])));
    } else if (arg == "--kill-relays" && has_value) {
      o.relay.kill = static_cast<size_t>(std::max(0L, std::atol(argv[++i])));
    } else if (arg == "--tbf-peer-kbit" && has_value) {
      o.tbf_kbit = static_cast<int>(std::clamp(std::atol(argv[++i]), 0L, 1000000L));
    } else if (arg == "--verbose") {
      o.verbose = true;
    } else if (arg == "--clients" && has_value) {
      clients = static_cast<size_t>(std::max(1L, std::atol(argv[++i])));
    } else {
      return usage();
    }
  }
  // --verbose: log lines of both sides to stderr, marked by side. Off by default, as in the
  // product: once any log sink is registered, libwebrtc formats every log line it meets, which
  // costs the host about a quarter more CPU per token per peer.
  if (o.verbose) {
    log::set_sink(
        [side = clients > 0 ? "peers" : "host"](log::Level level, std::string_view component,
                                                std::string_view message) {
          std::fprintf(stderr, "[%s %.*s] %.*s: %.*s\n", side,
                       static_cast<int>(log::level_name(level).size()),
                       log::level_name(level).data(), static_cast<int>(component.size()),
                       component.data(), static_cast<int>(message.size()), message.data());
        },
        log::Level::kInfo);
  }
  if (o.relay.relays > 0 && o.relay.children == 0) return usage();
  // The shaped peer is one of the peers, outside the relay tree.
  if (o.tbf_kbit > 0 && o.relay.relays > 0) return usage();
  if (clients > 0) return run_peers(clients, o.concurrency, o.throttle_ms, o.relay);
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  for (size_t peers : o.peer_counts) {
    if (!measure(o, peers, self)) return 1;
  }
  return 0;
}
