// rendezvous_bench: how many connections a `tokencast rendezvous` process holds, and how many
// envelopes per second it relays (per second of wall time and per second of its CPU time).
// Loopback only, bounded in count and time. Targets (docs/anchors): >= 10,000 connections,
// >= 50,000 relayed messages/s per core.
//
//   rendezvous_bench [--connections N] [--pairs P] [--size BYTES] [--window W]
//                    [--seconds S] [--server-threads T] [--bin PATH] [--instances 1,3]
//                    [--meet-pairs M]
//
// --instances runs the whole bench once per count: with more than one, a nats-server
// (/usr/sbin/nats-server) is started and the instances share rooms through it
// (`rendezvous --nats`); the two peers of every pair sit on different instances, so every
// envelope crosses NATS. Phase 0 measures the meet time of M pairs, one after the other: from
// the second peer's TCP connect until both know each other's id (JOINED or PEER_JOINED).
//
// Phase 1 opens N WebSocket connections and joins them in pairs (N/2 rooms), then reports the
// server's resident memory. Phase 2 keeps them all open and, on P of the pairs, keeps W
// envelopes in flight in each direction: every envelope received is answered by one sent
// back, so the load clocks itself. The relay rate is measured over S seconds.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
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
using boost::system::error_code;

struct Config {
  size_t connections = 10000;
  size_t pairs = 64;
  size_t size = 256;
  size_t window = 16;
  double seconds = 5;
  unsigned server_threads = 1;
  std::string bin = TOKENCAST_BIN;
  std::vector<unsigned> instances{1};
  size_t meet_pairs = 50;
};

struct Bench;

// One benchmark connection.
struct Conn : std::enable_shared_from_this<Conn> {
  Conn(net::io_context& ioc, Bench& b, size_t index) : ws(ioc), bench(b), index(index) {}

  websocket::stream<tcp::socket> ws;
  Bench& bench;
  size_t index;
  beast::flat_buffer buffer;
  rv::PeerId self = 0;
  rv::PeerId partner = 0;
  bool joined = false;
  bool relaying = false;
  bool writing = false;
  size_t owed = 0;  // envelopes to send as soon as the current write completes
  std::vector<uint8_t> join_bytes;
  const std::vector<uint8_t>* send_bytes = nullptr;
  std::vector<uint8_t> own_send;

  void start(const tcp::endpoint& ep);
  void on_message();
  void read();
  void kick();
};

struct Bench {
  Config cfg;
  net::io_context ioc{1};
  std::vector<tcp::endpoint> endpoints;  // one per instance; connection i uses i % size
  std::vector<std::shared_ptr<Conn>> conns;
  size_t next_to_open = 0;
  size_t in_progress = 0;
  size_t joined = 0;
  size_t failed = 0;
  uint64_t received = 0;
  bool counting = false;
  std::vector<uint8_t> payload;

  void open_more() {
    constexpr size_t kConcurrentOpens = 200;
    while (in_progress < kConcurrentOpens && next_to_open < conns.size()) {
      ++in_progress;
      auto& conn = conns[next_to_open++];
      conn->start(endpoints[conn->index % endpoints.size()]);
    }
  }
  void on_joined() {
    ++joined;
    --in_progress;
    open_more();
  }
  void on_failed() {
    ++failed;
    --in_progress;
    open_more();
  }
};

void Conn::start(const tcp::endpoint& ep) {
  auto self_ptr = shared_from_this();
  beast::get_lowest_layer(ws).async_connect(ep, [this, self_ptr](error_code ec) {
    if (ec) return bench.on_failed();
    error_code ignored;
    beast::get_lowest_layer(ws).set_option(tcp::no_delay(true), ignored);
    ws.binary(true);
    ws.auto_fragment(false);
    ws.async_handshake("127.0.0.1", "/ws", [this, self_ptr](error_code e) {
      if (e) return bench.on_failed();
      rv::RoomLocator room{};
      uint64_t r = index / 2 + 1;
      std::memcpy(room.data(), &r, sizeof r);
      join_bytes = rv::encode_join(room);
      ws.async_write(net::buffer(join_bytes), [this, self_ptr](error_code e2, size_t) {
        if (e2) return bench.on_failed();
        read();
      });
    });
  });
}

void Conn::read() {
  ws.async_read(buffer, [this, self_ptr = shared_from_this()](error_code ec, size_t) {
    if (ec) {
      if (!joined) bench.on_failed();
      return;
    }
    on_message();
    buffer.consume(buffer.size());
    read();
  });
}

void Conn::on_message() {
  auto d = buffer.cdata();
  auto msg = rv::decode_server_message({static_cast<const uint8_t*>(d.data()), d.size()});
  if (!msg) return;
  if (auto* j = std::get_if<rv::Joined>(&*msg)) {
    self = j->self;
    if (!j->peers.empty()) partner = j->peers[0];
    joined = true;
    bench.on_joined();
  } else if (auto* p = std::get_if<rv::PeerJoined>(&*msg)) {
    partner = p->peer;
  } else if (std::holds_alternative<rv::Envelope>(*msg)) {
    if (bench.counting) ++bench.received;
    if (relaying) {
      ++owed;
      kick();
    }
  }
}

void Conn::kick() {
  if (writing || owed == 0) return;
  --owed;
  writing = true;
  ws.async_write(net::buffer(own_send),
                 [this, self_ptr = shared_from_this()](error_code ec, size_t) {
                   writing = false;
                   if (!ec) kick();
                 });
}

bool parse_args(int argc, char** argv, Config& c) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--connections")
      c.connections = std::stoul(next());
    else if (a == "--pairs")
      c.pairs = std::stoul(next());
    else if (a == "--size")
      c.size = std::stoul(next());
    else if (a == "--window")
      c.window = std::stoul(next());
    else if (a == "--seconds")
      c.seconds = std::stod(next());
    else if (a == "--server-threads")
      c.server_threads = static_cast<unsigned>(std::stoul(next()));
    else if (a == "--bin")
      c.bin = next();
    else if (a == "--meet-pairs")
      c.meet_pairs = std::stoul(next());
    else if (a == "--instances") {
      c.instances.clear();
      std::stringstream list(next());
      for (std::string n; std::getline(list, n, ',');) {
        c.instances.push_back(static_cast<unsigned>(std::clamp(std::stoul(n), 1ul, 8ul)));
      }
      if (c.instances.empty()) return false;
    } else {
      std::fprintf(stderr,
                   "usage: rendezvous_bench [--connections N] [--pairs P] [--size BYTES] "
                   "[--window W] [--seconds S] [--server-threads T] [--bin PATH] "
                   "[--instances 1,3] [--meet-pairs M]\n");
      return false;
    }
  }
  c.connections = std::max<size_t>(2, c.connections & ~size_t{1});
  c.pairs = std::min(c.pairs, c.connections / 2);
  c.size = std::clamp<size_t>(c.size, 1, rv::kMaxEnvelopeSize);
  c.seconds = std::clamp(c.seconds, 0.5, 60.0);
  return true;
}

// Runs the loop until `done` or the deadline; false on timeout. `done` is checked after every
// handler, so a measured moment is not rounded up to a polling period.
template <class Pred>
bool run_until(net::io_context& ioc, Pred done, std::chrono::duration<double> limit) {
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(limit);
  while (!done()) {
    auto now = Clock::now();
    if (now >= deadline) return false;
    if (ioc.stopped()) ioc.restart();  // it ran out of work; more may be posted later
    if (ioc.run_one_for(std::min<Clock::duration>(deadline - now, std::chrono::milliseconds(20))) ==
        0) {
      if (ioc.stopped()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return true;
}

// A nats-server child on a free loopback port, for --instances > 1.
class NatsChild {
 public:
  bool start() {
    port_ = free_port();
    std::vector<std::string> args{"/usr/sbin/nats-server", "-a", "127.0.0.1", "-p",
                                  std::to_string(port_)};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return false;
    for (int i = 0; i < 500; ++i) {  // until it accepts connections (at most 10 s)
      net::io_context ioc;
      tcp::socket sock(ioc);
      error_code ec;
      sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ec);
      if (!ec) return true;
      usleep(20'000);
    }
    return false;
  }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  ~NatsChild() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }

 private:
  static uint16_t free_port() {
    net::io_context ioc;
    tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    return acceptor.local_endpoint().port();
  }
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

// Phase 0: pairs meeting one after the other; the milliseconds each took.
std::vector<double> measure_meets(Bench& b, size_t pairs) {
  std::vector<double> ms;
  std::vector<std::shared_ptr<Conn>> held;
  for (size_t k = 0; k < pairs; ++k) {
    // Rooms far above phase 1's, each pair its own; the second peer on the next instance.
    const size_t base = 2 * (b.cfg.connections + 16 + k);
    auto first = std::make_shared<Conn>(b.ioc, b, base);
    auto second = std::make_shared<Conn>(b.ioc, b, base + 1);
    b.in_progress += 2;  // start() reports to the open counters; keep them balanced
    first->start(b.endpoints[0]);
    if (!run_until(
            b.ioc, [&] { return first->joined; }, std::chrono::seconds(10)))
      break;
    auto t0 = Clock::now();
    second->start(b.endpoints[1 % b.endpoints.size()]);
    if (!run_until(
            b.ioc, [&] { return second->partner != 0 && first->partner != 0; },
            std::chrono::seconds(10))) {
      break;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    held.push_back(first);
    held.push_back(second);
  }
  for (auto& conn : held) {
    error_code ignored;
    beast::get_lowest_layer(conn->ws).close(ignored);
  }
  run_until(
      b.ioc, [] { return false; }, std::chrono::milliseconds(100));
  b.joined = b.failed = b.in_progress = 0;
  return ms;
}

int run_config(const Config& c, unsigned instances) {
  Bench b;
  b.cfg = c;
  NatsChild nats;
  std::vector<std::string> flags{"--threads",
                                 std::to_string(c.server_threads),
                                 "--max-connections",
                                 std::to_string(c.connections + 256),
                                 "--max-per-ip",
                                 "0",
                                 "--max-rooms",
                                 std::to_string(c.connections + c.meet_pairs + 64),
                                 "--rate",
                                 "1000000",
                                 "--burst",
                                 "1000000",
                                 "--handshake-timeout",
                                 "120s",
                                 "--idle-timeout",
                                 "600s"};
  if (instances > 1) {
    if (!nats.start()) {
      std::fprintf(stderr, "rendezvous_bench: could not start /usr/sbin/nats-server\n");
      return 1;
    }
    flags.insert(flags.end(), {"--nats", nats.url()});
  }
  std::vector<std::unique_ptr<tokencast::bench::RendezvousChild>> servers;
  for (unsigned i = 0; i < instances; ++i) {
    servers.push_back(std::make_unique<tokencast::bench::RendezvousChild>());
    if (!servers.back()->start(c.bin, flags)) {
      std::fprintf(stderr, "rendezvous_bench: could not start %s\n", c.bin.c_str());
      return 1;
    }
    b.endpoints.emplace_back(net::ip::make_address("127.0.0.1"), servers.back()->port());
  }
  auto total_rss = [&] {
    uint64_t kib = 0;
    for (auto& s : servers) kib += s->rss_kib();
    return kib * 1024;
  };
  auto total_cpu = [&] {
    double sec = 0;
    for (auto& s : servers) sec += s->cpu_seconds();
    return sec;
  };
  std::printf("== %u instance(s)%s\n", instances,
              instances > 1 ? " sharing rooms through NATS" : "");

  // Phase 0: meet time.
  auto meets = measure_meets(b, c.meet_pairs);
  std::printf(
      "meet: %zu pairs, p50 %.2f ms, p99 %.2f ms (second peer's connect -> both know "
      "each other)\n",
      meets.size(), tokencast::bench::percentile(meets, 50),
      tokencast::bench::percentile(meets, 99));
  uint64_t rss_before = total_rss();

  // Phase 1: hold connections.
  for (size_t i = 0; i < c.connections; ++i) {
    b.conns.push_back(std::make_shared<Conn>(b.ioc, b, i));
  }
  auto t0 = Clock::now();
  b.open_more();
  bool all = run_until(
      b.ioc, [&] { return b.joined + b.failed == c.connections; }, std::chrono::seconds(60));
  double open_s = std::chrono::duration<double>(Clock::now() - t0).count();
  // Let the PEER_JOINED notices land (across instances they follow JOINED).
  run_until(
      b.ioc,
      [&] {
        for (auto& conn : b.conns) {
          if (conn->partner == 0) return false;
        }
        return true;
      },
      std::chrono::seconds(30));
  uint64_t rss_after = total_rss();
  std::printf("server: %s rendezvous x %u, %u thread(s) each, loopback\n", c.bin.c_str(), instances,
              c.server_threads);
  std::printf(
      "connections held: %zu of %zu joined (%zu failed%s) in %.2f s; servers' RSS %.1f MiB "
      "(%.1f KiB per connection)\n",
      b.joined, c.connections, b.failed, all ? "" : ", timed out", open_s,
      static_cast<double>(rss_after) / (1 << 20),
      b.joined
          ? static_cast<double>(rss_after - rss_before) / 1024.0 / static_cast<double>(b.joined)
          : 0.0);
  if (b.joined < c.connections) return 1;

  // Phase 2: relay on `pairs` pairs, every other connection still held open.
  b.payload.assign(c.size, 0x5a);
  size_t active = 0;
  for (size_t p = 0; p < c.pairs; ++p) {
    for (size_t side = 0; side < 2; ++side) {
      auto& conn = b.conns[2 * p + side];
      if (conn->partner == 0) continue;
      conn->own_send = *rv::encode_send(conn->partner, b.payload);
      conn->relaying = true;
      conn->owed = c.window;
      ++active;
    }
  }
  for (auto& conn : b.conns) {
    if (conn->relaying) conn->kick();
  }
  run_until(
      b.ioc, [] { return false; }, std::chrono::milliseconds(500));  // warm up
  b.counting = true;
  double cpu0 = total_cpu();
  auto m0 = Clock::now();
  run_until(
      b.ioc, [] { return false; }, std::chrono::duration<double>(c.seconds));
  double wall = std::chrono::duration<double>(Clock::now() - m0).count();
  double cpu = total_cpu() - cpu0;
  b.counting = false;
  double rate = static_cast<double>(b.received) / wall;
  std::printf(
      "relay: %zu pairs (%zu senders), %zu-byte envelopes, window %zu: %llu envelopes "
      "in %.2f s = %.0f/s\n",
      c.pairs, active, c.size, c.window, static_cast<unsigned long long>(b.received), wall, rate);
  std::printf(
      "servers' CPU: %.2f s in %.2f s (%.0f%% of a core) = %.0f envelopes per server "
      "CPU-second (nats-server's own CPU not counted)\n",
      cpu, wall, 100 * cpu / wall, cpu > 0 ? static_cast<double>(b.received) / cpu : 0.0);
  tokencast::bench::JsonLine result;
  result.num("instances", instances)
      .num("meet_p50_ms", tokencast::bench::percentile(meets, 50))
      .num("meet_p99_ms", tokencast::bench::percentile(meets, 99))
      .num("connections", static_cast<double>(b.joined))
      .num("connect_seconds", open_s)
      .num("rss_kib_per_connection",
           static_cast<double>(rss_after - rss_before) / 1024.0 / static_cast<double>(b.joined))
      .num("envelope_bytes", static_cast<double>(c.size))
      .num("relay_per_s", rate)
      .num("server_cpu_percent", 100 * cpu / wall)
      .num("relay_per_cpu_s", cpu > 0 ? static_cast<double>(b.received) / cpu : 0.0);
  result.print_result();

  for (auto& conn : b.conns) conn->relaying = false;
  for (auto& s : servers) s->stop();
  b.conns.clear();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  if (!parse_args(argc, argv, c)) return 2;
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < c.connections + c.meet_pairs * 2 + 64) {
    std::fprintf(stderr, "rendezvous_bench: open-file limit %llu is below %zu connections\n",
                 static_cast<unsigned long long>(lim.rlim_cur), c.connections);
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  for (unsigned instances : c.instances) {
    if (int rc = run_config(c, instances); rc != 0) return rc;
  }
  return 0;
}
