// The exec source: one `/bin/sh -c COMMAND` per turn. The prompt is written to its stdin (then
// closed), its stdout is streamed as deltas as it arrives, its stderr is kept only to explain a
// failure. The command runs in a process group of its own, so that cancelling or finishing a
// turn can signal everything it started; the child is always reaped.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>

#include "child_process.hpp"
#include "parse/one_line.hpp"
#include "tokencast/core/text.hpp"
#include "turn.hpp"

namespace tokencast {
namespace {

using Clock = std::chrono::steady_clock;
using llm::Child;
using llm::Fd;
using llm::Pipes;

constexpr size_t kReadSize = 64 * 1024;
constexpr size_t kStderrTail = 4096;

std::string errno_text(int error) { return std::strerror(error); }

// The last non-empty line of the command's stderr, fit for a message.
std::string last_line(const std::string& tail) {
  std::string_view text(tail);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  size_t start = text.find_last_of("\r\n");
  if (start != std::string_view::npos) text.remove_prefix(start + 1);
  return openai::one_line(to_valid_utf8(text), 300);
}

// Why a command that ended with wait status `status` failed. Peers are told how it ended; the
// command's stderr may say anything (paths, tokens), so its last line goes to the host's
// terminal only.
LlmFailure exit_failure(int status, const std::string& stderr_tail) {
  std::string reason;
  if (WIFEXITED(status)) {
    reason = "the command failed with exit code " + std::to_string(WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    reason = "the command was killed by signal " + std::to_string(WTERMSIG(status));
  } else {
    reason = "the command failed";
  }
  std::string detail = reason;
  std::string line = last_line(stderr_tail);
  if (!line.empty()) detail += ": " + line;
  return {std::move(reason), std::move(detail)};
}

// One turn's running command: writes the input to its stdin, streams its stdout as deltas and
// keeps the tail of its stderr, until it exits or the turn ends first.
class CommandTurn {
 public:
  // Takes over the parent's ends of `pipes` (the spawn has happened).
  CommandTurn(const ExecSourceOptions& options, llm::Turn& turn, Child& child, Pipes& pipes,
              std::string input)
      : options_(options), turn_(turn), child_(child), pipes_(pipes), input_(std::move(input)) {
    pipes_.keep_parent_ends();
    if (input_.empty()) pipes_.in_write.reset();
  }

  // Moves bytes until the command exits (true) or the turn ends first (false: cancelled, idle
  // timeout or a failed poll; the command is stopped and the turn told).
  bool pump();
  // After the exit: takes the rest of its output, reaps it, ends the turn by its exit status.
  void finish();

 private:
  std::optional<int> poll_timeout();
  void on_ready(const pollfd& ready);
  void stop();
  bool read_some(Fd& fd, bool is_stdout);
  void write_input();

  const ExecSourceOptions& options_;
  llm::Turn& turn_;
  Child& child_;
  Pipes& pipes_;
  const std::string input_;
  size_t written_ = 0;
  Utf8Repair utf8_;
  std::string stderr_tail_;
  std::string buffer_ = std::string(kReadSize, '\0');
  Clock::time_point last_output_ = Clock::now();
};

bool CommandTurn::pump() {
  for (;;) {
    if (turn_.cancelled()) {
      stop();
      return false;
    }
    if (child_.exited()) return true;

    // The turn's wake fd ends the wait on a cancel; the pidfd, on the exit.
    pollfd fds[5];
    nfds_t count = 0;
    auto add = [&](int fd, short events) {
      if (fd >= 0) fds[count++] = pollfd{fd, events, 0};
    };
    add(turn_.wake_fd(), POLLIN);
    add(pipes_.out_read.get(), POLLIN);
    add(pipes_.err_read.get(), POLLIN);
    add(pipes_.in_write.get(), POLLOUT);
    add(child_.pidfd(), POLLIN);
    auto timeout = poll_timeout();
    if (!timeout) return false;
    int ready = ::poll(fds, count, *timeout);
    if (ready < 0 && errno != EINTR) {
      stop();
      turn_.fail("waiting for the command failed: " + errno_text(errno));
      return false;
    }
    for (nfds_t i = 0; i < count && ready > 0; ++i) {
      if (fds[i].revents != 0) on_ready(fds[i]);
    }
  }
}

// How long the next poll may wait: without a pidfd the exit is noticed only by polling for it.
// Nullopt (the command stopped, the turn failed) once the idle timeout has passed.
std::optional<int> CommandTurn::poll_timeout() {
  int timeout = child_.pidfd() >= 0 ? 1000 : 20;
  if (options_.idle_timeout.count() > 0) {
    auto idle = std::chrono::duration_cast<Millis>(Clock::now() - last_output_);
    if (idle >= options_.idle_timeout) {
      stop();
      turn_.fail("the command produced no output for " + llm::seconds_text(options_.idle_timeout) +
                 " (idle timeout)");
      return std::nullopt;
    }
    timeout = std::min<int>(timeout, static_cast<int>((options_.idle_timeout - idle).count()) + 1);
  }
  return timeout;
}

void CommandTurn::on_ready(const pollfd& ready) {
  int fd = ready.fd;
  if (fd == pipes_.out_read.get()) {
    read_some(pipes_.out_read, true);
  } else if (fd == pipes_.err_read.get()) {
    read_some(pipes_.err_read, false);
  } else if (fd == pipes_.in_write.get()) {
    write_input();
  }
}

void CommandTurn::finish() {
  // The command has exited (a zombie still: its group cannot be reused). Take what it wrote,
  // stop whatever it left running in its group, reap it.
  pipes_.in_write.reset();
  for (int i = 0; i < 64 && pipes_.out_read && read_some(pipes_.out_read, true); ++i) {
  }
  for (int i = 0; i < 64 && pipes_.err_read && read_some(pipes_.err_read, false); ++i) {
  }
  child_.signal_group(SIGKILL);
  int status = child_.reap();
  if (turn_.cancelled()) return;
  std::string rest = utf8_.finish();
  if (!rest.empty()) turn_.delta(std::move(rest));

  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    turn_.done();
    return;
  }
  turn_.fail(exit_failure(status, stderr_tail_));
}

void CommandTurn::stop() {
  // Close our ends first so that a command blocked on a pipe notices at once.
  pipes_.in_write.reset();
  pipes_.out_read.reset();
  pipes_.err_read.reset();
  child_.signal_group(SIGTERM);
  child_.wait_exit(options_.kill_grace);
  child_.signal_group(SIGKILL);
  child_.reap();
}

// Reads what `fd` has now: true when it read something; closes `fd` at EOF or on an error.
bool CommandTurn::read_some(Fd& fd, bool is_stdout) {
  ssize_t n = ::read(fd.get(), buffer_.data(), buffer_.size());
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;
  if (n <= 0) {
    fd.reset();
    return false;
  }
  std::string_view bytes(buffer_.data(), static_cast<size_t>(n));
  if (is_stdout) {
    last_output_ = Clock::now();
    std::string text = utf8_.push(bytes);
    if (!text.empty()) turn_.delta(std::move(text));
  } else {
    stderr_tail_.append(bytes);
    if (stderr_tail_.size() > kStderrTail) {
      stderr_tail_.erase(0, stderr_tail_.size() - kStderrTail);
    }
  }
  return true;
}

// Writes what the command's stdin takes now of the rest of the input.
void CommandTurn::write_input() {
  ssize_t n = ::write(pipes_.in_write.get(), input_.data() + written_, input_.size() - written_);
  if (n > 0) written_ += static_cast<size_t>(n);
  if ((n < 0 && errno != EAGAIN && errno != EINTR) || written_ == input_.size()) {
    // Done, or the command closed its stdin (EPIPE): either way, no more input.
    if (n < 0 && errno == EPIPE) {
      sigset_t pipe_signal;
      sigemptyset(&pipe_signal);
      sigaddset(&pipe_signal, SIGPIPE);
      timespec zero{};
      ::sigtimedwait(&pipe_signal, nullptr, &zero);  // consume the pending SIGPIPE
    }
    pipes_.in_write.reset();
  }
}

class ExecSource final : public llm::ThreadedSource {
 public:
  explicit ExecSource(ExecSourceOptions options)
      : ThreadedSource(options.think_tags), options_(std::move(options)) {}
  ~ExecSource() override { shutdown(); }
  ExecSource(const ExecSource&) = delete;
  ExecSource& operator=(const ExecSource&) = delete;

  std::string model() const override { return options_.label; }

 protected:
  void run(std::vector<ChatMessage> history, llm::Turn& turn) override;

 private:
  std::string input_for(const std::vector<ChatMessage>& history) const {
    if (options_.input == ExecInput::kRequestJson) {
      ChatRequest request;
      request.messages = prepare_messages(history, options_.generation);
      apply_sampling(options_.generation, request);
      return build_chat_request(request) + "\n";
    }
    return history.empty() ? std::string() : history.back().content;
  }

  ExecSourceOptions options_;
};

void ExecSource::run(std::vector<ChatMessage> history, llm::Turn& turn) {
  std::string input = input_for(history);
  Pipes pipes;
  if (!pipes.open()) {
    turn.fail("cannot run the command: " + errno_text(errno));
    return;
  }
  pid_t pid = -1;
  if (int spawned = llm::spawn_shell(options_.command, pipes, pid); spawned != 0) {
    turn.fail("cannot run the command: " + errno_text(spawned));
    return;
  }
  Child child(pid);
  CommandTurn command(options_, turn, child, pipes, std::move(input));
  if (command.pump()) command.finish();
}

}  // namespace

std::optional<ExecInput> parse_exec_input(std::string_view text) {
  if (text == "prompt") return ExecInput::kPrompt;
  if (text == "json") return ExecInput::kRequestJson;
  return std::nullopt;
}

std::unique_ptr<LlmSource> make_exec_source(ExecSourceOptions options) {
  return std::make_unique<ExecSource>(std::move(options));
}

}  // namespace tokencast
