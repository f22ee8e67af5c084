// The host's part of the relay tree (docs/ARCHITECTURE.md "Relay tree", docs/PROTOCOL.md
// section 6): where each viewer's offer goes, the brokered introduction of a viewer to the relay
// the planner chose (its offer and candidates to the relay over the relay's data channel, the
// relay's answer sealed and signed to the viewer), and the bookkeeping when relays and their
// children come and go.
//
// A viewer placed below a relay may relay too (the tree is --relay-depth deep): the host has
// no data channel to it, so it speaks to it through its parents, each hop a relay_route frame
// around a route seal only the two ends can open (docs/PROTOCOL.md section 6, "Relays below
// relays").
#include <algorithm>

#include "host_runtime_impl.hpp"
#include "tokencast/core/log.hpp"

namespace tokencast {
namespace {

// A relay that neither answers nor refuses an introduction this long: the host serves the
// viewer itself (its joiner waits answer_timeout, 10 s by default, for any answer).
constexpr std::chrono::milliseconds kRelayAnswerTimeout{4'000};
// After a relay answer, the viewer's last trickled candidates still reach the relay this long;
// then the host forgets the join (the relay reports the child's end with relay_child_gone).
constexpr std::chrono::seconds kBrokeredCandidateWindow{30};
// Host <-> relay frames waiting for a relay's full send buffer, and candidates per child.
constexpr size_t kMaxRelayControlFrames = 256;
constexpr size_t kMaxBrokeredCandidates = 64;

}  // namespace

HostRuntime::Impl::Placement HostRuntime::Impl::place_viewer(const DtlsFingerprint& fingerprint) {
  if (!tree || bypassed.contains(fingerprint)) return {};
  // The relay this viewer was last introduced to, if it is still a relay in the tree.
  RelayNodeId came_from = 0;
  if (auto it = introduced_to.find(fingerprint); it != introduced_to.end()) {
    if (tree_members.contains(it->second) && tree->contains(it->second)) {
      came_from = it->second;
    }
    introduced_to.erase(it);
  }
  if (auto known = tree_by_fingerprint.find(fingerprint); known != tree_by_fingerprint.end()) {
    // A viewer the tree holds comes back: the client reconnects (same certificate), so its old
    // link is stale.
    const RelayNodeId node = known->second;
    if (const uint64_t old = tree_members.at(node).link; old != 0) drop_link(old);
    forget_tree_node(node);
  }
  if (came_from != 0) {
    // It comes back from a relay that is still in the tree: the relay failed it (stalled,
    // closed on it, or sent what did not verify), or the viewer lies about it; the host cannot
    // tell. A relay that left takes its children out of the tree (forget_tree_node), so they
    // are placed again like new viewers instead. This one is served directly from now on, and
    // the relay takes no new children: it keeps those it has (each checks it for itself). A
    // child that lies costs the tree one relay's slots, never anyone's stream.
    (void)tree->set_capacity(came_from, 0);
    if (bypassed_order.size() == kMaxBypassed) {
      bypassed.erase(bypassed_order.front());
      bypassed_order.pop_front();
    }
    bypassed.insert(fingerprint);
    bypassed_order.push_back(fingerprint);
    counters.relay_bypasses += 1;
    log::info("host", "a viewer came back from its relay: serving it directly");
    return {};
  }
  const RelayNodeId node = next_tree_node++;
  auto placed = tree->join(node, 0);
  if (!placed) return {};  // no slot at any relay: served directly, outside the tree
  tree_members[node] = TreeMember{0, fingerprint};
  tree_by_fingerprint[fingerprint] = node;
  return {node, placed->parent != kRelayHost};
}

void HostRuntime::Impl::forget_tree_node(RelayNodeId node) {
  auto member = tree_members.find(node);
  if (member == tree_members.end()) return;
  if (auto f = tree_by_fingerprint.find(member->second.fingerprint);
      f != tree_by_fingerprint.end() && f->second == node) {
    tree_by_fingerprint.erase(f);
  }
  tree_members.erase(member);
  if (auto b = brokered.find(node); b != brokered.end()) {
    brokered_by_join.erase(b->second.join_id);
    handshake->forget(b->second.join_id);
    brokered.erase(b);
  }
  if (!tree->contains(node)) return;
  const std::vector<RelayNodeId> children = tree->children(node);
  (void)tree->leave(node);
  // A relay that leaves closes its children's links (they lost their stream): each comes back
  // through the host and is placed again, as a new viewer. A child it had not answered yet is
  // still waiting for an answer: the host answers it itself, in a task of its own (this runs
  // inside drop_link, and answering admits a link, which may evict another).
  for (RelayNodeId child : children) {
    auto b = brokered.find(child);
    if (b != brokered.end() && !b->second.answered) {
      loop.post([this, child, join = b->second.join_id] {
        auto it = brokered.find(child);
        if (!stopping && it != brokered.end() && it->second.join_id == join) serve_directly(child);
      });
    } else {
      forget_tree_node(child);
    }
  }
}

void HostRuntime::Impl::start_brokered(size_t room, rendezvous::PeerId from, const JoinId& join_id,
                                       const JoinOffer& offer, RelayNodeId node) {
  const RelayNodeId relay = tree->parent(node).value_or(kRelayHost);
  if (!send_to_relay(relay, RelayIntroFrame{node, offer.sdp})) {
    // Out of reach (a route not yet known, an offer too large to nest): served directly.
    forget_tree_node(node);
    accept_directly(room, from, join_id, PeerRole::kViewer, offer.sdp, offer.joiner_fingerprint, 0);
    return;
  }
  Brokered b;
  b.join_id = join_id;
  b.room = room;
  b.rendezvous_peer = from;
  b.relay = relay;
  b.offer_sdp = offer.sdp;
  b.fingerprint = offer.joiner_fingerprint;
  brokered.emplace(node, std::move(b));
  brokered_by_join[join_id] = node;
  if (introduced_order.size() == kMaxBypassed) {
    introduced_to.erase(introduced_order.front());
    introduced_order.pop_front();
  }
  introduced_to[offer.joiner_fingerprint] = relay;
  introduced_order.push_back(offer.joiner_fingerprint);
  counters.relay_introductions += 1;
  loop.post_after(kRelayAnswerTimeout, [this, node, join_id] {
    auto it = brokered.find(node);
    if (stopping || it == brokered.end() || it->second.join_id != join_id) return;
    if (!it->second.answered) {
      log::info("host", "a relay did not answer an introduction in time: serving the viewer");
      serve_directly(node);
    }
  });
}

void HostRuntime::Impl::serve_directly(RelayNodeId node) {
  auto it = brokered.find(node);
  if (it == brokered.end()) return;
  Brokered b = std::move(it->second);
  brokered.erase(it);
  brokered_by_join.erase(b.join_id);
  introduced_to.erase(b.fingerprint);  // the relay never served it
  forget_tree_node(node);  // the join stays pending in the handshake: the host answers it
  accept_directly(b.room, b.rendezvous_peer, b.join_id, PeerRole::kViewer, b.offer_sdp,
                  b.fingerprint, 0);
}

bool HostRuntime::Impl::brokered_candidate(const JoinId& join_id, const IceCandidate& candidate) {
  auto by = brokered_by_join.find(join_id);
  if (by == brokered_by_join.end()) return false;
  Brokered& b = brokered.at(by->second);
  if (b.joiner_candidates == kMaxBrokeredCandidates) return true;
  b.joiner_candidates += 1;
  (void)send_to_relay(b.relay, RelayCandidateFrame{by->second, candidate.mline_index,
                                                   candidate.sdp_mid, candidate.candidate});
  return true;
}

bool HostRuntime::Impl::relay_link_frame(uint64_t id, Link& link,
                                         std::span<const uint8_t> message) {
  if (message.empty()) return false;
  const auto type = static_cast<FrameType>(message[0]);
  if (!link.hello_seen) {
    link.hello_seen = true;
    if (link.tree_node == 0 || type != FrameType::kHello) return false;
    auto frame = decode_frame(message);
    const auto* hello = frame ? std::get_if<HelloFrame>(&*frame) : nullptr;
    if (hello != nullptr && hello->version >= kRelayVersion && hello->relay_capacity > 0) {
      link.relays = true;
      (void)tree->set_capacity(link.tree_node, hello->relay_capacity);
    }
    return false;  // the session welcomes it as usual (and streams it the relay stream)
  }
  if (type != FrameType::kRelayAccept && type != FrameType::kRelayRefuse &&
      type != FrameType::kRelayCandidate && type != FrameType::kRelayChildGone &&
      type != FrameType::kRelayRoute) {
    return false;
  }
  if (!link.relays) return false;  // not a relay: the session refuses it (protocol error)
  auto frame = decode_frame(message);
  if (!frame) {
    log::info("host", "a relay sent a frame that does not decode (" + frame.error().message() +
                          "): closing its link");
    drop_link(id);
    return true;
  }
  on_relay_frame(link.tree_node, *frame, 0);
  return true;
}

void HostRuntime::Impl::on_relay_frame(RelayNodeId relay, const Frame& frame, size_t hops) {
  // The child the frame names, if this relay is the one it was introduced to.
  auto mine = [&](uint64_t child) -> Brokered* {
    auto it = brokered.find(child);
    return it != brokered.end() && it->second.relay == relay ? &it->second : nullptr;
  };
  if (const auto* accept = std::get_if<RelayAcceptFrame>(&frame)) {
    Brokered* b = mine(accept->child);
    if (b == nullptr || b->answered) return;
    auto sealed = handshake->seal_relay_answer(b->join_id, relay, accept->sdp, system_random());
    if (!sealed) {
      log::warn("host",
                "cannot seal a relay answer: " + std::string(handshake_error_name(sealed.error())));
      forget_tree_node(accept->child);
      return;
    }
    send_envelope(b->room, b->rendezvous_peer, std::move(sealed));
    b->answered = true;
    counters.joins_answered += 1;
    // Should it offer to relay too, the host speaks to it through this relay.
    if (auto member = tree_members.find(accept->child); member != tree_members.end()) {
      member->second.route = handshake->route(LinkRole::kViewer, b->join_id);
    }
    for (const IceCandidate& c : b->early_candidates) {
      send_envelope(b->room, b->rendezvous_peer, handshake->seal_candidate(b->join_id, c));
    }
    b->early_candidates.clear();
    loop.post_after(kBrokeredCandidateWindow, [this, child = accept->child, join = b->join_id] {
      auto it = brokered.find(child);
      if (stopping || it == brokered.end() || it->second.join_id != join) return;
      brokered_by_join.erase(join);
      handshake->forget(join);
    });
  } else if (const auto* refuse = std::get_if<RelayRefuseFrame>(&frame)) {
    Brokered* b = mine(refuse->child);
    if (b != nullptr && !b->answered) serve_directly(refuse->child);
  } else if (const auto* candidate = std::get_if<RelayCandidateFrame>(&frame)) {
    Brokered* b = mine(candidate->child);
    if (b == nullptr) return;
    IceCandidate c{candidate->mid, candidate->mline_index, candidate->candidate};
    if (!b->answered) {
      if (b->early_candidates.size() < kMaxBrokeredCandidates) b->early_candidates.push_back(c);
      return;
    }
    if (brokered_by_join.contains(b->join_id)) {
      send_envelope(b->room, b->rendezvous_peer, handshake->seal_candidate(b->join_id, c));
    }
  } else if (const auto* gone = std::get_if<RelayChildGoneFrame>(&frame)) {
    if (tree->parent(gone->child) == relay) forget_tree_node(gone->child);
  } else if (const auto* route = std::get_if<RelayRouteFrame>(&frame)) {
    // From a child of this relay that relays too: open it with that child's route. A seal
    // that does not open (a parent that altered or replayed it) is dropped; what it carried
    // times out like an unanswered introduction.
    // The child is at depth hops + 2; it relays only if its children fit the tree.
    if (hops + 2 >= options.relay_depth || tree->parent(route->child) != relay) return;
    auto member = tree_members.find(route->child);
    if (member == tree_members.end() || !member->second.route) return;
    auto opened = member->second.route->opener.open(route->sealed);
    if (!opened) {
      log::info("host", "a routed frame did not open (" +
                            make_error_code(opened.error()).message() + "): dropped");
      return;
    }
    auto inner = decode_frame(*opened);
    if (!inner) return;
    on_relay_frame(route->child, *inner, hops + 1);
  } else if (const auto* offer = std::get_if<RelayOfferFrame>(&frame)) {
    // Only a relay the host reaches through a route says so this way (a direct one, in its
    // hello).
    auto member = tree_members.find(relay);
    if (hops > 0 && member != tree_members.end() && member->second.route) {
      member->second.routed_relay = tree->set_capacity(relay, offer->capacity).has_value();
    }
  }
}

bool HostRuntime::Impl::send_to_relay(RelayNodeId relay, const Frame& frame) {
  auto member = tree_members.find(relay);
  if (member == tree_members.end()) return false;
  if (member->second.link != 0) {
    if (!link_table.contains(member->second.link)) return false;
    send_relay_control(member->second.link, frame);
    return true;
  }
  const auto parent = tree->parent(relay);
  if (!member->second.route || !parent || *parent == kRelayHost) return false;
  auto bytes = encode_frame(frame);
  if (!bytes) return false;
  auto sealed = member->second.route->sealer.seal(*bytes);
  if (!sealed) return false;
  return send_to_relay(*parent, RelayRouteFrame{relay, std::move(*sealed)});
}

void HostRuntime::Impl::relay_link_closed(uint64_t id, Link& link) {
  const RelayNodeId node = link.tree_node;
  link.tree_node = 0;
  auto member = tree_members.find(node);
  if (member != tree_members.end() && member->second.link == id) forget_tree_node(node);
}

void HostRuntime::Impl::send_relay_control(uint64_t link_id, const Frame& frame) {
  auto it = link_table.find(link_id);
  if (it == link_table.end()) return;
  auto bytes = encode_frame(frame);
  if (!bytes) {
    log::warn("host", "cannot encode a frame for a relay: " + bytes.error().message());
    return;
  }
  Link& link = it->second;
  if (link.relay_control.size() == kMaxRelayControlFrames) {
    // A relay that does not read what the host asks of it relays for nobody.
    log::info("host", "a relay does not read its introductions: closing its link");
    loop.post([this, link_id] { drop_link(link_id); });
    return;
  }
  link.relay_control.push_back(std::move(*bytes));
  if (!link.paused) pump(link_id);
}

void HostRuntime::Impl::send_envelope(size_t room, rendezvous::PeerId to,
                                      Expected<std::vector<uint8_t>, HandshakeError> envelope) {
  if (!envelope) {
    log::warn("host",
              "cannot seal for a joiner: " + std::string(handshake_error_name(envelope.error())));
    return;
  }
  auto& client = rooms[room].client;
  if (!client) return;
  if (auto sent = client->send(to, *envelope); !sent) {
    log::warn("host", "cannot reach a joiner through the rendezvous: " + sent.error().message());
  }
}

}  // namespace tokencast
