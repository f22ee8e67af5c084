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
//                [--concurrency 8] [--throttle-ms MS] [--pace-ms MS] [--batch-ms MS] [--verbose]
//   fanout_bench --clients N [--concurrency K] [--throttle-ms MS]   (the peers' side; reads the
//                                                                   link on stdin)
//
// --throttle-ms MS: the first peer reads slowly (its client sleeps MS ms after each frame of
// the answer); its latencies are reported apart from the others'. --pace-ms: the host's pacing
// interval (default 16); --batch-ms: the host's commit batching (default 0). The host also reports
// the data-channel messages and payload bytes it sent per token per peer, and the frames it
// received (acks, pings).
//
// Prints one "RESULT {json}" line per peer count.
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/bench_host.hpp"
#include "support/bench_util.hpp"
#include "support/child_process.hpp"
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

int run_peers(size_t count, size_t concurrency, int throttle_ms) {
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
    auto peer = std::make_unique<Peer>();
    peer->latencies.reserve(4096);
    if (i == 0) peer->throttle_ms = throttle_ms;
    Peer* p = peer.get();
    JoinOptions options;
    options.link = link;
    options.name = "peer" + std::to_string(i);
    JoinCallbacks callbacks;
    callbacks.on_event = [p, &group](const ClientEvent& event) { on_peer_event(*p, group, event); };
    callbacks.on_status = [p, &group](const std::string& status) {
      if (status != "connected") return;
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
  for (auto& peer : peers) {
    auto& into = peer->throttle_ms > 0 ? throttled : all;
    into.insert(into.end(), peer->latencies.begin(), peer->latencies.end());
  }
  bench::JsonLine result;
  result.num("peers", static_cast<double>(count))
      .num("failed", static_cast<double>(group.failed))
      .num("join_seconds", join_seconds)
      .num("peer_side_rss_per_peer_kb",
           static_cast<double>(rss_joined - rss_before) / static_cast<double>(count) / 1024)
      .num("peer_side_cpu_seconds", cpu_used)
      .dist("latency_ms", all);
  if (throttle_ms > 0)
    result.num("throttle_ms", throttle_ms).dist("throttled_latency_ms", throttled);
  result.print_result();
  for (auto& peer : peers) peer->client.reset();
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
  bool verbose = false;
};

bool measure(const Options& o, size_t peers, const std::string& self) {
  auto dir =
      o.db_dir / ("tokencast-fanout-" + std::to_string(::getpid()) + "-" + std::to_string(peers));
  auto source = std::make_unique<bench::PacedSource>(
      o.tokens, o.rate, [](uint64_t) { return std::to_string(monotonic_ns()) + " "; });
  bench::PacedSource* paced = source.get();
  // The peers join as viewers, and the host keeps up to 50 of --max-peers for participants:
  // room for every peer beside that reserve.
  auto host = bench::start_loopback_host(dir, std::move(source), std::max<size_t>(peers + 50, 1000),
                                         o.pace_ms, o.batch_ms);
  if (!host) return false;
  while (host->stats().rooms_joined < 2) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(200ms);
  size_t rss_before = bench::resident_bytes();

  bench::ChildProcess child;
  std::vector<std::string> args{self,
                                "--clients",
                                std::to_string(peers),
                                "--concurrency",
                                std::to_string(o.concurrency),
                                "--throttle-ms",
                                std::to_string(o.throttle_ms)};
  if (o.verbose) args.push_back("--verbose");
  if (!child.start(args) || !child.write_line(host->links().viewer)) {
    std::fprintf(stderr, "cannot start the peers' process\n");
    return false;
  }
  auto ready = child.read_line(180s);
  if (!ready || *ready != "READY") {
    std::fprintf(stderr, "the peers did not all join\n");
    return false;
  }
  while (host->stats().peers < peers) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(1s);  // joins settle (last welcomes, candidates)
  size_t rss_joined = bench::resident_bytes();
  // What the peers cost the host while nothing streams (keepalives), to tell apart from tokens.
  double idle_cpu_start = bench::process_cpu_seconds();
  std::this_thread::sleep_for(2s);
  double idle_cpu_per_second = (bench::process_cpu_seconds() - idle_cpu_start) / 2;

  double cpu_before = bench::process_cpu_seconds();
  const HostStats stats_before = host->stats();
  auto stream_start = Clock::now();
  host->prompt("go");
  auto line = child.read_line(std::chrono::seconds(60 + static_cast<int>(o.tokens / o.rate) * 3));
  double stream_seconds = bench::ms_between(stream_start, Clock::now()) / 1000;
  double cpu_used = bench::process_cpu_seconds() - cpu_before;
  const HostStats stats_after = host->stats();
  if (!line || !line->starts_with("RESULT ") || !paced->finished()) {
    std::fprintf(stderr, "the peers did not report\n");
    return false;
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
      .raw("peer_side", line->substr(7));
  result.print_result();
  std::fprintf(stderr, "peers=%zu: %s\n", peers, result.text().c_str());
  child.close_stdin();
  child.wait();
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
  std::fprintf(stderr,
               "usage: fanout_bench [--peers 1,10,100] [--tokens N] [--rate PER_SECOND]\n"
               "                    [--db-dir DIR] [--concurrency K] [--throttle-ms MS]\n"
               "                    [--pace-ms MS] [--batch-ms MS] [--verbose]\n");
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
  if (clients > 0) return run_peers(clients, o.concurrency, o.throttle_ms);
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  for (size_t peers : o.peer_counts) {
    if (!measure(o, peers, self)) return 1;
  }
  return 0;
}
