// libFuzzer target: --header lines ("Name: value" with ${VAR} from the environment) from
// arbitrary bytes. Never crashes; aborts only when an invariant breaks:
//  - a parsed header has a non-empty name and no CR, LF or NUL in its name or value (nothing
//    can be injected into the request), whatever the environment's values hold;
//  - a parsed value is within the line bound.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "tokencast/llm/generation.hpp"

using namespace tokencast;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // Every variable's value is the input's tail after its first byte: hostile values too.
  const std::string tail(text.substr(size > 0 ? 1 : 0));
  auto lookup = [&](std::string_view name) -> std::optional<std::string> {
    if (name.size() % 2 == 1) return std::nullopt;
    return tail;
  };
  auto line = parse_header_line(text, lookup);
  if (!line) return 0;
  if (line->name.empty() || line->value.size() > kMaxHeaderLineBytes) std::abort();
  for (const std::string* part : {&line->name, &line->value}) {
    if (part->find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) std::abort();
  }
  return 0;
}
