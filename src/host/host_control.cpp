// The presenter view's moderation API (include/tokencast/host/control.hpp): one thread, one
// io_context, at most kMaxConnections at a time, one request per connection, every step under
// a deadline. The work itself is HostRuntime's (kick, approve, decline), run on its loop.
#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cctype>
#include <charconv>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "tokencast/core/random.hpp"
#include "tokencast/host/control.hpp"
#include "tokencast/host/host.hpp"

namespace tokencast {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using tcp = net::ip::tcp;

namespace {

constexpr size_t kHeaderLimit = 8 * 1024;
constexpr size_t kBodyLimit = 1024;
constexpr size_t kMaxConnections = 16;
constexpr size_t kMaxNameBytes = 256;
constexpr auto kDeadline = std::chrono::seconds(5);
constexpr std::string_view kTokenHeader = "X-Tokencast-Control";

std::string hex_of(const uint8_t* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 15]);
  }
  return out;
}

bool is_loopback(const net::ip::address& a) {
  if (a.is_v4()) return a.to_v4().is_loopback();
  if (a.is_v6()) {
    const auto v6 = a.to_v6();
    return v6.is_loopback() ||
           (v6.is_v4_mapped() && net::ip::make_address_v4(net::ip::v4_mapped, v6).is_loopback());
  }
  return false;
}

// One field's only value; nullopt when absent, "\n" (never a valid value) when repeated.
std::optional<std::string> single_field(const http::request<http::string_body>& req,
                                        std::string_view name) {
  std::optional<std::string> out;
  for (auto [it, end] = req.equal_range(name); it != end; ++it) {
    if (out) return std::string("\n");
    out = std::string(it->value());
  }
  return out;
}

}  // namespace

struct ControlServer::Impl {
  HostRuntime& host;
  std::string page_origin;
  std::string token;
  std::string host_field;  // "127.0.0.1:PORT", what the Host header must say
  // Before io: the connections that io's destructor destroys still count down.
  std::atomic<size_t> connections{0};
  net::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;
  uint16_t port = 0;

  Impl(HostRuntime& h, std::string origin) : host(h), page_origin(std::move(origin)) {}

  void accept();
  http::response<http::string_body> handle(const http::request<http::string_body>& req,
                                           const tcp::endpoint& peer);
  http::response<http::string_body> answer(const http::request<http::string_body>& req,
                                           http::status status, const nlohmann::json& body,
                                           bool cors) const;
};

namespace {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ControlServer::Impl& server, tcp::socket socket)
      : server_(server), stream_(std::move(socket)) {}
  ~Connection() { server_.connections.fetch_sub(1); }

  void start() {
    error_code ec;
    peer_ = stream_.socket().remote_endpoint(ec);
    if (ec) return;
    parser_.header_limit(kHeaderLimit);
    parser_.body_limit(kBodyLimit);
    stream_.expires_after(kDeadline);
    http::async_read(stream_, buffer_, parser_,
                     [self = shared_from_this()](error_code e, size_t) { self->on_read(e); });
  }

 private:
  void on_read(error_code ec) {
    if (ec) {
      if (ec == http::error::body_limit || ec == http::error::header_limit) {
        http::request<http::string_body> none;
        respond(server_.answer(none, http::status::payload_too_large,
                               {{"error", "the request is too large"}}, false));
      }
      return;
    }
    respond(server_.handle(parser_.get(), peer_));
  }

  void respond(http::response<http::string_body> response) {
    response_ = std::move(response);
    response_.keep_alive(false);
    response_.prepare_payload();
    stream_.expires_after(kDeadline);
    http::async_write(stream_, response_, [self = shared_from_this()](error_code, size_t) {
      error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    });
  }

  ControlServer::Impl& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{kHeaderLimit + kBodyLimit};
  http::request_parser<http::string_body> parser_;
  http::response<http::string_body> response_;
  tcp::endpoint peer_;
};

}  // namespace

void ControlServer::Impl::accept() {
  acceptor.async_accept([this](error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (!ec) {
      if (connections.fetch_add(1) < kMaxConnections) {
        std::make_shared<Connection>(*this, std::move(socket))->start();
      } else {
        connections.fetch_sub(1);  // too many at once: closed unanswered
      }
    }
    accept();
  });
}

http::response<http::string_body> ControlServer::Impl::answer(
    const http::request<http::string_body>& req, http::status status, const nlohmann::json& body,
    bool cors) const {
  http::response<http::string_body> res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  res.set(http::field::vary, "Origin");
  if (cors) {
    res.set(http::field::access_control_allow_origin, page_origin);
    if (req.method() == http::verb::options) {
      res.set(http::field::access_control_allow_methods, "GET, POST");
      res.set(http::field::access_control_allow_headers,
              std::string(kTokenHeader) + ", Content-Type");
      res.set(http::field::access_control_max_age, "600");
      // Chromium's Private Network Access preflight, from a page on another address.
      if (req["Access-Control-Request-Private-Network"] == "true") {
        res.set("Access-Control-Allow-Private-Network", "true");
      }
    }
  }
  if (status != http::status::no_content) {  // a 204 has no body
    res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return res;
}

http::response<http::string_body> ControlServer::Impl::handle(
    const http::request<http::string_body>& req, const tcp::endpoint& peer) {
  using nlohmann::json;
  if (!is_loopback(peer.address())) {
    return answer(req, http::status::forbidden, {{"error", "loopback only"}}, false);
  }
  // A page of another site that rebinds a name to 127.0.0.1 still says its own name here.
  auto host_header = single_field(req, "Host");
  if (!host_header || *host_header != host_field) {
    return answer(req, http::status::forbidden, {{"error", "wrong Host"}}, false);
  }
  // Browsers always say where a cross-origin call comes from: only the presenter page may.
  auto origin = single_field(req, "Origin");
  if (origin && *origin != page_origin) {
    return answer(req, http::status::forbidden, {{"error", "origin not allowed"}}, false);
  }
  const bool cors = origin.has_value();
  const std::string_view target(req.target().data(), req.target().size());
  if (req.method() == http::verb::options) {
    if (!cors) return answer(req, http::status::bad_request, {{"error", "not a preflight"}}, false);
    return answer(req, http::status::no_content, json::object(), true);
  }
  auto presented = single_field(req, kTokenHeader);
  if (!presented || presented->size() != token.size() ||
      CRYPTO_memcmp(presented->data(), token.data(), token.size()) != 0) {
    return answer(req, http::status::unauthorized,
                  {{"error", "the control token is missing or wrong"}}, cors);
  }
  if (target == "/v1/room") {
    if (req.method() != http::verb::get) {
      return answer(req, http::status::method_not_allowed, {{"error", "GET only"}}, cors);
    }
    json peers = json::array();
    for (const auto& p : host.present_peers()) {
      peers.push_back({{"name", p.name},
                       {"role", p.role == PeerRole::kParticipant ? "participant" : "viewer"}});
    }
    json held = json::array();
    for (const auto& p : host.waiting_prompts()) {
      held.push_back({{"id", p.id}, {"author", p.author}, {"text", p.text}});
    }
    return answer(req, http::status::ok,
                  {{"approve", host.approves_prompts()}, {"peers", peers}, {"held", held}}, cors);
  }
  const bool remove = target == "/v1/remove";
  const bool accept = target == "/v1/accept";
  const bool reject = target == "/v1/reject";
  if (!remove && !accept && !reject) {
    return answer(req, http::status::not_found, {{"error", "no such call"}}, cors);
  }
  if (req.method() != http::verb::post) {
    return answer(req, http::status::method_not_allowed, {{"error", "POST only"}}, cors);
  }
  auto type = single_field(req, "Content-Type");
  if (!type || !type->starts_with("application/json")) {
    return answer(req, http::status::unsupported_media_type, {{"error", "JSON only"}}, cors);
  }
  json body = json::parse(req.body(), nullptr, /*allow_exceptions=*/false);
  auto bad = [&](const char* what) {
    return answer(req, http::status::bad_request, {{"error", what}}, cors);
  };
  if (!body.is_object() || body.size() != 1) return bad("expected one field");
  std::string result;
  bool done = false;
  if (remove) {
    auto name = body.find("name");
    if (name == body.end() || !name->is_string()) return bad("expected {\"name\": string}");
    const auto& text = name->get_ref<const std::string&>();
    if (text.empty() || text.size() > kMaxNameBytes) return bad("the name's length");
    result = host.kick(text);
    done = result.starts_with("removed ");  // HostRuntime::kick's line when it removed someone
  } else {
    auto id = body.find("id");
    if (id == body.end() || !id->is_number_unsigned()) return bad("expected {\"id\": number}");
    const auto n = id->get<uint64_t>();
    result = accept ? host.approve_prompt(n) : host.decline_prompt(n);
    done = result.starts_with(accept ? "approved " : "declined ");
  }
  return answer(req, done ? http::status::ok : http::status::not_found,
                {{"done", done}, {"result", result}}, cors);
}

ControlServer::ControlServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ControlServer::~ControlServer() {
  net::post(impl_->io, [impl = impl_.get()] {
    error_code ignored;
    impl->acceptor.close(ignored);
  });
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

Expected<std::unique_ptr<ControlServer>, std::string> ControlServer::start(
    HostRuntime& host, std::string page_origin) {
  if (page_origin.empty()) return unexpected(std::string("the presenter page has no origin"));
  auto impl = std::make_unique<Impl>(host, std::move(page_origin));
  std::array<uint8_t, 32> secret{};
  try {
    system_random().fill(secret);
  } catch (const std::runtime_error&) {
    return unexpected(std::string("no randomness available"));
  }
  impl->token = hex_of(secret.data(), secret.size());
  error_code ec;
  tcp::endpoint endpoint(net::ip::make_address_v4("127.0.0.1"), 0);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return unexpected("cannot serve the presenter's controls: " + ec.message());
  impl->port = impl->acceptor.local_endpoint().port();
  impl->host_field = "127.0.0.1:" + std::to_string(impl->port);
  impl->accept();
  impl->thread = std::thread([impl = impl.get()] { impl->io.run(); });
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(impl)));
}

uint16_t ControlServer::port() const { return impl_->port; }

const std::string& ControlServer::token() const { return impl_->token; }

std::string ControlServer::fragment() const {
  return "control=" + std::to_string(impl_->port) + "." + impl_->token;
}

std::string ControlServer::origin_of(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return {};
  std::string scheme = url.substr(0, scheme_end);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme != "http" && scheme != "https") return {};
  const auto rest = scheme_end + 3;
  const auto end = url.find_first_of("/?#", rest);
  std::string authority =
      url.substr(rest, end == std::string::npos ? std::string::npos : end - rest);
  if (authority.empty() || authority.find('@') != std::string::npos) return {};
  std::transform(authority.begin(), authority.end(), authority.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const std::string default_port = scheme == "http" ? ":80" : ":443";
  if (authority.size() > default_port.size() && authority.ends_with(default_port)) {
    authority.resize(authority.size() - default_port.size());  // as browsers serialize it
  }
  return scheme + "://" + authority;
}

}  // namespace tokencast
