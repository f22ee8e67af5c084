#include "llama_runtime.hpp"

#include <llama.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <vector>

#include "parse/one_line.hpp"
#include "tokencast/core/text.hpp"

namespace tokencast::llm {
namespace {

constexpr size_t kMaxErrorBytes = 1024;
constexpr size_t kMaxErrors = 8;

std::atomic<bool> g_verbose{false};
std::mutex g_error_mutex;
std::vector<std::string> g_errors;  // since the last take; the last one may be incomplete
ggml_log_level g_level = GGML_LOG_LEVEL_NONE;  // of the message being logged

void on_log(ggml_log_level level, const char* text, void* /*user_data*/) {
  if (g_verbose.load(std::memory_order_relaxed)) std::fputs(text, stderr);
  std::lock_guard lock(g_error_mutex);
  bool continued = level == GGML_LOG_LEVEL_CONT;
  if (!continued) g_level = level;
  if (g_level != GGML_LOG_LEVEL_ERROR && g_level != GGML_LOG_LEVEL_WARN) return;
  if (!continued) {
    if (g_errors.size() == kMaxErrors) g_errors.erase(g_errors.begin());
    g_errors.emplace_back();
  }
  if (g_errors.empty()) return;
  std::string& error = g_errors.back();
  std::string_view piece(text);
  if (error.size() < kMaxErrorBytes) error.append(piece.substr(0, kMaxErrorBytes - error.size()));
}

}  // namespace

void llama_runtime_init(bool verbose) {
  if (verbose) g_verbose.store(true);
  static std::once_flag once;
  std::call_once(once, [] {
    llama_log_set(on_log, nullptr);
    llama_backend_init();
  });
}

std::vector<std::string> llama_take_errors() {
  std::lock_guard lock(g_error_mutex);
  std::vector<std::string> errors;
  for (const auto& error : g_errors) errors.push_back(openai::one_line(to_valid_utf8(error), 300));
  g_errors.clear();
  return errors;
}

std::string llama_take_first_error() {
  auto errors = llama_take_errors();
  return errors.empty() ? std::string() : errors.front();
}

}  // namespace tokencast::llm
