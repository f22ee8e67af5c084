// A real nats-server (Debian's /usr/sbin/nats-server) as a child process on loopback, for the
// tests of rendezvous clusters; and small helpers those tests share.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace tokencast::test {

// A port nothing listens on right now (the kernel's pick; the tests use it at once).
inline uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

inline bool accepts_connections(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// Waits for `done` (a state), polling; false after a generous deadline.
template <class F>
bool eventually(F done, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

// One nats-server child on 127.0.0.1:port, optionally a node of a cluster (routes to the others).
class NatsServer {
 public:
  NatsServer(uint16_t port, uint16_t cluster_port = 0, std::vector<uint16_t> routes = {},
             std::vector<std::string> extra = {})
      : port_(port),
        cluster_port_(cluster_port),
        routes_(std::move(routes)),
        extra_(std::move(extra)) {
    start();
  }
  ~NatsServer() { kill_hard(); }
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  void start() {
    std::vector<std::string> args{"/usr/sbin/nats-server", "-a", "127.0.0.1", "-p",
                                  std::to_string(port_)};
    if (cluster_port_ != 0) {
      args.insert(args.end(), {"--cluster_name", "tokencast-test", "--cluster",
                               "nats://127.0.0.1:" + std::to_string(cluster_port_)});
      std::string routes;
      for (uint16_t r : routes_) {
        if (!routes.empty()) routes += ",";
        routes += "nats://127.0.0.1:" + std::to_string(r);
      }
      if (!routes.empty()) args.insert(args.end(), {"--routes", routes});
    }
    args.insert(args.end(), extra_.begin(), extra_.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    ready_ = pid_ > 0 && eventually([&] { return accepts_connections(port_); });
  }
  void kill_hard() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  bool ready() const { return ready_; }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

 private:
  uint16_t port_;
  uint16_t cluster_port_;
  std::vector<uint16_t> routes_;
  std::vector<std::string> extra_;
  pid_t pid_ = -1;
  bool ready_ = false;
};

}  // namespace tokencast::test
