#include "http_session.hpp"

#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "security_headers.hpp"
#include "ws_session.hpp"

namespace tokencast::rendezvous {

namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

namespace {

constexpr size_t kHeaderLimit = 8 * 1024;

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

// Every field of this name, joined by ", " as RFC 9110 §5.3 allows for list fields.
template <class Request>
std::string joined_field(const Request& request, http::field name) {
  std::string out;
  auto [begin, end] = request.equal_range(name);
  for (auto it = begin; it != end; ++it) {
    if (!out.empty()) out += ", ";
    out.append(it->value().data(), it->value().size());
  }
  return out;
}

}  // namespace

HttpSession::HttpSession(Shard& shard, ServerContext& ctx, net::ip::tcp::socket socket,
                         ConnectionSlot slot)
    : ShardSession(shard),
      ctx_(ctx),
      stream_(std::move(socket)),
      timer_(stream_.get_executor()),
      buffer_(kHeaderLimit + 1024),
      slot_(std::move(slot)) {}

void HttpSession::start() {
  register_in_shard();
  if (shard_.stopping) {
    finish();
    return;
  }
  // A request trickling its headers is cut here: the timer is not re-armed by reads.
  timer_.expires_at(slot_.accepted_at() +
                    std::min(ctx_.options.handshake_timeout, ctx_.options.http_deadline));
  timer_.async_wait([self = self()](error_code ec) { self->on_timer(ec); });
  if (!ctx_.tls) {
    do_read();
    return;
  }
  stream_.use_tls(*ctx_.tls);
  stream_.tls().async_handshake(net::ssl::stream_base::server,
                                [self = self()](error_code ec) { self->on_tls_handshake(ec); });
}

void HttpSession::on_tls_handshake(error_code ec) {
  if (done_) return;
  if (ec) {
    // Plain HTTP on the TLS port, an untrusting client, a scanner: nothing to answer.
    ctx_.metrics.reject(Rejection::kBadHttpRequest);
    finish();
    return;
  }
  do_read();
}

void HttpSession::do_read() {
  parser_.emplace();
  parser_->header_limit(kHeaderLimit);
  parser_->body_limit(0);
  http::async_read(stream_, buffer_, *parser_,
                   [self = self()](error_code ec, size_t) { self->on_read(ec); });
}

void HttpSession::on_read(error_code ec) {
  if (done_) return;
  if (ec) {
    if (ec != http::error::end_of_stream && ec != net::error::operation_aborted &&
        ec != net::error::connection_reset && ec != net::error::eof) {
      ctx_.metrics.reject(Rejection::kBadHttpRequest);
      if (stream_.socket().is_open()) {
        respond(400, "bad request\n", "text/plain; charset=utf-8", "no-store", true);
        return;
      }
    }
    finish();
    return;
  }
  served_any_ = true;
  auto& request = parser_->get();
  std::string_view target(request.target().data(), request.target().size());
  std::string_view path = path_of(target);

  if (beast::websocket::is_upgrade(request)) {
    if (path != "/ws") {
      respond(404, "not found\n", "text/plain; charset=utf-8", "no-store", true);
      return;
    }
    // JOIN may come in the upgrade itself, as a subprotocol (docs/PROTOCOL.md section 3): a
    // malformed one is refused here, at the HTTP stage, like any other bad request.
    auto join = find_join_in_offer(joined_field(request, http::field::sec_websocket_protocol));
    if (!join) {
      ctx_.metrics.reject(Rejection::kBadHttpRequest);
      respond(400, "bad request\n", "text/plain; charset=utf-8", "no-store", true);
      return;
    }
    // The WebSocket session takes the socket and the connection's slot; this one ends.
    done_ = true;
    timer_.cancel();
    unregister_from_shard();
    auto ws = std::make_shared<WsSession>(shard_, ctx_, std::move(stream_), std::move(slot_));
    ws->start(parser_->release(), *join);
    return;
  }
  if (auto refusal = slot_.refusal()) {
    respond(503, std::string(close_reason_text(*refusal)) + "\n", "text/plain; charset=utf-8",
            "no-store", true);
    return;
  }
  const bool head = request.method() == http::verb::head;
  if (request.method() != http::verb::get && !head) {
    respond(405, "method not allowed\n", "text/plain; charset=utf-8", "no-store",
            !request.keep_alive());
    return;
  }
  bool close = !request.keep_alive();
  if (path == "/healthz") {
    // A cluster instance cut off from the bus takes no new rooms: a load balancer should stop
    // sending it clients.
    if (ctx_.cluster && !ctx_.cluster->healthy()) {
      respond(503, "cluster bus unavailable\n", "text/plain; charset=utf-8", "no-store", close);
    } else {
      respond(200, "ok\n", "text/plain; charset=utf-8", "no-store", close);
    }
  } else if (path == "/metrics") {
    respond(200, ctx_.metrics.render(), "text/plain; version=0.0.4; charset=utf-8", "no-store",
            close);
  } else {
    StaticResult file = ctx_.files.get(target, joined_field(request, http::field::accept_encoding),
                                       joined_field(request, http::field::if_none_match));
    if (file.status == 400) ctx_.metrics.reject(Rejection::kBadHttpRequest);
    respond_file(std::move(file), close, target);
  }
}

void HttpSession::respond_file(StaticResult file, bool close, std::string_view target) {
  if (file.etag.empty()) {  // 400, 404
    respond(file.status, std::move(file.body), file.content_type, file.cache_control, close);
    return;
  }
  prepare(file.status, file.status == 304 ? std::string_view() : file.content_type,
          file.cache_control, close);
  if (file.host_page) {
    response_.set("Content-Security-Policy", kHostPageContentSecurityPolicy);
  } else if (file.present_page) {
    response_.set("Content-Security-Policy", kPresentPageContentSecurityPolicy);
  } else if (file.join_page && !target.empty()) {
    // A link with alternate rendezvous: the page may open a WebSocket to exactly those.
    response_.set("Content-Security-Policy", join_page_content_security_policy(target));
  }
  response_.set(http::field::etag, file.etag);
  response_.set(http::field::vary, "Accept-Encoding");
  if (!file.content_encoding.empty()) {
    response_.set(http::field::content_encoding, file.content_encoding);
  }
  // A 304 has no body and no Content-Length (it would describe the 200's body).
  if (file.status != 304) response_.content_length(file.body.size());
  send(std::move(file.body), close);
}

void HttpSession::respond(unsigned status, std::string body, std::string_view content_type,
                          std::string_view cache_control, bool close) {
  prepare(status, content_type, cache_control, close);
  if (status == 405) response_.set(http::field::allow, "GET, HEAD");
  response_.content_length(body.size());
  send(std::move(body), close);
}

void HttpSession::prepare(unsigned status, std::string_view content_type,
                          std::string_view cache_control, bool close) {
  ctx_.metrics.http_response(status);
  response_ = {};
  response_.version(11);
  response_.result(status);
  response_.set(http::field::server, "tokencast-rendezvous");
  if (!content_type.empty()) response_.set(http::field::content_type, content_type);
  response_.set(http::field::cache_control, cache_control);
  set_security_headers(response_.base(), content_type);
  if (status == 405) response_.set(http::field::allow, "GET, HEAD");
  response_.keep_alive(!close);
}

void HttpSession::send(std::string body, bool close) {
  // HEAD: the headers GET would send (Content-Length included), no body.
  const bool head =
      parser_ && parser_->is_header_done() && parser_->get().method() == http::verb::head;
  if (!head) response_.body() = std::move(body);
  http::async_write(stream_, response_,
                    [self = self(), close](error_code ec, size_t) { self->on_write(ec, close); });
}

void HttpSession::on_write(error_code ec, bool close) {
  if (done_) return;
  if (ec || close) {
    finish();
    return;
  }
  // Next request on this keep-alive connection, within a fresh handshake timeout but never past
  // the connection's deadline: keep-alive does not hold a connection forever.
  timer_.expires_at(std::min(SteadyClock::now() + ctx_.options.handshake_timeout,
                             slot_.accepted_at() + ctx_.options.http_deadline));
  timer_.async_wait([self = self()](error_code e) { self->on_timer(e); });
  do_read();
}

void HttpSession::on_timer(error_code ec) {
  if (ec || done_) return;
  if (SteadyClock::now() < timer_.expiry()) return;  // re-armed since
  if (!served_any_) ctx_.metrics.reject(Rejection::kHandshakeTimeout);
  finish();
}

void HttpSession::finish() {
  if (done_) return;
  done_ = true;
  timer_.cancel();
  stream_.close();
  unregister_from_shard();
}

void HttpSession::shutdown() { finish(); }

}  // namespace tokencast::rendezvous
