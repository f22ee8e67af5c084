// The benchmarks' LLM: an LlmSource that hands the host `count` tokens at a steady rate, as a
// model streaming through an OpenAI-compatible server would, on its own thread. Each token's
// text comes from `make_token(index)`, called just before on_delta, so a token can carry the
// moment it was handed over (the latency bench) or come from a recorded answer.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tokencast/llm/llm.hpp"

namespace tokencast::bench {

class PacedSource : public LlmSource {
 public:
  // rate_per_second 0: as fast as the host takes them.
  PacedSource(uint64_t count, double rate_per_second, std::function<std::string(uint64_t)> make)
      : count_(count), rate_(rate_per_second), make_token_(std::move(make)) {}
  ~PacedSource() override { join(); }

  bool start(std::vector<ChatMessage>, LlmCallbacks callbacks) override {
    if (running_.load()) return false;
    join();
    cancelled_ = false;
    running_ = true;
    thread_ = std::thread([this, cb = std::move(callbacks)] { run(cb); });
    return true;
  }

  bool cancel() override {
    bool was_running = running_.load();
    cancelled_ = true;
    if (std::this_thread::get_id() != thread_.get_id()) join();
    return was_running;
  }

  std::string model() const override { return "paced-bench-source"; }

  // Set once the last token was handed over (on_done follows at once).
  bool finished() const { return finished_.load(); }

 private:
  void run(const LlmCallbacks& cb) {
    auto start = std::chrono::steady_clock::now();
    uint64_t i = 0;
    for (; i < count_ && !cancelled_.load(); ++i) {
      if (rate_ > 0) {
        auto due = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               std::chrono::duration<double>(static_cast<double>(i) / rate_));
        std::this_thread::sleep_until(due);
      }
      cb.on_delta(make_token_(i));
    }
    if (!cancelled_.load()) {
      finished_ = true;
      cb.on_done(i);
    }
    running_ = false;
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

  uint64_t count_;
  double rate_;
  std::function<std::string(uint64_t)> make_token_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> finished_{false};
};

}  // namespace tokencast::bench
