// Join time: an invite link in hand -> data channel open -> first event (the welcome), for N
// native joins in a row through a real rendezvous on loopback. Everything the product does
// runs: WebSocket rendezvous, host beacon, sealed offer, signed answer, trickled candidates,
// ICE, DTLS, SCTP, hello/welcome. The host and the joiners share this process (and its 2 cores).
//
//   join_bench [--joins N] [--rendezvous ws://HOST:PORT/ws]
//
// Without --rendezvous an in-process rendezvous server is started on 127.0.0.1.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/bench_util.hpp"
#include "tokencast/client/join_client.hpp"
#include "tokencast/host/host.hpp"
#include "tokencast/signal/rendezvous.hpp"

namespace {

using Clock = std::chrono::steady_clock;

using tokencast::bench::percentile;

void report(const char* what, const std::vector<double>& v) {
  size_t over =
      static_cast<size_t>(std::count_if(v.begin(), v.end(), [](double x) { return x > 1000.0; }));
  std::printf("%-28s n=%zu p50=%.1f p90=%.1f p99=%.1f max=%.1f ms, over 1 s: %zu\n", what, v.size(),
              percentile(v, 50), percentile(v, 90), percentile(v, 99),
              v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()), over);
}

}  // namespace

int main(int argc, char** argv) {
  int joins = 200;
  std::string rendezvous_url;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--joins") == 0 && i + 1 < argc) {
      joins = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--rendezvous") == 0 && i + 1 < argc) {
      rendezvous_url = argv[++i];
    } else {
      std::fprintf(stderr, "usage: join_bench [--joins N] [--rendezvous ws://HOST:PORT/ws]\n");
      return 2;
    }
  }
  std::unique_ptr<tokencast::rendezvous::Server> server;
  if (rendezvous_url.empty()) {
    tokencast::rendezvous::ServerOptions o;
    o.listen_host = "127.0.0.1";
    o.listen_port = 0;
    server = std::make_unique<tokencast::rendezvous::Server>(o);
    if (!server->start()) {
      std::fprintf(stderr, "cannot start the rendezvous\n");
      return 1;
    }
    rendezvous_url = "ws://127.0.0.1:" + std::to_string(server->port()) + "/ws";
  }
  auto dir = std::filesystem::temp_directory_path() /
             ("tokencast-join-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  tokencast::HostOptions options;
  options.db_path = (dir / "bench.db").string();
  options.rendezvous_url = rendezvous_url;
  options.public_url = "http://" + rendezvous_url.substr(5, rendezvous_url.rfind('/') - 5);
  auto host = tokencast::HostRuntime::start(std::move(options));
  if (!host) {
    std::fprintf(stderr, "cannot start the host: %s\n", host.error().c_str());
    return 1;
  }
  while ((*host)->stats().rooms_joined < 2)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));

  std::vector<double> open_ms;
  std::vector<double> first_event_ms;
  int failed = 0;
  for (int i = 0; i < joins; ++i) {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Clock::time_point> opened;
    std::optional<Clock::time_point> first_event;
    bool ended = false;
    tokencast::JoinOptions o;
    o.link = (*host)->links().viewer;
    o.name = "bench";
    o.reconnect = false;
    tokencast::JoinCallbacks cb;
    cb.on_status = [&](const std::string& status) {
      std::lock_guard lock(mu);
      if (status == "connected" && !opened) opened = Clock::now();
    };
    cb.on_event = [&](const tokencast::ClientEvent&) {
      std::lock_guard lock(mu);
      if (!first_event) first_event = Clock::now();
      cv.notify_all();
    };
    cb.on_ended = [&](tokencast::JoinFailure, const std::string&) {
      std::lock_guard lock(mu);
      ended = true;
      cv.notify_all();
    };
    Clock::time_point start = Clock::now();
    auto client = tokencast::JoinClient::start(o, cb);
    if (!client) return 1;
    {
      std::unique_lock lock(mu);
      cv.wait_for(lock, std::chrono::seconds(10), [&] { return first_event || ended; });
      if (first_event && opened) {
        open_ms.push_back(tokencast::bench::ms_between(start, *opened));
        first_event_ms.push_back(tokencast::bench::ms_between(start, *first_event));
      } else {
        ++failed;
      }
    }
    client->reset();
  }
  std::printf("join_bench: %d joins through %s, %d failed\n", joins, rendezvous_url.c_str(),
              failed);
  report("link -> data channel open", open_ms);
  report("link -> first event", first_event_ms);
  tokencast::bench::JsonLine result;
  result.num("joins", joins)
      .num("failed", failed)
      .dist("open_ms", open_ms)
      .dist("first_event_ms", first_event_ms);
  result.print_result();
  host->reset();
  std::filesystem::remove_all(dir);
  return failed == 0 ? 0 : 1;
}
