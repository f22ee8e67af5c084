#include "log/catchup_batch.hpp"

#include <variant>

#include "wire/frame_internal.hpp"

namespace tokencast::codec {

Event without_thinking(const Event& event) {
  if (const auto* thinking = std::get_if<ThinkingDelta>(&event.body)) {
    return Event{event.seq, TextDelta{thinking->turn, ""}, event.span};
  }
  return event;
}

size_t EventBatchBuilder::run_size() const {
  return run_open_ ? delta_event_size(run_turn_, run_span_, run_text_.size()) : 0;
}

size_t EventBatchBuilder::frame_size() const {
  return events_header_size(first_seq_, count_) + body_.size() + run_size();
}

bool EventBatchBuilder::try_add(const Event& event) {
  const Seq first = empty() ? event.seq : first_seq_;
  const auto delta = delta_ref(event.body);

  if (delta && run_open_ && delta->turn == run_turn_ && delta->thinking == run_thinking_) {
    const size_t merged = events_header_size(first, count_) + body_.size() +
                          delta_event_size(run_turn_, run_span_ + event.span,
                                           run_text_.size() + delta->bytes->size());
    if (merged > kMaxFrameBytes) return false;
    run_span_ += event.span;
    run_text_ += *delta->bytes;
    last_seq_ = event.last_seq();
    return true;
  }

  size_t added = 0;
  if (delta) {
    added = delta_event_size(delta->turn, event.span, delta->bytes->size());
  } else {
    scratch_.clear();
    write_event(scratch_, event);
    added = scratch_.size();
  }
  const size_t total = events_header_size(first, count_ + 1) + body_.size() + run_size() + added;
  if (total > kMaxFrameBytes) return false;

  flush_run();
  if (delta) {
    run_open_ = true;
    run_thinking_ = delta->thinking;
    run_turn_ = delta->turn;
    run_seq_ = event.seq;
    run_span_ = event.span;
    run_text_ = *delta->bytes;
  } else {
    body_.insert(body_.end(), scratch_.begin(), scratch_.end());
  }
  first_seq_ = first;
  last_seq_ = event.last_seq();
  ++count_;
  return true;
}

void EventBatchBuilder::flush_run() {
  if (!run_open_) return;
  write_event(body_, Event{run_seq_, make_delta(run_thinking_, run_turn_, std::move(run_text_)),
                           run_span_});
  run_text_.clear();
  run_open_ = false;
}

FrameBytes EventBatchBuilder::finish() {
  flush_run();
  FrameBytes out;
  out.reserve(events_header_size(first_seq_, count_) + body_.size());
  write_events_header(out, first_seq_, count_);
  out.insert(out.end(), body_.begin(), body_.end());
  body_.clear();
  count_ = 0;
  first_seq_ = last_seq_ = 0;
  return out;
}

}  // namespace tokencast::codec
