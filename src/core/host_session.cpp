#include "tokencast/host_session.hpp"

#include <algorithm>
#include <type_traits>

#include "tokencast/text.hpp"

namespace tokencast {
namespace {

// Cuts `text` to at most `max` bytes without splitting a UTF-8 character.
std::string truncate_utf8(std::string_view text, size_t max) {
  return std::string(utf8_prefix(text, max));
}

}  // namespace

HostSession::HostSession(HostSessionConfig config, SessionLog log, HostIo& io)
    : config_(std::move(config)), log_(log), visible_(std::move(log)), io_(&io) {}

Expected<std::unique_ptr<HostSession>, std::error_code> HostSession::create(
    HostSessionConfig config, std::vector<Event> stored, HostIo& io, int64_t now_ms) {
  // Remember who was present before the restart: they are gone now.
  std::map<PeerId, bool> present;
  PeerId max_peer = 0;
  for (const auto& e : stored) {
    if (const auto* j = std::get_if<PeerJoined>(&e.body)) {
      present[j->peer] = true;
      max_peer = std::max(max_peer, j->peer);
    } else if (const auto* l = std::get_if<PeerLeft>(&e.body)) {
      present.erase(l->peer);
    }
  }
  auto log = SessionLog::from_events(std::move(stored));
  if (!log) return unexpected(log.error());
  std::unique_ptr<HostSession> session(new HostSession(std::move(config), std::move(*log), io));
  session->next_peer_ = max_peer + 1;
  if (session->log_.open_turn()) {
    session->end_turn(TurnEnd::kError, "the host restarted during this turn", now_ms);
  }
  for (const auto& [peer, _] : present) session->append(PeerLeft{peer});
  return session;
}

Seq HostSession::append(EventBody body) {
  auto seq = log_.append(std::move(body));
  if (!seq) return 0;  // refused by the log's rules: nothing persisted, nothing shown
  io_->persist(log_.at(*seq));
  return *seq;
}

void HostSession::durable(Seq up_to) {
  up_to = std::min(up_to, log_.head());
  if (up_to <= visible_.head()) return;
  Seq from = visible_.head() + 1;
  for (Seq seq = from; seq <= up_to; ++seq) {
    [[maybe_unused]] auto appended = visible_.append(log_.at(seq).body);
  }
  for (auto& [conn, peer] : peers_) {
    if (peer.phase != Phase::kActive || !peer.queue) continue;
    for (Seq seq = from; seq <= up_to; ++seq) {
      // An overflow is handled inside the queue: it turns into an error and a bye.
      if (!peer.queue->push_event(visible_.at(seq))) break;
    }
    io_->frames_ready(conn);
  }
}

ConnId HostSession::peer_opened(PeerRole role, int64_t now_ms) {
  ConnId conn = next_conn_++;
  Peer peer;
  peer.role = role == PeerRole::kParticipant ? PeerRole::kParticipant : PeerRole::kViewer;
  peer.opened_at_ms = now_ms;
  peer.last_heard_ms = now_ms;
  peers_.emplace(conn, std::move(peer));
  return conn;
}

void HostSession::send_control(ConnId conn, Peer& peer, const Frame& frame) {
  auto bytes = encode_frame(frame);
  if (!bytes) return;
  if (peer.queue) {
    if (!peer.queue->push_frame(std::move(*bytes))) return;
  } else {
    peer.direct.push_back(std::move(*bytes));
  }
  io_->frames_ready(conn);
}

void HostSession::refuse(ConnId conn, Peer& peer, StatusCode code, std::string text) {
  if (peer.phase == Phase::kClosing) return;
  send_control(conn, peer, ErrorFrame{code, text});
  send_control(conn, peer, ByeFrame{code, std::move(text)});
  peer.phase = Phase::kClosing;
}

void HostSession::peer_frame(ConnId conn, std::span<const uint8_t> bytes, int64_t now_ms) {
  auto it = peers_.find(conn);
  if (it == peers_.end()) return;
  Peer& peer = it->second;
  if (peer.phase == Phase::kClosing) return;
  peer.last_heard_ms = now_ms;
  auto frame = decode_client_frame(bytes);
  if (!frame) {
    if (frame.error() == FrameError::kUnknownVersion) {
      refuse(conn, peer, StatusCode::kUnsupportedVersion,
             "this host speaks protocol version " + std::to_string(kProtocolVersion));
    } else {
      refuse(conn, peer, StatusCode::kProtocolError, frame.error().message());
    }
    return;
  }
  if (peer.phase == Phase::kAwaitingHello) {
    if (const auto* hello = std::get_if<HelloFrame>(&*frame)) {
      on_hello(conn, peer, *hello);
    } else {
      refuse(conn, peer, StatusCode::kProtocolError, "the first frame must be a hello");
    }
    return;
  }
  std::visit(
      [&](const auto& f) {
        using T = std::decay_t<decltype(f)>;
        if constexpr (std::is_same_v<T, HelloFrame>) {
          refuse(conn, peer, StatusCode::kProtocolError, "hello sent twice");
        } else if constexpr (std::is_same_v<T, PromptFrame>) {
          on_prompt(conn, peer, f, now_ms);
        } else if constexpr (std::is_same_v<T, CancelFrame>) {
          if (peer.role != PeerRole::kParticipant) {
            send_control(conn, peer,
                         ErrorFrame{StatusCode::kNotPermitted, "viewers cannot cancel turns"});
          } else if (generating_ && log_.open_turn() == f.turn) {
            io_->cancel_generation();
            end_turn(TurnEnd::kCancelled, "cancelled by " + peer.name, now_ms);
          }  // a cancel for a turn that already ended is a harmless race
        } else if constexpr (std::is_same_v<T, PingFrame>) {
          send_control(conn, peer, PongFrame{f.nonce});
        } else if constexpr (std::is_same_v<T, ByeFrame>) {
          peer.phase = Phase::kClosing;
          send_control(conn, peer, ByeFrame{StatusCode::kNormal, "goodbye"});
        }
        // Pongs and error reports from a client need no answer.
      },
      *frame);
}

void HostSession::on_hello(ConnId conn, Peer& peer, const HelloFrame& hello) {
  size_t active = 0;
  for (const auto& [_, p] : peers_) active += p.phase == Phase::kActive ? 1 : 0;
  if (active >= config_.max_peers) {
    refuse(conn, peer, StatusCode::kBusy, "the session is full; try again later");
    return;
  }
  auto queue = OutboundQueue::create(visible_, hello.last_seq, config_.queue);
  if (!queue) {
    refuse(conn, peer, StatusCode::kResumeUnavailable,
           "this host does not have the events you hold: start over from an empty transcript");
    return;
  }
  peer.queue.emplace(std::move(*queue));
  peer.phase = Phase::kActive;
  peer.id = next_peer_++;
  peer.name = clean_name(hello.display_name, peer.id);
  send_control(
      conn, peer,
      WelcomeFrame{kProtocolVersion, config_.session_id, peer.role, peer.id, visible_.head()});
  append(PeerJoined{peer.id, peer.role, peer.name});
}

void HostSession::on_prompt(ConnId conn, Peer& peer, const PromptFrame& prompt, int64_t now_ms) {
  if (peer.role != PeerRole::kParticipant) {
    send_control(conn, peer,
                 ErrorFrame{StatusCode::kNotPermitted,
                            "this link is for viewers: ask the host for the participant link"});
    return;
  }
  if (prompt.text.empty() || prompt.text.size() > config_.max_prompt_bytes) {
    send_control(conn, peer,
                 ErrorFrame{StatusCode::kProtocolError,
                            "a prompt must have 1 to " + std::to_string(config_.max_prompt_bytes) +
                                " bytes"});
    return;
  }
  if (peer.pending_prompts >= config_.max_pending_prompts_per_peer) {
    send_control(conn, peer,
                 ErrorFrame{StatusCode::kBusy, "you have too many prompts waiting; try later"});
    return;
  }
  peer.pending_prompts += 1;
  prompts_.push_back(Prompt{conn, peer.name, prompt.text});
  maybe_start_next_turn(now_ms);
}

void HostSession::maybe_start_next_turn(int64_t now_ms) {
  while (!log_.open_turn() && !prompts_.empty()) {
    Prompt prompt = std::move(prompts_.front());
    prompts_.pop_front();
    if (auto it = peers_.find(prompt.conn); it != peers_.end() && it->second.pending_prompts > 0) {
      it->second.pending_prompts -= 1;
    }
    TurnId asked = log_.last_turn() + 1;
    append(TurnStarted{asked, TurnRole::kUser, prompt.author, now_ms});
    append_text(asked, prompt.text);
    append(TurnEnded{asked, TurnEnd::kDone, "", 0, now_ms});

    TurnId answer = asked + 1;
    if (!config_.llm_attached) {
      append(TurnStarted{answer, TurnRole::kAssistant, "tokencast", now_ms});
      append(TurnEnded{answer, TurnEnd::kError, kNoModelReason, 0, now_ms});
      continue;
    }
    append(TurnStarted{answer, TurnRole::kAssistant, config_.model_name, now_ms});
    generating_ = true;
    turn_tokens_ = 0;
    io_->start_generation(answer, history());
  }
}

void HostSession::append_text(TurnId turn, std::string_view text) {
  for (size_t at = 0; at < text.size(); at += kMaxDeltaBytes) {
    append(TextDelta{turn, std::string(text.substr(at, kMaxDeltaBytes))});
  }
}

void HostSession::end_turn(TurnEnd end, const std::string& reason, int64_t now_ms) {
  auto turn = log_.open_turn();
  if (!turn) return;
  append(TurnEnded{*turn, end, truncate_utf8(reason, kMaxLabelBytes), turn_tokens_, now_ms});
  generating_ = false;
  turn_tokens_ = 0;
}

void HostSession::llm_delta(TurnId turn, std::string_view bytes) {
  if (!generating_ || log_.open_turn() != turn || bytes.empty()) return;
  append_text(turn, bytes);
  turn_tokens_ += 1;
}

void HostSession::llm_done(TurnId turn, uint64_t token_count, int64_t now_ms) {
  if (!generating_ || log_.open_turn() != turn) return;
  if (token_count > 0) turn_tokens_ = token_count;
  end_turn(TurnEnd::kDone, "", now_ms);
  maybe_start_next_turn(now_ms);
}

void HostSession::llm_error(TurnId turn, std::string_view reason, int64_t now_ms) {
  if (!generating_ || log_.open_turn() != turn) return;
  end_turn(TurnEnd::kError, std::string(reason), now_ms);
  maybe_start_next_turn(now_ms);
}

void HostSession::host_prompt(std::string_view text, int64_t now_ms) {
  if (text.empty()) return;
  if (!config_.llm_attached) {
    // With no model, what the host types is the answer everyone watches.
    if (log_.open_turn()) return;
    TurnId turn = log_.last_turn() + 1;
    append(TurnStarted{turn, TurnRole::kAssistant, config_.host_name, now_ms});
    append_text(turn, text);
    append(TurnEnded{turn, TurnEnd::kDone, "", 1, now_ms});
    maybe_start_next_turn(now_ms);
    return;
  }
  prompts_.push_back(Prompt{0, config_.host_name, std::string(text)});
  maybe_start_next_turn(now_ms);
}

void HostSession::host_cancel(int64_t now_ms) {
  if (!generating_) return;
  io_->cancel_generation();
  end_turn(TurnEnd::kCancelled, "cancelled by " + config_.host_name, now_ms);
  maybe_start_next_turn(now_ms);
}

std::optional<TurnId> HostSession::start_external_turn(std::string_view author, int64_t now_ms) {
  if (log_.open_turn()) return std::nullopt;
  TurnId turn = log_.last_turn() + 1;
  append(TurnStarted{turn, TurnRole::kAssistant, truncate_utf8(author, kMaxLabelBytes), now_ms});
  generating_ = true;
  turn_tokens_ = 0;
  return turn;
}

void HostSession::set_meta(std::string_view title, std::string_view model) {
  append(SessionMeta{truncate_utf8(title, kMaxLabelBytes), truncate_utf8(model, kMaxLabelBytes)});
}

void HostSession::peer_closed(ConnId conn, int64_t /*now_ms*/) {
  auto it = peers_.find(conn);
  if (it == peers_.end()) return;
  if (it->second.id != 0) append(PeerLeft{it->second.id});
  peers_.erase(it);
}

std::optional<HostSession::OutFrame> HostSession::next_frame(ConnId conn) {
  auto it = peers_.find(conn);
  if (it == peers_.end()) return std::nullopt;
  Peer& peer = it->second;
  if (!peer.direct.empty()) {
    FrameBytes bytes = std::move(peer.direct.front());
    peer.direct.pop_front();
    bool last = peer.direct.empty() && peer.phase == Phase::kClosing;
    return OutFrame{std::move(bytes), last};
  }
  if (!peer.queue) return std::nullopt;
  auto bytes = peer.queue->pop();
  if (!bytes) return std::nullopt;
  bool last = peer.queue->state() == OutboundQueue::State::kClosed;
  if (last) peer.phase = Phase::kClosing;
  return OutFrame{std::move(*bytes), last};
}

void HostSession::tick(int64_t now_ms) {
  for (auto& [conn, peer] : peers_) {
    if (peer.phase == Phase::kAwaitingHello &&
        now_ms - peer.opened_at_ms > config_.hello_timeout_ms) {
      refuse(conn, peer, StatusCode::kProtocolError, "no hello in time");
    } else if (peer.phase == Phase::kActive &&
               now_ms - peer.last_heard_ms > config_.silence_timeout_ms) {
      refuse(conn, peer, StatusCode::kProtocolError, "no keepalive from you in time");
    }
  }
}

void HostSession::shutdown() {
  for (auto& [conn, peer] : peers_) {
    if (peer.phase == Phase::kClosing) continue;
    send_control(conn, peer, ByeFrame{StatusCode::kShutdown, "the host ended the session"});
    peer.phase = Phase::kClosing;
  }
}

HostSession::Status HostSession::status() const {
  Status s;
  for (const auto& [_, p] : peers_) s.peers += p.phase == Phase::kActive ? 1 : 0;
  s.turn = log_.open_turn();
  s.generating = generating_;
  s.turn_tokens = turn_tokens_;
  s.queued_prompts = prompts_.size();
  s.head = log_.head();
  s.durable = visible_.head();
  return s;
}

std::vector<ChatMessage> HostSession::history() const {
  // Finished turns, newest last, within max_history_bytes; failed answers are left out so the
  // model does not imitate error text. Walks back from the newest turn (turns never interleave:
  // at most one is open at a time), so a prompt reads only the recent conversation that fits
  // the budget, not the whole session.
  const std::span<const Event> events = log_.events();
  std::vector<ChatMessage> out;
  size_t bytes = 0;
  size_t i = events.size();
  while (i > 0) {
    const auto* ended = std::get_if<TurnEnded>(&events[--i].body);
    if (ended == nullptr) continue;  // the open turn's events, or events between turns
    const size_t end_index = i;
    size_t size = 0;
    const TurnStarted* started = nullptr;
    while (i > 0 && started == nullptr) {
      const EventBody& body = events[--i].body;
      if (const auto* d = std::get_if<TextDelta>(&body); d && d->turn == ended->turn) {
        size += d->bytes.size();
      } else if (const auto* s = std::get_if<TurnStarted>(&body); s && s->turn == ended->turn) {
        started = s;
      }
    }
    if (started == nullptr) break;
    if (ended->end == TurnEnd::kError || size == 0) continue;
    if (bytes + size > config_.max_history_bytes && !out.empty()) break;
    bytes += size;
    std::string content;
    content.reserve(size);
    for (size_t k = i + 1; k < end_index; ++k) {
      const auto* d = std::get_if<TextDelta>(&events[k].body);
      if (d != nullptr && d->turn == ended->turn) content += d->bytes;
    }
    out.push_back(ChatMessage{started->role, std::move(content)});
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::string HostSession::clean_name(std::string_view name, PeerId id) const {
  // A name is shown to every peer and in every terminal and export: no controls, one line.
  std::string cleaned = truncate_utf8(neutralize_line(name), config_.max_name_bytes);
  if (cleaned.empty()) cleaned = "guest-" + std::to_string(id);
  return cleaned;
}

}  // namespace tokencast
