// The OpenAI-compatible source: POST {base}/chat/completions with "stream": true, read with
// libcurl's multi interface so that the worker can wait on the transfer and on the turn's
// cancel signal at once, and can enforce an idle timeout of any length.
#include <strings.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>

#include "curl_util.hpp"
#include "parse/one_line.hpp"
#include "turn.hpp"

namespace tokencast {
namespace {

// What peers are told when the model server fails (LlmFailure): a category, never its words.
constexpr const char* kUnreachable = "the model server could not be reached";
constexpr const char* kUnreadable = "the model server's answer could not be read";
constexpr const char* kReportedError = "the model server reported an error";

std::string http_failure_for_peers(long status) {
  const std::string code = "(HTTP " + std::to_string(status) + ")";
  if (status >= 400 && status < 500) return "the model server refused the request " + code;
  if (status >= 500 && status < 600) return "the model server failed " + code;
  return "the model server answered with an unexpected status " + code;
}

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxBufferedBody = 1 << 20;  // error bodies and non-streamed answers

struct Transfer {
  llm::Turn& turn;
  CURL* easy = nullptr;
  ChatStreamParser parser;
  std::vector<ChatDelta> deltas;
  Clock::time_point last_byte = Clock::now();
  long status = 0;
  bool buffered = false;  // an error status or a JSON document: keep the body whole
  std::string body;
  std::optional<ChatStreamError> failure;
  bool overflow = false;

  explicit Transfer(llm::Turn& t) : turn(t) {}

  void deliver() {
    for (ChatDelta& d : deltas)
      d.thinking ? turn.thinking(std::move(d.text)) : turn.delta(std::move(d.text));
    deltas.clear();
  }
};

size_t on_header(char* /*data*/, size_t size, size_t count, void* user) {
  static_cast<Transfer*>(user)->last_byte = Clock::now();
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  size_t n = size * count;
  t.last_byte = Clock::now();
  if (t.turn.cancelled()) return 0;
  if (t.status == 0) {
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &t.status);
    char* type = nullptr;
    curl_easy_getinfo(t.easy, CURLINFO_CONTENT_TYPE, &type);
    std::string_view content_type = type == nullptr ? "" : type;
    t.buffered =
        t.status < 200 || t.status >= 300 || content_type.substr(0, 16) == "application/json";
  }
  if (t.buffered) {
    if (t.body.size() + n > kMaxBufferedBody) {
      t.overflow = true;
      return 0;
    }
    t.body.append(data, n);
    return n;
  }
  auto fed = t.parser.feed(std::string_view(data, n), t.deltas);
  t.deliver();
  if (!fed) {
    t.failure = fed.error();
    return 0;
  }
  if (t.parser.done()) return 0;  // "[DONE]": stop reading now, whatever the server does next
  return n;
}

// What one request sends, and curl's message buffer; all must outlive the transfer.
struct Request {
  std::string body;
  std::string url;
  llm::HeaderList headers;
  char error_buffer[CURL_ERROR_SIZE] = {};
};

class OpenAiSource final : public llm::ThreadedSource {
 public:
  explicit OpenAiSource(OpenAiSourceOptions options)
      : ThreadedSource(options.think_tags),
        options_(std::move(options)),
        no_proxy_(llm::no_proxy_list()) {
    llm::ensure_curl_initialized();
  }
  ~OpenAiSource() override { shutdown(); }
  OpenAiSource(const OpenAiSource&) = delete;
  OpenAiSource& operator=(const OpenAiSource&) = delete;

  std::string model() const override { return options_.model; }

 protected:
  void run(std::vector<ChatMessage> history, llm::Turn& turn) override;

 private:
  std::string request_body(std::vector<ChatMessage> history) const;
  llm::HeaderList request_headers() const;
  void set_options(CURL* e, Request& request, Transfer& transfer) const;
  std::optional<CURLcode> perform(CURLM* multi, Transfer& transfer, const std::string& url) const;
  void finish(Transfer& transfer, CURLcode result, const Request& request) const;
  void finish_document(Transfer& transfer) const;
  void finish_stream(Transfer& transfer, CURLcode result, const Request& request) const;

  OpenAiSourceOptions options_;
  std::string no_proxy_;
};

void OpenAiSource::run(std::vector<ChatMessage> history, llm::Turn& turn) {
  if (options_.think_open) turn.open_thinking();
  Request request;
  request.body = request_body(std::move(history));
  request.url = llm::join_url(options_.base_url, "chat/completions");

  llm::EasyHandle easy(curl_easy_init());
  llm::MultiHandle multi(curl_multi_init());
  if (!easy || !multi) {
    turn.fail("cannot start an HTTP request (libcurl)");
    return;
  }
  request.headers = request_headers();
  Transfer transfer(turn);
  transfer.easy = easy.get();
  set_options(easy.get(), request, transfer);

  if (curl_multi_add_handle(multi.get(), easy.get()) != CURLM_OK) {
    turn.fail("cannot start an HTTP request (libcurl)");
    return;
  }
  struct Detach {
    CURLM* multi;
    CURL* easy;
    ~Detach() { curl_multi_remove_handle(multi, easy); }
  } detach{multi.get(), easy.get()};

  auto result = perform(multi.get(), transfer, request.url);
  if (!result || turn.cancelled()) return;
  finish(transfer, *result, request);
}

// The JSON body of the chat completion request for `history`.
std::string OpenAiSource::request_body(std::vector<ChatMessage> history) const {
  ChatRequest request;
  request.model = options_.model;
  request.messages = prepare_messages(std::move(history), options_.generation);
  request.include_usage = options_.include_usage;
  apply_sampling(options_.generation, request);
  return build_chat_request(request);
}

// "Expect:" turns off curl's 100-continue round trip before the body.
llm::HeaderList OpenAiSource::request_headers() const {
  curl_slist* list = nullptr;
  list = curl_slist_append(list, "Content-Type: application/json");
  list = curl_slist_append(list, "Accept: text/event-stream");
  list = curl_slist_append(list, "Expect:");
  auto is_authorization = [](const HeaderLine& h) {
    return h.name.size() == 13 && strncasecmp(h.name.c_str(), "Authorization", 13) == 0;
  };
  bool own_authorization =
      std::any_of(options_.headers.begin(), options_.headers.end(), is_authorization);
  std::string line;
  if (!options_.api_key.empty() && !own_authorization) {
    line = "Authorization: Bearer " + options_.api_key;
    list = curl_slist_append(list, line.c_str());  // copies the string
  }
  for (const HeaderLine& header : options_.headers) {
    line = header.name + ": " + header.value;
    list = curl_slist_append(list, line.c_str());
  }
  return llm::HeaderList(list);
}

// The POST of the request's body to its URL, delivering to `transfer`.
void OpenAiSource::set_options(CURL* e, Request& request, Transfer& transfer) const {
  llm::set_common_options(e, no_proxy_);
  curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, request.headers.get());
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, request.error_buffer);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  if (options_.total_timeout.count() > 0) {
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
  }
}

// Runs the transfer to its end, waking on the turn's cancel as well as on the socket. Returns
// libcurl's result, or nullopt when the turn ended first (cancelled, or failed: the multi
// interface broke or the idle timeout passed).
std::optional<CURLcode> OpenAiSource::perform(CURLM* multi, Transfer& transfer,
                                              const std::string& url) const {
  llm::Turn& turn = transfer.turn;
  CURLcode result = CURLE_OK;
  transfer.last_byte = Clock::now();
  for (;;) {
    int running = 0;
    CURLMcode mc = curl_multi_perform(multi, &running);
    if (turn.cancelled()) return std::nullopt;
    if (mc != CURLM_OK) {
      turn.fail({kUnreachable, std::string("HTTP request failed: ") + curl_multi_strerror(mc)});
      return std::nullopt;
    }
    if (running == 0) {
      int queued = 0;
      while (CURLMsg* message = curl_multi_info_read(multi, &queued)) {
        if (message->msg == CURLMSG_DONE) result = message->data.result;
      }
      return result;
    }
    auto idle = std::chrono::duration_cast<Millis>(Clock::now() - transfer.last_byte);
    if (options_.idle_timeout.count() > 0 && idle >= options_.idle_timeout) {
      turn.fail({"the model server sent nothing for " + llm::seconds_text(options_.idle_timeout) +
                     " (idle timeout)",
                 "no data from " + llm::redact_url(url) + " for " +
                     llm::seconds_text(options_.idle_timeout) + " (idle timeout)"});
      return std::nullopt;
    }
    int wait_ms = 500;
    if (options_.idle_timeout.count() > 0) {
      wait_ms =
          std::min<int>(wait_ms, static_cast<int>((options_.idle_timeout - idle).count()) + 1);
    }
    curl_waitfd wake{turn.wake_fd(), CURL_WAIT_POLLIN, 0};
    curl_multi_poll(multi, turn.wake_fd() >= 0 ? &wake : nullptr, turn.wake_fd() >= 0 ? 1 : 0,
                    wait_ms, nullptr);
  }
}

// Ends the turn by how the finished transfer went, the first that applies: the stream's own
// error or end, a response too large, an HTTP error status, a timeout, an unreachable server,
// then the answer as a document or as a stream.
void OpenAiSource::finish(Transfer& transfer, CURLcode result, const Request& request) const {
  llm::Turn& turn = transfer.turn;
  if (transfer.failure) {
    // The provider's own words (an error object in the stream) stay on the host's terminal.
    const bool provider = transfer.failure->code == ChatStreamErrc::kProviderError;
    turn.fail({provider ? kReportedError : kUnreadable, transfer.failure->message});
    return;
  }
  if (transfer.parser.done()) {
    turn.done();
    return;
  }
  if (transfer.status == 0) {
    curl_easy_getinfo(transfer.easy, CURLINFO_RESPONSE_CODE, &transfer.status);
  }
  if (transfer.overflow) {
    turn.fail({"the model server's answer was too large",
               llm::redact_url(request.url) + " answered with more than 1 MiB of non-stream data"});
    return;
  }
  if (transfer.status != 0 && (transfer.status < 200 || transfer.status >= 300)) {
    turn.fail({http_failure_for_peers(transfer.status),
               describe_http_error(transfer.status, transfer.body)});
    return;
  }
  if (result == CURLE_OPERATION_TIMEDOUT && transfer.status == 0) {
    turn.fail({kUnreachable, "cannot reach " + llm::redact_url(request.url) + ": " +
                                 llm::curl_failure(result, request.error_buffer)});
    return;
  }
  if (result == CURLE_OPERATION_TIMEDOUT) {
    turn.fail("the answer took longer than " + llm::seconds_text(options_.total_timeout) +
              " (total timeout)");
    return;
  }
  if (result != CURLE_OK && transfer.status == 0) {
    turn.fail({kUnreachable, "cannot reach " + llm::redact_url(request.url) + ": " +
                                 llm::curl_failure(result, request.error_buffer)});
    return;
  }
  if (transfer.buffered) {
    finish_document(transfer);
  } else {
    finish_stream(transfer, result, request);
  }
}

// A server that ignored "stream": true: one JSON document with the whole answer.
void OpenAiSource::finish_document(Transfer& transfer) const {
  llm::Turn& turn = transfer.turn;
  auto answer = parse_chat_completion(transfer.body);
  if (!answer) {
    const bool provider = answer.error().code == ChatStreamErrc::kProviderError;
    turn.fail({provider ? kReportedError : kUnreadable, answer.error().message});
    return;
  }
  if (!answer->empty()) turn.delta(std::move(*answer));
  turn.done();
}

// A stream that ended without "[DONE]": what the parser still holds decides.
void OpenAiSource::finish_stream(Transfer& transfer, CURLcode result,
                                 const Request& request) const {
  llm::Turn& turn = transfer.turn;
  auto finished = transfer.parser.finish(transfer.deltas);
  transfer.deliver();
  if (finished) {
    turn.done();  // a finish_reason arrived, even if the connection then broke
    return;
  }
  std::string reason = finished.error().message;
  if (result != CURLE_OK) reason += ": " + llm::curl_failure(result, request.error_buffer);
  turn.fail({kUnreadable, std::move(reason)});
}

}  // namespace

std::unique_ptr<LlmSource> make_openai_source(OpenAiSourceOptions options) {
  return std::make_unique<OpenAiSource>(std::move(options));
}

std::string api_key_from_environment() {
  for (const char* name : {"TOKENCAST_API_KEY", "OPENAI_API_KEY"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return value;
  }
  return {};
}

}  // namespace tokencast
