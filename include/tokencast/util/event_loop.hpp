// A single-threaded executor: tasks posted from any thread run one at a time on the loop's
// thread, in order, plus timers. The host and client runtimes post every callback of the
// rendezvous clients, PeerLinks, LLM sources and the store here, so their state machines need
// no locks and see one ordered stream of inputs.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <thread>

namespace tokencast::util {

class EventLoop {
 public:
  using Task = std::function<void()>;
  using Clock = std::chrono::steady_clock;
  using TimerId = uint64_t;

  EventLoop() = default;
  ~EventLoop();  // stops and joins the thread if start() was used
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Thread-safe. Tasks posted after stop() are dropped.
  void post(Task task);
  // Runs `task` on the loop after `delay`; cancel() before it runs to drop it.
  TimerId post_after(std::chrono::milliseconds delay, Task task);
  void cancel(TimerId id);

  // Runs on the calling thread until stop(). Or start() runs it on a new thread.
  void run();
  void start();
  // Makes run() return after the task in progress; pending tasks are dropped. Thread-safe.
  void stop();

  // Unix time in milliseconds: what the state machines are given (events carry it, and the
  // handshake compares it with the joiner's clock).
  static int64_t unix_now_ms();

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Task> tasks_;
  std::multimap<Clock::time_point, std::pair<TimerId, Task>> timers_;
  TimerId next_timer_ = 1;
  bool stopped_ = false;
  std::thread thread_;
};

// Runs `f` on the loop and returns its result to the calling thread, which waits. Never call
// it on the loop's own thread (it would wait for itself).
template <class F>
auto run_on(EventLoop& loop, F f) {
  std::packaged_task<decltype(f())()> task(std::move(f));
  auto result = task.get_future();
  loop.post([&task] { task(); });
  return result.get();
}

}  // namespace tokencast::util
