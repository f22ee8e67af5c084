#include "join_run.hpp"

#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "tokencast/core/text.hpp"
#include "tokencast/private_file.hpp"

namespace tokencast::app {
namespace {

// Writes the transcript atomically (a reader never sees half a file), owner-only.
bool write_transcript(const std::string& path, const Transcript& transcript) {
  bool json = path.size() >= 5 && path.ends_with(".json");
  return static_cast<bool>(
      write_private_file(path, json ? transcript.to_json() : transcript.to_markdown()));
}

}  // namespace

int exit_for(JoinFailure failure) {
  switch (failure) {
    case JoinFailure::kBadLink:
      return kJoinBadLink;
    case JoinFailure::kRendezvousUnreachable:
    case JoinFailure::kNoAnswer:
      return kJoinUnreachable;
    case JoinFailure::kInvalidAnswer:
    case JoinFailure::kRefused:
    case JoinFailure::kRemoved:
      return kJoinRefused;
    case JoinFailure::kSessionEnded:
      return kJoinDone;
    case JoinFailure::kInterrupted:
    case JoinFailure::kNotOpened:
      return kJoinInterrupted;
    case JoinFailure::kSignalingAltered:
      return kJoinSignalingAltered;
    case JoinFailure::kCertificateRejected:
      return kJoinTlsRejected;
    case JoinFailure::kNoPath:
      return kJoinNoPath;
  }
  return kJoinInterrupted;
}

bool OnceTracker::observe(const ClientEvent& event, const StreamPosition& position) {
  if (const auto* w = std::get_if<Welcomed>(&event)) {
    if (!welcome_head_) welcome_head_ = w->head;
    if (self_.size() < 64) self_.push_back(w->peer);
    return false;
  }
  const auto* applied = std::get_if<Applied>(&event);
  if (applied == nullptr || !welcome_head_) return false;
  const Event& e = applied->event;
  if (const auto* joined = std::get_if<PeerJoined>(&e.body)) {
    if (std::find(self_.begin(), self_.end(), joined->peer) != self_.end()) name_ = joined->name;
    return false;
  }
  bool live = e.seq > *welcome_head_;
  if (!live) {
    // Caught up: without --prompt, an answer already streaming is the one awaited.
    if (!prompting_ && !checked_in_progress_ && position.last_seq >= *welcome_head_) {
      checked_in_progress_ = true;
      target_ = position.open_turn;
    }
    return false;
  }
  if (const auto* started = std::get_if<TurnStarted>(&e.body)) {
    if (prompting_) {
      // Our prompt becomes a user turn of ours; the next answer is the one awaited.
      if (live && started->role == TurnRole::kUser && started->author == name_) asked_ = true;
      if (asked_ && !target_ && started->role == TurnRole::kAssistant) target_ = started->turn;
    } else if (!target_ && live && started->role == TurnRole::kAssistant) {
      target_ = started->turn;  // the next answer (a prompt's own turn is not awaited)
    }
  } else if (const auto* ended = std::get_if<TurnEnded>(&e.body)) {
    return target_ && ended->turn == *target_;
  }
  return false;
}

JoinRun::JoinRun(JoinRunSettings settings)
    : settings_(std::move(settings)),
      tty_(isatty(1) != 0),
      printer_(tty_, settings_.show_thinking),
      tracker_(!settings_.prompt.empty(), settings_.name) {}

void JoinRun::finish(int code) {
  std::lock_guard lock(mutex_);
  if (!exit_code_) exit_code_ = code;
  cv_.notify_all();
}

JoinCallbacks JoinRun::callbacks() {
  JoinCallbacks callbacks;
  callbacks.on_event = [this](const ClientEvent& event) { on_event(event); };
  callbacks.on_status = [this](const std::string& status) {
    if (tty_ || status != "connected") std::fprintf(stderr, "[%s]\n", status.c_str());
  };
  callbacks.on_ended = [this](JoinFailure failure, const std::string& detail) {
    on_ended(failure, detail);
  };
  return callbacks;
}

void JoinRun::on_event(const ClientEvent& event) {
  if (const auto* w = std::get_if<Welcomed>(&event)) {
    if (!on_welcomed(*w)) return;
  }
  const auto* applied = std::get_if<Applied>(&event);
  print(event, applied);
  if (applied != nullptr) on_applied(applied->event);
  if (settings_.once && tracker_.observe(event, position_)) finish(kJoinDone);
}

// Notes where the catch-up ends, and lets the main thread send --prompt: a participant link
// only (a viewer link refuses the run, false).
bool JoinRun::on_welcomed(const Welcomed& welcomed) {
  if (!caught_up_at_) caught_up_at_ = welcomed.head;
  if (settings_.prompt.empty() || prompt_sent_) return true;
  if (welcomed.role != PeerRole::kParticipant) {
    std::fprintf(stderr, "tokencast join: this is a viewer link; it cannot send prompts\n");
    finish(kJoinRefused);
    return false;
  }
  {
    std::lock_guard lock(mutex_);
    prompt_sent_ = true;
  }
  cv_.notify_all();
  return true;
}

// Events up to the welcome's head are the catch-up: the printer shows them without the live
// effects.
void JoinRun::print(const ClientEvent& event, const Applied* applied) {
  bool live = applied == nullptr || !caught_up_at_ || applied->event.seq > *caught_up_at_;
  std::string text = printer_.render(event, live);
  if (!text.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  }
}

void JoinRun::on_applied(const Event& event) {
  {
    std::lock_guard lock(mutex_);
    transcript_dirty_ = true;
  }
  // The position is tracked here: asking the client would re-enter its own thread.
  position_.last_seq = event.last_seq();
  if (const auto* s = std::get_if<TurnStarted>(&event.body)) position_.open_turn = s->turn;
  if (std::holds_alternative<TurnEnded>(event.body)) position_.open_turn.reset();
}

void JoinRun::on_ended(JoinFailure failure, const std::string& detail) {
  // The detail may quote the rendezvous or the host: one line, no terminal controls.
  std::fprintf(stderr, "tokencast join: %s%s%s\n", join_failure_text(failure),
               detail.empty() ? "" : ": ", neutralize_line(detail).c_str());
  int code = exit_for(failure);
  // With --once, a session that ends before the awaited answer did is not done.
  if (failure == JoinFailure::kSessionEnded && settings_.once) code = kJoinInterrupted;
  finish(code);
}

std::thread JoinRun::start_console(JoinClient& client) {
  bool interactive = isatty(0) != 0 && settings_.prompt.empty();
  if (!interactive) return {};
  return std::thread([this, &client] { read_console(client); });
}

void JoinRun::read_console(JoinClient& client) {
  std::string line;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (exit_code_) return;
    }
    // Poll first, so that the thread notices the end of the run within 200 ms.
    pollfd pfd{0, POLLIN, 0};
    if (poll(&pfd, 1, 200) <= 0) continue;
    if (!std::getline(std::cin, line)) return;
    if (line == "/quit") {
      finish(kJoinDone);
    } else if (line == "/cancel") {
      if (auto r = client.cancel(); !r) {
        std::fprintf(stderr, "tokencast join: %s\n", r.error().message().c_str());
      }
    } else if (!line.empty()) {
      if (auto r = client.prompt(line); !r) {
        std::fprintf(stderr, "tokencast join: %s\n", r.error().message().c_str());
      }
    }
  }
}

// The prompt and the transcript are handled on this thread, not in the callbacks: the client's
// calls wait for its own thread, which is the one running the callbacks.
int JoinRun::wait(JoinClient& client) {
  bool prompted = false;
  for (;;) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, std::chrono::milliseconds(250));
    bool want_prompt = prompt_sent_ && !prompted;
    bool write_now = transcript_dirty_ && !settings_.out_path.empty();
    transcript_dirty_ = false;
    std::optional<int> done = exit_code_;
    lock.unlock();
    if (want_prompt) {
      prompted = true;
      send_prompt(client);
    }
    // A last write at the end, so that the file holds everything the run saw.
    if (write_now || (done && !settings_.out_path.empty())) save_transcript(client);
    if (done) return *done;
  }
}

void JoinRun::send_prompt(JoinClient& client) {
  if (auto r = client.prompt(settings_.prompt); !r) {
    std::fprintf(stderr, "tokencast join: cannot send the prompt: %s\n",
                 r.error().message().c_str());
    finish(kJoinRefused);
  }
}

void JoinRun::save_transcript(JoinClient& client) {
  if (!write_transcript(settings_.out_path, client.transcript())) {
    std::fprintf(stderr, "tokencast join: cannot write %s\n", settings_.out_path.c_str());
  }
}

}  // namespace tokencast::app
