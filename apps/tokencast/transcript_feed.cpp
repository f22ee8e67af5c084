#include "transcript_feed.hpp"

namespace tokencast::app {

void TranscriptFeed::push(const Event& event) {
  std::lock_guard lock(mutex_);
  // Rendered even when dropped, so the printer's state (open turn, UTF-8, escapes) stays whole.
  std::string text = printer_.render(Applied{event}, /*live=*/true);
  if (pending_.size() + text.size() > kMaxPendingBytes) {
    dropped_ = true;
    return;
  }
  pending_ += text;
}

std::string TranscriptFeed::take() {
  std::lock_guard lock(mutex_);
  std::string out;
  out.swap(pending_);
  if (dropped_) {
    out +=
        "\n[... the terminal fell behind: part of the transcript was not shown here; "
        "tokencast export has all of it ...]\n";
    dropped_ = false;
  }
  return out;
}

}  // namespace tokencast::app
