// Late-joiner catch-up over the real stack: a host session holding N streamed tokens (a real
// answer's tokens, repeated), then a native client joins through the embedded rendezvous and
// the clock runs from the link in hand until the client holds the whole session (every token
// and the end of the last turn). Host and client share this process and its cores.
//
//   catchup_bench --tokens FILE [--count 100000] [--joins 5] [--db-dir DIR]
//
// Prints one "RESULT {json}" line.
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/bench_host.hpp"
#include "support/bench_util.hpp"
#include "tokencast/client/join_client.hpp"
#include "tokencast/host/host.hpp"

namespace {

using namespace tokencast;
using namespace std::chrono_literals;

int usage() {
  std::fprintf(stderr,
               "usage: catchup_bench --tokens FILE [--count N] [--joins N] [--db-dir DIR]\n");
  return 2;
}

// One join: link -> the whole session held. Milliseconds, or a negative number on failure.
double time_one_join(const std::string& link, size_t want_text_bytes) {
  std::mutex mu;
  std::condition_variable cv;
  size_t text = 0;
  bool complete = false;
  bool failed = false;
  JoinOptions options;
  options.link = link;
  options.name = "late";
  options.reconnect = false;
  JoinCallbacks callbacks;
  callbacks.on_event = [&](const ClientEvent& event) {
    const auto* applied = std::get_if<Applied>(&event);
    if (applied == nullptr) return;
    std::lock_guard lock(mu);
    if (const auto* delta = std::get_if<TextDelta>(&applied->event.body)) {
      text += delta->bytes.size();
    } else if (std::holds_alternative<TurnEnded>(applied->event.body) && text >= want_text_bytes) {
      complete = true;
      cv.notify_all();
    }
  };
  callbacks.on_ended = [&](JoinFailure, const std::string& detail) {
    std::fprintf(stderr, "join ended: %s\n", detail.c_str());
    std::lock_guard lock(mu);
    failed = true;
    cv.notify_all();
  };
  auto start = bench::Clock::now();
  auto client = JoinClient::start(options, callbacks);
  if (!client) return -1;
  std::unique_lock lock(mu);
  cv.wait_for(lock, 60s, [&] { return complete || failed; });
  double ms = bench::ms_between(start, bench::Clock::now());
  lock.unlock();
  client->reset();
  return complete ? ms : -1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string file;
  size_t count = 100000;
  int joins = 5;
  std::filesystem::path db_dir = std::filesystem::temp_directory_path();
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) return usage();
    if (arg == "--tokens") {
      file = argv[++i];
    } else if (arg == "--count") {
      count = static_cast<size_t>(std::max(1L, std::atol(argv[++i])));
    } else if (arg == "--joins") {
      joins = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--db-dir") {
      db_dir = argv[++i];
    } else {
      return usage();
    }
  }
  if (file.empty()) return usage();
  auto loaded = bench::load_tokens(file);
  if (!loaded) return 1;
  const std::vector<std::string>& tokens = *loaded;
  size_t text_bytes = 0;
  for (size_t i = 0; i < count; ++i) text_bytes += tokens[i % tokens.size()].size();

  auto dir = db_dir / ("tokencast-catchup-bench-" + std::to_string(::getpid()));
  auto source = std::make_unique<bench::PacedSource>(
      count, 0.0, [&tokens](uint64_t i) { return tokens[i % tokens.size()]; });
  bench::PacedSource* paced = source.get();
  auto host = bench::start_loopback_host(dir, std::move(source));
  if (!host) return 1;
  host->prompt("Tell me everything, again and again.");
  // The whole answer streamed and durable: the session a late joiner finds.
  for (;;) {
    auto stats = host->stats();
    if (paced->finished() && !stats.generating && stats.durable == stats.head) break;
    std::this_thread::sleep_for(5ms);
  }
  while (host->stats().rooms_joined < 2) std::this_thread::sleep_for(1ms);

  std::vector<double> times;
  for (int j = 0; j < joins; ++j) {
    double ms = time_one_join(host->links().viewer, text_bytes);
    if (ms < 0) {
      std::fprintf(stderr, "a late joiner did not catch up\n");
      return 1;
    }
    times.push_back(ms);
  }
  bench::JsonLine result;
  result.num("tokens", static_cast<double>(count))
      .num("text_bytes", static_cast<double>(text_bytes))
      .dist("link_to_caught_up_ms", times);
  result.print_result();
  host.reset();
  std::filesystem::remove_all(dir);
  return 0;
}
