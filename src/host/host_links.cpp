// The host's PeerLinks: their callbacks (posted to the loop), the answer and candidates going
// back through the handshake, and the pump that moves a peer's frames into its data channel
// as fast as the channel's buffer allows.
#include "host_runtime_impl.hpp"
#include "tokencast/core/log.hpp"

namespace tokencast {

LinkCallbacks HostRuntime::Impl::callbacks_for(uint64_t id) {
  LinkCallbacks cb;
  cb.on_local_description = [this, id](const std::string& sdp) {
    loop.post([this, id, sdp] { on_local_description(id, sdp); });
  };
  cb.on_local_candidate = [this, id](const IceCandidate& candidate) {
    loop.post([this, id, candidate] { on_local_candidate(id, candidate); });
  };
  cb.on_local_candidates_done = [this, id] {
    loop.post([this, id] {
      auto it = link_table.find(id);
      if (it == link_table.end() || !it->second.answered) return;
      send_to_joiner(it->second, handshake->seal_end_of_candidates(it->second.join_id));
    });
  };
  cb.on_state = [this, id](const LinkEvent& event) {
    loop.post([this, id, event] { on_link_state(id, event); });
  };
  cb.on_message = [this, id](std::span<const uint8_t> message) {
    loop.post([this, id, bytes = std::vector<uint8_t>(message.begin(), message.end())]() mutable {
      on_link_message(id, std::move(bytes));
    });
  };
  cb.on_path = [this, id](const CandidatePath& path) {
    // The NAT lab and operators read this line (format: docs/architecture/rtc.md).
    log::info("host", "selected candidate pair: " + describe(path));
    loop.post([this, id, relayed = path.relayed()] {
      if (auto it = link_table.find(id); it != link_table.end()) it->second.relayed = relayed;
    });
  };
  cb.on_drain = [this, id] {
    loop.post([this, id] {
      auto it = link_table.find(id);
      if (it == link_table.end()) return;
      it->second.paused = false;
      pump(id);
    });
  };
  return cb;
}

void HostRuntime::Impl::on_local_description(uint64_t id, const std::string& sdp) {
  auto it = link_table.find(id);
  if (it == link_table.end()) return;
  Link& link = it->second;
  send_to_joiner(link, handshake->seal_answer(link.join_id, sdp, system_random()));
  link.answered = true;
  counters.joins_answered += 1;
  for (const auto& candidate : link.early_candidates) {
    send_to_joiner(link, handshake->seal_candidate(link.join_id, candidate));
  }
  link.early_candidates.clear();
}

void HostRuntime::Impl::on_local_candidate(uint64_t id, IceCandidate candidate) {
  auto it = link_table.find(id);
  if (it == link_table.end()) return;
  Link& link = it->second;
  if (!link.answered) {
    link.early_candidates.push_back(std::move(candidate));
    return;
  }
  send_to_joiner(link, handshake->seal_candidate(link.join_id, candidate));
}

void HostRuntime::Impl::on_link_state(uint64_t id, const LinkEvent& event) {
  auto it = link_table.find(id);
  if (it == link_table.end()) return;
  Link& link = it->second;
  if (event.state == LinkState::kOpen && link.conn == 0) {
    link.conn = session->peer_opened(link.role, unix_now_ms());
    admission.opened(id);
    by_conn[link.conn] = id;
    // The joiner's last trickled candidates may still be in flight: they are accepted (and
    // ignored) for a few seconds rather than counted as refusals.
    by_join.erase(link.join_id);
    loop.post_after(std::chrono::seconds(5), [this, join_id = link.join_id] {
      if (!stopping) handshake->forget(join_id);
    });
    counters.links_opened += 1;
    pump(id);
  } else if (event.state == LinkState::kClosed || event.state == LinkState::kFailed) {
    drop_link(id);
  }
}

void HostRuntime::Impl::on_link_message(uint64_t id, std::vector<uint8_t> message) {
  auto it = link_table.find(id);
  if (it == link_table.end() || it->second.conn == 0) return;
  counters.frames_received += 1;
  if (relay_link_frame(id, it->second, message)) return;
  session->peer_frame(it->second.conn, message, unix_now_ms());
}

void HostRuntime::Impl::pump(uint64_t id) {
  auto it = link_table.find(id);
  if (it == link_table.end() || it->second.conn == 0) return;
  Link& link = it->second;
  while (!link.paused && !link.relay_control.empty()) {
    SendResult result = link.peer->send(link.relay_control.front());
    if (result == SendResult::kRefusedFull) {
      link.paused = true;
      return;
    }
    if (!accepted(result)) return;
    link.relay_control.pop_front();
    if (result == SendResult::kSentOverHighWater) link.paused = true;
  }
  while (!link.paused) {
    std::optional<HostSession::OutFrame> frame;
    if (link.held) {
      frame = std::move(link.held);
      link.held.reset();
    } else {
      frame = session->next_frame(link.conn, unix_now_ms());
    }
    if (!frame) return;
    SendResult result = link.peer->send(frame->bytes);
    if (result == SendResult::kRefusedFull) {
      link.held = std::move(frame);  // not accepted: it goes first once the buffer drains
      link.paused = true;
      return;
    }
    if (!accepted(result)) return;  // closing: the state event will clean up
    counters.frames_sent += 1;
    counters.frame_bytes_sent += frame->bytes.size();
    if (frame->last) {
      link.peer->close("bye");
      return;
    }
    if (result == SendResult::kSentOverHighWater) link.paused = true;
  }
}

void HostRuntime::Impl::drop_link(uint64_t id) {
  auto it = link_table.find(id);
  if (it == link_table.end()) return;
  Link& link = it->second;
  if (link.tree_node != 0) relay_link_closed(id, link);
  if (link.conn != 0) {
    session->peer_closed(link.conn, unix_now_ms());
    by_conn.erase(link.conn);
  } else {
    handshake->forget(link.join_id);
  }
  by_join.erase(link.join_id);
  admission.closed(id);
  link_table.erase(it);  // the PeerLink's destructor: no callback of it runs after this
}

}  // namespace tokencast
