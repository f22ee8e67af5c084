// libFuzzer target for the frame decoder. Decoding arbitrary bytes must never crash; whatever
// decodes must re-encode to the very same bytes (one encoding per value) and decode again to
// the same frame. Events frames are also re-packed by the batch builder the catch-up planner
// and the outbound queue use, which must keep the sequences and the text exact.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <variant>

// fuzz/CMakeLists.txt gives fuzz targets only the public include path; the builder is internal.
#include "log/catchup_batch.hpp"
#include "tokencast/core/frame.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void check_repack(const tokencast::EventsFrame& frame) {
  tokencast::codec::EventBatchBuilder batch;
  std::string text;
  std::string thinking;  // merged apart from the text, never into it
  for (const auto& event : frame.events) {
    // Merging never makes a frame larger, so everything that fitted still fits.
    check(batch.try_add(event));
    if (const auto* d = std::get_if<tokencast::TextDelta>(&event.body)) text += d->bytes;
    if (const auto* d = std::get_if<tokencast::ThinkingDelta>(&event.body)) thinking += d->bytes;
  }
  const auto bytes = batch.finish();
  check(bytes.size() <= tokencast::kMaxFrameBytes);
  auto decoded = tokencast::decode_frame(bytes);
  check(decoded.has_value());
  const auto& events = std::get<tokencast::EventsFrame>(*decoded).events;
  check(events.front().seq == frame.events.front().seq);
  check(events.back().last_seq() == frame.events.back().last_seq());
  std::string repacked;
  std::string repacked_thinking;
  for (const auto& event : events) {
    if (const auto* d = std::get_if<tokencast::TextDelta>(&event.body)) repacked += d->bytes;
    if (const auto* d = std::get_if<tokencast::ThinkingDelta>(&event.body)) {
      repacked_thinking += d->bytes;
    }
  }
  check(repacked == text);
  check(repacked_thinking == thinking);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);

  auto frame = tokencast::decode_frame(input);
  if (frame) {
    auto encoded = tokencast::encode_frame(*frame);
    check(encoded.has_value());
    check(std::equal(encoded->begin(), encoded->end(), input.begin(), input.end()));
    auto again = tokencast::decode_frame(*encoded);
    check(again.has_value() && *again == *frame);
    if (const auto* events = std::get_if<tokencast::EventsFrame>(&*frame)) check_repack(*events);
  }

  // The client decoder, from a position that sometimes lets events frames through.
  const tokencast::Seq last_seq = size > 2 ? data[2] - 1 : 0;
  std::optional<tokencast::TurnId> open;
  if (size > 0 && (data[size - 1] & 1)) open = data[size - 1] >> 1;
  tokencast::FrameDecoder decoder({last_seq, open});
  auto streamed = decoder.decode(input);
  if (streamed) {
    check(encode_frame(*streamed).has_value());
  } else {
    check(decoder.position() == tokencast::StreamPosition{last_seq, open});
  }
  (void)tokencast::decode_client_frame(input);
  return 0;
}
