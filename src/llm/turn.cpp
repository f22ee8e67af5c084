#include "turn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <exception>

namespace tokencast::llm {

Turn::Turn(LlmCallbacks callbacks, bool think_tags)
    : callbacks_(std::move(callbacks)), think_tags_(think_tags) {
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    wake_[0] = wake_[1] = -1;  // cancel() still works, only less promptly (sources also poll)
  }
}

Turn::~Turn() {
  for (int fd : wake_) {
    if (fd >= 0) ::close(fd);
  }
}

void Turn::deliver(ChatDelta piece) {
  const auto& callback = piece.thinking ? callbacks_.on_thinking : callbacks_.on_delta;
  if (callback) callback(std::move(piece.text));
}

void Turn::delta(std::string bytes) {
  std::lock_guard lock(mutex_);
  if (cancelled() || ended_) return;
  ++deltas_;
  if (!think_tags_) {
    deliver(ChatDelta{std::move(bytes), false});
    return;
  }
  pieces_.clear();
  splitter_.feed(bytes, pieces_);
  for (ChatDelta& piece : pieces_) deliver(std::move(piece));
}

void Turn::open_thinking() {
  std::lock_guard lock(mutex_);
  if (think_tags_) splitter_.open();
}

void Turn::thinking(std::string bytes) {
  std::lock_guard lock(mutex_);
  if (cancelled() || ended_) return;
  ++deltas_;
  deliver(ChatDelta{std::move(bytes), true});
}

void Turn::done() {
  std::lock_guard lock(mutex_);
  if (ended_) return;
  ended_ = true;
  if (cancelled()) return;
  if (think_tags_) {  // what the splitter held back waiting for a tag's end
    pieces_.clear();
    splitter_.finish(pieces_);
    for (ChatDelta& piece : pieces_) deliver(std::move(piece));
  }
  delivered_ = true;
  if (callbacks_.on_done) callbacks_.on_done(deltas_);
}

void Turn::fail(LlmFailure failure) {
  std::lock_guard lock(mutex_);
  if (ended_) return;
  ended_ = true;
  if (cancelled()) return;
  delivered_ = true;
  if (callbacks_.on_error) callbacks_.on_error(std::move(failure));
}

bool Turn::ended() const {
  if (on_worker()) return ended_;  // only the worker writes it
  std::lock_guard lock(mutex_);
  return ended_;
}

bool Turn::over() const {
  std::lock_guard lock(mutex_);
  return ended_ || cancelled();
}

bool Turn::cancel() {
  bool was_cancelled = cancelled_.exchange(true, std::memory_order_acq_rel);
  if (!was_cancelled && wake_[1] >= 0) {
    char byte = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_[1], &byte, 1);
  }
  if (on_worker()) return !was_cancelled && !delivered_;  // in a callback: the mutex is ours
  std::lock_guard lock(mutex_);                           // waits for a callback that is running
  return !was_cancelled && !delivered_;
}

bool ThreadedSource::start(std::vector<ChatMessage> history, LlmCallbacks callbacks) {
  // Lock order: control_ may be held while a Turn's mutex is taken (over(), cancel()), and a
  // callback holds its Turn's mutex while it may take turn_mutex_ (cancel()). So turn_mutex_ is
  // only ever held to copy the pointer, and a callback must not reach for control_.
  if (auto previous = current(); previous && previous->on_worker()) return false;
  std::lock_guard control(control_);
  if (auto previous = current(); previous && !previous->over()) return false;
  if (thread_.joinable()) thread_.join();
  auto turn = std::make_shared<Turn>(std::move(callbacks), think_tags_);
  {
    std::lock_guard lock(turn_mutex_);
    turn_ = turn;
  }
  thread_ = std::thread([this, turn, history = std::move(history)]() mutable {
    turn->set_worker(std::this_thread::get_id());
    // A write to a pipe whose reader is gone must give EPIPE, not kill the host.
    sigset_t pipe_signal;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
    try {
      run(std::move(history), *turn);
      if (!turn->ended() && !turn->cancelled()) turn->fail("the source stopped without a result");
    } catch (const std::exception& e) {
      try {
        turn->fail(std::string("the source failed: ") + e.what());
      } catch (...) {  // NOLINT(bugprone-empty-catch): a throwing on_error has nowhere to go
      }
    } catch (...) {  // NOLINT(bugprone-empty-catch)
    }
  });
  return true;
}

std::shared_ptr<Turn> ThreadedSource::current() const {
  std::lock_guard lock(turn_mutex_);
  return turn_;
}

bool ThreadedSource::cancel() {
  auto turn = current();
  return turn ? turn->cancel() : false;
}

void ThreadedSource::shutdown() {
  std::lock_guard control(control_);
  if (auto turn = current()) turn->cancel();
  if (thread_.joinable()) thread_.join();
}

}  // namespace tokencast::llm
