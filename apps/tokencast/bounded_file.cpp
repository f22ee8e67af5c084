#include "bounded_file.hpp"

#include <cstdlib>
#include <fstream>

namespace tokencast::app {

Expected<std::string, BoundedReadError> read_bounded_file(const std::string& path,
                                                          size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return unexpected(BoundedReadError::kUnreadable);
  std::string bytes(max_bytes + 1, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (in.bad()) return unexpected(BoundedReadError::kUnreadable);
  bytes.resize(static_cast<size_t>(in.gcount()));
  if (bytes.size() > max_bytes) return unexpected(BoundedReadError::kTooLarge);
  return bytes;
}

std::optional<std::string> read_secret(const std::string& file, const char* env_name) {
  if (file.empty()) {
    const char* env = std::getenv(env_name);
    return env != nullptr ? std::optional<std::string>(env) : std::nullopt;
  }
  auto secret = read_bounded_file(file, 4096);
  if (!secret) return std::nullopt;
  while (!secret->empty() && (secret->back() == '\n' || secret->back() == '\r')) secret->pop_back();
  return std::move(*secret);
}

}  // namespace tokencast::app
