// Internals of HostRuntime, shared by its .cpp files. Everything here runs on the event loop's
// thread unless a comment says otherwise: adapters' callbacks (rendezvous clients, PeerLinks,
// the LLM source, the store's writer) only post work to the loop.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tokencast/handshake.hpp"
#include "tokencast/host.hpp"
#include "tokencast/host_session.hpp"
#include "tokencast/rendezvous.hpp"
#include "tokencast/rendezvous_client.hpp"
#include "tokencast/store.hpp"
#include "util/event_loop.hpp"

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
    std::optional<bool> relayed;  // from the selected candidate pair, once the channel is open
    bool paused = false;          // over high water: wait for on_drain
    int64_t created_ms = 0;
  };

  // Held for the runtime's life, so that libwebrtc's threads are not stopped and restarted
  // whenever the last peer leaves.
  std::shared_ptr<RtcRuntime> rtc = RtcRuntime::instance();
  HostOptions options;
  HostLinks links;
  util::EventLoop loop;
  std::unique_ptr<EventStore> store;
  std::unique_ptr<GroupCommitter> committer;
  SessionRecord record;
  std::unique_ptr<HostSession> session;
  std::optional<HostHandshake> handshake;
  std::unique_ptr<rendezvous::Server> embedded;
  std::string rendezvous_url;
  std::array<Room, 2> rooms;
  std::map<uint64_t, Link> link_table;
  std::map<ConnId, uint64_t> by_conn;
  std::map<JoinId, uint64_t> by_join;
  uint64_t next_link = 1;
  bool stopping = false;
  util::EventLoop::TimerId tick_timer = 0;
  HostStats counters;  // the counters part of stats()
  // Peers with frames to send, pumped in one task after the session's current input: the
  // session must not be re-entered from inside its own HostIo calls.
  std::vector<ConnId> dirty;
  bool flush_posted = false;

  // host_runtime.cpp
  // Opens the store and creates or loads the session; a resumed session's stored events.
  Expected<std::vector<Event>, std::string> open_session();
  void tick();
  HostStats snapshot() const;

  // HostIo
  void persist(const Event& event) override;
  void frames_ready(ConnId conn) override;
  void start_generation(TurnId turn, std::vector<ChatMessage> history) override;
  void cancel_generation() override;

  // host_joins.cpp
  Expected<void, std::string> start_rendezvous();
  void connect_room(size_t index);
  void greet(size_t index, rendezvous::PeerId peer);  // sends our beacon
  void on_envelope(size_t room, rendezvous::PeerId from, std::vector<uint8_t> bytes);
  void accept_offer(size_t room, rendezvous::PeerId from, const JoinId& join_id, PeerRole role,
                    const JoinOffer& offer);
  void send_to_joiner(Link& link, Expected<std::vector<uint8_t>, HandshakeError> envelope);
  void refuse(HandshakeError error);

  // host_links.cpp
  LinkCallbacks callbacks_for(uint64_t id);
  void on_local_description(uint64_t id, const std::string& sdp);
  void on_local_candidate(uint64_t id, IceCandidate candidate);
  void on_link_state(uint64_t id, const LinkEvent& event);
  void on_link_message(uint64_t id, std::vector<uint8_t> message);
  void pump(uint64_t id);
  void drop_link(uint64_t id);
};

}  // namespace tokencast
