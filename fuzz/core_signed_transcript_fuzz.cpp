// libFuzzer target: signed transcript files (`tokencast verify`) from arbitrary bytes.
// Never crashes; aborts only when an invariant breaks: a file that parses (and so verifies)
// encodes back to a file that parses to the same transcript and still verifies.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tokencast/core/signed_transcript.hpp"

using namespace tokencast;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_signed_transcript(text);
  if (!parsed) return 0;
  if (!verify_signed_transcript(*parsed)) std::abort();
  auto again = parse_signed_transcript(encode_signed_transcript(*parsed));
  if (!again || !(*again == *parsed)) std::abort();
  return 0;
}
