// Internal: the process plumbing of the exec source. An owned file descriptor, the three pipes
// of a command, starting `/bin/sh -c COMMAND` in a process group of its own, and the running
// child, always reaped.
#pragma once

#include <sys/types.h>

#include <string>

#include "tokencast/llm/llm.hpp"

namespace tokencast::llm {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release();
  void reset();

 private:
  int fd_ = -1;
};

void set_nonblocking(int fd);

// The three pipes of a command: its stdin, stdout and stderr. Both ends are close-on-exec; the
// spawn dups the child's ends onto 0, 1 and 2.
struct Pipes {
  Fd in_read, in_write, out_read, out_write, err_read, err_write;

  bool open();  // false with errno set
  // After the spawn: closes the child's ends (so that EOF arrives when it exits) and makes ours
  // non-blocking (one thread polls them all).
  void keep_parent_ends();
};

// Starts `/bin/sh -c command` with the pipes' ends as its stdin, stdout and stderr, in a process
// group of its own (pgid = its pid), with no signal blocked and the stop signals at their
// defaults (the host blocks and ignores some). Returns 0 and sets `pid`, or posix_spawn's error.
int spawn_shell(const std::string& command, const Pipes& pipes, pid_t& pid);

// A running command: its pid (a process group leader), a pidfd when the kernel has them, and
// whether it has exited (it stays a zombie, keeping its pid and group id, until reap()).
class Child {
 public:
  explicit Child(pid_t pid);
  ~Child();  // kills the group and reaps, unless reaped already
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  int pidfd() const { return pidfd_.get(); }
  // True once the process has exited; does not reap it.
  bool exited();
  void signal_group(int signal) const;
  // Waits up to `limit` for the exit (returns early on exit).
  void wait_exit(Millis limit);
  // Reaps the process; returns its wait status.
  int reap();
  int status() const { return status_; }

 private:
  pid_t pid_;
  Fd pidfd_;
  bool exited_ = false;
  bool reaped_ = false;
  int status_ = 0;
};

}  // namespace tokencast::llm
