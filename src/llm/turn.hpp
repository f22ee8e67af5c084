// Internal: the threading contract of every LlmSource (include/tokencast/llm/llm.hpp), written
// once. A Turn is shared by the source's worker thread, which reports through it, and the
// controlling thread, which may cancel it. ThreadedSource runs one Turn at a time on a thread of
// its own.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "parse/think_tags.hpp"
#include "tokencast/llm/llm.hpp"

namespace tokencast::llm {

class Turn {
 public:
  // `think_tags`: answer bytes go through a ThinkTagSplitter (inline "<think>" reasoning).
  explicit Turn(LlmCallbacks callbacks, bool think_tags = true);
  ~Turn();
  Turn(const Turn&) = delete;
  Turn& operator=(const Turn&) = delete;

  // Worker side. delta(), thinking(), done() and fail() deliver the callback unless the turn was
  // cancelled or has ended; done() and fail() end it. delta() takes answer bytes (split into
  // thinking and text when think tags are on), thinking() reasoning from a field of its own.
  // Callbacks run with the turn's mutex held, so that cancel() can wait for a running callback.
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  int wake_fd() const { return wake_[0]; }  // becomes readable when the turn is cancelled
  void delta(std::string bytes);
  void thinking(std::string bytes);
  // The prompt opened "<think>" (the chat template's generation prompt ends with it): the answer
  // starts inside thinking, up to "</think>". With think tags on, before the first delta().
  void open_thinking();
  void done();
  void fail(std::string reason) { fail(LlmFailure{reason, reason}); }  // nothing private in it
  void fail(LlmFailure failure);
  bool ended() const;  // done() or fail() was called (delivered or not)
  void set_worker(std::thread::id id) { worker_.store(id); }
  bool on_worker() const { return worker_.load() == std::this_thread::get_id(); }

  // Controller side: see LlmSource::cancel().
  bool cancel();
  bool over() const;  // ended or cancelled

 private:
  mutable std::mutex mutex_;
  void deliver(ChatDelta piece);  // with mutex_ held

  LlmCallbacks callbacks_;
  bool think_tags_;
  ThinkTagSplitter splitter_;
  std::vector<ChatDelta> pieces_;  // scratch for the splitter's output
  std::atomic<bool> cancelled_{false};
  std::atomic<std::thread::id> worker_{};
  bool ended_ = false;      // done() or fail() was called
  bool delivered_ = false;  // ... and its callback was delivered
  uint64_t deltas_ = 0;
  int wake_[2] = {-1, -1};
};

class ThreadedSource : public LlmSource {
 public:
  explicit ThreadedSource(bool think_tags = true) : think_tags_(think_tags) {}
  bool start(std::vector<ChatMessage> history, LlmCallbacks callbacks) final;
  bool cancel() final;

 protected:
  // Runs one turn on the worker thread; ends it with turn.done() or turn.fail(), or returns
  // early once turn.cancelled(). A run that returns without ending its turn fails it.
  virtual void run(std::vector<ChatMessage> history, Turn& turn) = 0;
  // Cancels and joins. Every final class calls it first thing in its destructor, because run()
  // uses the derived object.
  void shutdown();

 private:
  std::shared_ptr<Turn> current() const;

  std::mutex control_;             // serialises start() and shutdown(); guards thread_
  mutable std::mutex turn_mutex_;  // guards turn_ only, never held while calling into a Turn
  std::shared_ptr<Turn> turn_;
  std::thread thread_;
  bool think_tags_;
};

// "2 s", "0.5 s": a timeout for an error message, to a tenth of a second.
inline std::string seconds_text(Millis ms) {
  auto tenths = ms.count() / 100;
  std::string text = std::to_string(tenths / 10);
  if (tenths % 10 != 0) text += "." + std::to_string(tenths % 10);
  return text + " s";
}

}  // namespace tokencast::llm
