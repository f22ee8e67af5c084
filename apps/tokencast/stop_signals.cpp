#include "stop_signals.hpp"

#include <pthread.h>
#include <signal.h>

#include <thread>

namespace tokencast::app {
namespace {

sigset_t stop_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

void block_stop_signals() {
  sigset_t set = stop_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A peer or a pipe that goes away must not kill the process: writes report EPIPE instead.
  signal(SIGPIPE, SIG_IGN);
}

int wait_stop_signal() {
  sigset_t set = stop_set();
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

void on_stop_signal(std::function<void()> on_stop) {
  std::thread([on_stop = std::move(on_stop)] {
    wait_stop_signal();
    on_stop();
  }).detach();
}

}  // namespace tokencast::app
