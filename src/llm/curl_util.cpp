#include "curl_util.hpp"

#include <cstdlib>
#include <mutex>

#include "parse/one_line.hpp"

namespace tokencast::llm {

void ensure_curl_initialized() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string join_url(const std::string& base, const std::string& path) {
  std::string url = base;
  while (!url.empty() && url.back() == '/') url.pop_back();
  std::string_view tail(path);
  while (!tail.empty() && tail.front() == '/') tail.remove_prefix(1);
  url += '/';
  url += tail;
  return url;
}

std::string redact_url(const std::string& url) {
  size_t scheme = url.find("://");
  size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  size_t end = url.find_first_of("/?#", start);
  size_t at = url.rfind('@', end == std::string::npos ? url.size() : end);
  if (at == std::string::npos || at < start) return url;
  return url.substr(0, start) + url.substr(at + 1);
}

std::string no_proxy_list() {
  const char* env = std::getenv("no_proxy");
  if (env == nullptr || *env == '\0') env = std::getenv("NO_PROXY");
  std::string list = env == nullptr ? "" : env;
  if (list == "*") return list;
  if (!list.empty()) list += ',';
  return list + "127.0.0.1,localhost,::1";
}

void set_common_options(CURL* easy, const std::string& no_proxy) {
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_NOPROXY, no_proxy.c_str());
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "tokencast/0.1");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
}

std::string curl_failure(CURLcode code, const char* error_buffer) {
  std::string text = error_buffer != nullptr && *error_buffer != '\0'
                         ? std::string(error_buffer)
                         : std::string(curl_easy_strerror(code));
  return openai::one_line(text, 300);
}

}  // namespace tokencast::llm
