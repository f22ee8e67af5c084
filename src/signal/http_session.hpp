// A TCP connection's HTTP phase: static files, /healthz, /metrics, and the upgrade to the
// WebSocket endpoint /ws, which hands the socket to a WsSession. Keep-alive; every request
// must arrive within the handshake timeout. With TLS, the TLS handshake comes first, within
// the same timeout.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <memory>
#include <optional>
#include <string_view>

#include "server_context.hpp"
#include "transport_stream.hpp"

namespace tokencast::rendezvous {

class HttpSession final : public ShardSession {
 public:
  HttpSession(Shard& shard, ServerContext& ctx, net::ip::tcp::socket socket, ConnectionSlot slot);
  void start();
  void shutdown() override;

 private:
  std::shared_ptr<HttpSession> self() {
    return std::static_pointer_cast<HttpSession>(shared_from_this());
  }
  void on_tls_handshake(boost::system::error_code ec);
  void do_read();
  void on_read(boost::system::error_code ec);
  void respond(unsigned status, std::string body, std::string_view content_type,
               std::string_view cache_control, bool close);
  // A static file's response: ETag, Vary and Content-Encoding besides respond()'s headers.
  // `target`: the request target (the join page's policy depends on its query).
  void respond_file(StaticResult file, bool close, std::string_view target);
  // Starts response_ with the headers every response has; send() writes it.
  void prepare(unsigned status, std::string_view content_type, std::string_view cache_control,
               bool close);
  void send(std::string body, bool close);
  void on_write(boost::system::error_code ec, bool close);
  void on_timer(boost::system::error_code ec);
  void finish();

  ServerContext& ctx_;
  TransportStream stream_;
  net::steady_timer timer_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::empty_body>> parser_;
  boost::beast::http::response<boost::beast::http::string_body> response_;
  ConnectionSlot slot_;
  bool served_any_ = false;
  bool done_ = false;
};

}  // namespace tokencast::rendezvous
