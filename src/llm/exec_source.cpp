// The exec source: one `/bin/sh -c COMMAND` per turn. The prompt is written to its stdin (then
// closed), its stdout is streamed as deltas as it arrives, its stderr is kept only to explain a
// failure. The command runs in a process group of its own, so that cancelling or finishing a
// turn can signal everything it started; the child is always reaped.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "parse/one_line.hpp"
#include "tokencast/core/text.hpp"
#include "turn.hpp"

extern char** environ;  // NOLINT(readability-redundant-declaration)

namespace tokencast {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kReadSize = 64 * 1024;
constexpr size_t kStderrTail = 4096;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = other.release();
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

bool make_pipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  read_end = Fd(fds[0]);
  write_end = Fd(fds[1]);
  return true;
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

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

// A running command: its pid (a process group leader), a pidfd when the kernel has them, and
// whether it has exited (it stays a zombie, keeping its pid and group id, until reap()).
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {
#ifdef SYS_pidfd_open
    long fd = ::syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0) pidfd_ = Fd(static_cast<int>(fd));
#endif
  }
  ~Child() {
    if (!reaped_) {
      signal_group(SIGKILL);
      reap();
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  int pidfd() const { return pidfd_.get(); }
  // True once the process has exited; does not reap it.
  bool exited() {
    if (exited_) return true;
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == pid_) {
      exited_ = true;
    }
    return exited_;
  }
  void signal_group(int signal) const {
    if (!reaped_) ::kill(-pid_, signal);
  }
  // Waits up to `limit` for the exit (returns early on exit).
  void wait_exit(Millis limit) {
    auto deadline = Clock::now() + limit;
    while (!exited()) {
      auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
      if (left.count() <= 0) return;
      if (pidfd_) {
        pollfd p{pidfd_.get(), POLLIN, 0};
        ::poll(&p, 1, static_cast<int>(left.count()));
      } else {
        ::usleep(5000);
      }
    }
  }
  // Reaps the process; returns its wait status.
  int reap() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    status_ = status;
    return status;
  }
  int status() const { return status_; }

 private:
  pid_t pid_;
  Fd pidfd_;
  bool exited_ = false;
  bool reaped_ = false;
  int status_ = 0;
};

class ExecSource final : public llm::ThreadedSource {
 public:
  explicit ExecSource(ExecSourceOptions options) : options_(std::move(options)) {}
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
      request.messages = history;
      return build_chat_request(request) + "\n";
    }
    return history.empty() ? std::string() : history.back().content;
  }

  ExecSourceOptions options_;
};

void ExecSource::run(std::vector<ChatMessage> history, llm::Turn& turn) {
  const std::string input = input_for(history);
  Fd in_read, in_write, out_read, out_write, err_read, err_write;
  if (!make_pipe(in_read, in_write) || !make_pipe(out_read, out_write) ||
      !make_pipe(err_read, err_write)) {
    turn.fail("cannot run the command: " + errno_text(errno));
    return;
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_read.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_write.get(), 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int signal : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT}) sigaddset(&defaults, signal);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::string shell = "/bin/sh";
  std::string dash_c = "-c";
  std::string command = options_.command;
  char* argv[] = {shell.data(), dash_c.data(), command.data(), nullptr};
  pid_t pid = -1;
  int spawned = ::posix_spawn(&pid, shell.c_str(), &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (spawned != 0) {
    turn.fail("cannot run the command: " + errno_text(spawned));
    return;
  }
  Child child(pid);
  in_read.reset();
  out_write.reset();
  err_write.reset();
  set_nonblocking(in_write.get());
  set_nonblocking(out_read.get());
  set_nonblocking(err_read.get());

  Utf8Repair utf8;
  std::string stderr_tail;
  size_t written = 0;
  if (input.empty()) in_write.reset();
  std::string buffer(kReadSize, '\0');
  auto last_output = Clock::now();

  auto stop = [&] {
    // Close our ends first so that a command blocked on a pipe notices at once.
    in_write.reset();
    out_read.reset();
    err_read.reset();
    child.signal_group(SIGTERM);
    child.wait_exit(options_.kill_grace);
    child.signal_group(SIGKILL);
    child.reap();
  };
  // Reads what `fd` has now: true when it read something; closes `fd` at EOF or on an error.
  auto read_some = [&](Fd& fd, bool is_stdout) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;
    if (n <= 0) {
      fd.reset();
      return false;
    }
    std::string_view bytes(buffer.data(), static_cast<size_t>(n));
    if (is_stdout) {
      last_output = Clock::now();
      std::string text = utf8.push(bytes);
      if (!text.empty()) turn.delta(std::move(text));
    } else {
      stderr_tail.append(bytes);
      if (stderr_tail.size() > kStderrTail) {
        stderr_tail.erase(0, stderr_tail.size() - kStderrTail);
      }
    }
    return true;
  };

  for (;;) {
    if (turn.cancelled()) {
      stop();
      return;
    }
    if (child.exited()) break;

    pollfd fds[5];
    nfds_t count = 0;
    auto add = [&](int fd, short events) {
      if (fd >= 0) fds[count++] = pollfd{fd, events, 0};
    };
    add(turn.wake_fd(), POLLIN);
    add(out_read.get(), POLLIN);
    add(err_read.get(), POLLIN);
    add(in_write.get(), POLLOUT);
    add(child.pidfd(), POLLIN);
    int timeout = child.pidfd() >= 0 ? 1000 : 20;
    if (options_.idle_timeout.count() > 0) {
      auto idle = std::chrono::duration_cast<Millis>(Clock::now() - last_output);
      if (idle >= options_.idle_timeout) {
        stop();
        turn.fail("the command produced no output for " + llm::seconds_text(options_.idle_timeout) +
                  " (idle timeout)");
        return;
      }
      timeout =
          std::min<int>(timeout, static_cast<int>((options_.idle_timeout - idle).count()) + 1);
    }
    int ready = ::poll(fds, count, timeout);
    if (ready < 0 && errno != EINTR) {
      stop();
      turn.fail("waiting for the command failed: " + errno_text(errno));
      return;
    }
    for (nfds_t i = 0; i < count && ready > 0; ++i) {
      if (fds[i].revents == 0) continue;
      int fd = fds[i].fd;
      if (fd == out_read.get()) {
        read_some(out_read, true);
      } else if (fd == err_read.get()) {
        read_some(err_read, false);
      } else if (fd == in_write.get()) {
        ssize_t n = ::write(fd, input.data() + written, input.size() - written);
        if (n > 0) written += static_cast<size_t>(n);
        if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) {
          // Done, or the command closed its stdin (EPIPE): either way, no more input.
          if (n < 0 && errno == EPIPE) {
            sigset_t pipe_signal;
            sigemptyset(&pipe_signal);
            sigaddset(&pipe_signal, SIGPIPE);
            timespec zero{};
            ::sigtimedwait(&pipe_signal, nullptr, &zero);  // consume the pending SIGPIPE
          }
          in_write.reset();
        }
      }
    }
  }

  // The command has exited (a zombie still: its group cannot be reused). Take what it wrote,
  // stop whatever it left running in its group, reap it.
  in_write.reset();
  for (int i = 0; i < 64 && out_read && read_some(out_read, true); ++i) {
  }
  for (int i = 0; i < 64 && err_read && read_some(err_read, false); ++i) {
  }
  child.signal_group(SIGKILL);
  int status = child.reap();
  if (turn.cancelled()) return;
  std::string rest = utf8.finish();
  if (!rest.empty()) turn.delta(std::move(rest));

  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    turn.done();
    return;
  }
  std::string reason;
  if (WIFEXITED(status)) {
    reason = "the command failed with exit code " + std::to_string(WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    reason = "the command was killed by signal " + std::to_string(WTERMSIG(status));
  } else {
    reason = "the command failed";
  }
  // The command's stderr may say anything (paths, tokens): the host's terminal only.
  std::string detail = reason;
  std::string line = last_line(stderr_tail);
  if (!line.empty()) detail += ": " + line;
  turn.fail({std::move(reason), std::move(detail)});
}

}  // namespace

std::unique_ptr<LlmSource> make_exec_source(ExecSourceOptions options) {
  return std::make_unique<ExecSource>(std::move(options));
}

}  // namespace tokencast
