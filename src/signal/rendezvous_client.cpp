#include "tokencast/signal/rendezvous_client.hpp"

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "tls_context.hpp"
#include "tokencast/core/text.hpp"
#include "transport_stream.hpp"

namespace tokencast::rendezvous {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using boost::system::error_code;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {

class ClientCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tokencast.rendezvous_client"; }
  std::string message(int value) const override {
    switch (static_cast<ClientError>(value)) {
      case ClientError::kBadUrl:
        return "bad rendezvous URL (want ws[s]://host[:port][/path])";
      case ClientError::kNotJoined:
        return "not joined yet";
      case ClientError::kClosed:
        return "connection closed";
      case ClientError::kBadRecipient:
        return "bad recipient peer id";
      case ClientError::kEmptyPayload:
        return "empty envelope";
      case ClientError::kPayloadTooLarge:
        return "envelope too large";
      case ClientError::kQueueFull:
        return "send queue full";
    }
    return "unknown rendezvous client error";
  }
};

constexpr uint16_t kAbnormal = 1006;
constexpr auto kCloseTimeout = std::chrono::seconds(2);
constexpr size_t kQueueEntryOverhead = 64;

}  // namespace

const std::error_category& client_category() {
  static const ClientCategory category;
  return category;
}

std::error_code make_error_code(ClientError e) { return {static_cast<int>(e), client_category()}; }

Expected<WsUrl, ClientError> parse_ws_url(std::string_view url) {
  WsUrl out;
  std::string_view rest;
  if (url.starts_with("wss://")) {
    out.tls = true;
    out.port = 443;
    rest = url.substr(6);
  } else if (url.starts_with("ws://")) {
    rest = url.substr(5);
  } else {
    return unexpected(ClientError::kBadUrl);
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) out.target = std::string(rest.substr(slash));
  if (out.target.find_first_of("# \t\r\n") != std::string::npos) {
    return unexpected(ClientError::kBadUrl);
  }
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return unexpected(ClientError::kBadUrl);
  }
  std::string_view host = authority;
  std::string_view port_text;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos || close < 2) return unexpected(ClientError::kBadUrl);
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return unexpected(ClientError::kBadUrl);
      port_text = after.substr(1);
      if (port_text.empty()) return unexpected(ClientError::kBadUrl);
    }
  } else {
    size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return unexpected(ClientError::kBadUrl);
    }
  }
  if (host.empty()) return unexpected(ClientError::kBadUrl);
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '_';
    if (!ok) return unexpected(ClientError::kBadUrl);
  }
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return unexpected(ClientError::kBadUrl);
    }
    out.port = static_cast<uint16_t>(port);
  }
  out.host = std::string(host);
  return out;
}

// Handlers capture a plain pointer: the I/O thread holds a shared_ptr to the Impl for as long as
// it runs, so every handler that runs finds it alive, and handlers left in the io_context when
// it is destroyed (with the Impl) hold no reference that could keep it alive.
struct Client::Impl {
  enum class State { kConnecting, kJoined, kClosing, kClosed };

  Impl(ClientOptions o, ClientCallbacks c) : options(std::move(o)), callbacks(std::move(c)) {}

  ClientOptions options;
  ClientCallbacks callbacks;
  net::io_context ioc{1};
  tcp::resolver resolver{ioc};
  std::unique_ptr<net::ssl::context> tls_context;  // wss:// only; declared first: outlives ws
  websocket::stream<TransportStream, false> ws{TransportStream(tcp::socket(ioc))};
  net::steady_timer timer{ioc};
  beast::flat_buffer read_buffer{kMaxServerMessageSize};
  websocket::response_type upgrade_response;
  std::string offered_protocol;  // the join subprotocol offered in the upgrade, if any
  std::thread thread;
  WsUrl url;

  // Shared with callers of send() / close(); guarded by mu.
  mutable std::mutex mu;
  State state = State::kConnecting;
  std::deque<std::vector<uint8_t>> queue;
  size_t queued = 0;
  bool write_active = false;  // a flush is posted or a write is under way
  std::atomic<PeerId> self_id{0};
  std::atomic<bool> callbacks_enabled{true};

  // I/O thread only.
  bool handshake_done = false;
  bool closed_reported = false;
  bool close_requested = false;
  std::vector<uint8_t> in_flight;
  SteadyClock::time_point last_received{};
  uint64_t next_ping = 1;

  // Thread end, for the destructor's bounded wait.
  std::mutex done_mu;
  std::condition_variable done_cv;
  bool io_done = false;

  bool alive() const { return !closed_reported && callbacks_enabled.load(); }

  void begin() {
    options.ping_interval =
        std::max<std::chrono::milliseconds>(options.ping_interval, std::chrono::milliseconds(100));
    auto parsed = parse_ws_url(options.url);
    if (!parsed) {
      report_closed({kAbnormal, make_error_code(parsed.error()).message()});
      return;
    }
    url = std::move(*parsed);
    if (url.tls) {
      auto context = make_client_tls_context(options.ca_file);
      if (!context) {
        report_closed({kAbnormal, context.error()});
        return;
      }
      tls_context = std::move(*context);
      ws.next_layer().use_tls(*tls_context);
      if (!expect_server_name(ws.next_layer().tls(), url.host)) {
        report_closed({kAbnormal, "TLS set-up failed: cannot check the name '" + url.host + "'"});
        return;
      }
    }
    timer.expires_after(options.connect_timeout);
    timer.async_wait([self = this](error_code ec) { self->on_connect_timeout(ec); });
    resolver.async_resolve(
        url.host, std::to_string(url.port),
        [self = this](error_code ec, auto results) { self->on_resolve(ec, results); });
  }

  void on_connect_timeout(error_code ec) {
    if (ec || closed_reported) return;
    if (current_state() == State::kConnecting) {
      CloseInfo info{kAbnormal, "connect timeout"};
      info.timed_out = true;
      report_closed(std::move(info));
    }
  }

  void on_resolve(error_code ec, const tcp::resolver::results_type& results) {
    if (closed_reported) return;
    if (ec) {
      report_closed({kAbnormal, "resolve failed: " + ec.message()});
      return;
    }
    net::async_connect(ws.next_layer().socket(), results,
                       [self = this](error_code e, const tcp::endpoint&) { self->on_connect(e); });
  }

  void on_connect(error_code ec) {
    if (closed_reported) return;
    if (ec) {
      report_closed({kAbnormal, "connect failed: " + ec.message()});
      return;
    }
    error_code ignored;
    ws.next_layer().socket().set_option(tcp::no_delay(true), ignored);
    if (!url.tls) {
      start_websocket_handshake();
      return;
    }
    ws.next_layer().tls().async_handshake(
        net::ssl::stream_base::client, [self = this](error_code e) { self->on_tls_handshake(e); });
  }

  void on_tls_handshake(error_code ec) {
    if (closed_reported) return;
    if (ec) {
      TlsFailure failure = describe_tls_failure(ws.next_layer().tls(), ec);
      CloseInfo info{kAbnormal, failure.text};
      info.certificate_rejected = failure.certificate_rejected;
      report_closed(std::move(info));
      return;
    }
    start_websocket_handshake();
  }

  void start_websocket_handshake() {
    ws.read_message_max(kMaxServerMessageSize);
    ws.auto_fragment(false);
    ws.binary(true);
    if (options.join_in_upgrade) offered_protocol = join_subprotocol(options.room);
    ws.set_option(websocket::stream_base::decorator(
        [offered = offered_protocol](websocket::request_type& req) {
          req.set(beast::http::field::user_agent, "tokencast");
          if (!offered.empty()) req.set(beast::http::field::sec_websocket_protocol, offered);
        }));
    ws.control_callback(
        [this](websocket::frame_type, beast::string_view) { last_received = SteadyClock::now(); });
    std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
    host += ":" + std::to_string(url.port);
    ws.async_handshake(upgrade_response, host, url.target,
                       [self = this](error_code e) { self->on_handshake(e); });
  }

  void on_handshake(error_code ec) {
    if (closed_reported) return;
    if (ec) {
      std::string why = "WebSocket handshake failed: " + ec.message();
      if (ec == websocket::error::upgrade_declined) {
        why = "upgrade refused: HTTP " + std::to_string(upgrade_response.result_int());
      }
      report_closed({kAbnormal, why});
      return;
    }
    handshake_done = true;
    last_received = SteadyClock::now();
    // The server selects our join subprotocol when it joined us at the upgrade, or none (it
    // waits for JOIN). Anything else is not a server we can talk to (RFC 6455 4.1).
    auto selected = upgrade_response[beast::http::field::sec_websocket_protocol];
    if (!selected.empty() && (offered_protocol.empty() || selected != offered_protocol)) {
      fail_and_close(1002, "bad upgrade response from server: unexpected subprotocol");
      return;
    }
    if (selected.empty()) push(encode_join(options.room));
    do_read();
  }

  void do_read() {
    ws.async_read(read_buffer, [self = this](error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(error_code ec) {
    if (closed_reported) return;
    if (ec) {
      if (close_requested) {
        report_closed({1000, "closed by client"});
      } else if (ec == websocket::error::closed) {
        const auto& r = ws.reason();
        // The reason is the server's text: callers log and print it.
        report_closed({static_cast<uint16_t>(r.code), neutralize_line(r.reason.c_str())});
      } else {
        report_closed({kAbnormal, "connection lost: " + ec.message()});
      }
      return;
    }
    last_received = SteadyClock::now();
    auto data = read_buffer.cdata();
    handle({static_cast<const uint8_t*>(data.data()), data.size()});
    read_buffer.consume(read_buffer.size());
    if (read_buffer.capacity() > 64 * 1024) read_buffer.shrink_to_fit();
    if (!closed_reported && current_state() != State::kClosed) do_read();
  }

  void protocol_failure(std::string why) {
    // The server broke the protocol: leave, and say why.
    fail_and_close(1002, "bad message from server: " + why);
  }

  void handle(std::span<const uint8_t> bytes) {
    if (!ws.got_binary()) {
      protocol_failure("text message");
      return;
    }
    auto message = decode_server_message(bytes);
    if (!message) {
      protocol_failure(make_error_code(message.error()).message());
      return;
    }
    const bool joined = current_state() == State::kJoined;
    if (auto* m = std::get_if<Joined>(&*message)) {
      if (current_state() != State::kConnecting) return protocol_failure("second JOINED");
      {
        std::lock_guard lock(mu);
        state = State::kJoined;
      }
      self_id = m->self;
      arm_ping_timer();
      if (alive() && callbacks.on_joined) callbacks.on_joined(m->self, std::move(m->peers));
    } else if (auto* pj = std::get_if<PeerJoined>(&*message)) {
      if (!joined) return protocol_failure("PEER_JOINED before JOINED");
      if (alive() && callbacks.on_peer_joined) callbacks.on_peer_joined(pj->peer);
    } else if (auto* pl = std::get_if<PeerLeft>(&*message)) {
      if (!joined) return protocol_failure("PEER_LEFT before JOINED");
      if (alive() && callbacks.on_peer_left) callbacks.on_peer_left(pl->peer);
    } else if (auto* env = std::get_if<Envelope>(&*message)) {
      if (!joined) return protocol_failure("ENVELOPE before JOINED");
      if (alive() && callbacks.on_envelope) callbacks.on_envelope(env->from, env->payload);
    } else if (auto* err = std::get_if<ErrorNotice>(&*message)) {
      if (!joined) return protocol_failure("ERROR before JOINED");
      if (alive() && callbacks.on_error) callbacks.on_error(err->code, err->peer);
    } else if (auto* ice = std::get_if<IceServers>(&*message)) {
      if (!joined) return protocol_failure("ICE_SERVERS before JOINED");
      if (alive() && callbacks.on_ice_servers) callbacks.on_ice_servers(std::move(ice->servers));
    }
    // PONG: its arrival already counts as traffic.
  }

  void arm_ping_timer() {
    timer.expires_after(options.ping_interval);
    timer.async_wait([self = this](error_code ec) { self->on_ping_timer(ec); });
  }

  void on_ping_timer(error_code ec) {
    if (ec || closed_reported || current_state() != State::kJoined) return;
    auto silent = SteadyClock::now() - last_received;
    if (silent >= 2 * options.ping_interval) {
      report_closed({kAbnormal, "server not responding"});
      return;
    }
    if (silent >= options.ping_interval) push(encode_ping(next_ping++));
    arm_ping_timer();
  }

  State current_state() const {
    std::lock_guard lock(mu);
    return state;
  }

  // Queues bytes for the socket from the I/O thread (JOIN, PING), bypassing send()'s checks.
  void push(std::vector<uint8_t> bytes) {
    bool kick = false;
    {
      std::lock_guard lock(mu);
      if (state == State::kClosing || state == State::kClosed) return;
      queued += bytes.size() + kQueueEntryOverhead;
      queue.push_back(std::move(bytes));
      kick = !write_active;
      write_active = true;
    }
    if (kick) flush();
  }

  void flush() {
    if (closed_reported || !handshake_done) {
      std::lock_guard lock(mu);
      write_active = false;
      return;
    }
    {
      std::lock_guard lock(mu);
      if (queue.empty() || state == State::kClosing || state == State::kClosed) {
        write_active = false;
        return;
      }
      in_flight = std::move(queue.front());
      queue.pop_front();
      queued -= in_flight.size() + kQueueEntryOverhead;
    }
    ws.async_write(net::buffer(in_flight), [self = this](error_code ec, size_t) {
      if (ec) {
        if (!self->close_requested) {
          self->report_closed({kAbnormal, "connection lost: " + ec.message()});
        }
        std::lock_guard lock(self->mu);
        self->write_active = false;
        return;
      }
      self->flush();
    });
  }

  // Closes with `code` toward the server, reporting `reason` locally.
  void fail_and_close(uint16_t code, std::string reason) {
    CloseInfo info{code, std::move(reason)};
    start_close(code);
    report_closed(std::move(info));
  }

  void start_close(uint16_t code) {
    {
      std::lock_guard lock(mu);
      if (state == State::kClosing || state == State::kClosed) return;
      state = State::kClosing;
      queue.clear();
      queued = 0;
    }
    close_requested = true;
    if (!handshake_done) {
      shutdown_socket();
      report_closed({1000, "closed by client"});
      return;
    }
    timer.expires_after(kCloseTimeout);
    timer.async_wait([self = this](error_code ec) {
      if (!ec) self->shutdown_socket();
    });
    ws.async_close(websocket::close_reason(code), [self = this](error_code) {
      if (!self->closed_reported) self->report_closed({1000, "closed by client"});
      self->shutdown_socket();
    });
  }

  void shutdown_socket() {
    timer.cancel();
    resolver.cancel();
    ws.next_layer().close();
  }

  void report_closed(CloseInfo info) {
    if (closed_reported) return;
    closed_reported = true;
    bool graceful;
    {
      std::lock_guard lock(mu);
      graceful = state == State::kClosing;
      state = State::kClosed;
      queue.clear();
      queued = 0;
    }
    // After a local close() the closing handshake may still be running; let it finish
    // (bounded by its timer). Otherwise drop everything now.
    if (!graceful) shutdown_socket();
    if (callbacks_enabled.load() && callbacks.on_closed) callbacks.on_closed(info);
  }
};

Client::Client(ClientOptions options, ClientCallbacks callbacks)
    : impl_(std::make_shared<Impl>(std::move(options), std::move(callbacks))) {
  auto impl = impl_;
  net::post(impl->ioc, [raw = impl.get()] { raw->begin(); });
  impl->thread = std::thread([impl] {
    for (;;) {
      try {
        impl->ioc.run();
        break;
      } catch (const std::exception&) {
        // A callback threw: the connection cannot be trusted any more; end it.
        impl->report_closed({kAbnormal, "exception in a callback"});
      }
    }
    std::lock_guard lock(impl->done_mu);
    impl->io_done = true;
    impl->done_cv.notify_all();
  });
}

Client::~Client() {
  auto impl = impl_;
  impl->callbacks_enabled = false;
  close();
  if (std::this_thread::get_id() == impl->thread.get_id()) {
    impl->thread.detach();  // destroyed from a callback: the thread ends on its own
    return;
  }
  bool finished = false;
  {
    std::unique_lock lock(impl->done_mu);
    finished = impl->done_cv.wait_for(lock, kCloseTimeout + std::chrono::milliseconds(500),
                                      [&] { return impl->io_done; });
  }
  if (!finished) impl->ioc.stop();  // the closing handshake did not finish in time
  impl->thread.join();
}

Expected<void, std::error_code> Client::send(PeerId to, std::span<const uint8_t> payload) {
  if (to == 0) return unexpected(make_error_code(ClientError::kBadRecipient));
  if (payload.empty()) return unexpected(make_error_code(ClientError::kEmptyPayload));
  if (payload.size() > kMaxEnvelopeSize) {
    return unexpected(make_error_code(ClientError::kPayloadTooLarge));
  }
  auto bytes = encode_send(to, payload);
  if (!bytes) return unexpected(make_error_code(bytes.error()));
  bool kick = false;
  {
    std::lock_guard lock(impl_->mu);
    switch (impl_->state) {
      case Impl::State::kConnecting:
        return unexpected(make_error_code(ClientError::kNotJoined));
      case Impl::State::kClosing:
      case Impl::State::kClosed:
        return unexpected(make_error_code(ClientError::kClosed));
      case Impl::State::kJoined:
        break;
    }
    size_t cost = bytes->size() + kQueueEntryOverhead;
    if (impl_->queued + cost > impl_->options.max_queued_bytes) {
      return unexpected(make_error_code(ClientError::kQueueFull));
    }
    impl_->queued += cost;
    impl_->queue.push_back(std::move(*bytes));
    kick = !impl_->write_active;
    impl_->write_active = true;
  }
  if (kick) net::post(impl_->ioc, [impl = impl_.get()] { impl->flush(); });
  return {};
}

void Client::close() {
  net::post(impl_->ioc, [impl = impl_.get()] {
    if (!impl->closed_reported) impl->start_close(1000);
  });
}

PeerId Client::self() const { return impl_->self_id.load(); }

}  // namespace tokencast::rendezvous
