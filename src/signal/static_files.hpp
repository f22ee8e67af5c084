// Static files for the web client, with strict path handling: a request path maps to a regular
// file under the root only if every segment is non-empty, does not start with '.', and uses
// only [A-Za-z0-9._~-]; no percent-escapes, no traversal, symlinks only if they resolve inside
// the root. "/" and "/j" (invite links are <base>/j#<payload>) serve index.html.
// Each file may have precompressed copies beside it (<file>.br, <file>.gz, made by the web
// build): the best one the request accepts is served (content_coding.hpp). Hashed build output
// (assets/) is cached as immutable; everything else is revalidated by its strong ETag.
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tokencast::rendezvous {

// The request target's file, relative to the root ("index.html" for / and /j), or nullopt
// when the target breaks the path rules. The query string is ignored.
std::optional<std::string> static_path_for_target(std::string_view target);

// A validator for `bytes`: hex of the first 128 bits of their SHA-256.
std::string content_tag(std::string_view bytes);

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

// Cache-Control of hashed build output (Vite names it assets/<name>-<hash>.<ext>), and of the
// rest: index.html (the page of every invite link) must be revalidated.
inline constexpr std::string_view kCacheImmutable = "public, max-age=31536000, immutable";
inline constexpr std::string_view kCacheRevalidate = "no-cache";

struct StaticResult {
  unsigned status = 404;  // 200, 304 (If-None-Match matched), 400 (bad path) or 404
  std::string body;       // the chosen representation; empty for 304
  std::string_view content_type = "text/plain; charset=utf-8";
  std::string_view content_encoding;  // "br", "gzip", or "" for identity
  std::string_view cache_control = kCacheRevalidate;
  std::string etag;           // quoted strong tag of the representation; set for 200 and 304
  bool host_page = false;     // host.html: its own Content-Security-Policy (security_headers.hpp)
  bool present_page = false;  // present.html: likewise
  bool join_page = false;     // index.html: a policy naming the link's alternates, if any
};

class StaticFiles {
 public:
  // An empty root serves the web client built into the binary (`built_in`), and the
  // placeholder page as index.html when that has none.
  explicit StaticFiles(std::string root,
                       std::span<const EmbeddedFile> built_in = embedded_web_files());
  // `accept_encoding` and `if_none_match` are the request's header values ("" when absent).
  StaticResult get(std::string_view target, std::string_view accept_encoding = {},
                   std::string_view if_none_match = {}) const;

  // Files larger than this are not served (404).
  static constexpr uintmax_t kMaxFileSize = 64u << 20;

 private:
  std::filesystem::path root_;  // canonical, or empty
  struct Found {
    std::string bytes;  // identity
    std::string tag;    // content_tag(bytes)
  };
  std::optional<Found> find(const std::string& rel) const;
  std::optional<Found> find_built_in(const std::string& rel) const;
  std::optional<std::string> read_under_root(const std::string& rel) const;

  std::span<const EmbeddedFile> built_in_;
  std::vector<std::string> built_in_tags_;  // the identity bytes' tag, per built_in_ entry
};

}  // namespace tokencast::rendezvous
