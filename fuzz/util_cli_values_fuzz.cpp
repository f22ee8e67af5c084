// libFuzzer target: command-line values (durations, HOST:PORT) from arbitrary bytes.
// Never crashes; aborts only when an invariant breaks:
//  - a parsed duration is within its bound, and printing it back in milliseconds parses to the
//    same duration;
//  - a parsed HOST:PORT has a non-empty host and a port in 1..65535.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tokencast/util/cli_args.hpp"

using namespace tokencast;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto bound = std::chrono::hours(24 * 366);
  if (auto duration = util::parse_duration(text, bound)) {
    if (duration->count() < 0 || *duration > bound) std::abort();
    auto again = util::parse_duration(std::to_string(duration->count()) + "ms", bound);
    if (!again || *again != *duration) std::abort();
  }
  if (auto host_port = util::parse_host_port(text)) {
    if (host_port->host.empty() || host_port->port == 0) std::abort();
  }
  return 0;
}
