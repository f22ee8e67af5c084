// The host's side of joining: two rooms at the rendezvous, the sealed and signed handshake,
// and a PeerLink (answerer) per accepted offer.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>

#include <algorithm>

#include "host_runtime_impl.hpp"
#include "tokencast/core/invite.hpp"
#include "tokencast/core/log.hpp"
#include "tokencast/turn_credentials.hpp"

namespace tokencast {
namespace {

// Two rooms per host: a PING every 5 s costs nothing, and a dead connection shows in 10 s.
constexpr std::chrono::milliseconds kRendezvousPingInterval{5'000};

// The first IPv4 address of an interface that is up and not loopback: what phones on the same
// network can reach. 127.0.0.1 when there is none.
std::string lan_address() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "127.0.0.1";
  std::string found = "127.0.0.1";
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    if ((a->ifa_flags & IFF_UP) == 0 || (a->ifa_flags & IFF_LOOPBACK) != 0) continue;
    char text[INET_ADDRSTRLEN];
    auto* in = reinterpret_cast<sockaddr_in*>(a->ifa_addr);
    if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof text) != nullptr) {
      found = text;
      break;
    }
  }
  freeifaddrs(list);
  return found;
}

// ws://host:port/path -> http://host:port (the links' base for a remote rendezvous).
std::string http_base_of(const std::string& ws_url) {
  std::string base = ws_url;
  if (base.starts_with("ws://")) base = "http://" + base.substr(5);
  if (base.starts_with("wss://")) base = "https://" + base.substr(6);
  auto scheme_end = base.find("://");
  auto path = base.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  if (path != std::string::npos) {
    std::string rest = base.substr(path);
    base = base.substr(0, path);
    if (rest.size() > 3 && rest.ends_with("/ws")) base += rest.substr(0, rest.size() - 3);
  }
  return base;
}

PeerRole peer_role(LinkRole role) {
  return role == LinkRole::kParticipant ? PeerRole::kParticipant : PeerRole::kViewer;
}

}  // namespace

Expected<std::vector<IceServerEntry>, std::string> beacon_ice_entries(
    const std::vector<IceServer>& servers, const rendezvous::IceGrant& grant) {
  std::vector<IceServerEntry> entries;
  for (const IceServer& server : servers) {
    for (const std::string& url : server.urls) {
      entries.push_back({url, server.username, server.credential});
    }
  }
  if (!grant.turn_urls.empty()) {
    if (grant.turn_secret.empty()) return unexpected(std::string("TURN URLs need the TURN secret"));
    if (grant.turn_ttl_seconds < 60 || grant.turn_ttl_seconds > 7 * 86400) {
      return unexpected(std::string("the TURN credential lifetime must be 60 s .. 7 days"));
    }
    // A sample of what greet() mints: the same URLs with a credential of the same shape.
    for (IceServerEntry& e : rendezvous::grant_ice_servers(grant, 0, "0123456789abcdef")) {
      entries.push_back(std::move(e));
    }
  }
  if (entries.size() > kMaxIceServers) {
    return unexpected("at most " + std::to_string(kMaxIceServers) +
                      " STUN and TURN URLs together can be handed to joiners");
  }
  for (const IceServerEntry& e : entries) {
    if (!valid_ice_server_entry(e)) {
      // The credential is a secret: name the URL only.
      return unexpected("the ICE server " + e.url +
                        " cannot be handed to joiners: its URL, username and credential must be "
                        "visible ASCII of at most 255 bytes each");
    }
  }
  return entries;
}

Expected<void, std::string> HostRuntime::Impl::start_rendezvous() {
  std::string base;
  if (options.rendezvous_url.empty()) {
    rendezvous::ServerOptions server;
    server.listen_host = options.listen_host;
    server.listen_port = options.listen_port;
    server.web_root = options.web_root;
    // Our STUN servers go to the joiners here too (no secret in them), for clients that do not
    // read ICE beacons. Our TURN credential travels only in the beacons, sealed: over plain
    // ws:// anyone on the path would read it here.
    for (const IceServer& ice : options.ice_servers) {
      if (!ice.username.empty()) continue;
      for (const std::string& url : ice.urls) {
        if (server.ice.stun_urls.size() < rendezvous::kMaxIceServers) {
          server.ice.stun_urls.push_back(url);
        }
      }
    }
    embedded = std::make_unique<rendezvous::Server>(server);
    if (auto started = embedded->start(); !started) {
      return unexpected("cannot listen on " + options.listen_host + ":" +
                        std::to_string(options.listen_port) + ": " + started.error().message());
    }
    std::string local = options.listen_host == "0.0.0.0" || options.listen_host == "::"
                            ? "127.0.0.1"
                            : options.listen_host;
    rendezvous_urls = {"ws://" + local + ":" + std::to_string(embedded->port()) + "/ws"};
    std::string reachable = options.listen_host == "0.0.0.0" ? lan_address() : options.listen_host;
    base = "http://" + reachable + ":" + std::to_string(embedded->port());
  } else {
    rendezvous_urls = {options.rendezvous_url};
    rendezvous_urls.insert(rendezvous_urls.end(), options.rendezvous_fallback_urls.begin(),
                           options.rendezvous_fallback_urls.end());
    base = http_base_of(options.rendezvous_url);
  }
  // A resumed session keeps the links it had unless told otherwise (--public-url, or
  // --new-links: then the current address, e.g. after the LAN changed).
  if (!options.public_url.empty()) {
    base = options.public_url;
  } else if (links.resumed && !options.new_links && !record.base_url.empty()) {
    base = record.base_url;
  }
  auto normalized = normalize_base_url(base);
  if (!normalized) return unexpected("not a usable base URL for links: " + base);
  record.base_url = *normalized;
  // The other instances go into the links as alternates, so joiners can fail over too. Not with
  // --public-url: that name fronts every instance already (and the instances' own names may be
  // internal). At most kMaxInviteAlternates; one equal to the base is left out.
  link_alternates.clear();
  if (options.public_url.empty()) {
    for (const std::string& url : options.rendezvous_fallback_urls) {
      auto alt = normalize_base_url(http_base_of(url));
      if (!alt) return unexpected("not a usable base URL for links: " + http_base_of(url));
      if (*alt == record.base_url || std::find(link_alternates.begin(), link_alternates.end(),
                                               *alt) != link_alternates.end()) {
        continue;
      }
      if (link_alternates.size() == kMaxInviteAlternates) break;
      link_alternates.push_back(std::move(*alt));
    }
  }
  rooms[0].role = LinkRole::kViewer;
  rooms[1].role = LinkRole::kParticipant;
  return {};
}

void HostRuntime::Impl::connect_room(size_t index) {
  if (stopping) return;
  Room& room = rooms[index];
  room.generation += 1;
  uint64_t generation = room.generation;
  rendezvous::ClientOptions client;
  client.url = rendezvous_urls[room.url_index % rendezvous_urls.size()];
  client.ca_file = options.rendezvous_ca_file;
  client.room = handshake->locator(room.role);
  // The host pings its rendezvous more often than a joiner does: a host that moved to another
  // network (its address gone) learns it only when the server stops answering (twice this),
  // and until it registers again no peer can join or resume (docs/RELIABILITY.md, "move").
  client.ping_interval = kRendezvousPingInterval;
  rendezvous::ClientCallbacks callbacks;
  callbacks.on_joined = [this, index, generation](rendezvous::PeerId self,
                                                  std::vector<rendezvous::PeerId> peers) {
    loop.post([this, index, generation, self, peers = std::move(peers)] {
      if (rooms[index].generation != generation) return;
      rooms[index].failures = 0;
      rooms[index].joined = true;
      rooms[index].self = self;
      for (auto peer : peers) greet(index, peer);  // joiners that waited for a host
    });
  };
  callbacks.on_ice_servers = [this, index,
                              generation](std::vector<rendezvous::IceServerEntry> servers) {
    loop.post([this, index, generation, servers = std::move(servers)]() mutable {
      if (rooms[index].generation != generation) return;
      std::vector<IceServer> offered;
      for (auto& e : servers)
        offered.push_back({{std::move(e.url)}, std::move(e.username), std::move(e.credential)});
      std::vector<std::string> problems;
      rooms[index].rendezvous_ice = usable_ice_servers(std::move(offered), &problems);
      for (const auto& p : problems)
        log::warn("host", "ignoring an ICE server from the rendezvous: " + p);
    });
  };
  callbacks.on_peer_joined = [this, index, generation](rendezvous::PeerId peer) {
    loop.post([this, index, generation, peer] {
      if (rooms[index].generation == generation && rooms[index].joined) greet(index, peer);
    });
  };
  callbacks.on_envelope = [this, index](rendezvous::PeerId from, std::span<const uint8_t> payload) {
    enqueue_envelope(index, from, payload);
  };
  callbacks.on_closed = [this, index, generation](const rendezvous::CloseInfo& info) {
    loop.post([this, index, generation, info] {
      Room& r = rooms[index];
      if (stopping || r.generation != generation) return;
      r.joined = false;
      // Reconnect with a capped backoff: a restarting rendezvous must not be hammered.
      r.failures += 1;
      // With other instances of a cluster to go to, the next one is tried at once; the backoff
      // grows only with each round of the whole list.
      const auto urls = static_cast<int>(rendezvous_urls.size());
      auto delay = std::chrono::milliseconds(
          std::min(10'000, 250 << std::min((r.failures - 1) / urls + 1, 6)));
      if (urls > 1) {
        r.url_index = (r.url_index + 1) % rendezvous_urls.size();
        if ((r.failures - 1) % urls != urls - 1) delay = std::chrono::milliseconds(100);
        log::info("host", "moving to the rendezvous " + rendezvous_urls[r.url_index]);
      }
      if (info.certificate_rejected) {
        // Never falls back to plain: the operator fixes the certificate or passes --ca.
        log::error("host", "the rendezvous's certificate was rejected (" + info.reason +
                               "); retrying over TLS (see --ca)");
      } else {
        log::warn("host", "rendezvous connection lost (" + info.reason + "); reconnecting");
      }
      loop.post_after(delay, [this, index, generation] {
        if (!stopping && rooms[index].generation == generation) connect_room(index);
      });
    });
  };
  room.client = std::make_unique<rendezvous::Client>(std::move(client), std::move(callbacks));
}

void HostRuntime::Impl::greet(size_t index, rendezvous::PeerId peer) {
  Room& room = rooms[index];
  if (!room.client) return;
  if (beacon_ice.empty() && options.turn_grant.turn_urls.empty()) {
    (void)room.client->send(peer, handshake->beacon(room.role, peer, room.self));
    return;
  }
  std::vector<IceServerEntry> ice = beacon_ice;
  for (IceServerEntry& e : minted_turn()) ice.push_back(std::move(e));
  // Checked at start (beacon_ice_entries), so this cannot fail.
  if (auto beacon = handshake->ice_beacon(room.role, peer, room.self, ice, system_random())) {
    (void)room.client->send(peer, *beacon);
  }
}

std::vector<IceServerEntry> HostRuntime::Impl::minted_turn() const {
  if (options.turn_grant.turn_urls.empty()) return {};
  rendezvous::IceGrant turn = options.turn_grant;
  turn.stun_urls.clear();
  std::array<uint8_t, 8> random{};
  system_random().fill(random);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string tag;
  for (uint8_t b : random) {
    tag.push_back(kHex[b >> 4]);
    tag.push_back(kHex[b & 15]);
  }
  return rendezvous::grant_ice_servers(turn, static_cast<uint64_t>(unix_now_ms() / 1000), tag);
}

void HostRuntime::Impl::refuse(HandshakeError error) {
  counters.refused[std::string(handshake_error_name(error))] += 1;
  log::info("host", "refused a join envelope: " + std::string(handshake_error_name(error)));
}

void HostRuntime::Impl::enqueue_envelope(size_t room, rendezvous::PeerId from,
                                         std::span<const uint8_t> payload) {
  std::lock_guard lock(inbox_mutex);
  if (!inbox.push(JoinSender{room, from}, std::vector<uint8_t>(payload.begin(), payload.end()))) {
    return;  // counted by the inbox (stats: envelopes_dropped)
  }
  if (drain_posted) return;
  drain_posted = true;
  loop.post([this] { drain_inbox(); });
}

void HostRuntime::Impl::drain_inbox() {
  constexpr int kBatch = 64;
  for (int i = 0; i < kBatch; ++i) {
    std::optional<EnvelopeInbox::Item> item;
    {
      std::lock_guard lock(inbox_mutex);
      item = inbox.pop();
      if (!item) {
        drain_posted = false;
        return;
      }
    }
    if (stopping) continue;
    on_envelope(item->sender.room, item->sender.peer, std::move(item->bytes));
  }
  loop.post([this] { drain_inbox(); });
}

void HostRuntime::Impl::on_envelope(size_t room, rendezvous::PeerId from,
                                    std::vector<uint8_t> bytes) {
  if (looks_like_beacon(bytes)) return;  // another host's greeting: nothing for us
  // A sender with a join pending gets no second one: its further offers are dropped before
  // any crypto or PeerConnection is spent on them (a link holder's flood costs a lookup).
  if (auto header = peek_envelope_header(bytes);
      header && header->counter == 0 && admission.sender_busy(JoinSender{room, from})) {
    counters.offers_dropped_busy += 1;
    return;
  }
  auto event = handshake->receive(bytes, unix_now_ms());
  if (!event) {
    refuse(event.error());
    return;
  }
  PeerRole role = peer_role(event->role);
  // The room an envelope arrived in must be the room whose keys opened it.
  if (event->role != rooms[room].role) {
    handshake->forget(event->join_id);
    refuse(HandshakeError::kOpenFailed);
    return;
  }
  if (const auto* offer = std::get_if<JoinOffer>(&event->body)) {
    accept_offer(room, from, event->join_id, role, *offer);
    return;
  }
  const auto* joiner_candidate = std::get_if<IceCandidate>(&event->body);
  if (joiner_candidate && brokered_candidate(event->join_id, *joiner_candidate)) return;
  auto it = by_join.find(event->join_id);
  if (it == by_join.end()) return;
  Link& link = link_table.at(it->second);
  if (const auto* candidate = joiner_candidate) {
    if (auto added = link.peer->add_remote_candidate(*candidate); !added) {
      log::debug("host", "a joiner's candidate was not usable: " + added.error().message);
    }
  }
}

void HostRuntime::Impl::accept_offer(size_t room, rendezvous::PeerId from, const JoinId& join_id,
                                     PeerRole role, const JoinOffer& offer) {
  if (removed_clients.contains(offer.joiner_fingerprint)) {
    counters.joins_refused_removed += 1;
    auto rejection = handshake->seal_rejection(join_id, RejectReason::kRefused, system_random());
    if (rejection && rooms[room].client) (void)rooms[room].client->send(from, *rejection);
    return;
  }
  RelayNodeId node = 0;
  if (role == PeerRole::kViewer) {
    Placement placement = place_viewer(offer.joiner_fingerprint);
    if (placement.brokered) {
      start_brokered(room, from, join_id, offer, placement.node);
      return;
    }
    node = placement.node;
  }
  accept_directly(room, from, join_id, role, offer.sdp, offer.joiner_fingerprint, node);
}

void HostRuntime::Impl::accept_directly(size_t room, rendezvous::PeerId from, const JoinId& join_id,
                                        PeerRole role, const std::string& sdp,
                                        const DtlsFingerprint& fingerprint, RelayNodeId tree_node) {
  auto reject = [&](RejectReason reason) {
    if (tree_node != 0) forget_tree_node(tree_node);
    auto rejection = handshake->seal_rejection(join_id, reason, system_random());
    if (rejection && rooms[room].client) (void)rooms[room].client->send(from, *rejection);
  };
  uint64_t id = next_link++;
  auto decision = admission.offer(id, role, JoinSender{room, from}, unix_now_ms());
  if (decision.verdict == JoinAdmission::Verdict::kSenderBusy) {
    if (tree_node != 0) forget_tree_node(tree_node);
    handshake->forget(join_id);
    counters.offers_dropped_busy += 1;
    return;
  }
  if (decision.verdict == JoinAdmission::Verdict::kFull) {
    counters.joins_refused_full += 1;
    reject(RejectReason::kRoomFull);
    return;
  }
  if (decision.evict) {
    counters.joins_evicted += 1;
    drop_link(*decision.evict);
  }
  LinkConfig config;
  config.ice_servers = options.ice_servers;
  config.ice_servers.insert(config.ice_servers.end(), rooms[room].rendezvous_ice.begin(),
                            rooms[room].rendezvous_ice.end());
  for (IceServerEntry& e : minted_turn()) {
    config.ice_servers.push_back(
        {{std::move(e.url)}, std::move(e.username), std::move(e.credential)});
  }
  config.relay_only = options.relay_only;
  config.turn_tls_ca_pem = options.turn_tls_ca_pem;
  const bool any_turn = std::any_of(config.ice_servers.begin(), config.ice_servers.end(),
                                    [](const IceServer& s) { return !s.username.empty(); });
  if (config.relay_only && !any_turn) {
    log::warn("host",
              "--relay-only without a TURN server (none given with --turn, none from the "
              "rendezvous): this joiner cannot connect");
  }
  auto peer = PeerLink::create(NegotiationRole::kAnswerer, config, callbacks_for(id));
  if (!peer) {
    log::error("host", "cannot create a peer link: " + peer.error().message);
    admission.closed(id);
    reject(RejectReason::kRefused);
    return;
  }
  Link link;
  link.peer = std::move(*peer);
  link.join_id = join_id;
  link.role = role;
  link.room = room;
  link.rendezvous_peer = from;
  link.created_ms = unix_now_ms();
  link.joiner_fingerprint = fingerprint;
  link.tree_node = tree_node;
  Link& stored = link_table.emplace(id, std::move(link)).first->second;
  if (tree_node != 0) tree_members[tree_node].link = id;
  by_join[join_id] = id;
  if (!stored.peer->set_remote_description(sdp) || !stored.peer->create_answer()) {
    drop_link(id);
  }
}

void HostRuntime::Impl::send_to_joiner(Link& link,
                                       Expected<std::vector<uint8_t>, HandshakeError> envelope) {
  send_envelope(link.room, link.rendezvous_peer, std::move(envelope));
}

}  // namespace tokencast
