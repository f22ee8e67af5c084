#include "tokencast/client/join_client.hpp"

#include <algorithm>
#include <future>
#include <map>
#include <optional>

#include "tokencast/core/handshake.hpp"
#include "tokencast/core/invite.hpp"
#include "tokencast/core/log.hpp"
#include "tokencast/core/relay_fanout.hpp"
#include "tokencast/core/text.hpp"
#include "tokencast/signal/rendezvous_client.hpp"
#include "tokencast/util/event_loop.hpp"

namespace tokencast {
namespace {

int64_t unix_now_ms() { return util::EventLoop::unix_now_ms(); }

}  // namespace

const char* join_failure_text(JoinFailure failure) {
  switch (failure) {
    case JoinFailure::kBadLink:
      return "the invite link is not valid";
    case JoinFailure::kRendezvousUnreachable:
      return "the rendezvous server cannot be reached";
    case JoinFailure::kNoAnswer:
      return "invite link invalid or expired, or the host is not running (no host answered)";
    case JoinFailure::kInvalidAnswer:
      return "invite link invalid or expired (the answer was not signed by the link's host)";
    case JoinFailure::kRefused:
      return "the host refused the join";
    case JoinFailure::kSessionEnded:
      return "the host ended the session";
    case JoinFailure::kRemoved:
      return "the host removed you from the session";
    case JoinFailure::kInterrupted:
      return "the connection to the host was lost";
    case JoinFailure::kSignalingAltered:
      return "no host answered, and signaling that did not verify arrived: it was altered in "
             "transit or came from someone without this link";
    case JoinFailure::kCertificateRejected:
      return "the rendezvous server's TLS certificate was rejected";
    case JoinFailure::kNotOpened:
      return "the connection to the host could not be opened";
    case JoinFailure::kNoPath:
      return "the host answered, but no network path to it was found (a NAT or firewall is in "
             "the way; a TURN relay is needed: --turn, or a rendezvous started with --turn; "
             "--relay-only forces it)";
  }
  return "unknown failure";
}

struct JoinClient::Impl : std::enable_shared_from_this<JoinClient::Impl> {
  // One try at a data channel: a rendezvous connection, a handshake and a PeerLink.
  struct Attempt {
    uint64_t number = 0;
    std::unique_ptr<rendezvous::Client> rendezvous;
    std::unique_ptr<PeerLink> peer;
    std::optional<JoinerHandshake> handshake;
    rendezvous::PeerId self = 0;  // our id in the room
    rendezvous::PeerId host = 0;  // the sender of a verified beacon
    // Diagnosis for a join that gets no answer (kSignalingAltered): beacons that did not verify,
    // and envelopes from the verified host's peer that did not open or verify.
    uint64_t forged_beacons = 0;
    uint64_t host_envelopes_refused = 0;
    bool answered = false;
    std::vector<std::vector<uint8_t>> sent;      // offer and candidates, until the answer
    std::vector<IceCandidate> early_candidates;  // gathered before the offer was sealed
    std::vector<IceServer> rendezvous_ice;       // what the rendezvous handed out (ICE_SERVERS)
    std::vector<IceServer> host_ice;  // what the host's ICE beacon added (sealed and signed)
    // Counts the PeerLinks made in this attempt (ICE_SERVERS replaces the first). A link's
    // events are posted to the loop; those of a replaced link may still be queued when its
    // successor exists, and must not reach it: its SDP would be sealed into a second offer.
    uint64_t link_generation = 0;
    bool open = false;
    util::EventLoop::TimerId timer = 0;
    int64_t last_heard_ms = 0;  // anything from the host, for the keepalive
    int64_t last_ping_ms = 0;
    uint64_t pings = 0;
    bool ack_timer_armed = false;
    // The host placed us below a relay: the data channel goes to that relay (a relay answer).
    bool via_relay = false;
    // Below a relay, and offering to relay: the host speaks to us through our parent, sealed
    // under this join's route keys (relay_route.hpp).
    std::optional<RouteChannel> route;
  };

  // A viewer the host placed below us (we relay): one answerer PeerLink per child, named by the
  // host's token.
  struct Child {
    uint64_t token = 0;
    uint64_t serial = 0;  // tells this child's callbacks from those of an earlier one
    std::unique_ptr<PeerLink> peer;
    bool open = false;
    bool welcomed = false;  // its relay_hello was served: live frames go to it
    size_t candidates = 0;
    util::EventLoop::TimerId timer = 0;
  };
  static constexpr uint64_t kMaxRelayChildren = 64;
  static constexpr size_t kMaxChildCandidates = 64;
  static constexpr size_t kMaxClosingLinks = 64;
  // A child's stall timer: pings its relay this often, and gives it up after this much silence.
  static constexpr int64_t kRelayPingEveryMs = 250;
  static constexpr int64_t kRelaySilenceMs = 1000;

  // A host killed without a goodbye leaves the channel silently dead; ICE would notice only after
  // many seconds. Pings every kPingEveryMs keep the host talking; silence for kSilenceMs means
  // the link is lost, and the client resumes.
  static constexpr int64_t kPingEveryMs = 2000;
  static constexpr int64_t kSilenceMs = 6000;

  std::shared_ptr<RtcRuntime> rtc = RtcRuntime::instance();  // threads live across attempts
  JoinOptions options;
  JoinCallbacks callbacks;
  InviteLink link;
  // The link's rendezvous, its alternates, then rendezvous_fallback_urls; `url_index` is the
  // one in use. `urls_failed` counts the ones lost in a row: a join moves on at once while some
  // of the list is untried, and backs off only when every one failed.
  std::vector<std::string> websocket_urls;
  size_t url_index = 0;
  size_t urls_failed = 0;
  util::EventLoop loop;
  ClientSession session;
  std::unique_ptr<Attempt> attempt;
  uint64_t attempts = 0;
  bool ever_connected = false;
  bool ended = false;
  int retries = 0;
  int first_connection_retries = 0;
  static constexpr int kFirstConnectionRetries = 2;
  int64_t lost_since_ms = 0;
  // Relaying: the children (pending and open, at most min(relay_capacity, 64)), the frames and
  // chain kept for them, and links closing gracefully (their bye still in flight).
  std::map<uint64_t, std::unique_ptr<Child>> children;
  uint64_t child_serials = 0;
  std::optional<RelayFanout> fanout;
  std::vector<std::unique_ptr<PeerLink>> closing;

  explicit Impl(std::string name) : session(std::move(name)) {}
  ~Impl() {
    // Child links' callbacks post to the loop through weak pointers: they find nothing.
    children.clear();
    closing.clear();
  }

  // --- attempts ---
  void begin_attempt();
  void teardown();
  // `transient`: a failure that loss or a slow network can cause (a connect timeout, a channel
  // that did not open in time although ICE found a path). Before the first connection it is
  // retried up to kFirstConnectionRetries times; anything else fails the join at once.
  void attempt_failed(JoinFailure failure, const std::string& detail, bool transient = false);
  void link_lost(const std::string& why);
  // The rendezvous in use was lost before the data channel opened: moves to the next URL of the
  // list and begins a new attempt if some URL of the list is still untried in this round.
  bool next_rendezvous(const std::string& why);
  void end(JoinFailure failure, const std::string& detail);
  void status(const std::string& text) const {
    if (callbacks.on_status) callbacks.on_status(text);
  }
  Attempt* current(uint64_t number) {
    return attempt && attempt->number == number ? attempt.get() : nullptr;
  }
  // The attempt, while `generation` is still its link.
  Attempt* current_link(uint64_t number, uint64_t generation) {
    Attempt* a = current(number);
    return a != nullptr && a->link_generation == generation ? a : nullptr;
  }

  // --- signaling ---
  void send_signal(Attempt& a, const std::vector<uint8_t>& envelope);
  void on_joined(uint64_t n, rendezvous::PeerId self);
  void on_ice_servers(uint64_t n, std::vector<rendezvous::IceServerEntry> servers);
  void create_peer(uint64_t n);
  // Keeps the servers of the host's beacon that the attempt does not have yet (host_ice);
  // true when there are any.
  bool take_host_ice(Attempt& a, std::vector<IceServerEntry> entries);
  bool has_ice_server(const Attempt& a, const IceServer& server) const;
  void relay_only_without_turn();
  void on_envelope(uint64_t n, rendezvous::PeerId from, std::vector<uint8_t> bytes);
  void on_local_description(uint64_t n, const std::string& sdp);
  void on_local_candidate(uint64_t n, IceCandidate candidate);
  void on_link_state(uint64_t n, const LinkEvent& event);
  void on_message(uint64_t n, std::vector<uint8_t> bytes);
  void keepalive(uint64_t n);
  LinkConfig link_config(const Attempt& a) const;

  // --- relaying (docs/PROTOCOL.md section 6, "Introducing a child to its relay") ---
  bool relaying() const {
    return options.relay_capacity > 0 && attempt && attempt->open &&
           (!attempt->via_relay || attempt->route.has_value()) && session.welcomed() &&
           session.relay_link() && fanout.has_value();
  }
  // A host <-> relay frame to the host: over our link to it, or sealed through our parent.
  void send_to_host(const Frame& frame);
  void send_to_host(std::span<const uint8_t> frame);
  // relay_routed from our parent: a host frame for us, or for a child of ours.
  void on_routed_from_parent(const RelayRoutedFrame& routed);
  // relay_routed from a child: passed up as relay_route, naming the child.
  void on_routed_from_child(uint64_t token, const RelayRoutedFrame& routed);
  void on_host_relay_frame(const Frame& frame);
  void on_relay_intro(const RelayIntroFrame& intro);
  void on_child_description(uint64_t token, uint64_t serial, const std::string& sdp);
  void on_child_candidate(uint64_t token, uint64_t serial, const IceCandidate& candidate);
  void on_child_state(uint64_t token, uint64_t serial, const LinkEvent& event);
  void on_child_message(uint64_t token, uint64_t serial, std::vector<uint8_t> bytes);
  Child* child(uint64_t token, uint64_t serial) {
    auto it = children.find(token);
    return it != children.end() && it->second->serial == serial ? it->second.get() : nullptr;
  }
  // Sends one relay frame to a child (the test-only tamper hook applies here); false when the
  // child was dropped (its buffer is full: slow_consumer).
  bool send_relay_frame(Child& c, std::span<const uint8_t> frame);
  // Ends a child's link (with a bye when `bye` is set and it is open) and tells the host it is
  // gone when `tell_host`.
  void drop_child(uint64_t token, std::optional<StatusCode> bye, const std::string& why,
                  bool tell_host = true);
  void drop_all_children(const std::string& why);
  void forward_to_children(std::span<const uint8_t> frame);
  void relay_status();
  // Sends an ack when one is due, or arms one timer for when it will be (protocol version 2).
  void acknowledge(uint64_t n);
  bool has_turn_server(const Attempt& a) const {
    auto turn = [](const IceServer& s) {
      return std::any_of(s.urls.begin(), s.urls.end(),
                         [](const std::string& u) { return u.rfind("turn", 0) == 0; });
    };
    return std::any_of(options.ice_servers.begin(), options.ice_servers.end(), turn) ||
           std::any_of(a.rendezvous_ice.begin(), a.rendezvous_ice.end(), turn) ||
           std::any_of(a.host_ice.begin(), a.host_ice.end(), turn);
  }
};

void JoinClient::Impl::acknowledge(uint64_t n) {
  Attempt* a = current(n);
  if (a == nullptr || !a->open) return;
  if (auto ack = session.take_ack(unix_now_ms())) {
    a->peer->send(*ack);
    return;
  }
  auto due = session.ack_due_ms();
  if (!due || a->ack_timer_armed) return;
  a->ack_timer_armed = true;
  const auto delay = std::chrono::milliseconds(std::max<int64_t>(0, *due - unix_now_ms()));
  loop.post_after(delay, [this, n] {
    if (Attempt* at = current(n)) at->ack_timer_armed = false;
    acknowledge(n);
  });
}

void JoinClient::Impl::keepalive(uint64_t n) {
  Attempt* a = current(n);
  if (a == nullptr || !a->open) return;
  // A relay is held to a tighter timer than the host: a parent that stops forwarding is not
  // distinguishable from a quiet host by its frames, so the child pings it and gives it up
  // after kRelaySilenceMs without any frame, and goes back through the host.
  const int64_t silence = a->via_relay ? kRelaySilenceMs : kSilenceMs;
  const int64_t every = a->via_relay ? kRelayPingEveryMs : kPingEveryMs;
  const int64_t now = unix_now_ms();
  if (now - a->last_heard_ms > silence) {
    link_lost(a->via_relay ? "the relay stopped responding" : "the host stopped responding");
    return;
  }
  if (now - a->last_ping_ms >= every) {
    a->peer->send(ClientSession::ping(++a->pings));
    a->last_ping_ms = now;
  }
  // Wakes for the next ping, or exactly when the silence would pass, whichever comes first.
  const int64_t next = std::min(a->last_ping_ms + every, a->last_heard_ms + silence + 1);
  a->timer = loop.post_after(std::chrono::milliseconds(std::max<int64_t>(1, next - now)),
                             [this, n] { keepalive(n); });
}

LinkConfig JoinClient::Impl::link_config(const Attempt& a) const {
  LinkConfig config;
  config.ice_servers = options.ice_servers;
  config.ice_servers.insert(config.ice_servers.end(), a.rendezvous_ice.begin(),
                            a.rendezvous_ice.end());
  config.ice_servers.insert(config.ice_servers.end(), a.host_ice.begin(), a.host_ice.end());
  config.relay_only = options.relay_only;
  config.turn_tls_ca_pem = options.turn_tls_ca_pem;
  config.identity = options.identity;
  return config;
}

void JoinClient::Impl::begin_attempt() {
  if (ended) return;
  attempt = std::make_unique<Attempt>();
  attempt->number = ++attempts;
  uint64_t n = attempt->number;
  std::weak_ptr<Impl> weak = weak_from_this();
  auto post = [weak](auto task) {
    if (auto self = weak.lock()) self->loop.post(std::move(task));
  };
  rendezvous::ClientOptions rv;
  rv.url = websocket_urls[url_index];
  rv.ca_file = options.ca_file;
  rv.room = invite_room_locator(link);
  rendezvous::ClientCallbacks cb;
  cb.on_joined = [this, post, n](rendezvous::PeerId self, const std::vector<rendezvous::PeerId>&) {
    post([this, n, self] { on_joined(n, self); });
  };
  cb.on_ice_servers = [this, post, n](std::vector<rendezvous::IceServerEntry> servers) {
    post([this, n, servers = std::move(servers)]() mutable {
      on_ice_servers(n, std::move(servers));
    });
  };
  cb.on_envelope = [this, post, n](rendezvous::PeerId from, std::span<const uint8_t> payload) {
    post([this, n, from, bytes = std::vector<uint8_t>(payload.begin(), payload.end())]() mutable {
      on_envelope(n, from, std::move(bytes));
    });
  };
  cb.on_closed = [this, post, n](const rendezvous::CloseInfo& info) {
    post([this, n, reason = info.reason, rejected = info.certificate_rejected,
          timed_out = info.timed_out] {
      Attempt* a = current(n);
      if (a != nullptr && !a->open) {
        if (rejected) {
          end(JoinFailure::kCertificateRejected, reason);
        } else if (next_rendezvous(reason)) {
          // Failover: this instance is lost (or never answered); the next one is tried at once,
          // with a new attempt (a new join id), since the host re-registers there too.
        } else {
          attempt_failed(JoinFailure::kRendezvousUnreachable, reason, timed_out);
        }
      }
    });
  };
  status(ever_connected ? "reconnecting" : "connecting");
  attempt->rendezvous = std::make_unique<rendezvous::Client>(std::move(rv), std::move(cb));
  attempt->timer = loop.post_after(options.answer_timeout, [this, n] {
    Attempt* a = current(n);
    if (a == nullptr || a->open) return;
    // Only a diagnosis another link holder cannot force: junk beacons count only when no
    // genuine one came, and nobody but the host (relayed by the rendezvous) sends from its id.
    if ((a->host == 0 && a->forged_beacons > 0) || a->host_envelopes_refused > 0) {
      attempt_failed(JoinFailure::kSignalingAltered,
                     std::to_string(a->forged_beacons) + " beacon(s) and " +
                         std::to_string(a->host_envelopes_refused) +
                         " envelope(s) from the host did not verify");
      return;
    }
    attempt_failed(JoinFailure::kNoAnswer,
                   a->host == 0 ? "no host greeted us in its room" : "the host did not answer");
  });
}

bool JoinClient::Impl::next_rendezvous(const std::string& why) {
  if (websocket_urls.size() < 2) return false;
  const std::string lost = websocket_urls[url_index];
  url_index = (url_index + 1) % websocket_urls.size();
  urls_failed += 1;
  if (urls_failed >= websocket_urls.size()) {
    urls_failed = 0;  // every one failed: back off as without a list, then go round again
    return false;
  }
  log::info("join",
            "rendezvous " + lost + " lost (" + why + "): trying " + websocket_urls[url_index]);
  teardown();
  status("connecting (rendezvous " + websocket_urls[url_index] + ")");
  begin_attempt();
  return true;
}

void JoinClient::Impl::teardown() {
  // Our children go back through the host, which places them again.
  drop_all_children("the relay lost its own link");
  session.set_link_lost();
  if (!attempt) return;
  loop.cancel(attempt->timer);
  attempt.reset();  // the PeerLink and the rendezvous client: no callback of them after this
}

void JoinClient::Impl::end(JoinFailure failure, const std::string& detail) {
  if (ended) return;
  ended = true;
  teardown();
  if (callbacks.on_ended) callbacks.on_ended(failure, detail);
}

void JoinClient::Impl::attempt_failed(JoinFailure failure, const std::string& detail,
                                      bool transient) {
  teardown();
  if (!ever_connected && transient && options.reconnect &&
      first_connection_retries < kFirstConnectionRetries) {
    first_connection_retries += 1;
    status("connecting (again: " + detail + ")");
    loop.post_after(std::chrono::milliseconds(250 * first_connection_retries), [this] {
      if (!attempt && !ended) begin_attempt();
    });
    return;
  }
  // Before the first connection, fail fast with the reason; afterwards a reconnecting client
  // keeps trying (the host may be restarting).
  if (!ever_connected || !options.reconnect) {
    end(failure, detail);
    return;
  }
  link_lost(detail);
}

void JoinClient::Impl::link_lost(const std::string& why) {
  // A relay given up (stalled, caught tampering, gone): the host is fine, so the first attempt
  // through it goes at once (the 2 s re-parenting budget of issue 15).
  const bool from_relay = attempt && attempt->open && attempt->via_relay;
  teardown();
  if (!options.reconnect) {
    end(JoinFailure::kInterrupted, why);
    return;
  }
  int64_t now = unix_now_ms();
  if (lost_since_ms == 0) lost_since_ms = now;
  if (options.give_up_after.count() > 0 && now - lost_since_ms > options.give_up_after.count()) {
    end(JoinFailure::kInterrupted, why);
    return;
  }
  status("reconnecting (" + why + ")");
  auto delay = std::chrono::milliseconds(
      from_relay && retries == 0 ? 0 : std::min(5000, 250 << std::min(retries, 5)));
  retries += 1;
  loop.post_after(delay, [this] {
    if (!attempt) begin_attempt();
  });
}

void JoinClient::Impl::send_signal(Attempt& a, const std::vector<uint8_t>& envelope) {
  // Only the peer whose beacon verified gets our offer and candidates: another holder of the
  // link who saw them could forge an answer that ends the attempt. Until the answer they are
  // kept, for a host that reconnects under a new id.
  if (!a.answered) a.sent.push_back(envelope);
  if (a.host != 0) (void)a.rendezvous->send(a.host, envelope);
}

void JoinClient::Impl::on_joined(uint64_t n, rendezvous::PeerId self) {
  Attempt* a = current(n);
  if (a == nullptr) return;
  a->self = self;
  urls_failed = 0;  // this rendezvous works: a later loss starts a fresh round of the list
  create_peer(n);
}

void JoinClient::Impl::on_ice_servers(uint64_t n, std::vector<rendezvous::IceServerEntry> servers) {
  Attempt* a = current(n);
  if (a == nullptr || a->answered || a->open) return;
  std::vector<IceServer> offered;
  for (auto& e : servers)
    offered.push_back({{std::move(e.url)}, std::move(e.username), std::move(e.credential)});
  // The rendezvous is not trusted: a server libwebrtc would refuse is skipped, not fatal.
  std::vector<std::string> problems;
  a->rendezvous_ice = usable_ice_servers(std::move(offered), &problems);
  for (const auto& p : problems)
    log::warn("join", "ignoring an ICE server from the rendezvous: " + p);
  if (a->rendezvous_ice.empty()) return;
  // ICE_SERVERS follows JOINED at once, before any envelope: the link made at JOINED has not
  // been offered to anyone yet. Make it again, gathering with these servers too.
  a->peer.reset();
  a->handshake.reset();
  a->sent.clear();
  a->early_candidates.clear();
  create_peer(n);
}

bool JoinClient::Impl::take_host_ice(Attempt& a, std::vector<IceServerEntry> entries) {
  std::vector<IceServer> offered;
  for (auto& e : entries) {
    IceServer server{{std::move(e.url)}, std::move(e.username), std::move(e.credential)};
    if (!has_ice_server(a, server)) offered.push_back(std::move(server));
  }
  if (offered.empty()) return false;
  // The host signed these, but a server libwebrtc would refuse is still skipped, not fatal.
  std::vector<std::string> problems;
  a.host_ice = usable_ice_servers(std::move(offered), &problems);
  for (const auto& p : problems) log::warn("join", "ignoring an ICE server from the host: " + p);
  return !a.host_ice.empty();
}

bool JoinClient::Impl::has_ice_server(const Attempt& a, const IceServer& server) const {
  auto same = [&](const IceServer& s) {
    return s.urls == server.urls && s.username == server.username &&
           s.credential == server.credential;
  };
  return std::any_of(options.ice_servers.begin(), options.ice_servers.end(), same) ||
         std::any_of(a.rendezvous_ice.begin(), a.rendezvous_ice.end(), same);
}

void JoinClient::Impl::relay_only_without_turn() {
  end(JoinFailure::kNoPath,
      "--relay-only needs a TURN server, and none was given (--turn) or handed out by the "
      "rendezvous or the host");
}

void JoinClient::Impl::create_peer(uint64_t n) {
  Attempt* a = current(n);
  if (a == nullptr) return;
  LinkConfig config = link_config(*a);
  const uint64_t generation = ++a->link_generation;
  std::weak_ptr<Impl> weak = weak_from_this();
  // Runs `task` on the loop while this link is still the attempt's link.
  auto post = [weak, n, generation](auto task) {
    auto self = weak.lock();
    if (!self) return;
    self->loop.post([weak, n, generation, task = std::move(task)]() mutable {
      auto alive = weak.lock();
      if (alive && alive->current_link(n, generation) != nullptr) task();
    });
  };
  LinkCallbacks cb;
  cb.on_local_description = [this, post, n](const std::string& sdp) {
    post([this, n, sdp] { on_local_description(n, sdp); });
  };
  cb.on_local_candidate = [this, post, n](const IceCandidate& c) {
    post([this, n, c] { on_local_candidate(n, c); });
  };
  cb.on_local_candidates_done = [this, post, n] {
    post([this, n] {
      Attempt* at = current(n);
      if (at == nullptr || !at->handshake) return;
      if (auto sealed = at->handshake->seal_end_of_candidates()) send_signal(*at, *sealed);
    });
  };
  cb.on_state = [this, post, n](const LinkEvent& e) {
    post([this, n, e] { on_link_state(n, e); });
  };
  cb.on_path = [this, post](const CandidatePath& path) {
    // The NAT lab and operators read this line (format: docs/architecture/rtc.md).
    log::info("join", "selected candidate pair: " + describe(path));
    post([this, path] {
      if (callbacks.on_path) callbacks.on_path(path);
    });
  };
  cb.on_message = [this, post, n](std::span<const uint8_t> m) {
    post([this, n, bytes = std::vector<uint8_t>(m.begin(), m.end())]() mutable {
      on_message(n, std::move(bytes));
    });
  };
  auto peer = PeerLink::create(NegotiationRole::kOfferer, config, std::move(cb));
  if (!peer) {
    end(JoinFailure::kNotOpened, "cannot create a peer connection: " + peer.error().message);
    return;
  }
  a->peer = std::move(*peer);
  if (!a->peer->create_offer()) attempt_failed(JoinFailure::kNotOpened, "cannot make an offer");
}

void JoinClient::Impl::on_local_description(uint64_t n, const std::string& sdp) {
  Attempt* a = current(n);
  if (a == nullptr) return;
  auto handshake = JoinerHandshake::start(link, options.name, sdp, unix_now_ms(), system_random());
  if (!handshake) {
    end(JoinFailure::kNotOpened,
        "cannot seal the offer: " + std::string(handshake_error_name(handshake.error())));
    return;
  }
  a->handshake.emplace(std::move(*handshake));
  send_signal(*a, a->handshake->offer_envelope());
  for (const auto& c : a->early_candidates) {
    if (auto sealed = a->handshake->seal_candidate(c)) send_signal(*a, *sealed);
  }
  a->early_candidates.clear();
}

void JoinClient::Impl::on_local_candidate(uint64_t n, IceCandidate candidate) {
  Attempt* a = current(n);
  if (a == nullptr) return;
  if (!a->handshake) {
    a->early_candidates.push_back(std::move(candidate));
    return;
  }
  if (auto sealed = a->handshake->seal_candidate(candidate)) send_signal(*a, *sealed);
}

void JoinClient::Impl::on_envelope(uint64_t n, rendezvous::PeerId from,
                                   std::vector<uint8_t> bytes) {
  Attempt* a = current(n);
  if (a == nullptr || a->open) return;
  if (looks_like_beacon(bytes)) {
    if (a->answered || a->host == from) return;
    auto host_ice = open_host_beacon(link, bytes, a->self, from);
    if (!host_ice) {
      a->forged_beacons += 1;
      return;
    }
    const bool first = a->host == 0;
    a->host = from;  // the host, or the host again under a new id: (re)send what it lacks
    if (first && take_host_ice(*a, std::move(*host_ice))) {
      // Servers we did not have: the link made at JOINED gathered without them and has been
      // offered to no one yet. Make it again; its offer goes straight to the host.
      a->peer.reset();
      a->handshake.reset();
      a->sent.clear();
      a->early_candidates.clear();
      if (options.relay_only && !has_turn_server(*a)) return relay_only_without_turn();
      create_peer(n);
      return;
    }
    if (first && options.relay_only && !has_turn_server(*a)) return relay_only_without_turn();
    for (const auto& envelope : a->sent) (void)a->rendezvous->send(from, envelope);
    return;
  }
  if (!a->handshake || a->host == 0 || from != a->host) return;
  auto event = a->handshake->receive(bytes);
  if (!event) {
    a->host_envelopes_refused += 1;
    // Other joiners' offers and anything that does not open are dropped; a forged answer
    // ends the attempt for good: fail closed.
    if (a->handshake->state() == JoinerHandshake::State::kFailed) {
      end(JoinFailure::kInvalidAnswer, std::string(handshake_error_name(event.error())));
    }
    return;
  }
  const auto* answer = std::get_if<VerifiedAnswer>(&*event);
  const auto* relay_answer = std::get_if<VerifiedRelayAnswer>(&*event);
  if (answer != nullptr || relay_answer != nullptr) {
    a->answered = true;
    a->sent.clear();
    // A relay answer: the host placed us below one of its relays. Its signature binds the
    // relay's SDP (and so its DTLS fingerprint, which libwebrtc checks) to this offer.
    a->via_relay = relay_answer != nullptr;
    if (a->via_relay && options.relay_capacity > 0) a->route = a->handshake->route();
    if (!a->peer->set_remote_description(a->via_relay ? relay_answer->sdp : answer->sdp)) {
      attempt_failed(JoinFailure::kNotOpened, "the host's answer could not be applied");
      return;
    }
    if (a->via_relay) status("connecting via relay");
    loop.cancel(a->timer);
    a->timer = loop.post_after(options.open_timeout, [this, n] {
      if (Attempt* at = current(n); at != nullptr && !at->open) {
        if (at->peer && !at->peer->path_found()) {
          attempt_failed(JoinFailure::kNoPath, "ICE checks found no working candidate pair");
        } else {
          attempt_failed(JoinFailure::kNotOpened, "the data channel did not open",
                         /*transient=*/true);
        }
      }
    });
  } else if (const auto* candidate = std::get_if<IceCandidate>(&*event)) {
    (void)a->peer->add_remote_candidate(*candidate);
  } else if (const auto* rejection = std::get_if<HostRejection>(&*event)) {
    if (rejection->reason == RejectReason::kRoomFull && ever_connected) {
      // A viewer coming back (its relay left, the host restarted) among many others at once:
      // the host's budget of joins in progress is full for now, not the room for good. Retried
      // with the usual backoff (attempt_failed after a connection is a lost link).
      attempt_failed(JoinFailure::kRefused, "the room is full for now");
      return;
    }
    end(JoinFailure::kRefused, std::string(reject_reason_name(rejection->reason)));
  }
}

void JoinClient::Impl::on_link_state(uint64_t n, const LinkEvent& event) {
  Attempt* a = current(n);
  if (a == nullptr) return;
  if (event.state == LinkState::kOpen && !a->open) {
    a->open = true;
    loop.cancel(a->timer);
    a->rendezvous.reset();  // signaling is over: leave the room
    ever_connected = true;
    retries = 0;
    lost_since_ms = 0;
    a->last_heard_ms = unix_now_ms();
    a->last_ping_ms = a->last_heard_ms;  // the first frame stands for a ping
    a->peer->send(a->via_relay ? session.parent_hello() : session.hello());
    a->timer =
        loop.post_after(std::chrono::milliseconds(a->via_relay ? kRelayPingEveryMs : kPingEveryMs),
                        [this, n] { keepalive(n); });
    status(a->via_relay ? "connected via relay" : "connected");
  } else if (event.state == LinkState::kClosed || event.state == LinkState::kFailed) {
    if (a->open) {
      link_lost(event.reason.empty() ? std::string(to_string(event.state)) : event.reason);
    } else if (event.no_path) {
      attempt_failed(JoinFailure::kNoPath, event.reason);
    } else {
      // ICE found a path but DTLS or SCTP did not make it (the lab's lossy link once ended a
      // join this way with "the peer closed the channel"): worth another attempt.
      attempt_failed(JoinFailure::kNotOpened, event.reason, /*transient=*/true);
    }
  }
}

void JoinClient::Impl::on_message(uint64_t n, std::vector<uint8_t> bytes) {
  Attempt* a = current(n);
  if (a == nullptr || !a->open) return;
  a->last_heard_ms = unix_now_ms();
  if (relaying() && !bytes.empty() &&
      (a->via_relay ? bytes[0] == static_cast<uint8_t>(FrameType::kRelayRouted)
                    : bytes[0] == static_cast<uint8_t>(FrameType::kRelayIntro) ||
                          bytes[0] == static_cast<uint8_t>(FrameType::kRelayCandidate) ||
                          bytes[0] == static_cast<uint8_t>(FrameType::kRelayRoute))) {
    // The host introducing a child to us (directly, or through our parent): taken off the link
    // before the session (which refuses them, as on every link that is not a relay's).
    auto frame = decode_frame(bytes);
    if (!frame) {
      link_lost("bad frame from the host: " + frame.error().message());
      return;
    }
    if (const auto* routed = std::get_if<RelayRoutedFrame>(&*frame)) {
      on_routed_from_parent(*routed);
    } else {
      on_host_relay_frame(*frame);
    }
    return;
  }
  const bool relay_frame =
      !bytes.empty() && bytes[0] >= kRelayRecordType && bytes[0] <= kRelayCheckpointType;
  const bool was_welcomed = session.welcomed();
  auto events = session.receive(bytes);
  if (!events) {
    if (a->via_relay) {
      // Tampering (chain_mismatch, bad_signature, out_of_order), or anything else the relay got
      // wrong: give it up and go back through the host from the last verified record.
      link_lost("the relay's stream was refused: " + events.error().message());
    } else if (events.error() == ClientError::kWrongSession) {
      end(JoinFailure::kInvalidAnswer, events.error().message());
    } else {
      link_lost("bad frame from the host: " + events.error().message());
    }
    return;
  }
  if ((!a->via_relay || a->route) && options.relay_capacity > 0 && session.relay_link() &&
      session.welcomed()) {
    if (!was_welcomed) {
      // Our own relay stream (from the host, or from our parent): keep (or start) the ring and
      // chain children are served from; it outlives links (a parent resending after a resume
      // is skipped).
      if (!fanout || fanout->session_id() != *session.session_id()) {
        fanout.emplace(*session.session_id(), link.host_key);
      }
      if (auto verified = session.relay_verified()) fanout->set_base(*verified);
      // Below a relay, the host learns our capacity through our parent (a direct viewer's
      // hello carries it).
      if (a->via_relay) {
        send_to_host(RelayOfferFrame{std::min(options.relay_capacity, kMaxRelayChildren)});
      }
    } else if (relay_frame && fanout) {
      forward_to_children(bytes);
    }
  }
  for (const auto& event : *events) {
    if (callbacks.on_event) callbacks.on_event(event);
    if (a->via_relay && std::holds_alternative<HostLeft>(event)) {
      // A relay's bye is never final for us (it cannot end the session): back to the host.
      link_lost("the relay left: " + std::get<HostLeft>(event).bye.text);
      return;
    }
    if (const auto* left = std::get_if<HostLeft>(&event)) {
      if (left->bye.reason == StatusCode::kShutdown) {
        end(JoinFailure::kSessionEnded, left->bye.text);
        return;
      }
      if (left->bye.reason == StatusCode::kRemoved) {
        end(JoinFailure::kRemoved, left->bye.text);
        return;
      }
      link_lost(left->bye.text);  // e.g. too slow: resume from where we are
      return;
    }
  }
  acknowledge(n);
}

// --- relaying -------------------------------------------------------------------------------

void JoinClient::Impl::send_to_host(const Frame& frame) {
  if (auto bytes = encode_frame(frame)) send_to_host(*bytes);
}

void JoinClient::Impl::send_to_host(std::span<const uint8_t> frame) {
  if (!attempt || !attempt->open) return;
  if (!attempt->via_relay) {
    attempt->peer->send(frame);
    return;
  }
  if (!attempt->route) return;
  auto sealed = attempt->route->sealer.seal(frame);
  if (!sealed) return;
  if (auto routed = encode_frame(RelayRoutedFrame{std::move(*sealed)}))
    attempt->peer->send(*routed);
}

void JoinClient::Impl::on_routed_from_parent(const RelayRoutedFrame& routed) {
  // Sealed by the host for us: our parent could neither read nor alter it. One that does not
  // open (altered, replayed) is dropped: what it carried times out at the host.
  auto opened = attempt->route->opener.open(routed.sealed);
  if (!opened) {
    log::info("join", "a routed frame from the host did not open: " +
                          make_error_code(opened.error()).message());
    return;
  }
  auto inner = decode_frame(*opened);
  if (!inner || !(std::holds_alternative<RelayIntroFrame>(*inner) ||
                  std::holds_alternative<RelayCandidateFrame>(*inner) ||
                  std::holds_alternative<RelayRouteFrame>(*inner))) {
    log::info("join", "the host routed a frame we do not take: dropped");
    return;
  }
  on_host_relay_frame(*inner);
}

void JoinClient::Impl::on_routed_from_child(uint64_t token, const RelayRoutedFrame& routed) {
  send_to_host(RelayRouteFrame{token, routed.sealed});
}

void JoinClient::Impl::relay_status() {
  size_t served = 0;
  for (const auto& [_, c] : children) served += c->welcomed ? 1 : 0;
  status("connected (relaying for " + std::to_string(served) + ")");
}

void JoinClient::Impl::on_host_relay_frame(const Frame& frame) {
  if (const auto* intro = std::get_if<RelayIntroFrame>(&frame)) {
    on_relay_intro(*intro);
  } else if (const auto* candidate = std::get_if<RelayCandidateFrame>(&frame)) {
    auto it = children.find(candidate->child);
    if (it == children.end()) return;  // a child already gone: its candidates are moot
    Child& c = *it->second;
    if (++c.candidates > kMaxChildCandidates) return;
    (void)c.peer->add_remote_candidate(
        IceCandidate{candidate->mid, candidate->mline_index, candidate->candidate});
  } else if (const auto* route = std::get_if<RelayRouteFrame>(&frame)) {
    // For a child of ours that relays too: passed on, still sealed. A child whose buffer is
    // full misses it (the host's timeout covers it).
    auto it = children.find(route->child);
    if (it == children.end() || !it->second->welcomed) return;
    if (auto routed = encode_frame(RelayRoutedFrame{route->sealed})) {
      (void)it->second->peer->send(*routed);
    }
  }
}

void JoinClient::Impl::on_relay_intro(const RelayIntroFrame& intro) {
  const uint64_t capacity = std::min(options.relay_capacity, kMaxRelayChildren);
  if (ended) {
    send_to_host(RelayRefuseFrame{intro.child, RelayRefuseReason::kLeaving});
    return;
  }
  if (children.count(intro.child) != 0) {
    send_to_host(RelayRefuseFrame{intro.child, RelayRefuseReason::kRefused});
    return;
  }
  if (children.size() >= capacity) {
    send_to_host(RelayRefuseFrame{intro.child, RelayRefuseReason::kFull});
    return;
  }
  auto c = std::make_unique<Child>();
  c->token = intro.child;
  c->serial = ++child_serials;
  const uint64_t token = c->token;
  const uint64_t serial = c->serial;
  std::weak_ptr<Impl> weak = weak_from_this();
  auto post = [weak, token, serial](auto task) {
    auto self = weak.lock();
    if (!self) return;
    self->loop.post([weak, token, serial, task = std::move(task)]() mutable {
      auto alive = weak.lock();
      if (alive && alive->child(token, serial) != nullptr) task();
    });
  };
  LinkCallbacks cb;
  cb.on_local_description = [this, post, token, serial](const std::string& sdp) {
    post([this, token, serial, sdp] { on_child_description(token, serial, sdp); });
  };
  cb.on_local_candidate = [this, post, token, serial](const IceCandidate& candidate) {
    post([this, token, serial, candidate] { on_child_candidate(token, serial, candidate); });
  };
  cb.on_state = [this, post, token, serial](const LinkEvent& e) {
    post([this, token, serial, e] { on_child_state(token, serial, e); });
  };
  cb.on_message = [this, post, token, serial](std::span<const uint8_t> m) {
    post([this, token, serial, bytes = std::vector<uint8_t>(m.begin(), m.end())]() mutable {
      on_child_message(token, serial, std::move(bytes));
    });
  };
  // Our own link's configuration: the same ICE servers and DTLS identity.
  auto peer = PeerLink::create(NegotiationRole::kAnswerer, link_config(*attempt), std::move(cb));
  if (!peer) {
    send_to_host(RelayRefuseFrame{token, RelayRefuseReason::kRefused});
    return;
  }
  c->peer = std::move(*peer);
  if (!c->peer->set_remote_description(intro.sdp) || !c->peer->create_answer()) {
    send_to_host(RelayRefuseFrame{token, RelayRefuseReason::kBadOffer});
    return;
  }
  // The child must open and say relay_hello within the open timeout.
  c->timer = loop.post_after(options.open_timeout, [this, token, serial] {
    Child* ch = child(token, serial);
    if (ch == nullptr || ch->welcomed) return;
    drop_child(token, StatusCode::kProtocolError,
               ch->open ? "no relay_hello in time" : "the child's link did not open in time");
  });
  children.emplace(token, std::move(c));
}

void JoinClient::Impl::on_child_description(uint64_t token, uint64_t, const std::string& sdp) {
  auto accept = encode_frame(RelayAcceptFrame{token, sdp});
  if (!accept) {
    // An answer too large for one frame: the host cannot have it.
    children.erase(token);
    send_to_host(RelayRefuseFrame{token, RelayRefuseReason::kRefused});
    return;
  }
  send_to_host(*accept);
}

void JoinClient::Impl::on_child_candidate(uint64_t token, uint64_t, const IceCandidate& candidate) {
  // One that the frame cannot carry (an odd mid) is skipped: others will do.
  send_to_host(
      RelayCandidateFrame{token, candidate.mline_index, candidate.sdp_mid, candidate.candidate});
}

void JoinClient::Impl::on_child_state(uint64_t token, uint64_t serial, const LinkEvent& event) {
  Child* c = child(token, serial);
  if (c == nullptr) return;
  if (event.state == LinkState::kOpen) {
    c->open = true;
  } else if (event.state == LinkState::kClosed || event.state == LinkState::kFailed) {
    drop_child(token, std::nullopt, event.reason);
  }
}

void JoinClient::Impl::on_child_message(uint64_t token, uint64_t serial,
                                        std::vector<uint8_t> bytes) {
  Child* c = child(token, serial);
  if (c == nullptr || !c->open) return;
  // A child speaks to its relay as a client to a host.
  auto frame = decode_client_frame(bytes);
  if (!frame) {
    drop_child(token, StatusCode::kProtocolError, frame.error().message());
    return;
  }
  if (!c->welcomed) {
    const auto* hello = std::get_if<RelayHelloFrame>(&*frame);
    if (hello == nullptr) {
      drop_child(token, StatusCode::kProtocolError, "the first frame must be a relay_hello");
      return;
    }
    std::optional<RelayFanout::Serving> serving;
    if (relaying()) serving = fanout->serve(*hello);
    if (!serving) {
      drop_child(token, StatusCode::kResumeUnavailable,
                 "this relay cannot serve that position: resume through the host");
      return;
    }
    loop.cancel(c->timer);
    auto welcome = encode_frame(serving->welcome);
    if (!welcome || !accepted(c->peer->send(*welcome))) {
      drop_child(token, StatusCode::kSlowConsumer, "cannot send the welcome");
      return;
    }
    if (serving->anchor && !accepted(c->peer->send(*serving->anchor))) {
      drop_child(token, StatusCode::kSlowConsumer, "cannot send the anchor");
      return;
    }
    for (const auto& f : serving->frames) {
      if (!send_relay_frame(*c, f)) return;
    }
    c->welcomed = true;
    relay_status();
    return;
  }
  if (const auto* ping = std::get_if<PingFrame>(&*frame)) {
    if (auto pong = encode_frame(PongFrame{ping->nonce})) c->peer->send(*pong);
  } else if (const auto* routed = std::get_if<RelayRoutedFrame>(&*frame)) {
    on_routed_from_child(token, *routed);
  } else if (std::holds_alternative<ByeFrame>(*frame)) {
    drop_child(token, std::nullopt, "the child left");
  } else if (std::holds_alternative<RelayHelloFrame>(*frame) ||
             std::holds_alternative<HelloFrame>(*frame) ||
             std::holds_alternative<PromptFrame>(*frame) ||
             std::holds_alternative<CancelFrame>(*frame)) {
    // A relay takes no prompts (a viewer's link) and one relay_hello per link.
    drop_child(token, StatusCode::kProtocolError, "unexpected frame from a child");
  }
  // Acks, pongs and error reports need no answer.
}

bool JoinClient::Impl::send_relay_frame(Child& c, std::span<const uint8_t> frame) {
  SendResult result;
  if (options.tamper_for_test != 0 && !frame.empty() && frame[0] != kRelayCheckpointType) {
    // TEST-ONLY fault injection (JoinOptions::tamper_for_test): alter the payload of every
    // record from that index on, as a malicious relay would.
    auto decoded = decode_relay_frame(frame);
    std::vector<uint8_t> altered(frame.begin(), frame.end());
    if (decoded && decoded->index >= options.tamper_for_test && !decoded->payload.empty()) {
      altered.back() ^= 0x01;
    }
    result = c.peer->send(altered);
  } else {
    result = c.peer->send(frame);
  }
  if (accepted(result)) return true;
  // Its buffer is full (or its link is going): drop it rather than queue without bound.
  drop_child(
      c.token,
      result == SendResult::kRefusedFull ? std::optional(StatusCode::kSlowConsumer) : std::nullopt,
      "too slow for the stream");
  return false;
}

void JoinClient::Impl::forward_to_children(std::span<const uint8_t> frame) {
  auto added = fanout->add(frame);
  if (!added) {
    // Our stream no longer continues the ring (cannot happen with a host that keeps its
    // order): start a new ring; the children go back through the host.
    log::warn("join", "relay ring reset: " + added.error().message());
    const SessionId id = fanout->session_id();
    fanout.emplace(id, link.host_key);
    if (auto verified = session.relay_verified()) fanout->set_base(*verified);
    std::vector<uint64_t> tokens;
    for (const auto& [token, _] : children) tokens.push_back(token);
    for (uint64_t token : tokens) {
      drop_child(token, StatusCode::kResumeUnavailable, "the relay's stream restarted");
    }
    return;
  }
  if (*added != RelayForwarder::Added::kForward) return;
  std::vector<uint64_t> tokens;
  for (const auto& [token, c] : children) {
    if (c->welcomed) tokens.push_back(token);
  }
  for (uint64_t token : tokens) {
    auto it = children.find(token);
    if (it != children.end()) (void)send_relay_frame(*it->second, frame);
  }
}

void JoinClient::Impl::drop_child(uint64_t token, std::optional<StatusCode> bye,
                                  const std::string& why, bool tell_host) {
  auto it = children.find(token);
  if (it == children.end()) return;
  std::unique_ptr<Child> c = std::move(it->second);
  children.erase(it);
  loop.cancel(c->timer);
  log::info("join", "relay child " + std::to_string(token) + " gone: " + why);
  if (c->peer) {
    if (bye && c->open) {
      if (auto frame = encode_frame(ByeFrame{*bye, why})) c->peer->send(*frame);
    }
    // Closing lets the bye go out; the link is kept (bounded) until it has had time to.
    c->peer->close(why);
    if (closing.size() >= kMaxClosingLinks) closing.erase(closing.begin());
    closing.push_back(std::move(c->peer));
    PeerLink* raw = closing.back().get();
    loop.post_after(std::chrono::milliseconds(3500), [this, raw] {
      std::erase_if(closing, [raw](const auto& p) { return p.get() == raw; });
    });
  }
  if (!tell_host) return;
  send_to_host(RelayChildGoneFrame{token});
  if (c->welcomed && attempt && attempt->open) relay_status();
}

void JoinClient::Impl::drop_all_children(const std::string& why) {
  std::vector<uint64_t> tokens;
  for (const auto& [token, _] : children) tokens.push_back(token);
  // The host link is gone (or going): nobody to tell; the children come back through the host.
  for (uint64_t token : tokens) {
    drop_child(token, StatusCode::kResumeUnavailable, why, /*tell_host=*/false);
  }
}

}  // namespace tokencast

namespace tokencast {
namespace {

// Display names go into the signed offer and to every peer: printable, bounded.
std::string clean_display_name(std::string_view name) {
  std::string out;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) continue;
    out.push_back(c);
  }
  out.resize(utf8_prefix(out, kMaxDisplayNameBytes).size());
  return out.empty() ? "guest" : out;
}

}  // namespace

Expected<std::unique_ptr<JoinClient>, std::pair<JoinFailure, std::string>> JoinClient::start(
    JoinOptions options, JoinCallbacks callbacks) {
  auto link = parse_invite_link(options.link);
  if (!link) {
    return unexpected(
        std::make_pair(JoinFailure::kBadLink, make_error_code(link.error()).message()));
  }
  std::vector<std::string> urls;
  for (const std::string& base : invite_rendezvous_bases(*link)) {
    auto ws = rendezvous_websocket_url(base);
    if (!ws) return unexpected(std::make_pair(JoinFailure::kBadLink, std::string("bad base URL")));
    urls.push_back(std::move(*ws));
  }
  for (const std::string& url : options.rendezvous_fallback_urls) {
    if (std::find(urls.begin(), urls.end(), url) == urls.end()) urls.push_back(url);
  }
  options.name = clean_display_name(options.name);
  if (!options.identity) {
    auto identity = DtlsIdentity::generate();
    // Without one, each link makes its own certificate: reconnects still work.
    if (identity) options.identity = std::move(*identity);
  }
  auto impl = std::make_shared<Impl>(options.name);
  // Any client may be placed below a relay: it verifies that stream under the link's host key.
  impl->session.set_host_key(link->host_key);
  options.relay_capacity = std::min(options.relay_capacity, Impl::kMaxRelayChildren);
  if (options.relay_capacity > 0) impl->session.offer_relay(options.relay_capacity, link->host_key);
  impl->options = std::move(options);
  impl->callbacks = std::move(callbacks);
  impl->link = std::move(*link);
  impl->websocket_urls = std::move(urls);
  impl->loop.start();
  impl->loop.post([impl = impl.get()] { impl->begin_attempt(); });
  return std::unique_ptr<JoinClient>(new JoinClient(std::move(impl)));
}

JoinClient::JoinClient(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

JoinClient::~JoinClient() {
  util::run_on(impl_->loop, [impl = impl_.get()] {
    if (impl->attempt && impl->attempt->open) impl->attempt->peer->send(ClientSession::bye());
    impl->ended = true;
    impl->teardown();
    return 0;
  });
  impl_->loop.stop();
}

Expected<void, std::error_code> JoinClient::prompt(std::string text) {
  return util::run_on(impl_->loop,
                      [impl = impl_.get(), &text]() -> Expected<void, std::error_code> {
                        static uint64_t next_id = 1;
                        auto frame = impl->session.prompt(text, next_id++);
                        if (!frame) return unexpected(frame.error());
                        if (!impl->attempt || !impl->attempt->open ||
                            !accepted(impl->attempt->peer->send(*frame))) {
                          return unexpected(make_error_code(ClientError::kNotWelcomed));
                        }
                        return {};
                      });
}

Expected<void, std::error_code> JoinClient::cancel() {
  return util::run_on(impl_->loop, [impl = impl_.get()]() -> Expected<void, std::error_code> {
    auto frame = impl->session.cancel();
    if (!frame) return unexpected(frame.error());
    if (!impl->attempt || !impl->attempt->open || !accepted(impl->attempt->peer->send(*frame))) {
      return unexpected(make_error_code(ClientError::kNotWelcomed));
    }
    return {};
  });
}

Transcript JoinClient::transcript() const {
  return util::run_on(impl_->loop, [impl = impl_.get()] { return impl->session.transcript(); });
}

StreamPosition JoinClient::position() const {
  return util::run_on(impl_->loop, [impl = impl_.get()] { return impl->session.position(); });
}

bool JoinClient::connected() const {
  return util::run_on(impl_->loop, [impl = impl_.get()] {
    return impl->attempt && impl->attempt->open && impl->session.welcomed();
  });
}

bool JoinClient::relay_link() const {
  return util::run_on(impl_->loop, [impl = impl_.get()] {
    return impl->session.welcomed() && impl->session.relay_link();
  });
}

std::optional<RelayPosition> JoinClient::relay_verified() const {
  return util::run_on(impl_->loop, [impl = impl_.get()] { return impl->session.relay_verified(); });
}

bool JoinClient::via_relay() const {
  return util::run_on(impl_->loop, [impl = impl_.get()] {
    return impl->attempt && impl->attempt->open && impl->attempt->via_relay &&
           impl->session.welcomed() && impl->session.parent_link();
  });
}

size_t JoinClient::relay_children() const {
  return util::run_on(impl_->loop, [impl = impl_.get()] {
    size_t served = 0;
    for (const auto& [_, c] : impl->children) served += c->welcomed ? 1 : 0;
    return served;
  });
}

void JoinClient::drop_link_for_test() {
  impl_->loop.post([impl = impl_.get()] {
    if (impl->attempt && impl->attempt->open) impl->link_lost("dropped by a test");
  });
}

}  // namespace tokencast
