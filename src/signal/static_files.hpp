// Static files for the web client, with strict path handling: a request path maps to a regular
// file under the root only if every segment is non-empty, does not start with '.', and uses
// only [A-Za-z0-9._~-]; no percent-escapes, no traversal, symlinks only if they resolve inside
// the root. "/" and "/j" (invite links are <base>/j#<payload>) serve index.html.
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace tokencast::rendezvous {

// The request target's file, relative to the root ("index.html" for / and /j), or nullopt
// when the target breaks the path rules. The query string is ignored.
std::optional<std::string> static_path_for_target(std::string_view target);

// Content-Type for a file name, by extension; application/octet-stream when unknown.
std::string_view content_type_for(std::string_view path);

// The built-in page served when no web root is configured and no web client was built in
// (web/placeholder/index.html).
std::string_view placeholder_page();

// The web client built into this binary (web/dist at build time; see
// cmake/EmbedWebAssets.cmake), served when no web root is configured. Empty when web/dist
// did not exist when tokencast was built.
struct EmbeddedFile {
  std::string_view path;  // relative, e.g. "index.html", "assets/index-1a2b.js"
  std::string_view bytes;
};
std::span<const EmbeddedFile> embedded_web_files();
// web/placeholder, built in the same way (placeholder_page() serves its index.html).
std::span<const EmbeddedFile> placeholder_files();

struct StaticResult {
  unsigned status = 404;  // 200, 400 (bad path) or 404
  std::string body;
  std::string_view content_type = "text/plain; charset=utf-8";
};

class StaticFiles {
 public:
  // An empty root serves the web client built into the binary (`built_in`), and the
  // placeholder page as index.html when that has none.
  explicit StaticFiles(std::string root,
                       std::span<const EmbeddedFile> built_in = embedded_web_files());
  StaticResult get(std::string_view target) const;

  // Files larger than this are not served (404).
  static constexpr uintmax_t kMaxFileSize = 64u << 20;

 private:
  std::filesystem::path root_;  // canonical, or empty
  std::span<const EmbeddedFile> built_in_;
};

}  // namespace tokencast::rendezvous
