// Internal: small libcurl helpers shared by the OpenAI source and the detector.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <string>

namespace tokencast::llm {

void ensure_curl_initialized();  // curl_global_init, once

struct EasyDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
struct MultiDeleter {
  void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;
using MultiHandle = std::unique_ptr<CURLM, MultiDeleter>;
using HeaderList = std::unique_ptr<curl_slist, SlistDeleter>;

// "{base}/{path}" with exactly one slash between them.
std::string join_url(const std::string& base, const std::string& path);

// The URL without any "user:password@" part, for messages.
std::string redact_url(const std::string& url);

// The value for CURLOPT_NOPROXY: the environment's no_proxy/NO_PROXY plus the loopback names,
// so that a proxy configured for the outside world is never used for a local server.
std::string no_proxy_list();

// Options every request sets: no signals, no proxy for loopback, a user agent, no redirects.
void set_common_options(CURL* easy, const std::string& no_proxy);

// One line for a failed transfer: curl's detailed message when there is one.
std::string curl_failure(CURLcode code, const char* error_buffer);

}  // namespace tokencast::llm
