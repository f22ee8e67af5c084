#include "tokencast/core/outbound_queue.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "log/catchup_batch.hpp"
#include "wire/frame_internal.hpp"

namespace tokencast {
namespace {

class QueueCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tokencast.queue"; }
  std::string message(int value) const override {
    switch (static_cast<QueueError>(value)) {
      case QueueError::kOutOfOrder:
        return "event does not continue the queue's sequences";
      case QueueError::kOverflowed:
        return "outbound queue overflowed";
      case QueueError::kClosed:
        return "outbound queue closed";
    }
    return "unknown queue error";
  }
};

bool is_bye(const FrameBytes& frame) {
  return !frame.empty() && frame.front() == static_cast<uint8_t>(FrameType::kBye);
}

}  // namespace

const std::error_category& queue_category() {
  static const QueueCategory category;
  return category;
}

std::error_code make_error_code(QueueError e) { return {static_cast<int>(e), queue_category()}; }

OutboundQueue::OutboundQueue(const SessionLog& log, CatchupPlanner planner,
                             OutboundQueueOptions options)
    : log_(&log), planner_(planner), options_(options), popped_seq_(planner.cursor()) {}

Expected<OutboundQueue, std::error_code> OutboundQueue::create(const SessionLog& log,
                                                               Seq peer_last_seq,
                                                               OutboundQueueOptions options) {
  auto planner = CatchupPlanner::create(log, peer_last_seq, options.thinking);
  if (!planner) return unexpected(planner.error());
  return OutboundQueue(log, *planner, options);
}

bool OutboundQueue::has_frames() const {
  if (state_ == State::kClosed) return false;
  return !items_.empty() || planned_ || (state_ == State::kCatchingUp && !planner_.level());
}

std::optional<OutboundQueue::Next> OutboundQueue::peek() {
  if (state_ == State::kClosed) return std::nullopt;
  if (!items_.empty()) {
    if (const auto* frame = std::get_if<FrameBytes>(&items_.front())) {
      return Next{frame->size(), false, false};
    }
    // Pending events up to the next control frame, as pop_events() would pack them at most.
    const auto& first = std::get<Event>(items_.front());
    size_t bytes = codec::events_header_size(first.seq, items_.size());
    for (const auto& item : items_) {
      const auto* event = std::get_if<Event>(&item);
      if (event == nullptr || bytes >= kMaxFrameBytes) break;
      bytes += codec::event_size(*event);
    }
    return Next{std::min(bytes, kMaxFrameBytes), true, true};
  }
  if (state_ == State::kCatchingUp) {
    if (!planned_) planned_ = planner_.next();
    if (planned_) return Next{planned_->bytes.size(), true, false};
    state_ = State::kLive;  // level with the log, as pop() would find
    live_seq_ = planner_.cursor();
  }
  return std::nullopt;
}

bool OutboundQueue::fits(size_t more) const {
  return pending_bytes_ + more <= options_.max_pending_bytes;
}

void OutboundQueue::overflow() {
  items_.clear();
  state_ = State::kOverflowed;
  // Both texts are constant and short, so encoding cannot fail.
  auto error = encode_frame(
      ErrorFrame{StatusCode::kSlowConsumer,
                 "slow consumer: more than " + std::to_string(options_.max_pending_bytes) +
                     " bytes pending; reconnect and resume from the last sequence received"});
  auto bye = encode_frame(ByeFrame{StatusCode::kSlowConsumer, "slow consumer"});
  pending_bytes_ = error->size() + bye->size();
  items_.emplace_back(std::move(*error));
  items_.emplace_back(std::move(*bye));
  bye_queued_ = true;
}

Expected<void, std::error_code> OutboundQueue::push_frame(FrameBytes frame) {
  if (state_ == State::kOverflowed) return unexpected(make_error_code(QueueError::kOverflowed));
  if (state_ == State::kClosed || bye_queued_) {
    return unexpected(make_error_code(QueueError::kClosed));
  }
  if (!fits(frame.size())) {
    overflow();
    return unexpected(make_error_code(QueueError::kOverflowed));
  }
  bye_queued_ = is_bye(frame);
  pending_bytes_ += frame.size();
  items_.emplace_back(std::move(frame));
  return {};
}

// Merges a delta into the pending delta at the back when both belong to the same turn and are
// consecutive; the merged delta stays within kMaxDeltaBytes so it always fits a frame alone.
bool OutboundQueue::try_merge(const Event& event) {
  const auto delta = delta_ref(event.body);
  if (!delta || items_.empty()) return false;
  auto* back = std::get_if<Event>(&items_.back());
  if (!back || back->last_seq() + 1 != event.seq) return false;
  const auto pending = delta_ref(back->body);
  if (!pending || pending->turn != delta->turn || pending->thinking != delta->thinking ||
      pending->bytes->size() + delta->bytes->size() > kMaxDeltaBytes) {
    return false;
  }
  const size_t before = codec::event_size(*back);
  const size_t after = codec::delta_event_size(delta->turn, back->span + event.span,
                                               pending->bytes->size() + delta->bytes->size());
  if (!fits(after - before)) {
    overflow();
    return true;  // handled: the caller reports the overflow
  }
  *delta_bytes(back->body) += *delta->bytes;
  back->span += event.span;
  pending_bytes_ += after - before;
  return true;
}

Expected<void, std::error_code> OutboundQueue::push_event(const Event& offered) {
  // An older peer's copy of a thinking delta (rare: only reasoning turns pay for the copy).
  const bool downgrade = !options_.thinking && std::holds_alternative<ThinkingDelta>(offered.body);
  const Event converted = downgrade ? codec::without_thinking(offered) : Event{};
  const Event& event = downgrade ? converted : offered;
  if (state_ == State::kOverflowed) return unexpected(make_error_code(QueueError::kOverflowed));
  if (state_ == State::kClosed || bye_queued_) {
    return unexpected(make_error_code(QueueError::kClosed));
  }
  if (state_ == State::kCatchingUp) {
    // The planner reads the log up to its head when popped, so this event is covered.
    if (event.seq >= 1 && event.seq <= log_->head()) return {};
    return unexpected(make_error_code(QueueError::kOutOfOrder));
  }
  // Covered already: catch-up reached the head before the host got round to this push.
  if (event.seq >= 1 && event.last_seq() <= live_seq_) return {};
  if (event.seq != live_seq_ + 1) return unexpected(make_error_code(QueueError::kOutOfOrder));

  if (!try_merge(event)) {
    const size_t size = codec::event_size(event);
    if (!fits(size)) {
      overflow();
    } else {
      items_.emplace_back(event);
      pending_bytes_ += size;
    }
  }
  if (state_ == State::kOverflowed) return unexpected(make_error_code(QueueError::kOverflowed));
  live_seq_ = event.last_seq();
  return {};
}

FrameBytes OutboundQueue::pop_events() {
  Event& first = std::get<Event>(items_.front());
  // The hot path: one delta (text, or thinking), sequence and turn implicit, 1 byte of framing.
  if (const auto delta = delta_ref(first.body); delta && first.span == 1) {
    FrameBytes out;
    out.reserve(1 + delta->bytes->size());
    out.push_back(static_cast<uint8_t>(delta->thinking ? FrameType::kThinking : FrameType::kDelta));
    out.insert(out.end(), delta->bytes->begin(), delta->bytes->end());
    pending_bytes_ -= codec::event_size(first);
    popped_seq_ = first.seq;
    items_.pop_front();
    return out;
  }
  // Otherwise pack as many consecutive pending events as one frame holds.
  codec::EventBatchBuilder batch;
  while (!items_.empty()) {
    const auto* event = std::get_if<Event>(&items_.front());
    if (!event || !batch.try_add(*event)) break;
    pending_bytes_ -= codec::event_size(*event);
    popped_seq_ = event->last_seq();
    items_.pop_front();
  }
  return batch.finish();
}

std::optional<FrameBytes> OutboundQueue::pop() {
  if (state_ == State::kClosed) return std::nullopt;
  if (!items_.empty()) {
    if (auto* frame = std::get_if<FrameBytes>(&items_.front())) {
      FrameBytes out = std::move(*frame);
      items_.pop_front();
      pending_bytes_ -= out.size();
      if (is_bye(out)) {
        state_ = State::kClosed;
        items_.clear();
        pending_bytes_ = 0;
      }
      return out;
    }
    return pop_events();
  }
  if (state_ == State::kCatchingUp) {
    if (!planned_) planned_ = planner_.next();
    if (auto planned = std::exchange(planned_, std::nullopt)) {
      popped_seq_ = planned->last_seq;
      return std::move(planned->bytes);
    }
    state_ = State::kLive;
    live_seq_ = planner_.cursor();
  }
  return std::nullopt;
}

}  // namespace tokencast
