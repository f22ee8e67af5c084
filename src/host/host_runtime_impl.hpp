// Internals of HostRuntime, shared by its .cpp files. Everything here runs on the event loop's
// thread unless a comment says otherwise: adapters' callbacks (rendezvous clients, PeerLinks,
// the LLM source, the store's writer) only post work to the loop.
#pragma once

#include <array>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tokencast/core/envelope_inbox.hpp"
#include "tokencast/core/handshake.hpp"
#include "tokencast/core/host_session.hpp"
#include "tokencast/core/join_admission.hpp"
#include "tokencast/core/relay_tree.hpp"
#include "tokencast/host/host.hpp"
#include "tokencast/signal/rendezvous.hpp"
#include "tokencast/signal/rendezvous_client.hpp"
#include "tokencast/store/store.hpp"
#include "tokencast/util/event_loop.hpp"

namespace tokencast {

using util::EventLoop;
inline int64_t unix_now_ms() { return EventLoop::unix_now_ms(); }

struct HostRuntime::Impl : HostIo {
  // One of the two rooms (viewer, participant) the host waits in at the rendezvous.
  struct Room {
    LinkRole role = LinkRole::kViewer;
    std::unique_ptr<rendezvous::Client> client;
    uint64_t generation = 0;  // callbacks of a replaced client are ignored
    int failures = 0;         // consecutive connection failures, for the backoff
    size_t url_index = 0;     // which of rendezvous_urls this room uses
    bool joined = false;
    rendezvous::PeerId self = 0;            // the host's id in this room
    std::vector<IceServer> rendezvous_ice;  // what this room's rendezvous handed out
  };

  // One joiner: from its offer to the end of its data channel.
  struct Link {
    std::unique_ptr<PeerLink> peer;
    JoinId join_id{};
    PeerRole role = PeerRole::kViewer;
    size_t room = 0;
    rendezvous::PeerId rendezvous_peer = 0;
    bool answered = false;
    std::vector<IceCandidate> early_candidates;  // gathered before the answer was sealed
    ConnId conn = 0;                             // once the channel is open
    std::optional<HostSession::OutFrame> held;   // refused by a full buffer: sent first
    std::optional<bool> relayed;                 // from the selected candidate pair, once open
    bool paused = false;                         // over high water: wait for on_drain
    std::optional<int64_t> wake_ms;              // a pacing timer is armed for this time
    int64_t created_ms = 0;
    DtlsFingerprint joiner_fingerprint{};  // the joiner's certificate, from its signed offer
    // The relay tree: this viewer's node (0: not in the tree, e.g. a participant), whether its
    // first frame (the hello) was seen, and frames of the host <-> relay protocol refused by a
    // full send buffer (sent before the session's next frame; bounded).
    RelayNodeId tree_node = 0;
    bool hello_seen = false;
    bool relays = false;  // its hello offered a relay capacity: it takes introductions
    std::deque<FrameBytes> relay_control;
  };

  // A viewer the host placed below a relay: from its offer to the end of its link to the relay
  // (the relay says relay_child_gone), by its node id (the token the relay knows it by).
  struct Brokered {
    JoinId join_id{};
    size_t room = 0;
    rendezvous::PeerId rendezvous_peer = 0;
    RelayNodeId relay = 0;
    std::string offer_sdp;  // served directly with it if the relay refuses or does not answer
    DtlsFingerprint fingerprint{};
    bool answered = false;
    std::vector<IceCandidate> early_candidates;  // the relay's, before its answer (bounded)
    size_t joiner_candidates = 0;                // handed to the relay (bounded)
  };
  // A tree node: its direct link (0 for a viewer served by a relay) and its certificate. A
  // viewer served by a relay has a route once its relay answered: the host speaks to it
  // through its parents, sealed (relay_route.hpp), if it offers to relay too.
  struct TreeMember {
    uint64_t link = 0;
    DtlsFingerprint fingerprint{};
    std::optional<RouteChannel> route;
    bool routed_relay = false;  // it offered to relay, through its route (relay_offer)
  };

  // Held for the runtime's life, so that libwebrtc's threads are not stopped and restarted
  // whenever the last peer leaves.
  std::shared_ptr<RtcRuntime> rtc = RtcRuntime::instance();
  HostOptions options;
  HostLinks links;
  util::EventLoop loop;
  std::unique_ptr<EventStore> store;
  // A second connection to the same file, for check_life(): in WAL mode its reads never wait
  // for the group committer, which holds `store` through each commit's fsync.
  std::unique_ptr<EventStore> life_reader;
  std::unique_ptr<GroupCommitter> committer;
  SessionRecord record;
  std::unique_ptr<HostSession> session;
  std::optional<HostHandshake> handshake;
  // Our own STUN/TURN servers (options.ice_servers), one URL per entry: every beacon hands
  // them to the joiner, sealed and signed (an ICE beacon), with minted_turn(). Both empty:
  // plain beacons.
  std::vector<IceServerEntry> beacon_ice;
  std::unique_ptr<rendezvous::Server> embedded;
  std::vector<std::string> rendezvous_urls;  // the first, then the fallbacks
  // The links' alternate rendezvous (docs/PROTOCOL.md section 1): the fallbacks' http(s) bases.
  std::vector<std::string> link_alternates;
  std::array<Room, 2> rooms;
  std::map<uint64_t, Link> link_table;
  std::map<ConnId, uint64_t> by_conn;
  std::map<JoinId, uint64_t> by_join;
  JoinAdmission admission;  // which authentic offers get a PeerConnection
  // The relay tree (host_relays.cpp). Nodes by id and by certificate (a client keeps its
  // certificate across reconnects, so the host knows a viewer that comes back from a relay).
  std::optional<RelayTree> tree;
  std::map<RelayNodeId, TreeMember> tree_members;
  std::map<DtlsFingerprint, RelayNodeId> tree_by_fingerprint;
  RelayNodeId next_tree_node = 1;
  std::map<RelayNodeId, Brokered> brokered;
  std::map<JoinId, RelayNodeId> brokered_by_join;
  // Viewers served directly from now on: they came back while the relay they had been placed
  // below was still in the tree (it stalled or tampered, or the viewer lies about it: the host
  // cannot tell, so it blames neither and bypasses the relay for that viewer). Bounded.
  static constexpr size_t kMaxBypassed = 4096;
  std::set<DtlsFingerprint> bypassed;
  std::deque<DtlsFingerprint> bypassed_order;
  // The relay each viewer was last introduced to, by certificate: the relay's relay_child_gone
  // may reach the host before the viewer's new offer, so its tree node is gone by then.
  // Bounded like `bypassed` (oldest forgotten first).
  std::map<DtlsFingerprint, RelayNodeId> introduced_to;
  std::deque<DtlsFingerprint> introduced_order;
  // Clients the host removed (/kick), by DTLS certificate: their offers are refused. Stored
  // with the session (EventStore::add_removed_client) and loaded on --resume. Bounded like the
  // store: beyond kMaxRemovedClients the oldest is forgotten.
  static constexpr size_t kMaxRemovedClients = EventStore::kMaxRemovedClients;
  std::set<DtlsFingerprint> removed_clients;
  std::deque<DtlsFingerprint> removed_order;
  // Join envelopes from the rendezvous clients' threads, bounded and served round-robin by
  // sender (a link holder's flood neither grows memory nor delays others' offers).
  mutable std::mutex inbox_mutex;
  EnvelopeInbox inbox;        // guarded by inbox_mutex
  bool drain_posted = false;  // guarded by inbox_mutex
  uint64_t next_link = 1;
  bool stopping = false;
  util::EventLoop::TimerId tick_timer = 0;
  HostStats counters;  // the counters part of stats()
  SessionLife life;    // expiry and end, as stored
  Seq emitted = 0;     // the last event handed to options.on_event
  uint64_t ticks = 0;
  // Peers with frames to send, pumped in one task after the session's current input: the
  // session must not be re-entered from inside its own HostIo calls.
  std::vector<ConnId> dirty;
  bool flush_posted = false;
  // Pacing wake-ups (wake_at), by time: the links each armed timer pumps. One timer per distinct
  // time; a link is listed again only when it asks for an earlier time; entries go when their
  // timer fires (bounded by the links times their pending wake-ups).
  std::map<int64_t, std::vector<uint64_t>> pace_wakes;
  // With options.batch_interval_ms: the model's pieces, held on the generation thread's side
  // until the interval after the first has passed, then handed to the session in one loop task
  // (one wake-up of the loop and one commit per batch, not per token). Bounded: past
  // kMaxIntakeBytes or kMaxIntakePieces the batch is handed over at once.
  struct Piece {
    TurnId turn = 0;
    bool thinking = false;
    std::string bytes;
  };
  static constexpr size_t kMaxIntakeBytes = size_t{64} * 1024;
  static constexpr size_t kMaxIntakePieces = 4096;
  std::mutex intake_mutex;
  std::vector<Piece> intake;   // guarded by intake_mutex
  size_t intake_bytes = 0;     // guarded by intake_mutex
  bool intake_armed = false;   // guarded by intake_mutex: a drain is on its way
  bool intake_urgent = false;  // guarded by intake_mutex: one is posted without waiting

  // host_runtime.cpp
  // Opens the store and creates or loads the session; a resumed session's stored events.
  Expected<std::vector<Event>, std::string> open_session();
  void tick();
  HostStats snapshot() const;
  // Removes the peer shown as `name` and refuses its client's rejoins; a line for the console.
  std::string kick(const std::string& name);
  void remember_removed(const DtlsFingerprint& fingerprint);
  // Stores the end (unless another process did: `stored`), tells every peer `peer_text`.
  void end_for_good(const std::string& reason, const std::string& peer_text, bool stored = false);
  // Expiry, and an end stored by `tokencast end` while this host runs.
  void check_life(int64_t now);
  // Hands the newly durable events to options.on_event.
  void emit_durable();

  // HostIo
  void persist(const Event& event) override;
  void frames_ready(ConnId conn) override;
  void wake_at(ConnId conn, int64_t at_ms) override;
  void start_generation(TurnId turn, std::vector<ChatMessage> history) override;
  void cancel_generation() override;
  // Any thread: holds a piece of the model's answer for the current batch.
  void take_piece(TurnId turn, bool thinking, std::string bytes);
  // Hands every held piece to the session, in order (the caller then has the store commit).
  void drain_intake();

  // host_joins.cpp
  Expected<void, std::string> start_rendezvous();
  void connect_room(size_t index);
  void greet(size_t index, rendezvous::PeerId peer);  // sends our beacon
  // Fresh time-limited credentials for options.turn_grant's TURN URLs (none without them).
  std::vector<IceServerEntry> minted_turn() const;
  // Any thread: queues an envelope (or drops it, counted) and makes sure a drain is posted.
  void enqueue_envelope(size_t room, rendezvous::PeerId from, std::span<const uint8_t> payload);
  void drain_inbox();  // a bounded batch per loop task, so other work interleaves
  void on_envelope(size_t room, rendezvous::PeerId from, std::vector<uint8_t> bytes);
  void accept_offer(size_t room, rendezvous::PeerId from, const JoinId& join_id, PeerRole role,
                    const JoinOffer& offer);
  // Admits the offer and answers it with a PeerLink of the host's own (tree_node: its node).
  void accept_directly(size_t room, rendezvous::PeerId from, const JoinId& join_id, PeerRole role,
                       const std::string& sdp, const DtlsFingerprint& fingerprint,
                       RelayNodeId tree_node);
  void send_to_joiner(Link& link, Expected<std::vector<uint8_t>, HandshakeError> envelope);
  // Any joiner, by its rendezvous room and peer (a brokered join has no Link).
  void send_envelope(size_t room, rendezvous::PeerId to,
                     Expected<std::vector<uint8_t>, HandshakeError> envelope);
  void refuse(HandshakeError error);

  // host_relays.cpp
  // Where a viewer's offer goes: a tree node served directly (0: outside the tree) or a relay
  // (brokered: true, node = the viewer's own node).
  struct Placement {
    RelayNodeId node = 0;
    bool brokered = false;
  };
  Placement place_viewer(const DtlsFingerprint& fingerprint);
  void forget_tree_node(RelayNodeId node);
  void start_brokered(size_t room, rendezvous::PeerId from, const JoinId& join_id,
                      const JoinOffer& offer, RelayNodeId node);
  // The joiner's trickled candidate for a brokered join (false: not one).
  bool brokered_candidate(const JoinId& join_id, const IceCandidate& candidate);
  // A direct link's first frame (a hello may offer a relay capacity) and, on a relay's link,
  // the host <-> relay frames (true: handled here, not by the session).
  bool relay_link_frame(uint64_t id, Link& link, std::span<const uint8_t> message);
  void relay_link_closed(uint64_t id, Link& link);
  void send_relay_control(uint64_t link_id, const Frame& frame);
  // Sends a host -> relay frame to a relay: over its own link, or sealed through its parents.
  // False when it cannot be reached (not in the tree, no route, a frame too large to nest).
  bool send_to_relay(RelayNodeId relay, const Frame& frame);
  // A host <-> relay frame from `relay` (over its link, or opened from its route; `hops`
  // counts the routes it came through, bounded by the tree's depth).
  void on_relay_frame(RelayNodeId relay, const Frame& frame, size_t hops);

  // A brokered join the relay did not take: the host serves it itself.
  void serve_directly(RelayNodeId node);

  // host_links.cpp
  LinkCallbacks callbacks_for(uint64_t id);
  void on_local_description(uint64_t id, const std::string& sdp);
  void on_local_candidate(uint64_t id, IceCandidate candidate);
  void on_link_state(uint64_t id, const LinkEvent& event);
  void on_link_message(uint64_t id, std::vector<uint8_t> message);
  void pump(uint64_t id);
  void drop_link(uint64_t id);
};

// host_joins.cpp: our ICE servers as the entries of an ICE beacon, one URL each; an error
// message (naming a URL, never a credential) when they cannot travel in one.
Expected<std::vector<IceServerEntry>, std::string> beacon_ice_entries(
    const std::vector<IceServer>& servers, const rendezvous::IceGrant& grant);

}  // namespace tokencast
