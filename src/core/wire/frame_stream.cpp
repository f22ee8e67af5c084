// FrameDecoder: the client's stateful decoder (implicit sequences, gap and turn checks).
#include <limits>
#include <variant>

#include "tokencast/core/frame.hpp"
#include "wire/frame_internal.hpp"

namespace tokencast {
namespace {

FrameError to_frame_error(codec::TurnRule rule) {
  switch (rule) {
    case codec::TurnRule::kAlreadyOpen:
      return FrameError::kTurnAlreadyOpen;
    case codec::TurnRule::kNoOpenTurn:
      return FrameError::kNoOpenTurn;
    case codec::TurnRule::kMismatch:
    case codec::TurnRule::kOk:
      break;
  }
  return FrameError::kTurnMismatch;
}

}  // namespace

Expected<Frame, std::error_code> FrameDecoder::decode(std::span<const uint8_t> bytes) {
  auto decoded = decode_frame(bytes);
  if (!decoded) return decoded;
  Frame& frame = *decoded;

  if (std::holds_alternative<HelloFrame>(frame) || std::holds_alternative<PromptFrame>(frame) ||
      std::holds_alternative<CancelFrame>(frame) || std::holds_alternative<AckFrame>(frame) ||
      std::holds_alternative<RelayAcceptFrame>(frame) ||
      std::holds_alternative<RelayRefuseFrame>(frame) ||
      std::holds_alternative<RelayHelloFrame>(frame) ||
      std::holds_alternative<RelayChildGoneFrame>(frame) ||
      std::holds_alternative<RelayOfferFrame>(frame)) {
    return unexpected(make_error_code(FrameError::kUnexpectedFrame));
  }

  auto* delta = std::get_if<DeltaFrame>(&frame);
  auto* thinking = std::get_if<ThinkingFrame>(&frame);
  if (delta || thinking) {
    if (!position_.open_turn) return unexpected(make_error_code(FrameError::kNoOpenTurn));
    if (position_.last_seq == std::numeric_limits<Seq>::max()) {
      return unexpected(make_error_code(FrameError::kBadSequence));
    }
    Event event{position_.last_seq + 1,
                make_delta(thinking != nullptr, *position_.open_turn,
                           std::move(thinking ? thinking->bytes : delta->bytes))};
    position_.last_seq = event.seq;
    return Frame{EventsFrame{{std::move(event)}}};
  }

  if (const auto* events = std::get_if<EventsFrame>(&frame)) {
    // decode_frame guarantees a non-empty, consecutive batch; only where it starts and the turn
    // rules depend on the stream.
    if (position_.last_seq == std::numeric_limits<Seq>::max() ||
        events->events.front().seq != position_.last_seq + 1) {
      return unexpected(make_error_code(FrameError::kSequenceGap));
    }
    // Check the whole batch before applying any of it, so an error leaves the position as is.
    std::optional<TurnId> open = position_.open_turn;
    for (const Event& event : events->events) {
      const auto rule = codec::check_turn_rule(open, event.body);
      if (rule != codec::TurnRule::kOk) return unexpected(make_error_code(to_frame_error(rule)));
      codec::apply_turn_rule(open, event.body);
    }
    position_.open_turn = open;
    position_.last_seq = events->events.back().last_seq();
  }
  return decoded;
}

}  // namespace tokencast
