#include "child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

extern char** environ;  // NOLINT(readability-redundant-declaration)

namespace tokencast::llm {
namespace {

using Clock = std::chrono::steady_clock;

bool make_pipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  read_end = Fd(fds[0]);
  write_end = Fd(fds[1]);
  return true;
}

}  // namespace

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = other.release();
  }
  return *this;
}

int Fd::release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

void Fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

bool Pipes::open() {
  return make_pipe(in_read, in_write) && make_pipe(out_read, out_write) &&
         make_pipe(err_read, err_write);
}

void Pipes::keep_parent_ends() {
  in_read.reset();
  out_write.reset();
  err_write.reset();
  set_nonblocking(in_write.get());
  set_nonblocking(out_read.get());
  set_nonblocking(err_read.get());
}

int spawn_shell(const std::string& command, const Pipes& pipes, pid_t& pid) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipes.in_read.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, pipes.out_write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, pipes.err_write.get(), 2);
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
  std::string command_copy = command;  // argv's strings are char*, not const
  char* argv[] = {shell.data(), dash_c.data(), command_copy.data(), nullptr};
  int spawned = ::posix_spawn(&pid, shell.c_str(), &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  return spawned;
}

Child::Child(pid_t pid) : pid_(pid) {
#ifdef SYS_pidfd_open
  long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd >= 0) pidfd_ = Fd(static_cast<int>(fd));
#endif
}

Child::~Child() {
  if (!reaped_) {
    signal_group(SIGKILL);
    reap();
  }
}

bool Child::exited() {
  if (exited_) return true;
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
      info.si_pid == pid_) {
    exited_ = true;
  }
  return exited_;
}

void Child::signal_group(int signal) const {
  if (!reaped_) ::kill(-pid_, signal);
}

void Child::wait_exit(Millis limit) {
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

int Child::reap() {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  status_ = status;
  return status;
}

}  // namespace tokencast::llm
