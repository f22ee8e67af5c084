// A small, real HTTP/1.1 server on 127.0.0.1 for tests of OpenAI-compatible clients. Each
// accepted connection reads one request and plays a scripted response: raw bytes, HTTP chunks,
// pauses, a stall, or an abrupt close. Requests are recorded for assertions.
//
// tests/CMakeLists.txt builds only *_test.cpp files, so a test that uses this server includes
// fake_openai_server.cpp once, after this header.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tokencast::testing {

struct FakeRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class Script {
 public:
  struct Step {
    enum class Kind { kRaw, kChunk, kEndChunks, kPause, kStall };
    Kind kind;
    std::string bytes;
    int ms = 0;
  };

  Script& raw(std::string bytes) { return add({Step::Kind::kRaw, std::move(bytes)}); }
  Script& chunk(std::string bytes) { return add({Step::Kind::kChunk, std::move(bytes)}); }
  Script& end_chunks() { return add({Step::Kind::kEndChunks, {}}); }
  Script& pause(int ms) { return add({Step::Kind::kPause, {}, ms}); }
  // Sends nothing more until the client closes the connection or the server stops (at most
  // 8 s, so that a broken test still ends).
  Script& stall() { return add({Step::Kind::kStall, {}}); }
  const std::vector<Step>& steps() const { return steps_; }

 private:
  Script& add(Step step) {
    steps_.push_back(std::move(step));
    return *this;
  }
  std::vector<Step> steps_;
};

using Handler = std::function<Script(const FakeRequest&)>;

class FakeOpenAiServer {
 public:
  explicit FakeOpenAiServer(Handler handler);
  ~FakeOpenAiServer();  // stops stalls and pauses, closes every connection, joins
  FakeOpenAiServer(const FakeOpenAiServer&) = delete;
  FakeOpenAiServer& operator=(const FakeOpenAiServer&) = delete;

  uint16_t port() const { return port_; }
  std::string base_url() const;  // "http://127.0.0.1:<port>/v1"
  std::vector<FakeRequest> requests() const;
  // Connections whose client went away before the script ended.
  int client_disconnects() const { return client_disconnects_.load(); }

 private:
  void accept_loop();
  void serve(int fd);
  bool wait_stop(int ms);  // sleeps up to ms; true if the server is stopping

  Handler handler_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> client_disconnects_{0};
  mutable std::mutex mutex_;
  std::vector<FakeRequest> requests_;
  std::vector<std::thread> connections_;
  std::thread acceptor_;
};

// The data of one chat.completion.chunk, as OpenAI and Ollama send it.
std::string completion_chunk(const std::string& delta_json, const std::string& finish = "null");
// "data: <payload>\n\n"
std::string sse_data(const std::string& payload);
// Status line and headers of a streamed answer.
std::string sse_head(bool chunked);
// A complete, well-formed chunked stream: a role-only chunk, one chunk per text piece, a
// finish chunk ("stop"), a usage chunk and [DONE], each event in its own HTTP chunk.
Script openai_stream(const std::vector<std::string>& pieces);
// A complete answer with a JSON body and the given status.
Script json_answer(int status, const std::string& body);
// A port on 127.0.0.1 on which nothing listens (bound, then closed).
uint16_t unused_port();

}  // namespace tokencast::testing
