// A network namespace joined to this one by a veth pair whose host -> namespace direction is
// shaped by a token bucket (`tc qdisc ... tbf rate R`), for benches that run one peer behind a
// slow link (fanout_bench --tbf-peer-kbit). Needs root (CAP_NET_ADMIN) and iproute2.
//
//   host namespace: veth "tcb<pid>h", 10.213.N.1/24, egress: tbf rate R
//   namespace "tcbench<pid>": veth "tcb<pid>p", 10.213.N.2/24, lo up, default route via .1
//
// The namespace (and with it both ends of the pair) is deleted by the destructor, and by a
// SIGINT/SIGTERM/SIGHUP handler so that an interrupted bench leaves nothing behind (the peers'
// processes die with the bench: they set PR_SET_PDEATHSIG). Commands run
// with posix_spawnp and an argument vector, no shell.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "child_process.hpp"

extern char** environ;

namespace tokencast::bench {

namespace netns_detail {

// The namespace's name and its bind mount (/run/netns/NAME), which the signal handler removes:
// fixed storage, written before the handler is set.
inline char g_namespace[32] = {0};
inline char g_mount[64] = {0};

// What `ip netns del` does, with async-signal-safe calls only: detach the namespace's bind mount
// and remove it. The namespace (and the veth pair in it) goes when its last process, the shaped
// peer (killed by PR_SET_PDEATHSIG when this process dies), is gone.
inline void on_signal(int sig) {
  if (g_mount[0] != 0) {
    umount2(g_mount, MNT_DETACH);
    unlink(g_mount);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

}  // namespace netns_detail

// Runs argv (argv[0] looked up in PATH), quietly unless `show_errors`; its exit status, or -1.
inline int run_command(const std::vector<std::string>& argv, bool show_errors = true) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!show_errors) posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class ShapedNamespace {
 public:
  ShapedNamespace() = default;
  ShapedNamespace(const ShapedNamespace&) = delete;
  ShapedNamespace& operator=(const ShapedNamespace&) = delete;
  ~ShapedNamespace() { remove(); }

  // Creates the namespace and the shaped pair; false (after saying why on stderr, and with
  // whatever was made removed) when any step fails, e.g. when not root.
  bool create(int kbit) {
    const auto pid = static_cast<unsigned long>(::getpid());
    name_ = "tcbench" + std::to_string(pid);
    host_if_ = "tcb" + std::to_string(pid) + "h";
    peer_if_ = "tcb" + std::to_string(pid) + "p";
    const std::string net = "10.213." + std::to_string(pid % 250 + 1) + ".";
    host_address_ = net + "1";
    peer_address_ = net + "2";
    std::snprintf(netns_detail::g_namespace, sizeof netns_detail::g_namespace, "%s", name_.c_str());
    std::snprintf(netns_detail::g_mount, sizeof netns_detail::g_mount, "/run/netns/%s",
                  name_.c_str());
    struct sigaction action {};
    action.sa_handler = netns_detail::on_signal;
    sigemptyset(&action.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &action, nullptr);
    // Leftovers of an earlier run with the same pid (a SIGKILL): gone first.
    run_command({"ip", "netns", "del", name_}, false);
    run_command({"ip", "link", "del", host_if_}, false);
    created_ = true;
    // The bucket: `burst` must hold one full-size packet (else nothing passes); `latency` bounds
    // the queue in front of it (packets that would wait longer are dropped), as a slow access
    // link's buffer does: 500 ms at 64 kbit/s is 4 KB.
    const std::string rate = std::to_string(kbit) + "kbit";
    const std::vector<std::vector<std::string>> steps{
        {"ip", "netns", "add", name_},
        {"ip", "link", "add", host_if_, "type", "veth", "peer", "name", peer_if_},
        {"ip", "link", "set", peer_if_, "netns", name_},
        {"ip", "addr", "add", host_address_ + "/24", "dev", host_if_},
        {"ip", "link", "set", host_if_, "up"},
        {"ip", "-n", name_, "addr", "add", peer_address_ + "/24", "dev", peer_if_},
        {"ip", "-n", name_, "link", "set", peer_if_, "up"},
        {"ip", "-n", name_, "link", "set", "lo", "up"},
        {"ip", "-n", name_, "route", "add", "default", "via", host_address_},
        {"tc", "qdisc", "add", "dev", host_if_, "root", "tbf", "rate", rate, "burst", "1600",
         "latency", "500ms"},
    };
    for (const auto& step : steps) {
      if (run_command(step) != 0) {
        std::string text;
        for (const auto& a : step) text += a + " ";
        std::fprintf(stderr, "cannot set up the shaped namespace (root needed): %s failed\n",
                     text.c_str());
        remove();
        return false;
      }
    }
    return true;
  }

  void remove() {
    if (!created_) return;
    run_command({"ip", "netns", "del", name_}, false);  // deletes both ends of the pair
    run_command({"ip", "link", "del", host_if_}, false);
    netns_detail::g_namespace[0] = 0;
    netns_detail::g_mount[0] = 0;
    created_ = false;
  }

  // The tbf's counters on the host's end: "Sent B bytes P pkt (dropped D, overlimits O ...)",
  // as numbers; nullopt when tc's output is not understood.
  struct Counters {
    unsigned long long bytes = 0, packets = 0, dropped = 0, overlimits = 0;
  };
  std::optional<Counters> counters() const {
    ChildProcess tc;
    if (!tc.start({"/usr/sbin/tc", "-s", "qdisc", "show", "dev", host_if_})) return std::nullopt;
    tc.close_stdin();
    for (;;) {
      auto line = tc.read_line(std::chrono::seconds(10));
      if (!line) return std::nullopt;
      Counters c;
      if (std::sscanf(line->c_str(), " Sent %llu bytes %llu pkt (dropped %llu, overlimits %llu",
                      &c.bytes, &c.packets, &c.dropped, &c.overlimits) == 4) {
        tc.wait();
        return c;
      }
    }
  }

  const std::string& name() const { return name_; }
  const std::string& host_address() const { return host_address_; }
  const std::string& peer_address() const { return peer_address_; }

 private:
  bool created_ = false;
  std::string name_, host_if_, peer_if_, host_address_, peer_address_;
};

}  // namespace tokencast::bench
