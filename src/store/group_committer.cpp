#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "tokencast/store/store.hpp"

namespace tokencast {

struct GroupCommitter::Impl {
  EventStore& store;
  SessionId session;
  DurableCallback on_durable;
  std::chrono::milliseconds batch_interval;

  mutable std::mutex mutex;
  std::condition_variable wake;      // the writer waits for work
  std::condition_variable progress;  // flush() waits for the writer
  std::vector<Event> pending;
  std::chrono::steady_clock::time_point first_pending_at;  // when `pending` became non-empty
  bool urgent = false;  // flush() waits: commit what is pending without holding it
  uint64_t submitted = 0;
  uint64_t written = 0;
  std::error_code failure;
  bool stopping = false;
  Stats stats;
  std::thread writer;

  Impl(EventStore& s, SessionId id, DurableCallback cb, std::chrono::milliseconds interval)
      : store(s), session(id), on_durable(std::move(cb)), batch_interval(interval) {}

  // Everything pending goes into one transaction; while it commits, new events accumulate for
  // the next one. Without a batch interval the batching delay is at most one commit, with no
  // timer to tune. With one, the first pending event is held until the interval has passed
  // since it arrived (or until flush() or the destructor asks), so that every event submitted
  // within the interval shares its transaction.
  void run() {
    std::vector<Event> batch;
    std::unique_lock lock(mutex);
    for (;;) {
      wake.wait(lock, [&] { return stopping || !pending.empty(); });
      if (pending.empty()) return;  // stopping with nothing left
      if (batch_interval.count() > 0) {
        wake.wait_until(lock, first_pending_at + batch_interval,
                        [&] { return stopping || urgent; });
      }
      urgent = false;
      batch.swap(pending);
      bool failed = static_cast<bool>(failure);
      lock.unlock();

      std::error_code error = failed ? failure : std::error_code();
      auto started = std::chrono::steady_clock::now();
      if (!failed) {
        auto result = store.append(session, batch);
        if (!result) error = result.error();
      }
      double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
              .count();
      Seq last = batch.back().seq;
      if (!failed && on_durable) on_durable(error ? 0 : last, error);

      lock.lock();
      if (error && !failure) failure = error;
      written += batch.size();
      if (!failed && !error) {
        stats.commits += 1;
        stats.events += batch.size();
        stats.total_commit_ms += ms;
        stats.max_commit_ms = std::max(stats.max_commit_ms, ms);
      }
      batch.clear();
      progress.notify_all();
    }
  }
};

GroupCommitter::GroupCommitter(EventStore& store, SessionId session, DurableCallback on_durable,
                               std::chrono::milliseconds batch_interval)
    : impl_(std::make_unique<Impl>(store, session, std::move(on_durable),
                                   std::max(batch_interval, std::chrono::milliseconds(0)))) {
  impl_->writer = std::thread([impl = impl_.get()] { impl->run(); });
}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->writer.join();
}

void GroupCommitter::submit(Event event) {
  bool first = false;
  {
    std::lock_guard lock(impl_->mutex);
    first = impl_->pending.empty();
    if (first) impl_->first_pending_at = std::chrono::steady_clock::now();
    impl_->pending.push_back(std::move(event));
    impl_->submitted += 1;
  }
  // Only an empty queue can have the writer waiting for work; while it holds or commits a
  // batch it looks at `pending` again by itself, so later events need no wake-up.
  if (first) impl_->wake.notify_one();
}

void GroupCommitter::commit_now() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->pending.empty()) return;
    impl_->urgent = true;
  }
  impl_->wake.notify_one();
}

std::error_code GroupCommitter::flush() {
  std::unique_lock lock(impl_->mutex);
  uint64_t target = impl_->submitted;
  if (impl_->written < target) {
    impl_->urgent = true;
    impl_->wake.notify_one();
  }
  impl_->progress.wait(lock, [&] { return impl_->written >= target; });
  return impl_->failure;
}

GroupCommitter::Stats GroupCommitter::stats() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->stats;
}

}  // namespace tokencast
