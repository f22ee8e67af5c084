#include "support/fake_openai_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace tokencast::testing {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string trim(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return {};
  size_t end = text.find_last_not_of(" \t\r");
  return text.substr(begin, end - begin + 1);
}

bool send_all(int fd, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

// Reads one request (headers and a Content-Length body). False when the client went away.
bool read_request(int fd, FakeRequest& request) {
  std::string data;
  char buffer[4096];
  size_t header_end = std::string::npos;
  while (header_end == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return false;
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return false;
    data.append(buffer, static_cast<size_t>(n));
    header_end = data.find("\r\n\r\n");
  }
  std::string head = data.substr(0, header_end);
  std::string rest = data.substr(header_end + 4);
  size_t line_end = head.find("\r\n");
  std::string request_line = head.substr(0, line_end);
  size_t sp1 = request_line.find(' ');
  size_t sp2 = request_line.find(' ', sp1 + 1);
  request.method = request_line.substr(0, sp1);
  request.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t next = head.find("\r\n", pos);
    if (next == std::string::npos) next = head.size();
    std::string line = head.substr(pos, next - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      request.headers[lower(line.substr(0, colon))] = trim(line.substr(colon + 1));
    }
    pos = next + 2;
  }
  size_t length = 0;
  if (auto it = request.headers.find("content-length"); it != request.headers.end()) {
    length = std::stoul(it->second);
  }
  if (request.headers.count("expect") != 0) send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n");
  while (rest.size() < length) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return false;
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return false;
    rest.append(buffer, static_cast<size_t>(n));
  }
  request.body = rest.substr(0, length);
  return true;
}

std::string hex(size_t n) {
  char text[32];
  std::snprintf(text, sizeof text, "%zx", n);
  return text;
}

}  // namespace

FakeOpenAiServer::FakeOpenAiServer(Handler handler) : handler_(std::move(handler)) {
  if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listen_fd_, 16) != 0) {
    throw std::runtime_error("bind/listen on 127.0.0.1 failed");
  }
  socklen_t size = sizeof address;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &size);
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeOpenAiServer::~FakeOpenAiServer() {
  stopping_ = true;
  char byte = 1;
  [[maybe_unused]] ssize_t n = ::write(stop_pipe_[1], &byte, 1);
  acceptor_.join();
  std::vector<std::thread> connections;
  {
    std::lock_guard lock(mutex_);
    connections.swap(connections_);
  }
  for (auto& thread : connections) thread.join();
  ::close(listen_fd_);
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
}

std::string FakeOpenAiServer::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/v1";
}

std::vector<FakeRequest> FakeOpenAiServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

bool FakeOpenAiServer::wait_stop(int ms) {
  pollfd p{stop_pipe_[0], POLLIN, 0};
  ::poll(&p, 1, ms);
  return stopping_.load();
}

void FakeOpenAiServer::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (stopping_) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(mutex_);
    connections_.emplace_back([this, fd] {
      serve(fd);
      ::close(fd);
    });
  }
}

void FakeOpenAiServer::serve(int fd) {
  FakeRequest request;
  if (!read_request(fd, request)) return;
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
  }
  Script script = handler_(request);
  for (const Script::Step& step : script.steps()) {
    bool ok = true;
    switch (step.kind) {
      case Script::Step::Kind::kRaw:
        ok = send_all(fd, step.bytes);
        break;
      case Script::Step::Kind::kChunk:
        ok = send_all(fd, hex(step.bytes.size()) + "\r\n" + step.bytes + "\r\n");
        break;
      case Script::Step::Kind::kEndChunks:
        ok = send_all(fd, "0\r\n\r\n");
        break;
      case Script::Step::Kind::kPause:
        if (wait_stop(step.ms)) return;
        break;
      case Script::Step::Kind::kStall: {
        auto until = std::chrono::steady_clock::now() + std::chrono::seconds(8);
        while (std::chrono::steady_clock::now() < until && !stopping_) {
          pollfd fds[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
          ::poll(fds, 2, 100);
          if (fds[0].revents != 0) {
            char buffer[256];
            if (::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT) <= 0) {
              ++client_disconnects_;
              return;
            }
          }
        }
        return;
      }
    }
    if (!ok) {
      ++client_disconnects_;
      return;
    }
  }
}

std::string completion_chunk(const std::string& delta_json, const std::string& finish) {
  return R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1718000000,)"
         R"("model":"m","system_fingerprint":"fp_test","choices":[{"index":0,"delta":)" +
         delta_json + R"(,"logprobs":null,"finish_reason":)" + finish + "}]}";
}

std::string sse_data(const std::string& payload) { return "data: " + payload + "\n\n"; }

std::string sse_head(bool chunked) {
  std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
      "Cache-Control: no-cache\r\nConnection: close\r\n";
  if (chunked) head += "Transfer-Encoding: chunked\r\n";
  return head + "\r\n";
}

Script openai_stream(const std::vector<std::string>& pieces) {
  Script script;
  script.raw(sse_head(true));
  script.chunk(sse_data(completion_chunk(R"({"role":"assistant","content":""})")));
  for (const std::string& piece : pieces) {
    script.chunk(sse_data(completion_chunk(nlohmann::json{{"content", piece}}.dump())));
  }
  script.chunk(sse_data(completion_chunk("{}", "\"stop\"")));
  script.chunk(sse_data(
      R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1718000000,"model":"m",)"
      R"("choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}})"));
  script.chunk(sse_data("[DONE]"));
  script.end_chunks();
  return script;
}

Script json_answer(int status, const std::string& body) {
  const char* reason = status == 200   ? "OK"
                       : status == 401 ? "Unauthorized"
                       : status == 404 ? "Not Found"
                       : status == 500 ? "Internal Server Error"
                                       : "Status";
  Script script;
  script.raw("HTTP/1.1 " + std::to_string(status) + " " + reason +
             "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body);
  return script;
}

uint16_t unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

}  // namespace tokencast::testing
