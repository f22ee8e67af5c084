#include "verbose_log.hpp"

#include <cstdio>
#include <string>

#include "tokencast/core/log.hpp"

namespace tokencast::app {

void log_to_stderr() {
  log::set_sink(
      [](log::Level level, std::string_view component, std::string_view message) {
        std::fprintf(stderr, "[%s] %.*s: %.*s\n", std::string(log::level_name(level)).c_str(),
                     static_cast<int>(component.size()), component.data(),
                     static_cast<int>(message.size()), message.data());
      },
      log::Level::kInfo);
}

}  // namespace tokencast::app
