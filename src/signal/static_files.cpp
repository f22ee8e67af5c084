#include "static_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <utility>

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

}  // namespace

std::optional<std::string> static_path_for_target(std::string_view target) {
  if (target.size() > kMaxTarget || target.empty() || target.front() != '/') return std::nullopt;
  if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  if (target == "/" || target == "/j" || target == "/j/") return std::string("index.html");
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
  if (root.empty()) return;
  std::error_code ec;
  root_ = std::filesystem::canonical(root, ec);
  if (ec) root_ = std::filesystem::path(root);  // validate() reports it; serve nothing
}

StaticResult StaticFiles::get(std::string_view target) const {
  StaticResult result;
  auto rel = static_path_for_target(target);
  if (!rel) {
    result.status = 400;
    result.body = "bad path\n";
    return result;
  }
  if (root_.empty()) {
    for (const auto& file : built_in_) {
      if (file.path == *rel) {
        result.status = 200;
        result.body = std::string(file.bytes);
        result.content_type = content_type_for(*rel);
        return result;
      }
    }
    if (*rel == "index.html") {
      result.status = 200;
      result.body = std::string(placeholder_page());
      result.content_type = content_type_for(*rel);
    } else {
      result.body = "not found\n";
    }
    return result;
  }
  std::error_code ec;
  std::filesystem::path resolved = std::filesystem::canonical(root_ / *rel, ec);
  const std::string& root_text = root_.native();
  const std::string& resolved_text = resolved.native();
  bool inside = !ec && resolved_text.size() > root_text.size() + 1 &&
                resolved_text.compare(0, root_text.size(), root_text) == 0 &&
                resolved_text[root_text.size()] == '/';
  if (!inside) {
    result.body = "not found\n";
    return result;
  }
  auto body = read_regular_file(resolved);
  if (!body) {
    result.body = "not found\n";
    return result;
  }
  result.status = 200;
  result.body = std::move(*body);
  result.content_type = content_type_for(*rel);
  return result;
}

}  // namespace tokencast::rendezvous
