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
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "support/bench_util.hpp"
#include "support/llama_server.hpp"
#include "support/llm_turn_log.hpp"
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
    else {
      std::fprintf(stderr, "llm_llama_bench: unknown flag %s\n", flag.c_str());
      std::exit(2);
    }
  }
  if (args.model.empty() || args.server.empty() || args.threads < 1 || args.tokens < 2 ||
      args.runs < 1) {
    std::fprintf(stderr,
                 "usage: llm_llama_bench --model FILE.gguf --server llama-server [--threads N] "
                 "[--tokens N] [--ctx N] [--runs N]\n");
    std::exit(2);
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  Args args = parse(argc, argv);

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
