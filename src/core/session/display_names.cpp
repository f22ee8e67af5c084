#include "display_names.hpp"

#include <array>

namespace tokencast::names {
namespace {

bool is_ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Digits people use as letters in a name.
char letter_for(char c) {
  switch (c) {
    case '0':
      return 'o';
    case '1':
      return 'i';
    case '3':
      return 'e';
    case '4':
      return 'a';
    case '5':
      return 's';
    case '7':
      return 't';
    default:
      return c;
  }
}

// The key compared with the reserved words.
std::string reserved_key(std::string_view name) {
  std::string key;
  for (char c : fold(name)) {
    if (is_ascii_alnum(c)) key.push_back(c);
  }
  while (!key.empty() && key.back() >= '0' && key.back() <= '9') key.pop_back();
  for (char& c : key) c = c == 'l' ? 'i' : letter_for(c);
  return key;
}

}  // namespace

std::string fold(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (size_t i = 0; i < name.size(); ++i) {
    auto b = static_cast<unsigned char>(name[i]);
    // U+FF01..U+FF5E is EF BC 81..EF BC BF and EF BD 80..EF BD 9E; it maps to U+0021..U+007E.
    if (b == 0xEF && i + 2 < name.size()) {
      auto b1 = static_cast<unsigned char>(name[i + 1]);
      auto b2 = static_cast<unsigned char>(name[i + 2]);
      unsigned code = 0;
      if (b1 == 0xBC && b2 >= 0x81 && b2 <= 0xBF) code = 0xFF00 + (b2 - 0x80);
      if (b1 == 0xBD && b2 >= 0x80 && b2 <= 0x9E) code = 0xFF40 + (b2 - 0x80);
      if (code != 0) {
        out.push_back(lower(static_cast<char>(code - 0xFF00 + 0x20)));
        i += 2;
        continue;
      }
    }
    out.push_back(lower(name[i]));
  }
  size_t start = out.find_first_not_of(' ');
  if (start == std::string::npos) return "";
  return out.substr(start, out.find_last_not_of(' ') - start + 1);
}

bool reserved(std::string_view name, std::string_view host_name) {
  static constexpr std::array<std::string_view, 5> kWords = {"host", "tokencast", "system", "admin",
                                                             "moderator"};
  std::string key = reserved_key(name);
  if (key.empty()) return false;
  for (auto word : kWords) {
    if (key == reserved_key(word)) return true;
  }
  return !host_name.empty() && key == reserved_key(host_name);
}

}  // namespace tokencast::names
