#include "tokencast/core/text.hpp"

#include <algorithm>
#include <cstdio>

namespace tokencast {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the longest valid prefix of a UTF-8 sequence starting at s[0], and the code point.
// Returns 0 when s[0] cannot start a character, and -k (k >= 1) when the first k bytes are a
// valid but incomplete prefix that ran into the end of `s`.
struct Decoded {
  int length;        // > 0 complete; 0 invalid lead; < 0 incomplete prefix of -length bytes
  int valid_prefix;  // bytes forming the maximal valid subpart when invalid (>= 1)
  uint32_t cp;
};

Decoded decode(std::string_view s) {
  auto b = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  uint8_t lead = b(0);
  if (lead < 0x80) return {1, 1, lead};
  int need = 0;
  uint8_t lo = 0x80;
  uint8_t hi = 0xBF;
  uint32_t cp = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 1;
    cp = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 2;
    cp = lead & 0x0F;
    if (lead == 0xE0) lo = 0xA0;
    if (lead == 0xED) hi = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 3;
    cp = lead & 0x07;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return {0, 1, 0};
  }
  for (int i = 1; i <= need; ++i) {
    if (static_cast<size_t>(i) >= s.size()) return {-i, i, 0};
    uint8_t c = b(i);
    uint8_t min = i == 1 ? lo : 0x80;
    uint8_t max = i == 1 ? hi : 0xBF;
    if (c < min || c > max) return {0, i, 0};
    cp = (cp << 6) | (c & 0x3F);
  }
  return {need + 1, need + 1, cp};
}

bool is_bidi_control(uint32_t cp) {
  return cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

void append_code_point(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// An escape string (OSC, DCS, ...) that never ends would swallow the rest of the answer;
// past this many bytes it is abandoned and text shows again.
constexpr size_t kMaxSequence = 4096;

}  // namespace

std::string to_valid_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    Decoded d = decode(bytes.substr(i));
    if (d.length > 0) {
      out.append(bytes.substr(i, static_cast<size_t>(d.length)));
      i += static_cast<size_t>(d.length);
    } else {
      out.append(kReplacement);
      i += static_cast<size_t>(d.valid_prefix);
    }
  }
  return out;
}

std::string Utf8Repair::push(std::string_view bytes) {
  std::string joined;
  if (!held_.empty()) {
    joined = std::move(held_);
    held_.clear();
    joined.append(bytes);
    bytes = joined;
  }
  // Hold back a valid but incomplete character at the very end; repair the rest.
  size_t i = 0;
  size_t complete_end = bytes.size();
  while (i < bytes.size()) {
    Decoded d = decode(bytes.substr(i));
    if (d.length < 0) {
      complete_end = i;
      break;
    }
    i += d.length > 0 ? static_cast<size_t>(d.length) : static_cast<size_t>(d.valid_prefix);
  }
  held_ = std::string(bytes.substr(complete_end));
  return to_valid_utf8(bytes.substr(0, complete_end));
}

std::string Utf8Repair::finish() {
  std::string out = to_valid_utf8(held_);
  held_.clear();
  return out;
}

std::string_view utf8_prefix(std::string_view text, size_t max) {
  if (text.size() <= max) return text;
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

bool is_valid_utf8(std::string_view bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    Decoded d = decode(bytes.substr(i));
    if (d.length <= 0) return false;
    i += static_cast<size_t>(d.length);
  }
  return true;
}

void TerminalSanitizer::put_code_point(uint32_t cp, std::string& out) {
  bool control = (cp < 0x20 && cp != '\n' && cp != '\t') || (cp >= 0x7F && cp <= 0x9F);
  if (control || is_bidi_control(cp)) {
    out.append(kReplacement);
  } else {
    append_code_point(cp, out);
  }
}

void TerminalSanitizer::consume(uint32_t cp, std::string& out) {
  switch (mode_) {
    case Mode::kText:
      if (cp == 0x1B) {
        mode_ = Mode::kEscape;
        sequence_length_ = 1;
      } else {
        put_code_point(cp, out);
      }
      return;
    case Mode::kEscape:
      ++sequence_length_;
      if (cp == '[') {
        mode_ = Mode::kCsi;
      } else if (cp == ']' || cp == 'P' || cp == 'X' || cp == '^' || cp == '_') {
        mode_ = Mode::kString;  // OSC, DCS, SOS, PM, APC: run until BEL or ST
      } else if (cp >= 0x20 && cp <= 0x2F) {
        // intermediate bytes of an nF escape: stay until the final byte
      } else if (cp >= 0x30 && cp <= 0x7E) {
        mode_ = Mode::kText;  // a complete two-byte (or nF) escape: dropped
      } else {
        mode_ = Mode::kText;  // not an escape after all: the ESC is dropped, the rest shown
        consume(cp, out);
      }
      return;
    case Mode::kCsi:
      ++sequence_length_;
      if (cp >= 0x40 && cp <= 0x7E) {
        mode_ = Mode::kText;  // final byte
      } else if (cp < 0x20 || cp > 0x7E || sequence_length_ > kMaxSequence) {
        mode_ = Mode::kText;  // malformed: end the sequence here and show what follows
        consume(cp, out);
      }
      return;
    case Mode::kString:
      ++sequence_length_;
      if (cp == 0x07 || cp == 0x9C) {
        mode_ = Mode::kText;
      } else if (cp == 0x1B) {
        mode_ = Mode::kStringEscape;
      } else if (sequence_length_ > kMaxSequence) {
        mode_ = Mode::kText;
      }
      return;
    case Mode::kStringEscape:
      // ESC \ is the string terminator; any other ESC ends the string and starts anew.
      mode_ = Mode::kText;
      if (cp != '\\') {
        mode_ = Mode::kEscape;
        sequence_length_ = 1;
        consume(cp, out);
      }
      return;
  }
}

std::string TerminalSanitizer::feed(std::string_view bytes) {
  std::string out;
  std::string joined;
  if (!pending_.empty()) {
    joined = pending_;
    joined.append(bytes);
    pending_.clear();
    bytes = joined;
  }
  size_t i = 0;
  while (i < bytes.size()) {
    Decoded d = decode(bytes.substr(i));
    if (d.length > 0) {
      consume(d.cp, out);
      i += static_cast<size_t>(d.length);
    } else if (d.length < 0) {
      pending_ = std::string(bytes.substr(i));  // wait for the rest of the character
      break;
    } else {
      if (mode_ == Mode::kText) out.append(kReplacement);
      i += static_cast<size_t>(d.valid_prefix);
    }
  }
  return out;
}

std::string TerminalSanitizer::finish() {
  std::string out;
  if (!pending_.empty() && mode_ == Mode::kText) out.append(kReplacement);
  pending_.clear();
  mode_ = Mode::kText;
  sequence_length_ = 0;
  return out;
}

std::string neutralize_for_terminal(std::string_view bytes) {
  TerminalSanitizer sanitizer;
  std::string out = sanitizer.feed(bytes);
  out += sanitizer.finish();
  return out;
}

std::string neutralize_line(std::string_view bytes) {
  std::string out = neutralize_for_terminal(bytes);
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\n' || c == '\t'; }, ' ');
  return out;
}

std::string json_escape(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size() + 8);
  for (size_t i = 0; i < utf8.size(); ++i) {
    char c = utf8[i];
    auto u = static_cast<unsigned char>(c);
    // C1 controls (C2 80..C2 9F) and U+2028/U+2029 (E2 80 A8/A9) as \u escapes.
    auto next = [&](size_t k) {
      return i + k < utf8.size() ? static_cast<unsigned char>(utf8[i + k]) : 0;
    };
    if (u == 0xC2 && next(1) >= 0x80 && next(1) <= 0x9F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", next(1));
      out += buf;
      i += 1;
      continue;
    }
    if (u == 0xE2 && next(1) == 0x80 && (next(2) == 0xA8 || next(2) == 0xA9)) {
      out += next(2) == 0xA8 ? "\\u2028" : "\\u2029";
      i += 2;
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20 || u == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", u);
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

std::string json_quote(std::string_view bytes) {
  return "\"" + json_escape(to_valid_utf8(bytes)) + "\"";
}

}  // namespace tokencast
