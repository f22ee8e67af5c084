#include "tokencast/util/event_loop.hpp"

namespace tokencast::util {

EventLoop::~EventLoop() {
  stop();
  if (thread_.joinable()) thread_.join();
}

void EventLoop::post(Task task) {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    tasks_.push_back(std::move(task));
  }
  wake_.notify_one();
}

EventLoop::TimerId EventLoop::post_after(std::chrono::milliseconds delay, Task task) {
  TimerId id = 0;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return 0;
    id = next_timer_++;
    timers_.emplace(Clock::now() + delay, std::make_pair(id, std::move(task)));
  }
  wake_.notify_one();
  return id;
}

void EventLoop::cancel(TimerId id) {
  std::lock_guard lock(mutex_);
  for (auto it = timers_.begin(); it != timers_.end(); ++it) {
    if (it->second.first == id) {
      timers_.erase(it);
      return;
    }
  }
}

void EventLoop::run() {
  std::unique_lock lock(mutex_);
  while (!stopped_) {
    auto now = Clock::now();
    // Due timers become ordinary tasks, behind what is already queued.
    while (!timers_.empty() && timers_.begin()->first <= now) {
      tasks_.push_back(std::move(timers_.begin()->second.second));
      timers_.erase(timers_.begin());
    }
    if (tasks_.empty()) {
      if (timers_.empty()) {
        wake_.wait(lock);
      } else {
        wake_.wait_until(lock, timers_.begin()->first);
      }
      continue;
    }
    Task task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task();
    lock.lock();
  }
  tasks_.clear();
  timers_.clear();
}

void EventLoop::start() {
  thread_ = std::thread([this] { run(); });
}

void EventLoop::stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  wake_.notify_all();
}

int64_t EventLoop::unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace tokencast::util
