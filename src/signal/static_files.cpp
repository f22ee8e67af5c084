#include "static_files.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <utility>

#include "wire/content_coding.hpp"

namespace tokencast::rendezvous {

namespace {

bool allowed_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || c == '~';
}

constexpr size_t kMaxTarget = 1024;

// Reads a regular file opened without following a final symlink; nullopt on any failure.
std::optional<std::string> read_regular_file(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  std::optional<std::string> out;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
      static_cast<uintmax_t>(st.st_size) <= StaticFiles::kMaxFileSize) {
    std::string body(static_cast<size_t>(st.st_size), '\0');
    size_t done = 0;
    while (done < body.size()) {
      ssize_t n = ::read(fd, body.data() + done, body.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    body.resize(done);
    out = std::move(body);
  }
  ::close(fd);
  return out;
}

bool is_precompressed_copy(std::string_view rel) {
  return rel.ends_with(".br") || rel.ends_with(".gz");
}

}  // namespace

// The first 128 bits of the bytes' SHA-256, in hex: the ETag of the file's identity copy.
std::string content_tag(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1 ||
      length < 16) {
    return "unhashed";  // never seen in practice; the tag then only changes with the path
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 16; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

std::optional<std::string> static_path_for_target(std::string_view target) {
  if (target.size() > kMaxTarget || target.empty() || target.front() != '/') return std::nullopt;
  if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  if (target == "/" || target == "/j" || target == "/j/") return std::string("index.html");
  // The page that hosts a session from a browser tab (docs/web.md, "Hosting from a browser").
  if (target == "/host" || target == "/host/") return std::string("host.html");
  // The presenter view (`tokencast host --present`): the QR code large beside the transcript.
  // Not "/present/": the page's assets are relative ("./assets/..."), so only this form works.
  if (target == "/present") return std::string("present.html");
  std::string_view rest = target.substr(1);
  std::string out;
  while (true) {
    size_t slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    if (segment.empty() || segment.front() == '.') return std::nullopt;
    for (char c : segment) {
      if (!allowed_char(c)) return std::nullopt;
    }
    out.append(segment);
    if (slash == std::string_view::npos) break;
    out.push_back('/');
    rest = rest.substr(slash + 1);
  }
  return out;
}

std::string_view content_type_for(std::string_view path) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 20> kTypes{{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".txt", "text/plain; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".wasm", "application/wasm"},
      {".woff2", "font/woff2"},
      {".woff", "font/woff"},
      {".ttf", "font/ttf"},
      {".xml", "application/xml"},
  }};
  size_t dot = path.rfind('.');
  size_t slash = path.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    return "application/octet-stream";
  }
  std::string_view ext = path.substr(dot);
  for (const auto& [e, type] : kTypes) {
    if (e == ext) return type;
  }
  return "application/octet-stream";
}

StaticFiles::StaticFiles(std::string root, std::span<const EmbeddedFile> built_in)
    : built_in_(built_in) {
  built_in_tags_.reserve(built_in_.size());
  for (const auto& file : built_in_) built_in_tags_.push_back(content_tag(file.bytes));
  if (root.empty()) return;
  std::error_code ec;
  root_ = std::filesystem::canonical(root, ec);
  if (ec) root_ = std::filesystem::path(root);  // validate() reports it; serve nothing
}

std::optional<StaticFiles::Found> StaticFiles::find_built_in(const std::string& rel) const {
  for (size_t i = 0; i < built_in_.size(); ++i) {
    if (built_in_[i].path == rel) return Found{std::string(built_in_[i].bytes), built_in_tags_[i]};
  }
  return std::nullopt;
}

std::optional<std::string> StaticFiles::read_under_root(const std::string& rel) const {
  std::error_code ec;
  std::filesystem::path resolved = std::filesystem::canonical(root_ / rel, ec);
  const std::string& root_text = root_.native();
  const std::string& resolved_text = resolved.native();
  bool inside = !ec && resolved_text.size() > root_text.size() + 1 &&
                resolved_text.compare(0, root_text.size(), root_text) == 0 &&
                resolved_text[root_text.size()] == '/';
  if (!inside) return std::nullopt;
  return read_regular_file(resolved);
}

std::optional<StaticFiles::Found> StaticFiles::find(const std::string& rel) const {
  if (!root_.empty()) {
    auto bytes = read_under_root(rel);
    if (!bytes) return std::nullopt;
    std::string tag = content_tag(*bytes);
    return Found{std::move(*bytes), std::move(tag)};
  }
  if (auto found = find_built_in(rel)) return found;
  if (rel == "index.html") {
    std::string_view page = placeholder_page();
    return Found{std::string(page), content_tag(page)};
  }
  return std::nullopt;
}

StaticResult StaticFiles::get(std::string_view target, std::string_view accept_encoding,
                              std::string_view if_none_match) const {
  StaticResult result;
  auto rel = static_path_for_target(target);
  if (!rel) {
    result.status = 400;
    result.body = "bad path\n";
    return result;
  }
  // The precompressed copies are served in place of their file, never as files of their own.
  auto found = is_precompressed_copy(*rel) ? std::nullopt : find(*rel);
  if (!found) {
    result.body = "not found\n";
    return result;
  }
  auto copy = [&](std::string_view suffix) -> std::optional<std::string> {
    if (!root_.empty()) return read_under_root(*rel + std::string(suffix));
    auto built = find_built_in(*rel + std::string(suffix));
    return built ? std::optional<std::string>(std::move(built->bytes)) : std::nullopt;
  };
  AcceptedCodings accepted = parse_accept_encoding(accept_encoding);
  std::optional<std::string> brotli = accepted.brotli ? copy(".br") : std::nullopt;
  std::optional<std::string> gzip = accepted.gzip && !brotli ? copy(".gz") : std::nullopt;
  ContentCoding coding = choose_coding(accepted, brotli.has_value(), gzip.has_value());

  result.content_type = content_type_for(*rel);
  result.host_page = *rel == "host.html";
  result.present_page = *rel == "present.html";
  result.join_page = *rel == "index.html";
  result.content_encoding = coding_token(coding);
  result.cache_control = rel->starts_with("assets/") ? kCacheImmutable : kCacheRevalidate;
  // One strong tag per representation: the identity bytes' hash, and the coding.
  result.etag =
      "\"" + found->tag +
      (coding == ContentCoding::kIdentity ? "" : "-" + std::string(result.content_encoding)) + "\"";
  if (!if_none_match.empty() && if_none_match_matches(if_none_match, result.etag)) {
    result.status = 304;
    return result;
  }
  result.status = 200;
  if (coding == ContentCoding::kBrotli) {
    result.body = std::move(*brotli);
  } else if (coding == ContentCoding::kGzip) {
    result.body = std::move(*gzip);
  } else {
    result.body = std::move(found->bytes);
  }
  return result;
}

}  // namespace tokencast::rendezvous
