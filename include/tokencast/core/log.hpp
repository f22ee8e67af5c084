// A process-wide logging hook, header-only and dependency-free.
//
// Quiet by default: nothing is written anywhere until a sink is installed with set_sink().
// Libraries log through write() (or trace() ... error() below); the application decides
// where lines go. libwebrtc's own log is routed here by src/rtc (component "webrtc").
//
// Thread-safety: every function may be called from any thread. The sink is called on the thread
// that logs (libwebrtc's network, worker and signaling threads among them), possibly from several
// threads at once, so it must be thread-safe, fast and must not block or log re-entrantly.
// Never log secrets (invite secrets, keys, TURN credentials, prompts or tokens).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

namespace tokencast::log {

enum class Level : uint8_t { kTrace = 0, kDebug = 1, kInfo = 2, kWarn = 3, kError = 4, kOff = 5 };

// component: a short fixed name ("rtc", "webrtc", "signal", ...); message: one line, no newline.
using Sink = std::function<void(Level level, std::string_view component, std::string_view message)>;

namespace detail {
inline std::atomic<Level> g_level{Level::kOff};
inline std::atomic<std::shared_ptr<const Sink>> g_sink{};
}  // namespace detail

// Installs `sink` (an empty function removes it) and the minimum level that reaches it. A sink
// just replaced may still be finishing a call on another thread: what it captures must outlive
// that (install sinks at startup, remove them at shutdown).
inline void set_sink(Sink sink, Level min_level = Level::kInfo) {
  if (!sink) {
    detail::g_level.store(Level::kOff, std::memory_order_relaxed);
    detail::g_sink.store(nullptr);
    return;
  }
  detail::g_sink.store(std::make_shared<const Sink>(std::move(sink)));
  detail::g_level.store(min_level, std::memory_order_relaxed);
}

inline void set_level(Level min_level) {
  detail::g_level.store(min_level, std::memory_order_relaxed);
}

inline Level level() { return detail::g_level.load(std::memory_order_relaxed); }

// True when a line at `l` would reach the sink: test it before building an expensive message.
inline bool enabled(Level l) { return l != Level::kOff && l >= level(); }

inline void write(Level l, std::string_view component, std::string_view message) {
  if (!enabled(l)) return;
  if (auto sink = detail::g_sink.load()) (*sink)(l, component, message);
}

inline std::string_view level_name(Level l) {
  switch (l) {
    case Level::kTrace:
      return "trace";
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
    case Level::kOff:
      return "off";
  }
  return "?";
}

inline void trace(std::string_view component, std::string_view message) {
  write(Level::kTrace, component, message);
}
inline void debug(std::string_view component, std::string_view message) {
  write(Level::kDebug, component, message);
}
inline void info(std::string_view component, std::string_view message) {
  write(Level::kInfo, component, message);
}
inline void warn(std::string_view component, std::string_view message) {
  write(Level::kWarn, component, message);
}
inline void error(std::string_view component, std::string_view message) {
  write(Level::kError, component, message);
}

}  // namespace tokencast::log
