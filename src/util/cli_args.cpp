#include "tokencast/util/cli_args.hpp"

#include <charconv>
#include <cstdio>

namespace tokencast::util {

CliArgs::CliArgs(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

void CliArgs::flag(std::string name, bool* out, std::string help) {
  specs_.push_back(Spec{std::move(name), "", std::move(help), out});
}

void CliArgs::option(std::string name, std::string value_name, std::string* out, std::string help) {
  Spec s{std::move(name), std::move(value_name), std::move(help)};
  s.text = out;
  specs_.push_back(std::move(s));
}

void CliArgs::option(std::string name, std::string value_name, std::optional<std::string>* out,
                     std::string help) {
  Spec s{std::move(name), std::move(value_name), std::move(help)};
  s.maybe = out;
  specs_.push_back(std::move(s));
}

void CliArgs::multi(std::string name, std::string value_name, std::vector<std::string>* out,
                    std::string help) {
  Spec s{std::move(name), std::move(value_name), std::move(help)};
  s.list = out;
  specs_.push_back(std::move(s));
}

void CliArgs::positional(std::string name, std::string* out, std::string help, bool required) {
  positionals_.push_back(Positional{std::move(name), out, std::move(help), required});
}

void CliArgs::epilog(std::string text) { epilog_ = std::move(text); }

const CliArgs::Spec* CliArgs::find(std::string_view name) const {
  for (const auto& s : specs_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::string CliArgs::usage() const {
  std::string u = "usage: tokencast " + command_ + " [options]";
  for (const auto& p : positionals_) u += p.required ? " " + p.name : " [" + p.name + "]";
  u += "\n\n" + summary_ + "\n";
  if (!positionals_.empty()) {
    u += "\narguments:\n";
    for (const auto& p : positionals_) u += "  " + p.name + "\n      " + p.help + "\n";
  }
  u += "\noptions:\n";
  for (const auto& s : specs_) {
    u += "  " + s.name + (s.value_name.empty() ? "" : " " + s.value_name) + "\n      " + s.help +
         "\n";
  }
  u += "  --help\n      show this help and exit\n";
  if (!epilog_.empty()) u += "\n" + epilog_ + "\n";
  return u;
}

CliArgs::Outcome CliArgs::parse(std::span<const std::string_view> args) {
  auto fail = [&](const std::string& message) {
    std::fprintf(stderr, "tokencast %s: %s\n\n%s", command_.c_str(), message.c_str(),
                 usage().c_str());
    return Outcome::kError;
  };
  size_t next_positional = 0;
  bool options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (!options_done && (arg == "--help" || arg == "-h")) {
      std::fputs(usage().c_str(), stdout);
      return Outcome::kHelpShown;
    }
    if (!options_done && arg == "--") {
      options_done = true;
      continue;
    }
    if (!options_done && arg.size() > 1 && arg[0] == '-') {
      std::string_view name = arg;
      std::optional<std::string_view> inline_value;
      if (auto eq = arg.find('='); eq != std::string_view::npos) {
        name = arg.substr(0, eq);
        inline_value = arg.substr(eq + 1);
      }
      const Spec* spec = find(name);
      if (spec == nullptr) return fail("unknown option '" + std::string(name) + "'");
      if (spec->flag != nullptr) {
        if (inline_value) return fail("option '" + spec->name + "' takes no value");
        *spec->flag = true;
        continue;
      }
      std::string_view value;
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return fail("option '" + spec->name + "' needs a value (" + spec->value_name + ")");
      }
      if (spec->text != nullptr) *spec->text = std::string(value);
      if (spec->maybe != nullptr) *spec->maybe = std::string(value);
      if (spec->list != nullptr) spec->list->emplace_back(value);
      continue;
    }
    if (next_positional >= positionals_.size()) {
      return fail("unexpected argument '" + std::string(arg) + "'");
    }
    *positionals_[next_positional++].out = std::string(arg);
  }
  for (size_t p = next_positional; p < positionals_.size(); ++p) {
    if (positionals_[p].required) return fail("missing " + positionals_[p].name);
  }
  return Outcome::kRun;
}

std::optional<int> CliArgs::parse_or_exit_code(std::span<const std::string_view> args) {
  switch (parse(args)) {
    case Outcome::kHelpShown:
      return 0;
    case Outcome::kError:
      return 2;
    case Outcome::kRun:
      break;
  }
  return std::nullopt;
}

std::optional<HostPort> parse_host_port(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= text.size()) {
    return std::nullopt;
  }
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return std::nullopt;  // a bare IPv6 address must be bracketed
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    return std::nullopt;
  }
  return HostPort{std::string(host), static_cast<uint16_t>(port)};
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text,
                                                        std::chrono::milliseconds max) {
  struct Unit {
    std::string_view suffix;
    int64_t ms;
  };
  // "ms" before "m" and "s": the longest suffix that matches wins.
  static constexpr Unit kUnits[] = {
      {"ms", 1}, {"s", 1'000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
  int64_t unit_ms = 1'000;
  std::string_view digits = text;
  for (const auto& unit : kUnits) {
    if (text.ends_with(unit.suffix)) {
      unit_ms = unit.ms;
      digits = text.substr(0, text.size() - unit.suffix.size());
      break;
    }
  }
  if (digits.empty() || digits.size() > 12 ||
      digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  int64_t count = 0;
  for (char c : digits) count = count * 10 + (c - '0');  // <= 12 digits: no overflow
  if (count > max.count() / unit_ms) return std::nullopt;
  return std::chrono::milliseconds(count * unit_ms);
}

}  // namespace tokencast::util
