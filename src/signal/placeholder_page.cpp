// The built-in page served at / and /j when no web root is given and no web client is built in:
// web/placeholder/index.html, compiled in by cmake/EmbedWebAssets.cmake.
#include "static_files.hpp"

namespace tokencast::rendezvous {

std::string_view placeholder_page() {
  for (const auto& file : placeholder_files()) {
    if (file.path == "index.html") return file.bytes;
  }
  return {};
}

}  // namespace tokencast::rendezvous
