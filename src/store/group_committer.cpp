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

  mutable std::mutex mutex;
  std::condition_variable wake;      // the writer waits for work
  std::condition_variable progress;  // flush() waits for the writer
  std::vector<Event> pending;
  uint64_t submitted = 0;
  uint64_t written = 0;
  std::error_code failure;
  bool stopping = false;
  Stats stats;
  std::thread writer;

  Impl(EventStore& s, SessionId id, DurableCallback cb)
      : store(s), session(id), on_durable(std::move(cb)) {}

  // Everything pending goes into one transaction; while it commits, new events accumulate for
  // the next one. The batching delay is therefore at most one commit, with no timer to tune.
  void run() {
    std::vector<Event> batch;
    std::unique_lock lock(mutex);
    for (;;) {
      wake.wait(lock, [&] { return stopping || !pending.empty(); });
      if (pending.empty()) return;  // stopping with nothing left
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

GroupCommitter::GroupCommitter(EventStore& store, SessionId session, DurableCallback on_durable)
    : impl_(std::make_unique<Impl>(store, session, std::move(on_durable))) {
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
  {
    std::lock_guard lock(impl_->mutex);
    impl_->pending.push_back(std::move(event));
    impl_->submitted += 1;
  }
  impl_->wake.notify_one();
}

std::error_code GroupCommitter::flush() {
  std::unique_lock lock(impl_->mutex);
  uint64_t target = impl_->submitted;
  impl_->progress.wait(lock, [&] { return impl_->written >= target; });
  return impl_->failure;
}

GroupCommitter::Stats GroupCommitter::stats() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->stats;
}

}  // namespace tokencast
