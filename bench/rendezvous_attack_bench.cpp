// rendezvous_attack_bench: well-behaved joins against a `tokencast rendezvous` under attack.
// Loopback only, bounded in count and time. Attackers come from other loopback addresses than
// the well-behaved clients (127.0.0.2.. versus 127.0.0.1), as they would from other hosts.
//
//   rendezvous_attack_bench [--holders N] [--tricklers N] [--room-openers N] [--joins N]
//                           [--new-hosts N] [--bin PATH]
//
// While the attack runs: `holders` connections upgrade to WebSocket and never JOIN (held until
// the handshake timeout, then reopened), `tricklers` HTTP connections send one header byte
// every 100 ms (slowloris, reopened when cut), `room-openers` threads JOIN a fresh room each
// as fast as they can from 250 addresses (a botnet that spends the server-wide room budget).
// Meanwhile, a host (127.0.0.1) holds its room, and `joins` well-behaved clients from that
// address join it, one after the other; and `new-hosts` hosts, each on an address of its own
// (127.0.2.x), open a room of their own. Reports their times (connect -> JOINED) and the
// server's peak resident memory; fails when any of them fails.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/bench_util.hpp"
#include "support/rendezvous_child.hpp"
#include "tokencast/signal/rendezvous_wire.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace rv = tokencast::rendezvous;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Config {
  size_t holders = 500;
  size_t tricklers = 200;
  size_t room_openers = 2;
  size_t joins = 200;
  size_t new_hosts = 20;
  std::string bin = TOKENCAST_BIN;
};

// A TCP socket from `source` (a loopback address) to the server, or -1.
int connect_from(const std::string& source, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, source.c_str(), &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{3, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

std::string attacker_address(size_t i) { return "127.0.1." + std::to_string(1 + i % 250); }

// A WebSocket over `fd` (owned), handshaken; null on failure.
std::unique_ptr<websocket::stream<tcp::socket>> upgrade(net::io_context& ioc, int fd) {
  auto ws = std::make_unique<websocket::stream<tcp::socket>>(ioc);
  beast::error_code ec;
  beast::get_lowest_layer(*ws).assign(tcp::v4(), fd, ec);
  if (!ec) ws->handshake("127.0.0.1", "/ws", ec);
  if (ec) return nullptr;
  ws->binary(true);
  return ws;
}

// One well-behaved join from `source`: connect, upgrade, JOIN, JOINED. Milliseconds, or -1 on
// failure.
double good_join(uint16_t port, const rv::RoomLocator& room, const std::string& source) {
  auto start = Clock::now();
  int fd = connect_from(source, port);
  if (fd < 0) return -1;
  net::io_context ioc;
  auto ws = upgrade(ioc, fd);
  if (!ws) return -1;
  beast::error_code ec;
  ws->write(net::buffer(rv::encode_join(room)), ec);
  beast::flat_buffer buf;
  if (!ec) ws->read(buf, ec);
  if (ec) return -1;
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  ws->close(websocket::close_code::normal, ec);
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : "0"; };
    if (a == "--holders")
      c.holders = std::stoul(next());
    else if (a == "--tricklers")
      c.tricklers = std::stoul(next());
    else if (a == "--room-openers")
      c.room_openers = std::stoul(next());
    else if (a == "--joins")
      c.joins = std::max<size_t>(1, std::stoul(next()));
    else if (a == "--new-hosts")
      c.new_hosts = std::stoul(next());
    else if (a == "--bin")
      c.bin = next();
    else {
      std::fprintf(stderr,
                   "usage: rendezvous_attack_bench [--holders N] [--tricklers N] "
                   "[--room-openers N] [--joins N] [--new-hosts N] [--bin PATH]\n");
      return 2;
    }
  }
  // The server under test with its default limits (the attack is what they are for).
  tokencast::bench::RendezvousChild server;
  if (!server.start(c.bin, {"--handshake-timeout", "2s"})) {
    std::fprintf(stderr, "cannot start the rendezvous\n");
    return 1;
  }
  // The session's host holds its room from before the attack, as a running host does.
  rv::RoomLocator room;
  room.fill(0x42);
  net::io_context host_ioc;
  int host_fd = connect_from("127.0.0.1", server.port());
  auto host = host_fd < 0 ? nullptr : upgrade(host_ioc, host_fd);
  beast::error_code host_ec;
  if (host) host->write(net::buffer(rv::encode_join(room)), host_ec);
  beast::flat_buffer host_buf;
  if (host && !host_ec) host->read(host_buf, host_ec);
  if (!host || host_ec) {
    std::fprintf(stderr, "the host could not open its room\n");
    return 1;
  }
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> rooms_opened{0};
  std::atomic<uint64_t> rooms_refused{0};
  std::vector<std::thread> attackers;

  // Holders and tricklers: one thread keeps them all open, reopening what the server cuts.
  attackers.emplace_back([&] {
    net::io_context ioc;
    std::vector<std::unique_ptr<websocket::stream<tcp::socket>>> held(c.holders);
    std::vector<int> trickling(c.tricklers, -1);
    while (!stop) {
      for (size_t i = 0; i < held.size() && !stop; ++i) {
        if (held[i] && beast::get_lowest_layer(*held[i]).is_open()) {
          pollfd p{beast::get_lowest_layer(*held[i]).native_handle(), POLLIN, 0};
          if (poll(&p, 1, 0) == 0) continue;  // still held
        }
        int fd = connect_from(attacker_address(i), server.port());
        held[i] = fd < 0 ? nullptr : upgrade(ioc, fd);
      }
      for (size_t i = 0; i < trickling.size() && !stop; ++i) {
        int& fd = trickling[i];
        if (fd >= 0 && ::send(fd, "a", 1, MSG_NOSIGNAL) == 1) continue;
        if (fd >= 0) ::close(fd);
        fd = connect_from(attacker_address(i + 7), server.port());
        std::string start = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ";
        if (fd >= 0) ::send(fd, start.data(), start.size(), MSG_NOSIGNAL);
      }
      std::this_thread::sleep_for(100ms);
    }
    for (int fd : trickling) {
      if (fd >= 0) ::close(fd);
    }
  });
  // Room openers: a fresh room per JOIN, as fast as the server lets them.
  for (size_t t = 0; t < c.room_openers; ++t) {
    attackers.emplace_back([&, t] {
      std::mt19937_64 random(t + 1);
      net::io_context ioc;
      for (size_t n = 0; !stop; ++n) {
        int fd = connect_from(attacker_address(t * 31 + n), server.port());
        if (fd < 0) continue;
        auto ws = upgrade(ioc, fd);
        if (!ws) continue;
        rv::RoomLocator room;
        for (auto& b : room) b = static_cast<uint8_t>(random());
        beast::error_code ec;
        ws->write(net::buffer(rv::encode_join(room)), ec);
        beast::flat_buffer buf;
        if (!ec) ws->read(buf, ec);
        (ec ? rooms_refused : rooms_opened)++;
        // Keep the room open for a while: leave every 100th connection idle (held).
        if (n % 100 != 0)
          ws->close(websocket::close_code::normal, ec);
        else
          (void)ws.release();
      }
    });
  }
  // Let the attack reach its steady state: the server-wide room budget spent (the openers'
  // first room refused), or 30 s without that (then budget_spent_meanwhile says 0).
  auto attack_start = Clock::now();
  while (rooms_refused == 0 && Clock::now() - attack_start < 30s) std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(1s);

  std::vector<double> join_ms;
  size_t failed = 0;
  auto started = Clock::now();
  for (size_t i = 0; i < c.joins; ++i) {
    double ms = good_join(server.port(), room, "127.0.0.1");
    if (ms < 0)
      ++failed;
    else
      join_ms.push_back(ms);
  }
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  // New hosts, each on an address of its own, open their rooms while the budget is spent.
  std::vector<double> new_host_ms;
  size_t new_hosts_failed = 0;
  uint64_t refused_before_new_hosts = rooms_refused;
  for (size_t i = 0; i < c.new_hosts; ++i) {
    rv::RoomLocator own;
    own.fill(static_cast<uint8_t>(i));
    own[0] = 0x77;
    double ms = good_join(server.port(), own, "127.0.2." + std::to_string(1 + i % 250));
    if (ms < 0)
      ++new_hosts_failed;
    else
      new_host_ms.push_back(ms);
  }
  // Whether the attack had the server-wide budget spent while the new hosts came.
  bool budget_spent = rooms_refused > refused_before_new_hosts;
  size_t peak = server.peak_rss_kib();
  stop = true;
  for (auto& t : attackers) t.join();

  tokencast::bench::JsonLine out;
  out.num("holders", static_cast<double>(c.holders))
      .num("tricklers", static_cast<double>(c.tricklers))
      .num("room_openers", static_cast<double>(c.room_openers))
      .num("rooms_opened", static_cast<double>(rooms_opened))
      .num("rooms_refused", static_cast<double>(rooms_refused))
      .num("joins_failed", static_cast<double>(failed))
      .num("seconds", seconds)
      .dist("join_ms", join_ms)
      .num("new_hosts", static_cast<double>(c.new_hosts))
      .num("new_hosts_failed", static_cast<double>(new_hosts_failed))
      .num("budget_spent_meanwhile", budget_spent ? 1 : 0)
      .dist("new_host_ms", new_host_ms)
      .num("server_peak_rss_kib", static_cast<double>(peak));
  std::printf("%s\n", out.text().c_str());
  return failed == 0 && new_hosts_failed == 0 ? 0 : 1;
}
