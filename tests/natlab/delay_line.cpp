// tests/natlab/delay_line.cpp - test tooling for the NAT lab, not product code.
//
// A user-space delay line between two TUN devices (this kernel has no netem): every packet read
// from one device is written to the other after DELAY_MS +- JITTER_MS (uniform), so packets
// overtake each other (reordering) whenever the jitter exceeds their spacing. Loss is not done
// here: the lab drops packets with nftables `numgen random`.
//
// usage: delay_line NETNS_A DEV_A NETNS_B DEV_B DELAY_MS JITTER_MS
//   NETNS_* are names under /run/netns; the devices must exist (ip tuntap add ... mode tun).
// Runs until SIGTERM/SIGINT. Build: g++ -std=c++20 -O2 -o delay_line delay_line.cpp
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <queue>
#include <random>
#include <string>
#include <vector>

namespace {

volatile sig_atomic_t stop = 0;

int open_tun_in(const std::string& netns, const std::string& dev) {
  const std::string path = "/run/netns/" + netns;
  int ns = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) {
    std::perror(path.c_str());
    std::exit(1);
  }
  close(ns);
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    std::perror("/dev/net/tun");
    std::exit(1);
  }
  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::strncpy(ifr.ifr_name, dev.c_str(), IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
    std::perror(("TUNSETIFF " + dev).c_str());
    std::exit(1);
  }
  return fd;
}

using Clock = std::chrono::steady_clock;

struct Packet {
  Clock::time_point due;
  uint64_t order;  // ties keep arrival order
  int out_fd;
  std::vector<unsigned char> bytes;
  bool operator>(const Packet& o) const { return due != o.due ? due > o.due : order > o.order; }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: delay_line NETNS_A DEV_A NETNS_B DEV_B DELAY_MS JITTER_MS\n");
    return 2;
  }
  const int delay_ms = std::atoi(argv[5]);
  const int jitter_ms = std::atoi(argv[6]);
  // Remember our own namespace, open both devices, go back: the process stays where it was
  // started (the lab starts it inside a lab namespace, so a sweep finds it).
  int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  const int fd_a = open_tun_in(argv[1], argv[2]);
  const int fd_b = open_tun_in(argv[3], argv[4]);
  if (self < 0 || setns(self, CLONE_NEWNET) != 0) {
    std::perror("setns back");
    return 1;
  }
  close(self);
  signal(SIGTERM, [](int) { stop = 1; });
  signal(SIGINT, [](int) { stop = 1; });

  std::mt19937_64 rng(std::random_device{}());
  std::uniform_int_distribution<int> jitter(-jitter_ms * 1000, jitter_ms * 1000);  // us
  std::priority_queue<Packet, std::vector<Packet>, std::greater<>> line;
  uint64_t order = 0, forwarded = 0;
  std::vector<unsigned char> buf(65536);
  pollfd fds[2] = {{fd_a, POLLIN, 0}, {fd_b, POLLIN, 0}};
  std::printf("delay line up: %d ms +- %d ms\n", delay_ms, jitter_ms);
  std::fflush(stdout);

  while (!stop) {
    int timeout = 100;
    if (!line.empty()) {
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(line.top().due - Clock::now());
      timeout = wait.count() < 0 ? 0 : static_cast<int>(wait.count()) + 1;
      if (timeout > 100) timeout = 100;
    }
    if (poll(fds, 2, timeout) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      for (;;) {
        ssize_t n = read(fds[i].fd, buf.data(), buf.size());
        if (n <= 0) break;
        auto delay = std::chrono::microseconds(delay_ms * 1000 + jitter(rng));
        if (delay.count() < 0) delay = std::chrono::microseconds(0);
        line.push(Packet{Clock::now() + delay, order++, i == 0 ? fd_b : fd_a,
                         std::vector<unsigned char>(buf.begin(), buf.begin() + n)});
      }
    }
    const auto now = Clock::now();
    while (!line.empty() && line.top().due <= now) {
      const Packet& p = line.top();
      if (write(p.out_fd, p.bytes.data(), p.bytes.size()) > 0) ++forwarded;
      line.pop();
    }
  }
  std::printf("delay line down: %llu packets forwarded\n", static_cast<unsigned long long>(forwarded));
  return 0;
}
