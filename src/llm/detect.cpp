// Finding a local OpenAI-compatible server, and listing a server's models.
#include <chrono>

#include "curl_util.hpp"
#include "parse/one_line.hpp"
#include "tokencast/llm/llm.hpp"

namespace tokencast {
namespace {

constexpr size_t kMaxListBytes = 1 << 20;

struct Probe {
  llm::EasyHandle easy;
  std::string url;
  std::string body;
  bool overflow = false;
  CURLcode result = CURLE_OK;
  bool finished = false;
  char error[CURL_ERROR_SIZE] = {};
};

size_t collect(char* data, size_t size, size_t count, void* user) {
  auto& probe = *static_cast<Probe*>(user);
  size_t n = size * count;
  if (probe.body.size() + n > kMaxListBytes) {
    probe.overflow = true;
    return 0;
  }
  probe.body.append(data, n);
  return n;
}

void prepare(Probe& probe, const std::string& base_url, const std::string& no_proxy,
             curl_slist* headers, Millis timeout) {
  probe.url = llm::join_url(base_url, "models");
  CURL* e = probe.easy.get();
  llm::set_common_options(e, no_proxy);
  curl_easy_setopt(e, CURLOPT_URL, probe.url.c_str());
  curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &probe);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, probe.error);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  if (headers != nullptr) curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
}

long status_of(const Probe& probe) {
  long status = 0;
  curl_easy_getinfo(probe.easy.get(), CURLINFO_RESPONSE_CODE, &status);
  return status;
}

}  // namespace

std::vector<ProbeCandidate> default_probe_candidates() {
  return {{"ollama", "http://127.0.0.1:11434/v1"}, {"llama.cpp", "http://127.0.0.1:8080/v1"}};
}

std::optional<DetectedServer> detect_local_server(Millis timeout,
                                                  const std::vector<ProbeCandidate>& candidates) {
  llm::ensure_curl_initialized();
  llm::MultiHandle multi(curl_multi_init());
  if (!multi || candidates.empty()) return std::nullopt;
  const std::string no_proxy = llm::no_proxy_list();
  std::vector<std::unique_ptr<Probe>> probes;
  for (const ProbeCandidate& candidate : candidates) {
    auto probe = std::make_unique<Probe>();
    probe->easy.reset(curl_easy_init());
    if (!probe->easy) return std::nullopt;
    prepare(*probe, candidate.base_url, no_proxy, nullptr, timeout);
    curl_multi_add_handle(multi.get(), probe->easy.get());
    probes.push_back(std::move(probe));
  }
  // Every probe has its own timeout; the loop ends when all are done.
  auto deadline = std::chrono::steady_clock::now() + timeout + Millis{200};
  for (;;) {
    int running = 0;
    if (curl_multi_perform(multi.get(), &running) != CURLM_OK) break;
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi.get(), &queued)) {
      if (message->msg != CURLMSG_DONE) continue;
      for (auto& probe : probes) {
        if (probe->easy.get() == message->easy_handle) {
          probe->finished = true;
          probe->result = message->data.result;
        }
      }
    }
    if (running == 0 || std::chrono::steady_clock::now() >= deadline) break;
    // Stop as soon as the best remaining candidate has answered well.
    bool decided = false;
    for (auto& probe : probes) {
      if (!probe->finished) break;
      if (probe->result == CURLE_OK && status_of(*probe) == 200) {
        auto models = parse_model_list(probe->body);
        if (models && first_chat_model(*models)) {
          decided = true;
          break;
        }
      }
    }
    if (decided) break;
    curl_multi_poll(multi.get(), nullptr, 0, 50, nullptr);
  }
  std::optional<DetectedServer> found;
  for (size_t i = 0; i < probes.size(); ++i) {
    Probe& probe = *probes[i];
    if (!found && probe.finished && probe.result == CURLE_OK && status_of(probe) == 200) {
      auto models = parse_model_list(probe.body);
      if (auto chat = models ? first_chat_model(*models) : std::nullopt) {
        found =
            DetectedServer{candidates[i].name, candidates[i].base_url, *chat, std::move(*models)};
      }
    }
    curl_multi_remove_handle(multi.get(), probe.easy.get());
  }
  return found;
}

Expected<std::vector<std::string>, std::string> list_models(const std::string& base_url,
                                                            const std::string& api_key,
                                                            Millis timeout) {
  llm::ensure_curl_initialized();
  Probe probe;
  probe.easy.reset(curl_easy_init());
  if (!probe.easy) return unexpected(std::string("cannot start an HTTP request (libcurl)"));
  curl_slist* list = nullptr;
  std::string authorization;
  if (!api_key.empty()) {
    authorization = "Authorization: Bearer " + api_key;
    list = curl_slist_append(list, authorization.c_str());
  }
  llm::HeaderList headers(list);
  prepare(probe, base_url, llm::no_proxy_list(), headers.get(), timeout);
  CURLcode result = curl_easy_perform(probe.easy.get());
  long status = status_of(probe);
  if (result != CURLE_OK && !(status >= 400 && !probe.overflow)) {
    return unexpected("cannot reach " + llm::redact_url(probe.url) + ": " +
                      llm::curl_failure(result, probe.error));
  }
  if (status != 200) return unexpected(describe_http_error(status, probe.body));
  auto models = parse_model_list(probe.body);
  if (!models) return unexpected(llm::redact_url(probe.url) + ": " + models.error());
  return std::move(*models);
}

}  // namespace tokencast
