#include "llama_preflight.hpp"

#include <gguf.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>

#include "llama_runtime.hpp"
#include "parse/one_line.hpp"
#include "tokencast/core/text.hpp"

namespace tokencast::llm {
namespace {

std::string gib(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f GiB", static_cast<double>(bytes) / (1024.0 * 1024 * 1024));
  return text;
}

struct GgufFree {
  void operator()(gguf_context* context) const { gguf_free(context); }
};

std::string string_value(const gguf_context* context, const char* key) {
  int64_t id = gguf_find_key(context, key);
  if (id < 0 || gguf_get_kv_type(context, id) != GGUF_TYPE_STRING) return {};
  // Text from the file: it goes into messages and model(), so one clean, bounded line.
  return openai::one_line(to_valid_utf8(gguf_get_val_str(context, id)), 100);
}

}  // namespace

std::optional<uint64_t> available_memory() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  uint64_t value = 0;
  std::string unit;
  while (meminfo >> key >> value >> unit) {
    if (key == "MemAvailable:") return value * 1024;  // the kernel writes kB
  }
  return std::nullopt;
}

Expected<ModelFileInfo, std::string> check_model_file(const std::string& path,
                                                      std::optional<uint64_t> memory) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) {
    if (errno == ENOENT) return unexpected("the model file " + path + " does not exist");
    return unexpected("cannot read the model file " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(status.st_mode)) return unexpected("the model file " + path + " is not a file");
  ModelFileInfo info;
  info.file_size = static_cast<uint64_t>(status.st_size);

  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return unexpected("cannot read the model file " + path + ": " + std::strerror(errno));
  }
  char magic[4] = {};
  file.read(magic, sizeof magic);
  if (file.gcount() != sizeof magic || std::memcmp(magic, "GGUF", sizeof magic) != 0) {
    return unexpected(path + " is not a GGUF model file (it does not start with \"GGUF\")");
  }
  file.close();

  llama_take_first_error();
  std::unique_ptr<gguf_context, GgufFree> context(
      gguf_init_from_file(path.c_str(), gguf_init_params{/*no_alloc=*/true, /*ctx=*/nullptr}));
  if (!context) {
    std::string why = llama_take_first_error();
    return unexpected(path + " is a damaged or truncated GGUF file (its header cannot be read" +
                      (why.empty() ? std::string(")") : ": " + why + ")"));
  }
  uint64_t data_end = gguf_get_data_offset(context.get());
  for (int64_t i = 0; i < gguf_get_n_tensors(context.get()); ++i) {
    data_end = std::max<uint64_t>(data_end, gguf_get_data_offset(context.get()) +
                                                gguf_get_tensor_offset(context.get(), i) +
                                                gguf_get_tensor_size(context.get(), i));
  }
  if (data_end > info.file_size) {
    return unexpected(path + " is truncated: it has " + std::to_string(info.file_size) +
                      " bytes, its tensors need " + std::to_string(data_end));
  }
  info.architecture = string_value(context.get(), "general.architecture");
  if (info.architecture.empty()) {
    return unexpected(path + " names no model architecture (general.architecture): not a model");
  }
  info.name = string_value(context.get(), "general.name");
  if (memory && info.file_size > *memory) {
    return unexpected(path + " is too large for this machine's memory: the model needs about " +
                      gib(info.file_size) + ", " + gib(*memory) + " are available");
  }
  return info;
}

}  // namespace tokencast::llm
