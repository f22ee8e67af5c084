#include "store_access.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <ctime>

namespace tokencast::app {

std::unique_ptr<EventStore> open_store(const std::string& command, const std::string& path,
                                       bool must_exist) {
  struct stat st {};
  if (must_exist && ::stat(path.c_str(), &st) != 0) {
    std::fprintf(stderr, "tokencast %s: no store at %s (use --db FILE)\n", command.c_str(),
                 path.c_str());
    return nullptr;
  }
  auto store = EventStore::open(path);
  if (!store) {
    std::fprintf(stderr, "tokencast %s: cannot open the store %s: %s\n", command.c_str(),
                 path.c_str(), store.error().message().c_str());
    return nullptr;
  }
  return std::move(*store);
}

std::optional<SessionId> find_session(const std::string& command, EventStore& store,
                                      const std::string& id_or_prefix) {
  auto id = store.resolve_prefix(id_or_prefix);
  if (!id) {
    std::fprintf(stderr, "tokencast %s: session '%s': %s\n", command.c_str(), id_or_prefix.c_str(),
                 id.error().message().c_str());
    return std::nullopt;
  }
  return *id;
}

std::string format_time(int64_t unix_ms) {
  if (unix_ms <= 0) return "-";
  std::time_t seconds = unix_ms / 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

}  // namespace tokencast::app
