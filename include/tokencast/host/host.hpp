// A running host session: the store, the session state machine, the rendezvous (embedded on a
// LAN, or remote), the join handshake, one PeerLink per peer and the LLM source, wired together
// on one event-loop thread. `tokencast host` is a thin command line around this; tests and
// benchmarks run it in-process.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tokencast/core/expected.hpp"
#include "tokencast/core/host_session.hpp"
#include "tokencast/llm/llm.hpp"
#include "tokencast/rtc/peer_link.hpp"
#include "tokencast/turn_credentials.hpp"

namespace tokencast {

struct HostOptions {
  std::string db_path = "./tokencast.db";
  std::string resume;  // a stored session's id or unique prefix; empty: a new session
  std::string title;   // a new session's title

  // Rendezvous: a remote one (ws://HOST:PORT/ws or wss://...), or, when empty, one embedded in
  // this process on listen_host:listen_port that also serves the web client (LAN mode).
  std::string rendezvous_url;
  // Other instances of the same rendezvous cluster (`rendezvous --nats`): when the connection to
  // one is lost, each room registers on the next, in turn. The links keep naming the first (or
  // public_url: in a cluster, the name in front of every instance).
  std::vector<std::string> rendezvous_fallback_urls;
  // wss://: a PEM file of CA certificates to trust instead of the system's store.
  std::string rendezvous_ca_file;
  std::string listen_host = "0.0.0.0";
  uint16_t listen_port = 8787;  // 0: any free port
  std::string web_root;         // the web client's files; empty: the built-in page
  // Base URL of the links (http[s]://host[:port]). Empty: the embedded rendezvous at this
  // machine's LAN address, or, with a remote rendezvous, its http(s) form.
  std::string public_url;

  // Our own STUN/TURN servers; those the rendezvous hands out are added to them. Joiners get
  // them too, in the host's ICE beacons (sealed and signed: docs/PROTOCOL.md section 2).
  std::vector<IceServer> ice_servers;
  // TURN servers with coturn's shared secret (use-auth-secret; only turn_urls, turn_secret and
  // turn_ttl_seconds are read): every peer connection of ours and every beacon gets a fresh
  // credential that expires after the TTL, so a joiner never holds a lasting one.
  rendezvous::IceGrant turn_grant;
  bool relay_only = false;      // relayed candidates only (needs a TURN server)
  std::string turn_tls_ca_pem;  // LinkConfig::turn_tls_ca_pem (--turn-ca)
  // Where answers come from; null: no model (prompts get a clear error turn, host text is
  // broadcast).
  std::unique_ptr<LlmSource> source;
  // The source is one live stream (e.g. --stdin): its one turn starts at once.
  bool stream_source = false;
  std::string host_name = "host";
  size_t max_peers = 1000;
  // The relay tree (docs/ARCHITECTURE.md "Relay tree"): the host serves this many viewers
  // itself; past them it places new viewers below direct viewers that offered to relay
  // (`join --relay N`), up to relay_children each, and introduces them (docs/PROTOCOL.md
  // section 6). With no relay slot free, viewers are served directly up to max_peers.
  // Participants are always served directly.
  size_t direct_peers = 100;
  size_t relay_children = 4;
  // The tree's depth: viewers at most this many hops from the host. A viewer below a relay
  // relays too when it offers to (through its parents: docs/PROTOCOL.md section 6, "Relays
  // below relays"); 1 turns relaying off.
  size_t relay_depth = 3;
  size_t max_pending_bytes_per_peer = size_t{1} << 20;
  // Live frames go to each peer at most once per this many ms (0: no pacing); see
  // docs/PROTOCOL.md §4.8.
  int64_t pace_interval_ms = 16;
  // Commit batching (0: none, the default): the store holds each batch of events up to this
  // many ms after its first, so that what the model generates within the interval is stored in
  // one transaction, made visible at once and sent to each peer as one merged frame (when it
  // is >= pace_interval_ms). Costs up to this much latency; loses nothing a peer saw, since
  // peers are only ever sent what is durable.
  int64_t batch_interval_ms = 0;
  // The session's life: it ends for good this long after the host starts (0: keeps the
  // stored expiry, none for a new session); a resumed session gets fresh links (new room
  // secrets, and the current LAN address) with new_links.
  int64_t expires_in_ms = 0;
  bool new_links = false;
  bool approve_prompts = false;  // participants' prompts wait for approve_prompt()
  // Every event of this run once durable (what peers are shown), in order, on the runtime's
  // thread: it must not block (the host's console renders it for its own terminal).
  std::function<void(const Event& event)> on_event;
};

struct HostLinks {
  std::string session_id;  // 32 hex digits
  std::string viewer;
  std::string participant;
  bool resumed = false;
};

struct HostStats {
  size_t peers = 0;
  // Open links by the candidate pair they use: straight to the peer, or through a TURN relay.
  size_t peers_direct = 0;
  size_t peers_relayed = 0;
  std::optional<uint64_t> turn;
  bool generating = false;
  uint64_t turn_tokens = 0;
  uint64_t head = 0;
  uint64_t durable = 0;
  size_t queued_prompts = 0;
  size_t held_prompts = 0;  // --approve: waiting for the host
  size_t rooms_joined = 0;  // of the two rendezvous rooms (viewer, participant)
  uint64_t joins_answered = 0;
  uint64_t links_opened = 0;
  // Join envelopes refused, by reason (handshake_error_name): open_failed, replayed, ...
  std::map<std::string, uint64_t> refused;
  // Data-channel messages: frames handed to peers' channels (and their payload bytes), frames
  // received from peers (acks, pings, prompts...). For benchmarks and metrics.
  uint64_t frames_sent = 0;
  uint64_t frame_bytes_sent = 0;
  uint64_t frames_received = 0;
  // The peer with the most bytes in flight now (on a slow link, the slowest peer): those bytes
  // and its flow-control window (docs/PROTOCOL.md 4.8). For benchmarks.
  size_t most_in_flight_bytes = 0;
  size_t most_in_flight_window = 0;
  // Offers dropped unopened because their sender already had a join pending, joins turned
  // away as room_full, and pending joins evicted or timed out (docs/SECURITY.md).
  uint64_t offers_dropped_busy = 0;
  uint64_t joins_refused_full = 0;
  uint64_t joins_evicted = 0;
  uint64_t joins_timed_out = 0;
  uint64_t joins_refused_removed = 0;  // offers from clients the host removed (/kick)
  uint64_t envelopes_dropped = 0;      // join envelopes over the inbox's bounds (per sender, total)
  // The session ended for good (expired, /end, or `tokencast end` from another process): the
  // peers were told; the host should stop.
  bool ended = false;
  std::string end_reason;
  // The relay tree: viewers that relay for others (direct, or below a relay), viewers served by a relay
  // now, introductions made, and viewers served directly after coming back from a relay that
  // is still in the tree (a relay caught tampering or stalled is bypassed this way).
  size_t relays = 0;
  size_t relayed_viewers = 0;
  uint64_t relay_introductions = 0;
  uint64_t relay_bypasses = 0;
  uint64_t store_commits = 0;
  double store_max_commit_ms = 0;
};

// `stats` in the Prometheus text exposition format (version 0.0.4), every sample labelled with
// the session id. Holds no secret and no name a peer chose.
std::string render_host_metrics(const HostStats& stats, const std::string& session_id);

class HostRuntime {
 public:
  // Opens the store, creates or resumes the session, starts the rendezvous and joins its two
  // rooms. The error is one line for people.
  static Expected<std::unique_ptr<HostRuntime>, std::string> start(HostOptions options);
  ~HostRuntime();  // stop()s
  HostRuntime(const HostRuntime&) = delete;
  HostRuntime& operator=(const HostRuntime&) = delete;

  const HostLinks& links() const;

  // Thread-safe; they post to the session's thread (stats() waits for it).
  void prompt(std::string text);
  void cancel();
  HostStats stats() const;
  // Removes the peer shown as `name` (exactly): it is told (bye "removed") and its client's
  // rejoins are refused for the rest of this run. Returns a line saying what happened.
  std::string kick(const std::string& name);
  // Ends the session for good: stored as ended (its links and --resume are refused from now
  // on) and every peer is told. The host should stop() next.
  void end_session();
  // --approve: "ID  author: text" of each prompt waiting for the host, oldest first.
  std::vector<std::string> held_prompts() const;
  // Lets a held prompt through, or declines it (its author is told); a line saying what
  // happened.
  std::string approve_prompt(uint64_t id);
  std::string decline_prompt(uint64_t id);
  // "name (role)" of every peer present, in the order they arrived.
  std::vector<std::string> peer_names() const;
  // The same as data (the presenter view's people list): names as every peer sees them.
  std::vector<HostSession::PresentPeer> present_peers() const;
  // --approve: the prompts waiting, oldest first, their text as the participant wrote it.
  std::vector<HostSession::HeldPrompt> waiting_prompts() const;
  // Whether participants' prompts wait for the host (--approve).
  bool approves_prompts() const;

  // Says bye to every peer, waits briefly for the frames to leave, commits what is pending
  // and closes the store. Idempotent.
  void stop();

  struct Impl;

 private:
  explicit HostRuntime(std::unique_ptr<Impl> impl);
  std::string decide_prompt(uint64_t id, bool approve);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tokencast
