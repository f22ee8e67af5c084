// Helpers for the rendezvous tests: a real `tokencast rendezvous` child process, a recording
// client, a raw WebSocket client (to send what the real client never would), raw HTTP.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tokencast/signal/rendezvous_client.hpp"
#include "tokencast/signal/rendezvous_wire.hpp"

extern char** environ;

namespace tokencast::test {

namespace rv = tokencast::rendezvous;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

// A `tokencast rendezvous --listen 127.0.0.1:0 ...` child; reads the port it prints.
class ServerProcess {
 public:
  explicit ServerProcess(std::vector<std::string> extra = {}) {
    int out[2];
    if (pipe(out) != 0) return;
    std::vector<std::string> argv_s{TOKENCAST_BIN, "rendezvous", "--listen", "127.0.0.1:0"};
    argv_s.insert(argv_s.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    out_fd_ = out[0];
    if (pid_ > 0) read_port();
  }
  ~ServerProcess() {
    stop();
    if (out_fd_ >= 0) close(out_fd_);
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  uint16_t port() const { return port_; }
  bool ok() const { return port_ != 0; }
  std::string ws_url() const { return "ws://127.0.0.1:" + std::to_string(port_) + "/ws"; }

  // SIGKILL: the process dies without closing anything (a machine failing).
  void kill_hard() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  // SIGTERM, then waits up to `grace`; returns the exit status (-1 if it had to be killed).
  int stop(std::chrono::milliseconds grace = 5000ms) {
    if (pid_ <= 0) return exit_status_;
    kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + grace;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return exit_status_;
      }
      std::this_thread::sleep_for(5ms);
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
    exit_status_ = -1;
    return exit_status_;
  }

 private:
  void read_port() {
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char c;
      if (read(out_fd_, &c, 1) != 1) return;
      if (c == '\n') break;
      line.push_back(c);
    }
    auto colon = line.rfind(':');
    if (line.rfind("listening on ", 0) != 0 || colon == std::string::npos) return;
    port_ = static_cast<uint16_t>(std::stoi(line.substr(colon + 1)));
  }
  pid_t pid_ = -1;
  int out_fd_ = -1;
  uint16_t port_ = 0;
  int exit_status_ = -1;
};

inline rv::RoomLocator room(uint8_t fill) {
  rv::RoomLocator r;
  r.fill(fill);
  return r;
}

inline std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

// A Client whose callbacks are recorded as events, for a test to wait on.
struct Event {
  enum Kind { kJoined, kPeerJoined, kPeerLeft, kEnvelope, kError, kClosed, kIceServers } kind;
  rv::PeerId id = 0;
  std::vector<rv::PeerId> peers;
  std::vector<uint8_t> payload;
  rv::ErrorCode code{};
  rv::CloseInfo close;
  std::vector<rv::IceServerEntry> ice;
};

class TestPeer {
 public:
  TestPeer(const std::string& url, const rv::RoomLocator& locator, rv::ClientOptions base = {}) {
    base.url = url;
    base.room = locator;
    rv::ClientCallbacks cb;
    cb.on_joined = [this](rv::PeerId self, std::vector<rv::PeerId> peers) {
      push({Event::kJoined, self, std::move(peers)});
    };
    cb.on_peer_joined = [this](rv::PeerId id) { push({Event::kPeerJoined, id}); };
    cb.on_peer_left = [this](rv::PeerId id) { push({Event::kPeerLeft, id}); };
    cb.on_envelope = [this](rv::PeerId from, std::span<const uint8_t> p) {
      push({Event::kEnvelope, from, {}, {p.begin(), p.end()}});
    };
    cb.on_error = [this](rv::ErrorCode code, rv::PeerId to) {
      Event e{Event::kError, to};
      e.code = code;
      push(std::move(e));
    };
    cb.on_ice_servers = [this](std::vector<rv::IceServerEntry> servers) {
      Event e{Event::kIceServers};
      e.ice = std::move(servers);
      push(std::move(e));
    };
    cb.on_closed = [this](const rv::CloseInfo& info) {
      Event e{Event::kClosed};
      e.close = info;
      push(std::move(e));
    };
    client = std::make_unique<rv::Client>(std::move(base), std::move(cb));
  }

  // The client goes first: its thread may still be recording events until it is joined.
  ~TestPeer() { client.reset(); }
  TestPeer(const TestPeer&) = delete;
  TestPeer& operator=(const TestPeer&) = delete;

  // The next event, or nullopt after `timeout`.
  std::optional<Event> next(std::chrono::milliseconds timeout = 5000ms) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return !events_.empty(); })) return std::nullopt;
    Event e = std::move(events_.front());
    events_.pop_front();
    return e;
  }
  // The next event, which must be of `kind`.
  Event expect(Event::Kind kind, std::chrono::milliseconds timeout = 5000ms) {
    auto e = next(timeout);
    EXPECT_TRUE(e.has_value()) << "no event of kind " << kind;
    if (!e) return Event{Event::kClosed};
    EXPECT_EQ(e->kind, kind) << "close: " << e->close.code << " " << e->close.reason;
    return *e;
  }
  // Waits for JOINED; returns the id.
  rv::PeerId join(std::vector<rv::PeerId>* peers = nullptr) {
    Event e = expect(Event::kJoined);
    if (peers) *peers = e.peers;
    return e.id;
  }
  bool quiet_for(std::chrono::milliseconds d) {
    auto e = next(d);
    if (e) ADD_FAILURE() << "unexpected event of kind " << e->kind;
    return !e;
  }

  std::unique_ptr<rv::Client> client;

 private:
  void push(Event e) {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(e));
    cv_.notify_all();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> events_;
};

// A WebSocket client speaking raw bytes, with timeouts on every step.
class RawWs {
 public:
  struct Read {
    bool timeout = false;
    bool closed = false;  // got a close frame
    bool error = false;   // connection dropped without a close frame
    uint16_t code = 0;
    std::string reason;
    std::vector<uint8_t> data;
    bool binary = true;
  };

  bool connect(uint16_t port, std::string target = "/ws") {
    bool done = false;
    boost::system::error_code result;
    auto& sock = beast::get_lowest_layer(ws_);
    sock.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                       [&](boost::system::error_code ec) {
                         if (ec) {
                           result = ec;
                           done = true;
                           return;
                         }
                         ws_.async_handshake("127.0.0.1", target, [&](boost::system::error_code e) {
                           result = e;
                           done = true;
                         });
                       });
    run_until(done, 5000ms);
    return done && !result;
  }
  // Connects offering `protocol` as Sec-WebSocket-Protocol; `response` gets the server's answer
  // to the upgrade (also when it refused it).
  bool connect_offering(uint16_t port, const std::string& protocol,
                        websocket::response_type& response) {
    ws_.set_option(websocket::stream_base::decorator([protocol](websocket::request_type& req) {
      req.set(beast::http::field::sec_websocket_protocol, protocol);
    }));
    bool done = false;
    boost::system::error_code result;
    auto& sock = beast::get_lowest_layer(ws_);
    sock.async_connect(
        tcp::endpoint(net::ip::make_address("127.0.0.1"), port), [&](boost::system::error_code ec) {
          if (ec) {
            result = ec;
            done = true;
            return;
          }
          ws_.async_handshake(response, "127.0.0.1", "/ws", [&](boost::system::error_code e) {
            result = e;
            done = true;
          });
        });
    run_until(done, 5000ms);
    return done && !result;
  }
  bool connect_tcp_only(uint16_t port) {
    boost::system::error_code ec;
    beast::get_lowest_layer(ws_).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                                         ec);
    return !ec;
  }
  void send(const std::vector<uint8_t>& message, bool binary = true) {
    ws_.binary(binary);
    bool done = false;
    ws_.async_write(net::buffer(message), [&](boost::system::error_code, size_t) { done = true; });
    run_until(done, 5000ms);
  }
  void join(const rv::RoomLocator& locator) { send(rv::encode_join(locator)); }
  Read read(std::chrono::milliseconds timeout = 5000ms) {
    Read r;
    bool done = false;
    buffer_.clear();
    ws_.async_read(buffer_, [&](boost::system::error_code ec, size_t) {
      done = true;
      if (ec == websocket::error::closed) {
        r.closed = true;
        r.code = static_cast<uint16_t>(ws_.reason().code);
        r.reason = std::string(ws_.reason().reason.c_str());
      } else if (ec) {
        r.error = true;
      } else {
        auto d = buffer_.cdata();
        auto* p = static_cast<const uint8_t*>(d.data());
        r.data.assign(p, p + d.size());
        r.binary = ws_.got_binary();
      }
    });
    if (!run_until(done, timeout)) {
      r.timeout = true;
      beast::get_lowest_layer(ws_).cancel();
      run_until(done, 1000ms);
    }
    return r;
  }
  // Reads until a close frame (or error/timeout), skipping messages.
  Read read_until_close(std::chrono::milliseconds timeout = 5000ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) return Read{true};
      Read r = read(left);
      if (r.closed || r.error || r.timeout) return r;
    }
  }
  // Joins and returns JOINED.
  rv::Joined join_and_wait(const rv::RoomLocator& locator) {
    join(locator);
    Read r = read();
    auto m = rv::decode_server_message(r.data);
    EXPECT_TRUE(m.has_value());
    if (!m || !std::holds_alternative<rv::Joined>(*m)) return {};
    return std::get<rv::Joined>(*m);
  }
  websocket::stream<tcp::socket>& stream() { return ws_; }

 private:
  bool run_until(bool& done, std::chrono::milliseconds timeout) {
    ioc_.restart();
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done && std::chrono::steady_clock::now() < deadline) {
      ioc_.run_one_for(deadline - std::chrono::steady_clock::now());
    }
    return done;
  }
  net::io_context ioc_;
  websocket::stream<tcp::socket> ws_{ioc_};
  beast::flat_buffer buffer_;
};

struct HttpResult {
  unsigned status = 0;
  std::string body;
  std::string content_type;
  beast::http::fields headers;
  bool ok = false;
  // Every value of the header `name` (any case), repeated ones joined by ", ".
  std::string header(const std::string& name) const {
    std::string joined;
    for (auto [it, end] = headers.equal_range(name); it != end; ++it) {
      if (!joined.empty()) joined += ", ";
      joined += std::string(it->value());
    }
    return joined;
  }
};

// Sends the request line with `target` exactly as given (no normalisation), and
// `extra_headers` (complete "Name: value\r\n" lines) after Host and Connection.
inline HttpResult http_request(uint16_t port, const std::string& target,
                               const std::string& method = "GET",
                               const std::string& extra_headers = "") {
  HttpResult out;
  net::io_context ioc;
  tcp::socket sock(ioc);
  boost::system::error_code ec;
  sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return out;
  timeval tv{5, 0};
  setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string req = method + " " + target +
                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extra_headers +
                    "\r\n";
  net::write(sock, net::buffer(req), ec);
  if (ec) return out;
  beast::flat_buffer buf;
  beast::http::response_parser<beast::http::string_body> parser;
  parser.body_limit(64 << 20);
  parser.skip(method == "HEAD");
  beast::http::read(sock, buf, parser, ec);
  if (ec) return out;
  auto& res = parser.get();
  out.status = res.result_int();
  out.body = res.body();
  out.content_type = std::string(res[beast::http::field::content_type]);
  out.headers = res.base();
  out.ok = true;
  return out;
}

// The value of one sample line of /metrics (name including labels), or -1.
inline double metric(const std::string& text, const std::string& name) {
  size_t pos = 0;
  while ((pos = text.find(name + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') {
      size_t end = text.find('\n', pos);
      return std::stod(text.substr(pos + name.size() + 1, end - pos - name.size() - 1));
    }
    pos += name.size();
  }
  return -1;
}

inline double metric(uint16_t port, const std::string& name) {
  return metric(http_request(port, "/metrics").body, name);
}

inline std::string rejections(const std::string& reason) {
  return "tokencast_rendezvous_rejections_total{reason=\"" + reason + "\"}";
}

}  // namespace tokencast::test
