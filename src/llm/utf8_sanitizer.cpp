#include "llm/utf8_sanitizer.hpp"

#include <cstdint>

namespace tokencast::llm {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Appends the valid UTF-8 for `in` to `out`; returns how many bytes at the end of `in` form
// an incomplete (but so far valid) sequence that was not consumed.
size_t convert(std::string_view in, std::string& out) {
  size_t i = 0;
  while (i < in.size()) {
    auto lead = static_cast<uint8_t>(in[i]);
    if (lead < 0x80) {
      // Copy a run of ASCII at once.
      size_t j = i + 1;
      while (j < in.size() && static_cast<uint8_t>(in[j]) < 0x80) ++j;
      out.append(in.substr(i, j - i));
      i = j;
      continue;
    }
    size_t need = 0;
    uint8_t low = 0x80;
    uint8_t high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      need = 1;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      need = 2;
      if (lead == 0xE0) low = 0xA0;
      if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      need = 3;
      if (lead == 0xF0) low = 0x90;
      if (lead == 0xF4) high = 0x8F;
    } else {
      out.append(kReplacement);
      ++i;
      continue;
    }
    size_t seen = 1;  // bytes of this sequence that are valid so far
    bool broken = false;
    while (seen <= need) {
      if (i + seen == in.size()) return in.size() - i;  // incomplete: hold it back
      auto byte = static_cast<uint8_t>(in[i + seen]);
      if (byte < low || byte > high) {
        broken = true;
        break;
      }
      low = 0x80;
      high = 0xBF;
      ++seen;
    }
    if (broken) {
      out.append(kReplacement);  // the maximal subpart; the offending byte is looked at again
      i += seen;
    } else {
      out.append(in.substr(i, seen));
      i += seen;
    }
  }
  return 0;
}

}  // namespace

std::string Utf8Sanitizer::push(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + held_.size());
  size_t held;
  if (held_.empty()) {
    held = convert(bytes, out);
    held_.assign(bytes.substr(bytes.size() - held));
  } else {
    std::string joined = held_ + std::string(bytes);
    held = convert(joined, out);
    held_ = joined.substr(joined.size() - held);
  }
  return out;
}

std::string Utf8Sanitizer::finish() {
  std::string out;
  if (!held_.empty()) out.append(kReplacement);
  held_.clear();
  return out;
}

std::string sanitize_utf8(std::string_view bytes) {
  Utf8Sanitizer sanitizer;
  std::string out = sanitizer.push(bytes);
  out += sanitizer.finish();
  return out;
}

}  // namespace tokencast::llm
