// Strict command-line parsing shared by the subcommands: every option is declared, unknown
// options and missing values are errors with a clear message, and --help is built from the
// declarations. Secrets never come from argv (see docs/SECURITY.md), so there is no option
// kind for them.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tokencast::util {

class CliArgs {
 public:
  CliArgs(std::string command, std::string summary);

  // Declarations; `out` must outlive parse().
  void flag(std::string name, bool* out, std::string help);
  void option(std::string name, std::string value_name, std::string* out, std::string help);
  void option(std::string name, std::string value_name, std::optional<std::string>* out,
              std::string help);
  // Repeatable option: every occurrence is appended.
  void multi(std::string name, std::string value_name, std::vector<std::string>* out,
             std::string help);
  void positional(std::string name, std::string* out, std::string help, bool required = true);
  void epilog(std::string text);

  enum class Outcome { kRun, kHelpShown, kError };
  // Parses; on --help prints usage to stdout, on a mistake prints it and usage to stderr.
  Outcome parse(std::span<const std::string_view> args);
  // parse(), as a command's exit code: nullopt to run, 0 after --help, 2 after a mistake.
  std::optional<int> parse_or_exit_code(std::span<const std::string_view> args);

  std::string usage() const;

 private:
  struct Spec {
    std::string name;
    std::string value_name;
    std::string help;
    bool* flag = nullptr;
    std::string* text = nullptr;
    std::optional<std::string>* maybe = nullptr;
    std::vector<std::string>* list = nullptr;
  };
  struct Positional {
    std::string name;
    std::string* out;
    std::string help;
    bool required;
  };
  const Spec* find(std::string_view name) const;

  std::string command_;
  std::string summary_;
  std::string epilog_;
  std::vector<Spec> specs_;
  std::vector<Positional> positionals_;
};

// Parses "HOST:PORT" (HOST may be "[v6]"); returns nullopt when malformed.
struct HostPort {
  std::string host;
  uint16_t port = 0;
};
std::optional<HostPort> parse_host_port(std::string_view text);

// Parses a duration: digits and one unit, "ms", "s", "m", "h" or "d" ("250ms", "90s", "45m",
// "2h", "7d"); plain digits are seconds. Nothing else (no sign, space, fraction or second
// unit); at most `max`. Returns nullopt when malformed or too long.
std::optional<std::chrono::milliseconds> parse_duration(
    std::string_view text, std::chrono::milliseconds max = std::chrono::hours(24 * 366));

}  // namespace tokencast::util
