#include "tokencast/core/host_session.hpp"

#include <algorithm>
#include <type_traits>

#include "display_names.hpp"
#include "tokencast/core/signed_transcript.hpp"
#include "tokencast/core/text.hpp"

namespace tokencast {
namespace {

// Control frames waiting for a relay peer (it has no outbound queue).
constexpr size_t kMaxRelayControlFrames = 256;

// Cuts `text` to at most `max` bytes without splitting a UTF-8 character.
std::string truncate_utf8(std::string_view text, size_t max) {
  return std::string(utf8_prefix(text, max));
}

}  // namespace

HostSession::HostSession(HostSessionConfig config, SessionLog log, HostIo& io)
    : config_(std::move(config)), log_(log), visible_(std::move(log)), io_(&io) {
  if (config_.signing_key) {
    signer_.emplace(config_.session_id, *config_.signing_key);
    relay_writer_.emplace(config_.session_id, *config_.signing_key, config_.relay);
    relay_chain_.push_back(
        relay_chain_genesis(config_.session_id, config_.signing_key->public_key()));
  }
}

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
  session->now_ms_ = now_ms;
  // The stored log is durable: fold it, signing at its last ended turn only.
  const SessionLog& stored_log = session->visible_;
  Seq last_end = 0;
  for (Seq seq = 1; seq <= stored_log.head(); ++seq) {
    if (std::holds_alternative<TurnEnded>(stored_log.at(seq).body)) last_end = seq;
  }
  for (Seq seq = 1; seq <= stored_log.head(); ++seq) {
    session->fold_visible(stored_log.at(seq), seq == last_end);
    // The relay chain is rebuilt from the store: the same records, the same hashes.
    session->relay_write(stored_log.at(seq), now_ms);
  }
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

void HostSession::fold_visible(const Event& event, bool sign) {
  if (!signer_) return;  // nothing to sign: nothing kept
  // As Transcript::apply folds the log (the log guarantees one open turn at a time).
  if (const auto* started = std::get_if<TurnStarted>(&event.body)) {
    TranscriptTurn turn;
    turn.turn = started->turn;
    turn.role = started->role;
    turn.author = started->author;
    turn.started_at_ms = started->at_ms;
    signing_turn_ = std::move(turn);
  } else if (const auto* text = std::get_if<TextDelta>(&event.body)) {
    if (signing_turn_ && signing_turn_->turn == text->turn) signing_turn_->text += text->bytes;
  } else if (const auto* meta = std::get_if<SessionMeta>(&event.body)) {
    signing_meta_ = *meta;
  } else if (const auto* ended = std::get_if<TurnEnded>(&event.body)) {
    if (!signing_turn_ || signing_turn_->turn != ended->turn) return;
    signing_turn_->ended = true;
    signing_turn_->end = ended->end;
    signing_turn_->reason = ended->reason;
    signing_turn_->token_count = ended->token_count;
    signing_turn_->ended_at_ms = ended->at_ms;
    signer_->add_ended_turn(*signing_turn_);  // encoded once; its text is not kept twice
    signing_turn_.reset();
    if (!sign) return;
    // One SHA-256 pass over the encoded transcript (the turn count comes first in the signed
    // body, so no hash state carries over) and one Ed25519 signature.
    signature_ = SignatureFrame{event.seq, signer_->turns(),
                                signer_->sign(signing_meta_.title, signing_meta_.model)};
  }
}

void HostSession::durable(Seq up_to) { durable(up_to, now_ms_); }

void HostSession::durable(Seq up_to, int64_t now_ms) {
  now_ms_ = std::max(now_ms_, now_ms);
  up_to = std::min(up_to, log_.head());
  if (up_to <= visible_.head()) return;
  Seq from = visible_.head() + 1;
  // Several turns ending in one commit: only the last one is signed (it covers the others).
  Seq last_end = 0;
  for (Seq seq = from; seq <= up_to; ++seq) {
    if (std::holds_alternative<TurnEnded>(log_.at(seq).body)) last_end = seq;
  }
  for (Seq seq = from; seq <= up_to; ++seq) {
    [[maybe_unused]] auto appended = visible_.append(log_.at(seq).body);
    fold_visible(visible_.at(seq), seq == last_end);
    relay_write(visible_.at(seq), now_ms_);
  }
  std::optional<FrameBytes> signature;
  if (last_end != 0 && signature_ && signature_->seq == last_end) {
    if (auto bytes = encode_frame(*signature_)) signature = std::move(*bytes);
  }
  const auto checkpoint_due = relay_writer_ ? relay_writer_->checkpoint_due_at() : std::nullopt;
  for (auto& [conn, peer] : peers_) {
    if (peer.phase == Phase::kActive && peer.relay) {
      // Not a log event: it may come before the records it covers (section 4's signature rules).
      if (signature) peer.direct.push_back(*signature);
      io_->frames_ready(conn);
      if (checkpoint_due) io_->wake_at(conn, *checkpoint_due);
      continue;
    }
    if (peer.phase != Phase::kActive || !peer.queue) continue;
    bool pushed = true;
    for (Seq seq = from; seq <= up_to; ++seq) {
      // An overflow is handled inside the queue: it turns into an error and a bye.
      if (!peer.queue->push_event(visible_.at(seq))) {
        pushed = false;
        break;
      }
    }
    // After the events it covers, to the peers that speak version 4.
    if (pushed && signature && peer.version >= kSignatureVersion) {
      [[maybe_unused]] auto queued = peer.queue->push_frame(*signature);
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
  } else if (peer.relay && peer.phase == Phase::kActive &&
             peer.direct.size() >= kMaxRelayControlFrames) {
    // A relay peer has no outbound queue: its control frames (pongs, errors, signatures) wait
    // here, bounded. One that lets them pile up (a ping flood it does not read) is let go.
    peer.direct.clear();
    if (auto bye = encode_frame(ByeFrame{StatusCode::kSlowConsumer, "too far behind"})) {
      peer.direct.push_back(std::move(*bye));
    }
    peer.phase = Phase::kClosing;
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
  now_ms_ = std::max(now_ms_, now_ms);
  if (peer.phase == Phase::kClosing) return;
  peer.last_heard_ms = now_ms;
  auto frame = decode_client_frame(bytes);
  if (!frame) {
    if (frame.error() == FrameError::kUnknownVersion) {
      // The same text from every host whatever versions it speaks (the browser host, C++ and
      // TypeScript, replays tests/vectors/host.json); the client steps down on the code.
      refuse(conn, peer, StatusCode::kUnsupportedVersion,
             "this host does not speak your protocol version");
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
          on_cancel(conn, peer, f, now_ms);
        } else if constexpr (std::is_same_v<T, AckFrame>) {
          on_ack(conn, peer, f, now_ms);
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
  if (hello.last_seq > visible_.head()) {
    refuse(conn, peer, StatusCode::kResumeUnavailable,
           "this host does not have the events you hold: start over from an empty transcript");
    return;
  }
  // Only viewers relay: participants (who prompt) always get the plain stream from the host.
  if (relay_writer_ && hello.version >= kRelayVersion && hello.relay_capacity > 0 &&
      peer.role == PeerRole::kViewer) {
    peer.relay = true;
    peer.relay_capacity = hello.relay_capacity;
    peer.relay_sent = hello.last_seq;
    peer.phase = Phase::kActive;
    peer.version = hello.version;
    peer.id = next_peer_++;
    peer.name = clean_name(hello.display_name, peer.id);
    names_in_use_.insert(names::fold(peer.name));
    WelcomeFrame welcome{hello.version, config_.session_id, peer.role, peer.id, visible_.head()};
    welcome.relay_stream = true;
    send_control(conn, peer, welcome);
    if (signature_) send_control(conn, peer, *signature_);
    // The anchor: the host vouches for the position the peer resumes from.
    if (hello.last_seq > 0) {
      peer.direct.push_back(relay_checkpoint_at(hello.last_seq));
      io_->frames_ready(conn);
    }
    append(PeerJoined{peer.id, peer.role, peer.name});
    return;
  }
  OutboundQueueOptions queue_options = config_.queue;
  queue_options.thinking = hello.version >= kThinkingVersion;
  auto queue = OutboundQueue::create(visible_, hello.last_seq, queue_options);
  if (!queue) {
    refuse(conn, peer, StatusCode::kResumeUnavailable,
           "this host does not have the events you hold: start over from an empty transcript");
    return;
  }
  peer.queue.emplace(std::move(*queue));
  // Version 2 peers acknowledge: they get a window. Version 1 peers are paced only.
  peer.flow.emplace(config_.flow, hello.version >= 2, hello.last_seq);
  peer.phase = Phase::kActive;
  peer.version = hello.version;
  peer.id = next_peer_++;
  peer.name = clean_name(hello.display_name, peer.id);
  names_in_use_.insert(names::fold(peer.name));
  // The welcome speaks the hello's version: every version this host knows is served.
  send_control(
      conn, peer,
      WelcomeFrame{hello.version, config_.session_id, peer.role, peer.id, visible_.head()});
  // The latest signature, ahead of the catch-up that brings the events it covers.
  if (signature_ && peer.version >= kSignatureVersion) send_control(conn, peer, *signature_);
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
  if (session_prompts_ >= config_.max_session_prompts) {
    send_control(conn, peer,
                 ErrorFrame{StatusCode::kBusy, "this session has reached its limit of " +
                                                   std::to_string(config_.max_session_prompts) +
                                                   " prompts"});
    return;
  }
  if (!take_prompt_token(peer, now_ms)) {
    send_control(
        conn, peer,
        ErrorFrame{StatusCode::kBusy, "you are sending prompts too fast; wait a few seconds"});
    return;
  }
  if (config_.approve_prompts && held_.size() >= config_.max_held_prompts) {
    send_control(
        conn, peer,
        ErrorFrame{StatusCode::kBusy, "the host has too many prompts to review; try later"});
    return;
  }
  session_prompts_ += 1;
  peer.pending_prompts += 1;
  if (config_.approve_prompts) {
    held_.push_back(Prompt{conn, peer.name, prompt.text, next_held_id_++});
    send_control(conn, peer, ErrorFrame{StatusCode::kBusy, kPromptAwaitsApproval});
    return;
  }
  prompts_.push_back(Prompt{conn, peer.name, prompt.text});
  maybe_start_next_turn(now_ms);
}

std::vector<HostSession::HeldPrompt> HostSession::held_prompts() const {
  std::vector<HeldPrompt> out;
  for (const auto& p : held_) out.push_back({p.id, p.author, p.text});
  return out;
}

bool HostSession::approve_prompt(uint64_t id, int64_t now_ms) {
  auto it = std::find_if(held_.begin(), held_.end(), [id](const Prompt& p) { return p.id == id; });
  if (it == held_.end()) return false;
  prompts_.push_back(std::move(*it));
  held_.erase(it);
  maybe_start_next_turn(now_ms);
  return true;
}

bool HostSession::decline_prompt(uint64_t id) {
  auto it = std::find_if(held_.begin(), held_.end(), [id](const Prompt& p) { return p.id == id; });
  if (it == held_.end()) return false;
  if (auto peer = peers_.find(it->conn); peer != peers_.end()) {
    if (peer->second.pending_prompts > 0) peer->second.pending_prompts -= 1;
    if (peer->second.phase == Phase::kActive) {
      send_control(it->conn, peer->second,
                   ErrorFrame{StatusCode::kNotPermitted, "the host declined your prompt"});
    }
  }
  held_.erase(it);
  return true;
}

void HostSession::on_ack(ConnId conn, Peer& peer, const AckFrame& ack, int64_t now_ms) {
  if (peer.relay) return;  // paced by its link's send buffer, not by a window
  if (!peer.flow || !peer.flow->acks()) {
    refuse(conn, peer, StatusCode::kProtocolError, "ack frames need protocol version 2");
    return;
  }
  if (auto acked = peer.flow->acked(ack.last_seq, now_ms); !acked) {
    refuse(conn, peer, StatusCode::kProtocolError, acked.error().message());
    return;
  }
  // The window opened: what waited behind it (merged meanwhile) may go.
  if (peer.queue && peer.queue->has_frames()) io_->frames_ready(conn);
}

// Only the participant who asked the open answer's prompt may stop it (the host always can):
// in a room of participants, anyone else stopping answers would be a way to grief.
void HostSession::on_cancel(ConnId conn, Peer& peer, const CancelFrame& cancel, int64_t now_ms) {
  if (peer.role != PeerRole::kParticipant) {
    send_control(conn, peer, ErrorFrame{StatusCode::kNotPermitted, "viewers cannot cancel turns"});
    return;
  }
  // A cancel for a turn that already ended is a harmless race.
  if (!generating_ || log_.open_turn() != cancel.turn) return;
  if (conn != asker_) {
    send_control(conn, peer, ErrorFrame{StatusCode::kNotPermitted, kOnlyAskerMayCancel});
    return;
  }
  io_->cancel_generation();
  end_turn(TurnEnd::kCancelled, "cancelled by " + peer.name, now_ms);
  maybe_start_next_turn(now_ms);  // the queue goes on, as after the host's cancel
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
    asker_ = prompt.conn;
    generating_ = true;
    turn_tokens_ = 0;
    turn_has_text_ = false;
    io_->start_generation(answer, history());
  }
}

void HostSession::append_text(TurnId turn, std::string_view text, bool thinking) {
  for (size_t at = 0; at < text.size(); at += kMaxDeltaBytes) {
    append(make_delta(thinking, turn, std::string(text.substr(at, kMaxDeltaBytes))));
  }
}

void HostSession::end_turn(TurnEnd end, const std::string& reason, int64_t now_ms) {
  auto turn = log_.open_turn();
  if (!turn) return;
  append(TurnEnded{*turn, end, truncate_utf8(reason, kMaxLabelBytes), turn_tokens_, now_ms});
  generating_ = false;
  turn_tokens_ = 0;
  turn_has_text_ = false;
}

void HostSession::llm_delta(TurnId turn, std::string_view bytes) {
  if (!generating_ || log_.open_turn() != turn || bytes.empty()) return;
  append_text(turn, bytes);
  turn_tokens_ += 1;
  turn_has_text_ = true;
}

void HostSession::llm_thinking(TurnId turn, std::string_view bytes) {
  if (!generating_ || log_.open_turn() != turn || bytes.empty() || turn_has_text_) return;
  append_text(turn, bytes, true);
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
  asker_ = 0;  // fed by the host's own source: only the host stops it
  generating_ = true;
  turn_tokens_ = 0;
  turn_has_text_ = false;
  return turn;
}

void HostSession::set_meta(std::string_view title, std::string_view model) {
  append(SessionMeta{truncate_utf8(title, kMaxLabelBytes), truncate_utf8(model, kMaxLabelBytes)});
}

void HostSession::peer_closed(ConnId conn, int64_t /*now_ms*/) {
  auto it = peers_.find(conn);
  if (it == peers_.end()) return;
  if (it->second.id != 0) {
    append(PeerLeft{it->second.id});
    if (auto name = names_in_use_.find(names::fold(it->second.name)); name != names_in_use_.end()) {
      names_in_use_.erase(name);
    }
  }
  peers_.erase(it);
}

std::optional<HostSession::OutFrame> HostSession::next_frame(ConnId conn, int64_t now_ms) {
  auto it = peers_.find(conn);
  if (it == peers_.end()) return std::nullopt;
  Peer& peer = it->second;
  if (!peer.direct.empty()) {
    FrameBytes bytes = std::move(peer.direct.front());
    peer.direct.pop_front();
    bool last = peer.direct.empty() && peer.phase == Phase::kClosing;
    return OutFrame{std::move(bytes), last};
  }
  if (peer.relay && peer.phase == Phase::kActive) return relay_next(conn, peer, now_ms);
  if (!peer.queue) return std::nullopt;
  auto next = peer.queue->peek();
  if (!next) return std::nullopt;
  if (next->events && peer.flow) {
    // Held back: the pending events keep merging until the window opens or the pace allows.
    const auto gate = peer.flow->may_send(next->bytes, next->live, now_ms);
    if (!gate.send) {
      if (gate.retry_at_ms) io_->wake_at(conn, *gate.retry_at_ms);
      return std::nullopt;
    }
  }
  auto bytes = peer.queue->pop();
  if (!bytes) return std::nullopt;
  if (next->events && peer.flow) {
    peer.flow->sent(peer.queue->popped_seq(), bytes->size(), next->live, now_ms);
  }
  bool last = peer.queue->state() == OutboundQueue::State::kClosed;
  if (last) peer.phase = Phase::kClosing;
  return OutFrame{std::move(*bytes), last};
}

std::optional<HostSession::PeerFlow> HostSession::peer_flow(ConnId conn) const {
  auto it = peers_.find(conn);
  if (it == peers_.end() || !it->second.flow || !it->second.queue) return std::nullopt;
  const Peer& peer = it->second;
  return PeerFlow{peer.flow->in_flight(), peer.flow->window(), peer.queue->pending_bytes(),
                  peer.flow->acked_seq(), peer.flow->acks()};
}

void HostSession::tick(int64_t now_ms) {
  now_ms_ = std::max(now_ms_, now_ms);
  relay_checkpoint_if_due(now_ms);
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

void HostSession::shutdown(std::string_view text) {
  for (auto& [conn, peer] : peers_) {
    if (peer.phase == Phase::kClosing) continue;
    send_control(conn, peer, ByeFrame{StatusCode::kShutdown, std::string(text)});
    peer.phase = Phase::kClosing;
  }
}

std::vector<HostSession::PresentPeer> HostSession::present_peers() const {
  std::vector<PresentPeer> out;
  for (const auto& [conn, peer] : peers_) {
    if (peer.phase == Phase::kActive) out.push_back({conn, peer.id, peer.role, peer.name});
  }
  return out;
}

std::optional<ConnId> HostSession::remove_peer(std::string_view name) {
  for (auto& [conn, peer] : peers_) {
    if (peer.phase != Phase::kActive || peer.name != name) continue;
    std::erase_if(prompts_, [conn = conn](const Prompt& p) { return p.conn == conn; });
    std::erase_if(held_, [conn = conn](const Prompt& p) { return p.conn == conn; });
    peer.pending_prompts = 0;
    send_control(conn, peer,
                 ByeFrame{StatusCode::kRemoved, "the host removed you from the session"});
    peer.phase = Phase::kClosing;
    return conn;
  }
  return std::nullopt;
}

// ------------------------------------------------------------------------------- relay stream

void HostSession::relay_write(const Event& event, int64_t now_ms) {
  if (!relay_writer_) return;
  // The record a level peer would get for this event; a relay peer's decoder reads it.
  auto payload = encode_live_event(event);
  if (!payload || payload->size() > kMaxRelayPayloadBytes) {
    // Cannot happen with the log's limits (deltas and labels are far smaller); if it did, the
    // chain would have a hole: stop relaying rather than serve a broken stream.
    relay_writer_.reset();
    for (auto& [conn, peer] : peers_) {
      if (peer.relay) refuse(conn, peer, StatusCode::kInternal, "the relay stream failed");
    }
    return;
  }
  const uint64_t signatures_before = relay_writer_->signatures();
  auto frame = relay_writer_->append(*payload, now_ms);
  if (!frame) return;  // only an oversized payload, refused above
  // The writer has just hashed the record into its chain: keep its head rather than hash again.
  relay_chain_.push_back(relay_writer_->head().chain);
  const bool signs = relay_writer_->signatures() != signatures_before;
  relay_keep(std::move(*frame), relay_writer_->head().index, true, signs);
}

void HostSession::relay_keep(FrameBytes bytes, uint64_t index, bool record, bool signs) {
  RelayKept kept;
  kept.number = relay_next_number_++;
  kept.index = index;
  kept.record = record;
  kept.signs = signs;
  kept.bytes = std::move(bytes);
  relay_ring_bytes_ += kept.bytes.size();
  if (kept.record && relay_ring_first_record_ == 0) relay_ring_first_record_ = kept.index;
  relay_ring_.push_back(std::move(kept));
  while (!relay_ring_.empty() && (relay_ring_.size() > config_.relay_ring_frames ||
                                  relay_ring_bytes_ > config_.relay_ring_bytes)) {
    relay_ring_bytes_ -= relay_ring_.front().bytes.size();
    relay_ring_.pop_front();
    relay_ring_first_record_ = 0;
    for (const auto& k : relay_ring_) {
      if (k.record) {
        relay_ring_first_record_ = k.index;
        break;
      }
    }
  }
}

void HostSession::relay_checkpoint_if_due(int64_t now_ms) {
  if (!relay_writer_) return;
  auto due = relay_writer_->checkpoint_due_at();
  if (!due || *due > now_ms) return;
  auto frame = relay_writer_->checkpoint();
  if (!frame) return;
  relay_keep(std::move(*frame), relay_writer_->head().index, false, true);
  for (auto& [conn, peer] : peers_) {
    if (peer.relay && peer.phase == Phase::kActive) io_->frames_ready(conn);
  }
}

FrameBytes HostSession::relay_checkpoint_at(Seq index) const {
  RelayFrame frame;
  frame.kind = RelayFrame::Kind::kCheckpoint;
  frame.index = index;
  frame.chain = relay_chain_.at(index);
  const auto message = relay_checkpoint_message(config_.session_id, index, *frame.chain);
  frame.signature = config_.signing_key->sign(message);
  return encode_relay_frame(frame);
}

std::optional<HostSession::OutFrame> HostSession::relay_next(ConnId conn, Peer& peer,
                                                             int64_t now_ms) {
  if (!relay_writer_) return std::nullopt;
  relay_checkpoint_if_due(now_ms);
  if (peer.relay_checkpoint) {
    FrameBytes bytes = std::move(*peer.relay_checkpoint);
    peer.relay_checkpoint.reset();
    peer.relay_unsigned = 0;
    return OutFrame{std::move(bytes), false};
  }
  const Seq head = relay_chain_.size() - 1;
  const uint64_t ring_first_number =
      relay_ring_.empty() ? relay_next_number_ : relay_ring_.front().number;
  if (peer.relay_live && peer.relay_cursor < ring_first_number) {
    peer.relay_live = false;  // the ring moved past this peer: rebuild from the log
  }
  if (!peer.relay_live) {
    const bool ring_reaches =
        peer.relay_sent >= head ||
        (relay_ring_first_record_ != 0 && relay_ring_first_record_ <= peer.relay_sent + 1);
    if (ring_reaches) {
      peer.relay_live = true;
      peer.relay_cursor = relay_next_number_;
      for (const auto& k : relay_ring_) {
        if (k.index > peer.relay_sent) {
          peer.relay_cursor = k.number;
          break;
        }
      }
    } else {
      // One record rebuilt from the log: the same payload, hence the same chain. A checkpoint
      // follows every 63 records and where the ring takes over, so the peer's verifier never
      // waits for more than it holds.
      const Seq index = peer.relay_sent + 1;
      auto payload = encode_live_event(visible_.at(index));
      if (!payload) return std::nullopt;
      RelayFrame frame;
      frame.kind = RelayFrame::Kind::kRecord;
      frame.index = index;
      frame.payload = std::move(*payload);
      peer.relay_sent = index;
      peer.relay_unsigned += 1;
      const bool handover =
          index >= head || (relay_ring_first_record_ != 0 && relay_ring_first_record_ <= index + 1);
      if (handover || peer.relay_unsigned + 1 >= config_.relay.max_unsigned_records) {
        peer.relay_checkpoint = relay_checkpoint_at(index);
      }
      return OutFrame{encode_relay_frame(frame), false};
    }
  }
  if (peer.relay_cursor >= relay_next_number_) {
    // Level: a quiet tail of unsigned records gets its checkpoint when it falls due.
    if (auto due = relay_writer_->checkpoint_due_at()) io_->wake_at(conn, *due);
    return std::nullopt;
  }
  const RelayKept& kept = relay_ring_.at(peer.relay_cursor - ring_first_number);
  peer.relay_cursor += 1;
  if (kept.record) {
    peer.relay_sent = kept.index;
    peer.relay_unsigned = kept.signs ? 0 : peer.relay_unsigned + 1;
  } else {
    peer.relay_unsigned = 0;
  }
  return OutFrame{kept.bytes, false};
}

std::optional<RelayPosition> HostSession::relay_head() const {
  if (!relay_writer_) return std::nullopt;
  return relay_writer_->head();
}

size_t HostSession::relay_peers() const {
  size_t n = 0;
  for (const auto& [_, p] : peers_) n += p.relay && p.phase == Phase::kActive ? 1 : 0;
  return n;
}

HostSession::Status HostSession::status() const {
  Status s;
  for (const auto& [_, p] : peers_) s.peers += p.phase == Phase::kActive ? 1 : 0;
  s.turn = log_.open_turn();
  s.generating = generating_;
  s.turn_tokens = turn_tokens_;
  s.queued_prompts = prompts_.size();
  s.held_prompts = held_.size();
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

bool HostSession::take_prompt_token(Peer& peer, int64_t now_ms) const {
  const auto burst = config_.prompt_burst;
  const int64_t period = std::max<int64_t>(1, config_.prompt_refill_ms);
  if (!peer.prompt_refilled_ms) {
    peer.prompt_tokens = burst;
    peer.prompt_refilled_ms = now_ms;
  } else if (now_ms > *peer.prompt_refilled_ms) {
    const int64_t periods = (now_ms - *peer.prompt_refilled_ms) / period;
    const auto room = static_cast<int64_t>(burst - std::min(burst, peer.prompt_tokens));
    peer.prompt_tokens += static_cast<size_t>(std::min(periods, room));
    // A full bucket does not save up; a partial one keeps the time already served.
    peer.prompt_refilled_ms =
        peer.prompt_tokens >= burst ? now_ms : *peer.prompt_refilled_ms + periods * period;
  }
  if (peer.prompt_tokens == 0) return false;
  peer.prompt_tokens -= 1;
  return true;
}

bool HostSession::name_in_use(std::string_view name) const {
  return names_in_use_.count(names::fold(name)) != 0;
}

std::string HostSession::clean_name(std::string_view name, PeerId id) {
  // A name is shown to every peer and in every terminal and export: no controls, one line.
  std::string cleaned = truncate_utf8(neutralize_line(name), config_.max_name_bytes);
  if (names::fold(cleaned).empty() || names::reserved(cleaned, config_.host_name)) {
    cleaned = "guest-" + std::to_string(id);
  }
  if (!name_in_use(cleaned)) return cleaned;
  for (size_t n = 2;; ++n) {
    const std::string suffix = " (" + std::to_string(n) + ")";
    // The suffix always fits: the base gives way to it.
    std::string candidate =
        truncate_utf8(cleaned,
                      config_.max_name_bytes - std::min(config_.max_name_bytes, suffix.size())) +
        suffix;
    if (!names::reserved(candidate, config_.host_name) && !name_in_use(candidate)) {
      return candidate;
    }
  }
}

}  // namespace tokencast
