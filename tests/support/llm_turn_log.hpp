// Test helper: records what one LLM turn reported (tokencast::LlmCallbacks), for waiting on it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "tokencast/llm/llm.hpp"

namespace tokencast::testing {

// What one turn reported. Every callback checks it runs after no end.
struct TurnLog {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> deltas;
  std::string thinking;  // every on_thinking piece, concatenated
  bool thinking_after_text = false;
  int ends = 0;
  bool done = false;
  uint64_t token_count = 0;
  std::string error;
  bool callback_after_end = false;
  std::function<void()> after_first_delta;  // runs on the source's thread

  tokencast::LlmCallbacks callbacks() {
    return {[this](std::string bytes) {
              std::function<void()> hook;
              {
                std::lock_guard lock(mutex);
                callback_after_end |= ends > 0;
                deltas.push_back(std::move(bytes));
                if (deltas.size() == 1) hook = after_first_delta;
                changed.notify_all();
              }
              if (hook) hook();
            },
            [this](uint64_t count) {
              std::lock_guard lock(mutex);
              callback_after_end |= ends > 0;
              ++ends;
              done = true;
              token_count = count;
              changed.notify_all();
            },
            [this](tokencast::LlmFailure failure) {
              std::lock_guard lock(mutex);
              callback_after_end |= ends > 0;
              ++ends;
              error = failure.detail;
              changed.notify_all();
            },
            [this](std::string bytes) {
              std::lock_guard lock(mutex);
              callback_after_end |= ends > 0;
              thinking_after_text |= !deltas.empty();
              thinking += bytes;
              changed.notify_all();
            }};
  }
  bool wait_end() {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(120), [&] { return ends > 0; });
  }
  // Until `n` deltas arrived or the turn ended; false when neither happened in time.
  bool wait_deltas(size_t n) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(120),
                            [&] { return deltas.size() >= n || ends > 0; });
  }
  std::string text() {
    std::lock_guard lock(mutex);
    std::string all;
    for (const auto& delta : deltas) all += delta;
    return all;
  }
};

}  // namespace tokencast::testing
