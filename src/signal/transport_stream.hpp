// A TCP connection that is either plain or TLS, chosen at run time, so that the rendezvous
// server's sessions and the rendezvous client are written once for ws:// and wss:// (and http
// and https). It is an asynchronous stream for Beast (HTTP reads/writes and
// websocket::stream), with the teardown and close customization points Beast looks up.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <memory>
#include <optional>
#include <utility>

namespace tokencast::rendezvous {

class TransportStream {
 public:
  using tcp = boost::asio::ip::tcp;
  using executor_type = tcp::socket::executor_type;
  using TlsLayer = boost::asio::ssl::stream<tcp::socket&>;

  // Plain; call use_tls() before any I/O to make it TLS.
  explicit TransportStream(tcp::socket socket)
      : state_(std::make_unique<State>(std::move(socket))) {}

  // From now on every byte goes through TLS with this context (which must outlive the stream).
  void use_tls(boost::asio::ssl::context& context) { state_->tls.emplace(state_->socket, context); }

  bool is_tls() const { return state_->tls.has_value(); }
  TlsLayer& tls() { return *state_->tls; }
  tcp::socket& socket() { return state_->socket; }
  executor_type get_executor() { return state_->socket.get_executor(); }

  template <class Buffers, class Handler>
  void async_read_some(const Buffers& buffers, Handler&& handler) {
    if (state_->tls) {
      state_->tls->async_read_some(buffers, std::forward<Handler>(handler));
    } else {
      state_->socket.async_read_some(buffers, std::forward<Handler>(handler));
    }
  }

  template <class Buffers, class Handler>
  void async_write_some(const Buffers& buffers, Handler&& handler) {
    if (state_->tls) {
      state_->tls->async_write_some(buffers, std::forward<Handler>(handler));
    } else {
      state_->socket.async_write_some(buffers, std::forward<Handler>(handler));
    }
  }

  // Closes the socket at once (no TLS close_notify): for failures, timeouts and stop().
  void close() {
    boost::system::error_code ignored;
    state_->socket.shutdown(tcp::socket::shutdown_both, ignored);
    state_->socket.close(ignored);
  }

 private:
  // On the heap: the TLS layer refers to the socket, and the stream is moved from the HTTP
  // session to the WebSocket session.
  struct State {
    explicit State(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    std::optional<TlsLayer> tls;
  };
  std::unique_ptr<State> state_;
};

// Beast's customization points, found by argument-dependent lookup.
inline void beast_close_socket(TransportStream& stream) { stream.close(); }

inline void teardown(boost::beast::role_type role, TransportStream& stream,
                     boost::system::error_code& ec) {
  if (stream.is_tls()) {
    boost::beast::teardown(role, stream.tls(), ec);
  } else {
    boost::beast::websocket::teardown(role, stream.socket(), ec);
  }
}

template <class Handler>
void async_teardown(boost::beast::role_type role, TransportStream& stream, Handler&& handler) {
  if (stream.is_tls()) {
    boost::beast::async_teardown(role, stream.tls(), std::forward<Handler>(handler));
  } else {
    boost::beast::websocket::async_teardown(role, stream.socket(), std::forward<Handler>(handler));
  }
}

}  // namespace tokencast::rendezvous
