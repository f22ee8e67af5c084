// Generation speed of a GGUF model run in the host's process (make_llama_source) against the
// same build's llama-server (scripts/build-llama) serving the same file with the same threads,
// read through the OpenAI source, as the host reads any server. Both greedy (temperature 0), the
// same prompt, the same number of answer tokens. Per source and run: time to the first delta
// (prompt evaluation and, for the server, the HTTP request) and deltas per second after it.
//
//   llm_llama_bench [--model FILE.gguf] [--server PATH/llama-server] [--threads 2]
//                   [--tokens 128] [--ctx 2048] [--runs 3]
// (defaults: the tests' tiny model without byte tokens, and this build's llama-server). A model
// with random weights must be written with make_tiny_gguf.py --no-byte-tokens: llama-server
// fails a turn whose output is not valid UTF-8. Each source answers once before it is measured
// (the first evaluation maps the weights and plans the graphs).
//
// Prints one "RESULT {json}" line per source and measured run; fails (exit 1) when a turn fails.
//
// --host-viewers 0,10: instead, what the host adds to generation. For each count, a host in
// this process (HostRuntime, embedded rendezvous on loopback, its store in --db-dir) runs the
// in-process model, and this program started again with --clients N joins N native clients
// (JoinClient, in that second process, so that their CPU time is not this one's) as viewers
// before the first prompt. The host prompts itself (--runs turns after a warm-up turn); every
// viewer receives every turn (checked: its answer bytes). The model's callbacks are timed where
// they run, on the generation thread, so per turn, between its first delta and its end:
//   gen_ms                 generation time (wall);
//   callback_ms            time in the host's callbacks on the generation thread (it hands each
//                          token to the session thread): this adds to generation time directly;
//   other_threads_cpu_ms   CPU time of every other thread of the process (session thread: log
//                          append, store commit, fan-out to the peers' queues; store writer;
//                          libwebrtc's threads): it adds to generation time only when the cores
//                          are all busy, so --threads 1 leaves this machine's second core to it;
//   callback_cpu_ms        the generation thread's CPU time in those callbacks (callback_ms less
//                          the time the thread waited for a core: posting wakes the session
//                          thread, which on a busy machine may run first);
//   host_cpu_us_per_token  (callback_cpu_ms + other_threads_cpu_ms) per token; _less_idle: less
//                          what the process spends without a turn (idle_cpu_percent, measured
//                          for 2 s before the first: keepalives, timers);
//   host_share_percent     (callback_cpu_ms + other_threads_cpu_ms) / gen_ms: the host's whole
//                          work during generation, as if every cycle of it were taken from the
//                          model (it is not, while a core is free).
// Prints one "RESULT {json}" line per viewer count and measured run.
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/bench_util.hpp"
#include "support/child_process.hpp"
#include "support/llama_server.hpp"
#include "support/llm_turn_log.hpp"
#include "tokencast/client/join_client.hpp"
#include "tokencast/core/log.hpp"
#include "tokencast/host/host.hpp"
#include "tokencast/llm/llm.hpp"

namespace {

using namespace tokencast;
using bench::Clock;

struct Args {
  std::string model = TOKENCAST_TINY_TEXT_MODEL;
  std::string server = TOKENCAST_LLAMA_SERVER;
  int threads = 2;
  int64_t tokens = 128;
  int ctx = 2048;
  int runs = 3;
  std::vector<size_t> host_viewers;  // --host-viewers: the host-overhead mode
  std::filesystem::path db_dir = std::filesystem::temp_directory_path();
  size_t clients = 0;    // --clients: the viewers' process
  int64_t batch_ms = 0;  // --batch-ms: HostOptions::batch_interval_ms
};

struct Run {
  double first_delta_ms = 0;
  double deltas_per_second = 0;
  size_t deltas = 0;
};

// One turn: the time of its start, of its first delta and of its last; nullopt when it failed.
std::optional<Run> measure(LlmSource& source) {
  testing::TurnLog log;
  std::vector<Clock::time_point> times;
  auto callbacks = log.callbacks();
  auto on_delta = callbacks.on_delta;
  callbacks.on_delta = [&](std::string bytes) {
    times.push_back(Clock::now());  // only the turn's thread writes it
    on_delta(std::move(bytes));
  };
  std::vector<ChatMessage> prompt{
      {TurnRole::kUser, "Write a long story about a lighthouse keeper and a storm."}};
  auto start = Clock::now();
  if (!source.start(prompt, callbacks) || !log.wait_end() || !log.done) {
    std::fprintf(stderr, "llm_llama_bench: the turn failed: %s\n", log.error.c_str());
    return std::nullopt;
  }
  Run run;
  run.deltas = times.size();
  if (times.empty()) return run;
  run.first_delta_ms = bench::ms_between(start, times.front());
  double rest_ms = bench::ms_between(times.front(), times.back());
  if (times.size() > 1 && rest_ms > 0) {
    run.deltas_per_second = static_cast<double>(times.size() - 1) * 1000.0 / rest_ms;
  }
  return run;
}

void report(const Args& args, const std::string& source, int index, const Run& run) {
  bench::JsonLine line;
  line.str("bench", "llm_llama")
      .str("source", source)
      .num("threads", args.threads)
      .num("max_tokens", static_cast<double>(args.tokens))
      .num("run", index)
      .num("deltas", static_cast<double>(run.deltas))
      .num("first_delta_ms", run.first_delta_ms)
      .num("deltas_per_s", run.deltas_per_second);
  std::printf("RESULT %s\n", line.text().c_str());
  std::fflush(stdout);
}

Args parse(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    std::string value = argv[i + 1];
    if (flag == "--model")
      args.model = value;
    else if (flag == "--server")
      args.server = value;
    else if (flag == "--threads")
      args.threads = std::atoi(value.c_str());
    else if (flag == "--tokens")
      args.tokens = std::atoll(value.c_str());
    else if (flag == "--ctx")
      args.ctx = std::atoi(value.c_str());
    else if (flag == "--runs")
      args.runs = std::atoi(value.c_str());
    else if (flag == "--db-dir")
      args.db_dir = value;
    else if (flag == "--batch-ms")
      args.batch_ms = std::atoll(value.c_str());
    else if (flag == "--clients")
      args.clients = static_cast<size_t>(std::max(1, std::atoi(value.c_str())));
    else if (flag == "--host-viewers") {
      std::stringstream in(value);
      for (std::string item; std::getline(in, item, ',');) {
        int n = std::atoi(item.c_str());
        if (n < 0 || n > 100 || item.empty()) {
          std::fprintf(stderr, "llm_llama_bench: --host-viewers takes counts 0..100\n");
          std::exit(2);
        }
        args.host_viewers.push_back(static_cast<size_t>(n));
      }
    } else {
      std::fprintf(stderr, "llm_llama_bench: unknown flag %s\n", flag.c_str());
      std::exit(2);
    }
  }
  if (args.model.empty() || args.server.empty() || args.threads < 1 || args.tokens < 2 ||
      args.runs < 1) {
    std::fprintf(stderr,
                 "usage: llm_llama_bench --model FILE.gguf --server llama-server [--threads N] "
                 "[--tokens N] [--ctx N] [--runs N]\n"
                 "       llm_llama_bench --host-viewers 0,10 [--model FILE.gguf] [--threads 1] "
                 "[--tokens N] [--ctx N] [--runs N] [--db-dir DIR] [--batch-ms MS]\n");
    std::exit(2);
  }
  return args;
}

// ---------------------------------------------------------------- host overhead (--host-viewers)

double thread_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

// One turn as seen on the generation thread.
struct TurnTiming {
  Clock::time_point first;  // the first delta arrived
  Clock::time_point end;    // on_done arrived
  double thread_cpu_first = 0, thread_cpu_end = 0;
  double process_cpu_first = 0, process_cpu_end = 0;
  double callback_ms = 0;      // inside the host's on_delta / on_thinking (wall)
  double callback_cpu_ms = 0;  // ... this thread's CPU time there
  size_t deltas = 0;
  size_t bytes = 0;
  // Each piece: the turn's bytes up to its end, and when it was generated.
  std::vector<std::pair<size_t, Clock::time_point>> pieces;
  bool ended = false;
  bool failed = false;
};

// The host's model: the llama source, its callbacks timed on the thread they run on. Not a
// stand-in: every call goes to the real source, every callback to the real host.
class TimedSource final : public LlmSource {
 public:
  explicit TimedSource(std::unique_ptr<LlmSource> inner) : inner_(std::move(inner)) {}
  bool start(std::vector<ChatMessage> history, LlmCallbacks callbacks) override {
    {
      std::lock_guard lock(mutex_);
      timing_ = TurnTiming{};
      ++turns_;
    }
    LlmCallbacks timed;
    timed.on_delta = [this, next = callbacks.on_delta](std::string bytes) {
      piece(next, std::move(bytes));
    };
    timed.on_thinking = [this, next = callbacks.on_thinking](std::string bytes) {
      piece(next, std::move(bytes));
    };
    timed.on_done = [this, next = callbacks.on_done](uint64_t count) {
      TurnTiming& t = timing_;  // only this thread writes it until `ended`
      t.end = Clock::now();
      t.thread_cpu_end = thread_cpu_ms();
      t.process_cpu_end = bench::process_cpu_seconds() * 1e3;
      if (next) next(count);
      std::lock_guard lock(mutex_);
      t.ended = true;
      changed_.notify_all();
    };
    timed.on_error = [this, next = callbacks.on_error](LlmFailure failure) {
      std::fprintf(stderr, "llm_llama_bench: the turn failed: %s\n", failure.detail.c_str());
      if (next) next(std::move(failure));
      std::lock_guard lock(mutex_);
      timing_.ended = timing_.failed = true;
      changed_.notify_all();
    };
    return inner_->start(std::move(history), std::move(timed));
  }
  bool cancel() override { return inner_->cancel(); }
  std::string model() const override { return inner_->model(); }

  // Waits for the `n`th turn (from 1) to end; its timing, or nullopt when it failed.
  std::optional<TurnTiming> wait_turn(uint64_t n) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, std::chrono::minutes(10),
                           [&] { return turns_ > n || (turns_ == n && timing_.ended); }) ||
        turns_ != n || timing_.failed || timing_.deltas == 0) {
      return std::nullopt;
    }
    return timing_;
  }

 private:
  void piece(const std::function<void(std::string)>& next, std::string bytes) {
    TurnTiming& t = timing_;
    auto before = Clock::now();
    if (t.deltas++ == 0) {
      t.first = before;
      t.thread_cpu_first = thread_cpu_ms();
      t.process_cpu_first = bench::process_cpu_seconds() * 1e3;
      before = Clock::now();
    }
    t.bytes += bytes.size();
    t.pieces.emplace_back(t.bytes, before);
    const double cpu_before = thread_cpu_ms();
    if (next) next(std::move(bytes));
    t.callback_cpu_ms += thread_cpu_ms() - cpu_before;
    t.callback_ms += bench::ms_between(before, Clock::now());
  }

  std::unique_ptr<LlmSource> inner_;
  std::mutex mutex_;
  std::condition_variable changed_;
  TurnTiming timing_;
  uint64_t turns_ = 0;  // turns started
};

// The answers' events as the host hands them on once durable (HostOptions::on_event, on the
// host's loop thread): for each piece, when it became durable, i.e. could be sent to peers.
class DurableLog {
 public:
  void on_event(const Event& event) {
    std::lock_guard lock(mutex_);
    if (const auto* started = std::get_if<TurnStarted>(&event.body)) {
      in_answer_ = started->role == TurnRole::kAssistant;
      if (in_answer_) {
        bytes_ = 0;
        pieces_.clear();
      }
    } else if (const auto* delta = std::get_if<TextDelta>(&event.body)) {
      piece(delta->bytes.size());
    } else if (const auto* thought = std::get_if<ThinkingDelta>(&event.body)) {
      piece(thought->bytes.size());
    } else if (std::get_if<TurnEnded>(&event.body) != nullptr && in_answer_) {
      in_answer_ = false;
      ++answers_;
      changed_.notify_all();
    }
  }
  // Waits for the `n`th answer (from 1) to end durably; its pieces (bytes so far, when).
  std::optional<std::vector<std::pair<size_t, Clock::time_point>>> wait_answer(uint64_t n) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, std::chrono::minutes(2), [&] { return answers_ >= n; }) ||
        answers_ != n) {
      return std::nullopt;
    }
    return pieces_;
  }

 private:
  void piece(size_t size) {
    if (!in_answer_) return;
    bytes_ += size;
    pieces_.emplace_back(bytes_, Clock::now());
  }
  std::mutex mutex_;
  std::condition_variable changed_;
  bool in_answer_ = false;
  size_t bytes_ = 0;
  std::vector<std::pair<size_t, Clock::time_point>> pieces_;
  uint64_t answers_ = 0;
};

// Per generated piece: ms from its generation to the host's durable notice of the event that
// holds its last byte (what the store, and --batch-ms, add before any peer can be sent it).
std::vector<double> durable_latencies(
    const std::vector<std::pair<size_t, Clock::time_point>>& generated,
    const std::vector<std::pair<size_t, Clock::time_point>>& durable) {
  std::vector<double> out;
  size_t j = 0;
  for (const auto& [bytes, at] : generated) {
    while (j < durable.size() && durable[j].first < bytes) ++j;
    if (j == durable.size()) break;
    out.push_back(bench::ms_between(at, durable[j].second));
  }
  return out;
}

// The viewers' process: joins `count` native clients to the link read from stdin, prints READY
// once all are connected, then reads "END TURNS": waits until every viewer has seen TURNS
// answers end and prints "RECEIVED BYTES", the answer bytes of all viewers together.
int run_viewers(size_t count) {
  std::string link;
  if (!std::getline(std::cin, link) || link.empty()) return 2;
  struct Viewer {
    std::unique_ptr<JoinClient> client;
    bool in_answer = false;
    size_t bytes = 0;
    size_t answers = 0;
    bool connected = false;
    bool failed = false;
  };
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::unique_ptr<Viewer>> viewers;
  for (size_t i = 0; i < count; ++i) {
    auto viewer = std::make_unique<Viewer>();
    Viewer* v = viewer.get();
    JoinOptions options;
    options.link = link;
    options.name = "viewer" + std::to_string(i);
    JoinCallbacks callbacks;
    callbacks.on_event = [v, &mutex, &changed](const ClientEvent& event) {
      const auto* applied = std::get_if<Applied>(&event);
      if (applied == nullptr) return;
      const auto& body = applied->event.body;
      std::lock_guard lock(mutex);
      if (const auto* started = std::get_if<TurnStarted>(&body)) {
        v->in_answer = started->role == TurnRole::kAssistant;
      } else if (const auto* delta = std::get_if<TextDelta>(&body)) {
        if (v->in_answer) v->bytes += delta->bytes.size();
      } else if (const auto* thought = std::get_if<ThinkingDelta>(&body)) {
        if (v->in_answer) v->bytes += thought->bytes.size();
      } else if (std::get_if<TurnEnded>(&body) != nullptr && v->in_answer) {
        v->in_answer = false;
        ++v->answers;
        changed.notify_all();
      }
    };
    callbacks.on_status = [v, &mutex, &changed](const std::string& status) {
      std::lock_guard lock(mutex);
      if (status == "connected") v->connected = true;
      changed.notify_all();
    };
    callbacks.on_ended = [v, &mutex, &changed](JoinFailure failure, const std::string& detail) {
      std::fprintf(stderr, "viewer ended: %s %s\n", join_failure_text(failure), detail.c_str());
      std::lock_guard lock(mutex);
      v->failed = true;
      changed.notify_all();
    };
    auto client = JoinClient::start(options, callbacks);
    if (!client) return 1;
    v->client = std::move(*client);
    viewers.push_back(std::move(viewer));
  }
  auto all = [&](auto predicate) {
    for (auto& v : viewers) {
      if (!predicate(*v)) return false;
    }
    return true;
  };
  {
    std::unique_lock lock(mutex);
    if (!changed.wait_for(
            lock, std::chrono::minutes(2),
            [&] { return all([](const Viewer& v) { return v.connected || v.failed; }); }) ||
        !all([](const Viewer& v) { return !v.failed; })) {
      std::fprintf(stderr, "llm_llama_bench --clients: not every viewer connected\n");
      return 1;
    }
  }
  std::printf("READY\n");
  std::fflush(stdout);
  std::string line;
  if (!std::getline(std::cin, line) || !line.starts_with("END ")) return 1;
  size_t turns = static_cast<size_t>(std::atol(line.c_str() + 4));
  size_t received = 0;
  {
    std::unique_lock lock(mutex);
    if (!changed.wait_for(lock, std::chrono::minutes(2), [&] {
          return all([&](const Viewer& v) { return v.answers >= turns || v.failed; });
        })) {
      std::fprintf(stderr, "llm_llama_bench --clients: not every viewer saw every answer\n");
      return 1;
    }
    for (auto& v : viewers) received += v->bytes;
  }
  std::printf("RECEIVED %zu\n", received);
  std::fflush(stdout);
  for (auto& v : viewers) v->client.reset();
  return 0;
}

bool host_run(const Args& args, size_t viewers, const std::string& self) {
  LlamaSourceOptions options;
  options.model_file = args.model;
  options.ctx = static_cast<uint32_t>(args.ctx);
  options.threads = args.threads;
  options.generation.temperature = 0;
  options.generation.max_tokens = args.tokens;
  auto llama = make_llama_source(options);
  if (!llama) {
    std::fprintf(stderr, "llm_llama_bench: %s\n", llama.error().c_str());
    return false;
  }
  auto timed = std::make_unique<TimedSource>(std::move(*llama));
  TimedSource* source = timed.get();
  auto dir = args.db_dir /
             ("tokencast-llm-host-" + std::to_string(::getpid()) + "-" + std::to_string(viewers));
  std::filesystem::create_directories(dir);
  struct Cleanup {
    std::filesystem::path dir;
    ~Cleanup() { std::filesystem::remove_all(dir); }
  } cleanup{dir};
  HostOptions host_options;
  host_options.db_path = (dir / "bench.db").string();
  host_options.listen_host = "127.0.0.1";
  host_options.listen_port = 0;
  host_options.source = std::move(timed);
  host_options.batch_interval_ms = args.batch_ms;
  auto durable = std::make_shared<DurableLog>();
  host_options.on_event = [durable](const Event& event) { durable->on_event(event); };
  auto started = HostRuntime::start(std::move(host_options));
  if (!started) {
    std::fprintf(stderr, "llm_llama_bench: cannot start the host: %s\n", started.error().c_str());
    return false;
  }
  auto host = std::move(*started);

  bench::ChildProcess child;
  if (viewers > 0) {
    if (!child.start({self, "--clients", std::to_string(viewers)}) ||
        !child.write_line(host->links().viewer)) {
      std::fprintf(stderr, "llm_llama_bench: cannot start the viewers' process\n");
      return false;
    }
    auto ready = child.read_line(std::chrono::minutes(3));
    if (!ready || *ready != "READY") {
      std::fprintf(stderr, "llm_llama_bench: the viewers did not all join\n");
      return false;
    }
    while (host->stats().peers < viewers) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // What the host spends while nothing streams (keepalives, timers), to tell apart from what
  // generation costs it (as fanout_bench does).
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const double idle_start = bench::process_cpu_seconds();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const double idle_cpu_ms_per_ms = (bench::process_cpu_seconds() - idle_start) / 2000 * 1e3;
  size_t total_bytes = 0;
  for (int i = -1; i < args.runs; ++i) {  // a warm-up turn first
    host->prompt("Write a long story about a lighthouse keeper and a storm.");
    auto t = source->wait_turn(static_cast<uint64_t>(i + 2));
    if (!t) return false;
    auto stored = durable->wait_answer(static_cast<uint64_t>(i + 2));
    if (!stored || stored->empty() || stored->back().first != t->bytes) {
      std::fprintf(stderr, "llm_llama_bench: the host did not make the whole answer durable\n");
      return false;
    }
    total_bytes += t->bytes;
    if (i < 0) continue;
    std::vector<double> latency = durable_latencies(t->pieces, *stored);
    double gen_ms = bench::ms_between(t->first, t->end);
    double thread_cpu = t->thread_cpu_end - t->thread_cpu_first;
    double other_cpu = std::max(0.0, (t->process_cpu_end - t->process_cpu_first) - thread_cpu);
    double tokens = static_cast<double>(t->deltas);
    bench::JsonLine line;
    line.str("bench", "llm_llama_host")
        .num("viewers", static_cast<double>(viewers))
        .num("threads", args.threads)
        .num("run", i)
        .num("deltas", static_cast<double>(t->deltas))
        .num("gen_ms", gen_ms)
        .num("deltas_per_s", static_cast<double>(t->deltas - 1) * 1000.0 / gen_ms)
        .str("db_dir", args.db_dir.string())
        .num("batch_ms", static_cast<double>(args.batch_ms))
        .num("durable_latency_p50_ms", bench::percentile(latency, 50))
        .num("durable_latency_p99_ms", bench::percentile(latency, 99))
        .num("durable_latency_max_ms", bench::percentile(latency, 100))
        .num("gen_ms_per_token", gen_ms / tokens)
        .num("callback_ms", t->callback_ms)
        .num("callback_cpu_ms", t->callback_cpu_ms)
        .num("other_threads_cpu_ms", other_cpu)
        .num("host_cpu_us_per_token", (t->callback_cpu_ms + other_cpu) / tokens * 1e3)
        .num("idle_cpu_percent", idle_cpu_ms_per_ms * 100)
        .num("host_cpu_us_per_token_less_idle",
             (t->callback_cpu_ms + std::max(0.0, other_cpu - idle_cpu_ms_per_ms * gen_ms)) /
                 tokens * 1e3)
        .num("callback_share_percent", t->callback_ms / gen_ms * 100)
        .num("host_share_percent", (t->callback_cpu_ms + other_cpu) / gen_ms * 100);
    std::printf("RESULT %s\n", line.text().c_str());
    std::fflush(stdout);
  }
  if (viewers > 0) {
    if (!child.write_line("END " + std::to_string(args.runs + 1))) return false;
    auto received = child.read_line(std::chrono::minutes(3));
    size_t expected = total_bytes * viewers;
    if (!received || *received != "RECEIVED " + std::to_string(expected)) {
      std::fprintf(stderr, "llm_llama_bench: the viewers received %s, not RECEIVED %zu\n",
                   received ? received->c_str() : "nothing", expected);
      return false;
    }
    child.close_stdin();
    child.wait();
  }
  return true;
}

int host_overhead(const Args& args, const std::string& self) {
  for (size_t viewers : args.host_viewers) {
    if (!host_run(args, viewers, self)) return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args = parse(argc, argv);
  if (args.clients > 0) return run_viewers(args.clients);
  if (!args.host_viewers.empty()) return host_overhead(args, argv[0]);

  LlamaSourceOptions in_process;
  in_process.model_file = args.model;
  in_process.ctx = static_cast<uint32_t>(args.ctx);
  in_process.threads = args.threads;
  in_process.generation.temperature = 0;
  in_process.generation.max_tokens = args.tokens;
  {
    auto source = make_llama_source(in_process);
    if (!source) {
      std::fprintf(stderr, "llm_llama_bench: %s\n", source.error().c_str());
      return 1;
    }
    for (int i = -1; i < args.runs; ++i) {
      auto run = measure(**source);
      if (!run) return 1;
      if (i >= 0) report(args, "in-process", i, *run);
    }
  }

  testing::LlamaServer server(args.server, args.model, args.threads, args.ctx);
  std::string url = server.base_url();
  if (url.empty()) {
    std::fprintf(stderr, "llm_llama_bench: llama-server did not start:\n%s\n",
                 server.log().c_str());
    return 1;
  }
  OpenAiSourceOptions remote;
  remote.base_url = url;
  remote.generation.temperature = 0;
  remote.generation.max_tokens = args.tokens;
  auto source = make_openai_source(remote);
  for (int i = -1; i < args.runs; ++i) {  // returning ends the server (its destructor)
    auto run = measure(*source);
    if (!run) return 1;
    if (i >= 0) report(args, "llama-server", i, *run);
  }
  return 0;
}
