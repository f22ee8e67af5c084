#include "bounded_file.hpp"

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

}  // namespace tokencast::app
