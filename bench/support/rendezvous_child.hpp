// `tokencast rendezvous` as a child process, for the benches that load it from outside: started
// with the flags a bench picks, its port read from the `listening on HOST:PORT` line, and its
// memory and CPU read from /proc.
#pragma once

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace tokencast::bench {

class RendezvousChild {
 public:
  // Starts `bin rendezvous --listen 127.0.0.1:0 FLAGS...`; false when it does not say where it
  // listens within 10 s.
  bool start(const std::string& bin, const std::vector<std::string>& flags) {
    int out[2];
    if (pipe(out) != 0) return false;
    std::vector<std::string> args{bin, "rendezvous", "--listen", "127.0.0.1:0"};
    args.insert(args.end(), flags.begin(), flags.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    if (rc != 0) {
      pid_ = -1;
      close(out[0]);
      return false;
    }
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{out[0], POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char ch;
      if (read(out[0], &ch, 1) != 1 || ch == '\n') break;
      line.push_back(ch);
    }
    close(out[0]);
    auto colon = line.rfind(':');
    if (colon == std::string::npos || colon + 1 >= line.size()) return false;
    unsigned long value = 0;
    for (char c : line.substr(colon + 1)) {
      if (c < '0' || c > '9' || value > 65535) return false;
      value = value * 10 + static_cast<unsigned long>(c - '0');
    }
    port_ = value <= 65535 ? static_cast<uint16_t>(value) : 0;
    return port_ != 0;
  }

  uint16_t port() const { return port_; }

  // Resident memory now (VmRSS) and at its peak (VmHWM), KiB.
  uint64_t rss_kib() const { return status_kib("VmRSS:"); }
  uint64_t peak_rss_kib() const { return status_kib("VmHWM:"); }

  // User + system CPU seconds used so far.
  double cpu_seconds() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close_paren = text.rfind(')');
    if (close_paren == std::string::npos) return 0;
    std::istringstream fields(text.substr(close_paren + 2));
    std::string f;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> f; ++i) {
      if (i == 14) utime = std::stoull(f);
      if (i == 15) stime = std::stoull(f);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }

  // SIGTERM, then SIGKILL if it has not exited within 5 s. Idempotent.
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 500 && waitpid(pid_, &status, WNOHANG) == 0; ++i) usleep(10'000);
    if (waitpid(pid_, &status, WNOHANG) == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }

  RendezvousChild() = default;
  RendezvousChild(const RendezvousChild&) = delete;
  RendezvousChild& operator=(const RendezvousChild&) = delete;
  ~RendezvousChild() { stop(); }

 private:
  uint64_t status_kib(const std::string& wanted) const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    std::string key;
    while (in >> key) {
      if (key == wanted) {
        uint64_t kib = 0;
        in >> kib;
        return kib;
      }
      in.ignore(1 << 20, '\n');
    }
    return 0;
  }

  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace tokencast::bench
