// Host store: events appended per second with durability (SQLite WAL, synchronous=FULL), and the
// group-commit delay, through the same GroupCommitter the host uses.
//
//   store_bench [--events N] [--rate PER_SECOND] [--db FILE]
//
// --rate 0 (default) submits as fast as possible: the throughput figure. A rate (e.g. 100, a
// fast LLM) measures the delay a token waits for durability when the store is not saturated.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "support/bench_util.hpp"
#include "tokencast/store/store.hpp"

namespace {

using Clock = std::chrono::steady_clock;

using tokencast::bench::percentile;

}  // namespace

int main(int argc, char** argv) {
  long events = 100000;
  long rate = 0;
  std::string db = (std::filesystem::temp_directory_path() /
                    ("tokencast-store-bench-" + std::to_string(::getpid()) + ".db"))
                       .string();
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--events") == 0 && i + 1 < argc) {
      events = std::max(2L, std::atol(argv[++i]));
    } else if (std::strcmp(argv[i], "--rate") == 0 && i + 1 < argc) {
      rate = std::max(0L, std::atol(argv[++i]));
    } else if (std::strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
      db = argv[++i];
    } else {
      std::fprintf(stderr, "usage: store_bench [--events N] [--rate PER_SECOND] [--db FILE]\n");
      return 2;
    }
  }
  auto store = tokencast::EventStore::open(db);
  if (!store) {
    std::fprintf(stderr, "cannot open %s: %s\n", db.c_str(), store.error().message().c_str());
    return 1;
  }
  tokencast::SessionRecord record;
  record.id.bytes.fill(0x5b);
  record.id.bytes[0] = static_cast<uint8_t>(::getpid());
  (void)(*store)->create_session(record);

  // Submission time of each event, to measure how long it waited to become durable.
  std::vector<Clock::time_point> submitted(static_cast<size_t>(events) + 1);
  std::vector<double> waits;
  waits.reserve(static_cast<size_t>(events));
  std::mutex mu;
  tokencast::Seq durable = 0;
  Clock::time_point start;
  double events_per_second = 0;
  double events_per_commit = 0;
  {
    tokencast::GroupCommitter committer(
        **store, record.id, [&](tokencast::Seq up_to, std::error_code error) {
          if (error) return;
          auto now = Clock::now();
          std::lock_guard lock(mu);
          for (tokencast::Seq s = durable + 1; s <= up_to; ++s) {
            waits.push_back(std::chrono::duration<double, std::milli>(now - submitted[s]).count());
          }
          durable = up_to;
        });
    start = Clock::now();
    auto interval =
        rate > 0 ? std::chrono::nanoseconds(1'000'000'000 / rate) : std::chrono::nanoseconds(0);
    for (tokencast::Seq s = 1; s <= static_cast<tokencast::Seq>(events); ++s) {
      if (rate > 0) std::this_thread::sleep_until(start + interval * (s - 1));
      tokencast::Event e{s, tokencast::TextDelta{1, " token"}};
      if (s == 1) e.body = tokencast::TurnStarted{1, tokencast::TurnRole::kAssistant, "m", 0};
      {
        std::lock_guard lock(mu);
        submitted[s] = Clock::now();
      }
      committer.submit(std::move(e));
    }
    if (auto error = committer.flush()) {
      std::fprintf(stderr, "commit failed: %s\n", error.message().c_str());
      return 1;
    }
    auto stats = committer.stats();
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    events_per_second = static_cast<double>(events) / seconds;
    events_per_commit = static_cast<double>(stats.events) / static_cast<double>(stats.commits);
    std::printf(
        "store_bench: %ld events%s in %.2f s: %.0f events/s durable; %llu commits, "
        "%.1f events per commit, commit mean %.2f ms, max %.2f ms\n",
        events, rate > 0 ? (" at " + std::to_string(rate) + "/s").c_str() : "", seconds,
        static_cast<double>(events) / seconds, static_cast<unsigned long long>(stats.commits),
        static_cast<double>(stats.events) / static_cast<double>(stats.commits),
        stats.total_commit_ms / static_cast<double>(stats.commits), stats.max_commit_ms);
  }
  std::printf("store_bench: wait for durability per event: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
              percentile(waits, 50), percentile(waits, 99),
              waits.empty() ? 0.0 : *std::max_element(waits.begin(), waits.end()));
  tokencast::bench::JsonLine result;
  result.num("events", static_cast<double>(events))
      .num("rate", static_cast<double>(rate))
      .num("events_per_second", events_per_second)
      .num("events_per_commit", events_per_commit)
      .dist("durable_wait_ms", waits);
  result.print_result();
  store->reset();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
  return 0;
}
