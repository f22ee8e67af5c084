#include "tokencast/private_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <random>

namespace tokencast {
namespace {

std::error_code last_error() { return {errno, std::system_category()}; }

bool is_symlink(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

namespace {

Expected<void, std::error_code> write_atomically(const std::string& path, std::string_view bytes,
                                                 mode_t mode) {
  if (is_symlink(path))
    return unexpected(std::make_error_code(std::errc::too_many_symbolic_link_levels));
  // A name nobody can have prepared: O_EXCL fails on anything already there, links included.
  std::random_device random;
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
    char suffix[24];
    std::snprintf(suffix, sizeof suffix, ".tmp-%08x", static_cast<unsigned>(random()));
    tmp = path + suffix;
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0 && errno != EEXIST) return unexpected(last_error());
  }
  if (fd < 0) return unexpected(std::make_error_code(std::errc::file_exists));
  // The umask can only take bits away; make sure of the mode exactly.
  bool ok = ::fchmod(fd, mode) == 0 && write_all(fd, bytes) && ::fsync(fd) == 0;
  std::error_code error = ok ? std::error_code{} : last_error();
  if (::close(fd) != 0 && ok) {
    ok = false;
    error = last_error();
  }
  // rename() replaces a symlink rather than following it; one planted meanwhile is refused
  // all the same.
  if (ok && is_symlink(path)) {
    ok = false;
    error = std::make_error_code(std::errc::too_many_symbolic_link_levels);
  }
  if (ok && std::rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    error = last_error();
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    return unexpected(error);
  }
  return {};
}

}  // namespace

Expected<void, std::error_code> write_private_file(const std::string& path,
                                                   std::string_view bytes) {
  return write_atomically(path, bytes, 0600);
}

Expected<void, std::error_code> write_readable_file(const std::string& path,
                                                    std::string_view bytes) {
  return write_atomically(path, bytes, 0644);
}

}  // namespace tokencast
