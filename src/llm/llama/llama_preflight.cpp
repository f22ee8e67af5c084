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

// An unsigned integer value of the file's metadata (any integer type), nullopt when absent,
// negative or of another type.
std::optional<uint64_t> integer_value(const gguf_context* context, const std::string& key) {
  int64_t id = gguf_find_key(context, key.c_str());
  if (id < 0) return std::nullopt;
  switch (gguf_get_kv_type(context, id)) {
    case GGUF_TYPE_UINT8:
      return gguf_get_val_u8(context, id);
    case GGUF_TYPE_UINT16:
      return gguf_get_val_u16(context, id);
    case GGUF_TYPE_UINT32:
      return gguf_get_val_u32(context, id);
    case GGUF_TYPE_UINT64:
      return gguf_get_val_u64(context, id);
    case GGUF_TYPE_INT8:
      return gguf_get_val_i8(context, id) < 0
                 ? std::nullopt
                 : std::optional<uint64_t>(gguf_get_val_i8(context, id));
    case GGUF_TYPE_INT16:
      return gguf_get_val_i16(context, id) < 0
                 ? std::nullopt
                 : std::optional<uint64_t>(gguf_get_val_i16(context, id));
    case GGUF_TYPE_INT32:
      return gguf_get_val_i32(context, id) < 0
                 ? std::nullopt
                 : std::optional<uint64_t>(gguf_get_val_i32(context, id));
    case GGUF_TYPE_INT64:
      return gguf_get_val_i64(context, id) < 0
                 ? std::nullopt
                 : std::optional<uint64_t>(gguf_get_val_i64(context, id));
    default:
      return std::nullopt;
  }
}

// The KV heads of each layer summed: {arch}.attention.head_count_kv is one number for every
// layer or an array of one per layer (models that mix attention widths); absent, every head has
// its own keys and values ({arch}.attention.head_count).
std::optional<uint64_t> kv_heads_of_all_layers(const gguf_context* context, const std::string& arch,
                                               uint64_t layers) {
  for (const char* key : {".attention.head_count_kv", ".attention.head_count"}) {
    const std::string name = arch + key;
    int64_t id = gguf_find_key(context, name.c_str());
    if (id < 0) continue;
    if (gguf_get_kv_type(context, id) != GGUF_TYPE_ARRAY) {
      auto heads = integer_value(context, name);
      if (!heads) return std::nullopt;
      return *heads * layers;
    }
    const gguf_type type = gguf_get_arr_type(context, id);
    if (type != GGUF_TYPE_UINT32 && type != GGUF_TYPE_INT32) return std::nullopt;
    const size_t n = gguf_get_arr_n(context, id);
    const auto* data = static_cast<const uint32_t*>(gguf_get_arr_data(context, id));
    uint64_t sum = 0;
    for (size_t i = 0; i < n; ++i) sum += data[i] > (1u << 20) ? 0 : data[i];
    return sum;
  }
  return std::nullopt;
}

// Bytes per token of the KV cache llama.cpp allocates for this model (F16 keys and values, its
// default): layers x KV heads x (key + value head dimension) x 2. 0 when the metadata lacks
// what it takes (the check then counts the file only).
uint64_t kv_bytes_per_token(const gguf_context* context, const std::string& arch) {
  auto layers = integer_value(context, arch + ".block_count");
  auto embd = integer_value(context, arch + ".embedding_length");
  auto heads = integer_value(context, arch + ".attention.head_count");
  if (!layers || *layers == 0 || *layers > 100'000) return 0;
  auto kv_heads = kv_heads_of_all_layers(context, arch, *layers);
  if (!kv_heads) return 0;
  // Head dimensions: given, or the embedding width shared among the heads.
  std::optional<uint64_t> fallback;
  if (embd && heads && *heads > 0) fallback = *embd / *heads;
  auto key = integer_value(context, arch + ".attention.key_length");
  auto value = integer_value(context, arch + ".attention.value_length");
  if (!key) key = fallback;
  if (!value) value = fallback;
  if (!key || !value || *key > 1'000'000 || *value > 1'000'000 || *kv_heads > 100'000'000) {
    return 0;
  }
  return *kv_heads * (*key + *value) * 2;
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
                                                      std::optional<uint64_t> memory,
                                                      uint32_t ctx) {
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
  const std::string& arch = info.architecture;
  auto trained = integer_value(context.get(), arch + ".context_length");
  info.context_length = trained && *trained <= UINT32_MAX ? static_cast<uint32_t>(*trained) : 0;
  info.kv_bytes_per_token = kv_bytes_per_token(context.get(), arch);
  info.ctx = ctx != 0 ? ctx : info.context_length;
  info.kv_bytes = info.ctx != 0 && info.kv_bytes_per_token > UINT64_MAX / info.ctx
                      ? UINT64_MAX
                      : info.kv_bytes_per_token * info.ctx;
  if (memory && info.file_size > *memory) {
    return unexpected(path + " is too large for this machine's memory: the model needs about " +
                      gib(info.file_size) + ", " + gib(*memory) + " are available");
  }
  if (memory && info.kv_bytes > *memory - info.file_size) {
    const uint64_t fits = (*memory - info.file_size) / info.kv_bytes_per_token;
    return unexpected(path + " with a context of " + std::to_string(info.ctx) +
                      " tokens does not fit this machine's memory: the model needs about " +
                      gib(info.file_size) + " and its KV cache " + gib(info.kv_bytes) + " (" +
                      std::to_string(info.kv_bytes_per_token) + " bytes a token), " + gib(*memory) +
                      " are available; --ctx " + std::to_string(fits) +
                      " would be at most what fits");
  }
  return info;
}

}  // namespace tokencast::llm
