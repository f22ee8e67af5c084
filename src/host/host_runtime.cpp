#include <algorithm>
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>

#include "host_runtime_impl.hpp"
#include "tokencast/core/invite.hpp"
#include "tokencast/core/log.hpp"
#include "tokencast/core/random.hpp"
#include "tokencast/core/text.hpp"

namespace tokencast {

Expected<std::vector<Event>, std::string> HostRuntime::Impl::open_session() {
  auto opened = EventStore::open(options.db_path);
  if (!opened) {
    return unexpected("cannot open the store " + options.db_path + ": " + opened.error().message());
  }
  store = std::move(*opened);
  std::vector<Event> stored;
  if (!options.resume.empty()) {
    auto id = store->resolve_prefix(options.resume);
    if (!id) return unexpected("cannot resume '" + options.resume + "': " + id.error().message());
    auto loaded = store->load_session(*id);
    if (!loaded) return unexpected("cannot resume: " + loaded.error().message());
    record = std::move(*loaded);
    auto stored_life = store->session_life(record.id);
    if (!stored_life) return unexpected("cannot resume: " + stored_life.error().message());
    life = *stored_life;
    const int64_t now = unix_now_ms();
    if (!life.ended() && life.expires_at_ms != 0 && now >= life.expires_at_ms) {
      (void)store->end_session(record.id, life.expires_at_ms, "expired");
      life.ended_at_ms = life.expires_at_ms;
      life.end_reason = "expired";
    }
    if (life.ended()) {
      return unexpected("session " + record.id.hex() + " has ended (" + life.end_reason +
                        "): its links are refused for good; start a new session (its transcript "
                        "stays: tokencast export " +
                        record.id.hex().substr(0, 8) + ")");
    }
    if (options.new_links) {
      RoomSecret viewer = generate_room_secret(system_random());
      RoomSecret participant = generate_room_secret(system_random());
      std::copy(viewer.bytes().begin(), viewer.bytes().end(), record.viewer_secret.begin());
      std::copy(participant.bytes().begin(), participant.bytes().end(),
                record.participant_secret.begin());
    }
    // Peers removed in an earlier run stay removed; new links do not pardon them.
    auto removed = store->removed_clients(record.id);
    if (!removed) return unexpected("cannot resume: " + removed.error().message());
    for (const auto& fingerprint : *removed) remember_removed(fingerprint);
    auto events = store->load_events(record.id);
    if (!events) return unexpected("cannot resume: " + events.error().message());
    stored = std::move(*events);
    links.resumed = true;
  } else {
    try {
      system_random().fill(record.id.bytes);
    } catch (const std::runtime_error&) {
      return unexpected("no randomness available");
    }
    record.created_at_ms = unix_now_ms();
    record.title = options.title;
    record.model = options.source ? options.source->model() : "";
    SigningKey key = SigningKey::generate(system_random());
    key.export_seed(record.host_key_seed);
    RoomSecret viewer = generate_room_secret(system_random());
    RoomSecret participant = generate_room_secret(system_random());
    std::copy(viewer.bytes().begin(), viewer.bytes().end(), record.viewer_secret.begin());
    std::copy(participant.bytes().begin(), participant.bytes().end(),
              record.participant_secret.begin());
  }
  return stored;
}

Expected<std::unique_ptr<HostRuntime>, std::string> HostRuntime::start(HostOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  Impl& h = *impl;
  auto opened = h.open_session();
  if (!opened) return unexpected(opened.error());
  std::vector<Event> stored = std::move(*opened);  // empty for a new session

  SigningKey key = SigningKey::from_seed(h.record.host_key_seed);
  RoomSecret viewer{std::span<const uint8_t, kRoomSecretSize>(h.record.viewer_secret)};
  RoomSecret participant{std::span<const uint8_t, kRoomSecretSize>(h.record.participant_secret)};
  auto handshake = HostHandshake::create(std::move(key), viewer, participant);
  if (!handshake) return unexpected("the stored session keys are unusable");
  h.handshake.emplace(std::move(*handshake));
  auto beacon_ice = beacon_ice_entries(h.options.ice_servers, h.options.turn_grant);
  if (!beacon_ice) return unexpected(beacon_ice.error());
  h.beacon_ice = std::move(*beacon_ice);
  // The minted entries are made anew for each greeting (minted_turn()).
  h.beacon_ice.resize(h.beacon_ice.size() - h.options.turn_grant.turn_urls.size());
  if (std::any_of(h.beacon_ice.begin(), h.beacon_ice.end(),
                  [](const IceServerEntry& e) { return !e.credential.empty(); })) {
    log::warn("host",
              "joiners get the TURN credential of --turn-user in the host's beacon (sealed: the "
              "rendezvous cannot read it, but anyone holding a link can); for a credential per "
              "peer that expires, give coturn's shared secret instead (--turn-secret-file)");
  }

  if (auto started = h.start_rendezvous(); !started) return unexpected(started.error());
  for (LinkRole role : {LinkRole::kViewer, LinkRole::kParticipant}) {
    const RoomSecret& secret = role == LinkRole::kViewer ? viewer : participant;
    auto link = format_invite_link(h.record.base_url, role, secret, h.handshake->public_key(),
                                   h.link_alternates);
    if (!link) {
      return unexpected("the links cannot be made from " + h.record.base_url + ": " +
                        make_error_code(link.error()).message());
    }
    (role == LinkRole::kViewer ? h.links.viewer : h.links.participant) = *link;
  }
  h.links.session_id = h.record.id.hex();
  if (!h.links.resumed) {
    if (auto created = h.store->create_session(h.record); !created) {
      return unexpected("cannot store the session: " + created.error().message());
    }
  } else if (h.options.new_links) {
    // Stored only now that the new links exist: a failed start keeps the old ones.
    if (auto replaced = h.store->replace_links(h.record.id, h.record.viewer_secret,
                                               h.record.participant_secret, h.record.base_url);
        !replaced) {
      return unexpected("cannot store the new links: " + replaced.error().message());
    }
  }
  if (auto reader = EventStore::open(h.options.db_path); reader) {
    h.life_reader = std::move(*reader);
  } else {
    log::warn("host", "cannot watch the store for `tokencast end`: " + reader.error().message());
  }
  if (h.options.expires_in_ms > 0) {
    h.life.expires_at_ms = unix_now_ms() + h.options.expires_in_ms;
    if (auto set = h.store->set_expiry(h.record.id, h.life.expires_at_ms); !set) {
      return unexpected("cannot store the expiry: " + set.error().message());
    }
  }

  HostSessionConfig config;
  config.session_id = h.record.id;
  // Signs the transcript after each ended turn, for viewers' signed exports (protocol v4).
  config.signing_key = SigningKey::from_seed(h.record.host_key_seed);
  config.model_name = h.options.source ? h.options.source->model() : "tokencast";
  config.host_name = h.options.host_name;
  config.llm_attached = h.options.source != nullptr && !h.options.stream_source;
  config.max_peers = h.options.max_peers;
  config.approve_prompts = h.options.approve_prompts;
  JoinAdmissionOptions admission;
  admission.max_peers = h.options.max_peers;
  admission.participant_reserve = std::min<size_t>(50, h.options.max_peers / 10);
  h.admission = JoinAdmission(admission);
  // Relays below relays are introduced through their parents (host_relays.cpp).
  h.tree.emplace(
      RelayTreeOptions{.host_children = h.options.direct_peers,
                       .max_children = std::max<size_t>(h.options.relay_children, 1),
                       .max_depth = std::max<size_t>(h.options.relay_depth, 1),
                       .max_viewers = h.options.max_peers * (h.options.relay_children + 1)});
  config.queue.max_pending_bytes = h.options.max_pending_bytes_per_peer;
  config.flow.pace_interval_ms = h.options.pace_interval_ms;
  bool fresh = stored.empty();
  h.committer = std::make_unique<GroupCommitter>(
      *h.store, h.record.id,
      [impl = &h](Seq seq, std::error_code error) {
        if (error) {
          log::error("host", "the store failed; nothing more will be shown: " + error.message());
          return;
        }
        impl->loop.post([impl, seq] {
          if (!impl->session) return;
          impl->session->durable(seq, unix_now_ms());
          impl->emit_durable();
        });
      },
      std::chrono::milliseconds(h.options.batch_interval_ms));
  auto session = HostSession::create(config, std::move(stored), h, unix_now_ms());
  if (!session) return unexpected("the stored session is damaged: " + session.error().message());
  h.session = std::move(*session);
  if (fresh) h.session->set_meta(h.record.title, h.record.model);
  h.emitted = h.session->status().durable;  // a resumed session's history is not replayed

  h.loop.start();
  h.loop.post([impl = &h] {
    for (size_t i = 0; i < impl->rooms.size(); ++i) impl->connect_room(i);
    if (impl->options.stream_source && impl->options.source) {
      auto turn = impl->session->start_external_turn(impl->options.source->model(), unix_now_ms());
      if (turn) impl->start_generation(*turn, {});
    }
    impl->tick();
  });
  return std::unique_ptr<HostRuntime>(new HostRuntime(std::move(impl)));
}

HostRuntime::HostRuntime(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HostRuntime::~HostRuntime() { stop(); }

const HostLinks& HostRuntime::links() const { return impl_->links; }

void HostRuntime::prompt(std::string text) {
  impl_->loop.post([impl = impl_.get(), text = std::move(text)] {
    impl->session->host_prompt(text, unix_now_ms());
  });
}

void HostRuntime::cancel() {
  impl_->loop.post([impl = impl_.get()] { impl->session->host_cancel(unix_now_ms()); });
}

std::string HostRuntime::kick(const std::string& name) {
  if (impl_->stopping) return "the session is ending";
  return util::run_on(impl_->loop, [impl = impl_.get(), name] { return impl->kick(name); });
}

std::vector<std::string> HostRuntime::held_prompts() const {
  if (impl_->stopping) return {};
  return util::run_on(impl_->loop, [impl = impl_.get()] {
    std::vector<std::string> lines;
    for (const auto& p : impl->session->held_prompts()) {
      lines.push_back(std::to_string(p.id) + "  " + p.author + ": " + neutralize_line(p.text));
    }
    return lines;
  });
}

std::string HostRuntime::approve_prompt(uint64_t id) { return decide_prompt(id, true); }

std::string HostRuntime::decline_prompt(uint64_t id) { return decide_prompt(id, false); }

std::string HostRuntime::decide_prompt(uint64_t id, bool approve) {
  if (impl_->stopping) return "the session is ending";
  bool done = util::run_on(impl_->loop, [impl = impl_.get(), id, approve] {
    return approve ? impl->session->approve_prompt(id, unix_now_ms())
                   : impl->session->decline_prompt(id);
  });
  if (!done) return "no prompt " + std::to_string(id) + " is waiting (/queue lists them)";
  return (approve ? "approved prompt " : "declined prompt ") + std::to_string(id);
}

std::vector<std::string> HostRuntime::peer_names() const {
  if (impl_->stopping) return {};
  return util::run_on(impl_->loop, [impl = impl_.get()] {
    std::vector<std::string> names;
    for (const auto& peer : impl->session->present_peers()) {
      names.push_back(peer.name + " (" +
                      (peer.role == PeerRole::kParticipant ? "participant" : "viewer") + ")");
    }
    return names;
  });
}

std::vector<HostSession::PresentPeer> HostRuntime::present_peers() const {
  if (impl_->stopping) return {};
  return util::run_on(impl_->loop, [impl = impl_.get()] { return impl->session->present_peers(); });
}

std::vector<HostSession::HeldPrompt> HostRuntime::waiting_prompts() const {
  if (impl_->stopping) return {};
  return util::run_on(impl_->loop, [impl = impl_.get()] { return impl->session->held_prompts(); });
}

bool HostRuntime::approves_prompts() const { return impl_->options.approve_prompts; }

void HostRuntime::end_session() {
  if (impl_->stopping) return;
  impl_->loop.post([impl = impl_.get()] {
    impl->end_for_good("ended by the host", "the host ended the session for good");
  });
}

void HostRuntime::Impl::end_for_good(const std::string& reason, const std::string& peer_text,
                                     bool stored) {
  if (counters.ended) return;
  if (!stored) {
    if (auto ended = store->end_session(record.id, unix_now_ms(), reason); !ended) {
      log::error("host", "cannot store the session's end: " + ended.error().message());
    }
  }
  counters.ended = true;
  counters.end_reason = reason;
  session->shutdown(peer_text);
}

void HostRuntime::Impl::emit_durable() {
  if (!options.on_event) return;
  const Seq durable = session->status().durable;
  for (; emitted < durable; ++emitted) options.on_event(session->log().at(emitted + 1));
}

void HostRuntime::Impl::check_life(int64_t now) {
  if (counters.ended) return;
  if (life.expires_at_ms != 0 && now >= life.expires_at_ms) {
    end_for_good("expired", "the session has expired");
    return;
  }
  // `tokencast end` from another process: read every 2 s, on a connection of its own.
  if (!life_reader || ++ticks % 4 != 0) return;
  if (auto stored = life_reader->session_life(record.id); stored && stored->ended()) {
    end_for_good(stored->end_reason, "the session was ended for good", /*stored=*/true);
  }
}

std::string HostRuntime::Impl::kick(const std::string& name) {
  auto conn = session->remove_peer(name);
  if (!conn) return "nobody here is called '" + name + "' (/peers lists who is)";
  if (auto it = by_conn.find(*conn); it != by_conn.end()) {
    if (auto link = link_table.find(it->second); link != link_table.end()) {
      const auto& fingerprint = link->second.joiner_fingerprint;
      remember_removed(fingerprint);
      // Kept with the session, so that `--resume` refuses the client too. A rare write on the
      // loop: it waits at most for the commit in progress.
      if (auto stored = store->add_removed_client(record.id, fingerprint, unix_now_ms()); !stored) {
        log::warn("host", "cannot store the removal (refused for this run only): " +
                              stored.error().message());
        return "removed " + name + ": told to leave; its rejoins are refused for this run only" +
               " (the store failed)";
      }
    }
  }
  return "removed " + name + ": told to leave, and its rejoins are refused";
}

void HostRuntime::Impl::remember_removed(const DtlsFingerprint& fingerprint) {
  if (!removed_clients.insert(fingerprint).second) return;
  removed_order.push_back(fingerprint);
  if (removed_order.size() > kMaxRemovedClients) {
    removed_clients.erase(removed_order.front());
    removed_order.pop_front();
  }
}

HostStats HostRuntime::stats() const {
  if (impl_->stopping) return impl_->snapshot();
  return util::run_on(impl_->loop, [impl = impl_.get()] { return impl->snapshot(); });
}

HostStats HostRuntime::Impl::snapshot() const {
  HostStats s = counters;
  for (const auto& room : rooms) s.rooms_joined += room.joined ? 1 : 0;
  {
    std::lock_guard lock(inbox_mutex);
    s.envelopes_dropped = inbox.dropped();
  }
  for (const auto& [id, link] : link_table) {
    if (link.relayed) (*link.relayed ? s.peers_relayed : s.peers_direct) += 1;
    if (link.relays && link.tree_node != 0) s.relays += 1;
    if (auto flow = session->peer_flow(link.conn);
        flow && flow->in_flight > s.most_in_flight_bytes) {
      s.most_in_flight_bytes = flow->in_flight;
      s.most_in_flight_window = flow->window;
    }
  }
  for (const auto& [node, b] : brokered) s.relayed_viewers += b.answered ? 1 : 0;
  for (const auto& [node, member] : tree_members) s.relays += member.routed_relay ? 1 : 0;
  auto st = session->status();
  s.peers = st.peers;
  s.turn = st.turn;
  s.generating = st.generating;
  s.turn_tokens = st.turn_tokens;
  s.head = st.head;
  s.durable = st.durable;
  s.queued_prompts = st.queued_prompts;
  s.held_prompts = st.held_prompts;
  if (committer) {
    auto cs = committer->stats();
    s.store_commits = cs.commits;
    s.store_max_commit_ms = cs.max_commit_ms;
  }
  return s;
}

void HostRuntime::stop() {
  Impl& h = *impl_;
  if (h.stopping) return;
  // Tell every peer, then give the byes a moment to leave before links are torn down.
  util::run_on(h.loop, [&h] {
    h.session->shutdown();
    return 0;
  });
  for (int i = 0; i < 20; ++i) {
    bool open = util::run_on(h.loop, [&h] { return !h.by_conn.empty(); });
    if (!open) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  util::run_on(h.loop, [&h] {
    h.stopping = true;
    h.loop.cancel(h.tick_timer);
    if (h.options.source) h.options.source->cancel();
    h.link_table.clear();  // PeerLink destructors: no callbacks after this
    h.by_conn.clear();
    h.by_join.clear();
    for (auto& room : h.rooms) room.client.reset();
    return 0;
  });
  h.loop.stop();
  if (h.committer) h.committer->flush();
  h.committer.reset();
  if (h.embedded) h.embedded->stop();
  h.life_reader.reset();
  h.store.reset();
}

void HostRuntime::Impl::tick() {
  if (stopping) return;
  int64_t now = unix_now_ms();
  session->tick(now);
  check_life(now);
  handshake->expire(now);
  // A join that has not opened its channel in time is given up.
  for (uint64_t id : admission.overdue(now)) {
    counters.joins_timed_out += 1;
    drop_link(id);
  }
  tick_timer = loop.post_after(std::chrono::milliseconds(500), [this] { tick(); });
}

void HostRuntime::Impl::persist(const Event& event) { committer->submit(event); }

void HostRuntime::Impl::frames_ready(ConnId conn) {
  dirty.push_back(conn);
  if (flush_posted) return;
  flush_posted = true;
  loop.post([this] {
    flush_posted = false;
    std::vector<ConnId> conns;
    conns.swap(dirty);
    std::sort(conns.begin(), conns.end());
    conns.erase(std::unique(conns.begin(), conns.end()), conns.end());
    for (ConnId conn : conns) {
      if (auto it = by_conn.find(conn); it != by_conn.end()) pump(it->second);
    }
  });
}

void HostRuntime::Impl::wake_at(ConnId conn, int64_t at_ms) {
  auto it = by_conn.find(conn);
  if (it == by_conn.end()) return;
  Link& link = link_table.at(it->second);
  if (link.wake_ms && *link.wake_ms <= at_ms) return;  // an earlier wake-up pumps it anyway
  link.wake_ms = at_ms;
  // Peers paced in step (every peer of a live turn) share one timer: one loop task pumps them
  // all, and their frames reach the network thread together.
  auto [wake, fresh] = pace_wakes.try_emplace(at_ms);
  wake->second.push_back(it->second);
  if (!fresh) return;
  const auto delay = std::chrono::milliseconds(std::max<int64_t>(0, at_ms - unix_now_ms()));
  loop.post_after(delay, [this, at_ms] {
    auto due = pace_wakes.extract(at_ms);
    if (due.empty()) return;
    for (uint64_t id : due.mapped()) {
      auto link = link_table.find(id);
      if (link == link_table.end()) continue;
      if (link->second.wake_ms == at_ms) link->second.wake_ms.reset();
      pump(id);
    }
  });
}

void HostRuntime::Impl::start_generation(TurnId turn, std::vector<ChatMessage> history) {
  if (!options.source) return;
  LlmCallbacks callbacks;
  if (options.batch_interval_ms > 0) {
    // Batched: pieces wait on this side; the end of the answer first hands over what waits.
    callbacks.on_delta = [this, turn](std::string bytes) {
      take_piece(turn, false, std::move(bytes));
    };
    callbacks.on_thinking = [this, turn](std::string bytes) {
      take_piece(turn, true, std::move(bytes));
    };
  } else {
    callbacks.on_delta = [this, turn](std::string bytes) {
      loop.post([this, turn, bytes = std::move(bytes)] { session->llm_delta(turn, bytes); });
    };
    callbacks.on_thinking = [this, turn](std::string bytes) {
      loop.post([this, turn, bytes = std::move(bytes)] { session->llm_thinking(turn, bytes); });
    };
  }
  callbacks.on_done = [this, turn](uint64_t tokens) {
    loop.post([this, turn, tokens] {
      drain_intake();
      session->llm_done(turn, tokens, unix_now_ms());
      if (options.batch_interval_ms > 0) committer->commit_now();  // the end waits no longer
    });
  };
  callbacks.on_error = [this, turn](LlmFailure failure) {
    // The detail stays on the host's terminal; peers see only the category.
    log::warn("host", "the model failed: " + failure.detail);
    loop.post([this, turn, reason = std::move(failure.for_peers)] {
      drain_intake();
      session->llm_error(turn, reason, unix_now_ms());
      if (options.batch_interval_ms > 0) committer->commit_now();
    });
  };
  if (!options.source->start(std::move(history), std::move(callbacks))) {
    session->llm_error(turn, "the model is still busy with another answer", unix_now_ms());
  }
}

void HostRuntime::Impl::take_piece(TurnId turn, bool thinking, std::string bytes) {
  bool arm = false;
  bool urgent = false;
  {
    std::lock_guard lock(intake_mutex);
    intake_bytes += bytes.size();
    intake.push_back(Piece{turn, thinking, std::move(bytes)});
    if (!intake_armed) arm = intake_armed = true;
    if ((intake_bytes > kMaxIntakeBytes || intake.size() > kMaxIntakePieces) && !intake_urgent) {
      urgent = intake_urgent = true;
    }
  }
  // Only the batch's first piece arms a timer (one wake-up of the loop per batch); a batch
  // over its byte bound goes at once.
  if (arm) {
    loop.post_after(std::chrono::milliseconds(options.batch_interval_ms), [this] {
      drain_intake();
      // The batch has waited its interval already: the store need not hold it again.
      committer->commit_now();
    });
  }
  if (urgent) {
    loop.post([this] {
      drain_intake();
      committer->commit_now();
    });
  }
}

void HostRuntime::Impl::drain_intake() {
  std::vector<Piece> pieces;
  {
    std::lock_guard lock(intake_mutex);
    pieces.swap(intake);
    intake_bytes = 0;
    intake_armed = intake_urgent = false;
  }
  if (pieces.empty()) return;
  for (const Piece& piece : pieces) {
    if (piece.thinking) {
      session->llm_thinking(piece.turn, piece.bytes);
    } else {
      session->llm_delta(piece.turn, piece.bytes);
    }
  }
}

void HostRuntime::Impl::cancel_generation() {
  if (options.source) options.source->cancel();
}

}  // namespace tokencast
