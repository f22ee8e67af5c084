// Internal to core: the rules that keep peers' display names from impersonating the host or
// each other (docs/SECURITY.md, "Hostile link holders"). Names come from link holders, so
// every one of them may be chosen to mislead.
#pragma once

#include <string>
#include <string_view>

namespace tokencast::names {

// The name as compared for uniqueness: fullwidth ASCII (U+FF01..U+FF5E) folded to ASCII, ASCII
// lower-cased, surrounding spaces trimmed.
std::string fold(std::string_view name);

// True when `name` reads as the host or the program: host, tokencast, system, admin,
// moderator, or `host_name` (the host's own name), compared after fold(), with everything
// but ASCII letters and digits removed, trailing digits dropped ("host 2") and look-alike
// digits read as letters ("h0st", "5ystem").
bool reserved(std::string_view name, std::string_view host_name);

}  // namespace tokencast::names
