// The host's session logic, sans I/O: peers and their frames, the prompt queue, turns, and what
// each peer is owed. The runtime (src/host) feeds it inputs on one thread with the time, and
// carries out what it asks through HostIo; tests drive it directly.
//
// Durability: every event goes to HostIo::persist() first and becomes visible to peers only
// when durable() reports it stored. Peers' queues read the "visible" log, which holds exactly
// the durable prefix, so a peer never holds an event a crash could take back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "tokencast/core/events.hpp"
#include "tokencast/core/flow_control.hpp"
#include "tokencast/core/frame.hpp"
#include "tokencast/core/outbound_queue.hpp"
#include "tokencast/core/relay_stream.hpp"
#include "tokencast/core/session_log.hpp"
#include "tokencast/core/signed_transcript.hpp"
#include "tokencast/core/signing.hpp"
#include "tokencast/core/transcript.hpp"
#include "tokencast/llm/openai_stream.hpp"

namespace tokencast {

using ConnId = uint64_t;

// What the session asks of its runtime. Called on the session's thread, from inside its
// methods; implementations must not call back into the session synchronously.
class HostIo {
 public:
  virtual ~HostIo() = default;
  // Store this event durably (group commit); report with HostSession::durable().
  virtual void persist(const Event& event) = 0;
  // This peer has frames to send: call next_frame() until it returns nothing.
  virtual void frames_ready(ConnId conn) = 0;
  // Pacing holds this peer's next frame until at_ms: call next_frame() again then.
  virtual void wake_at(ConnId conn, int64_t at_ms) = 0;
  // Start generating the answer of `turn` from this conversation; report with llm_delta(),
  // llm_done() or llm_error() carrying the same turn.
  virtual void start_generation(TurnId turn, std::vector<ChatMessage> history) = 0;
  // Stop the generation in progress at once; later reports for its turn are ignored.
  virtual void cancel_generation() = 0;
};

struct HostSessionConfig {
  SessionId session_id{};
  std::string model_name = "model";  // author of answer turns
  std::string host_name = "host";    // author of the host's own prompts
  bool llm_attached = true;          // false: prompts get a "no model attached" error turn
  size_t max_peers = 1000;
  size_t max_prompt_bytes = 8192;
  size_t max_pending_prompts_per_peer = 4;
  // Each participant's prompts go through a token bucket: `prompt_burst` at once, then one
  // per `prompt_refill_ms`. With no model attached nothing waits, so this (and the cap below)
  // is what bounds the log a participant can grow. Refused prompts get a busy error frame.
  size_t prompt_burst = 5;
  int64_t prompt_refill_ms = 5'000;
  // Participants' prompts this host run accepts in all; the host's own are not counted.
  size_t max_session_prompts = 1000;
  // --approve: participants' prompts wait until the host approves them (at most
  // max_held_prompts wait in all; each participant's also count against its pending limit).
  bool approve_prompts = false;
  size_t max_held_prompts = 256;
  size_t max_history_bytes = 256 * 1024;  // most recent conversation sent to the LLM
  size_t max_name_bytes = 64;
  int64_t hello_timeout_ms = 10'000;
  // Clients ping every 2 s; a peer silent this long is gone (killed, unplugged) and is closed.
  int64_t silence_timeout_ms = 15'000;
  OutboundQueueOptions queue;
  FlowOptions flow;  // window (version 2 peers) and pacing (every peer)
  // The session key every invite link carries. When set, the session signs the transcript
  // (docs/PROTOCOL.md section 5) each time a turn_ended becomes visible and sends the signature
  // to every version 4 peer (and the latest one to each version 4 peer it welcomes).
  std::optional<SigningKey> signing_key;
  // The relay stream (docs/PROTOCOL.md section 6), written when signing_key is set: one record
  // per visible event (record index = the event's sequence; payload = the frame a level peer
  // gets for it). Viewers whose version 5 hello offers a relay capacity are streamed it
  // instead of the plain stream. The host keeps the newest frames in a ring; a peer behind
  // the ring gets records rebuilt from the log with checkpoints of its own (signatures are
  // deterministic, so the chain is the same).
  RelayWriterOptions relay;
  size_t relay_ring_frames = 4096;
  size_t relay_ring_bytes = size_t{4} << 20;
};

// The error a participant gets when it tries to stop an answer to someone else's prompt.
inline constexpr const char* kOnlyAskerMayCancel =
    "only the asker or the host can stop this answer";

// What a participant is told when its prompt waits for the host's approval (--approve).
inline constexpr const char* kPromptAwaitsApproval = "your prompt waits for the host's approval";

// The text of the error turn a participant's prompt gets when no model is attached.
inline constexpr const char* kNoModelReason =
    "no model attached: restart the host with --llm URL --model NAME, or --exec CMD";

class HostSession {
 public:
  struct OutFrame {
    FrameBytes bytes;
    bool last = false;  // a bye: send it, then close the link
  };

  struct Status {
    size_t peers = 0;            // peers that said hello
    std::optional<TurnId> turn;  // the open turn
    bool generating = false;     // an LLM (or external source) is producing the open turn
    uint64_t turn_tokens = 0;    // deltas of the open turn so far
    size_t queued_prompts = 0;
    size_t held_prompts = 0;  // --approve: waiting for the host
    Seq head = 0;             // last appended
    Seq durable = 0;          // last durable (visible to peers)
  };

  // A session whose stored events are `stored` (empty for a new one; already durable). A turn
  // left open by a crash is ended with an error and peers left present are marked gone.
  // Errors: the stored events do not form a valid log (LogError).
  // The session is not movable: peers' queues point into its visible log.
  static Expected<std::unique_ptr<HostSession>, std::error_code> create(HostSessionConfig config,
                                                                        std::vector<Event> stored,
                                                                        HostIo& io, int64_t now_ms);
  HostSession(const HostSession&) = delete;
  HostSession& operator=(const HostSession&) = delete;

  // --- peers (a data channel opened after a verified join) ---
  ConnId peer_opened(PeerRole role, int64_t now_ms);
  void peer_frame(ConnId conn, std::span<const uint8_t> bytes, int64_t now_ms);
  void peer_closed(ConnId conn, int64_t now_ms);
  // The next frame for this peer, or nullopt when it has nothing more to send now: nothing is
  // pending, or flow control holds it (until an ack arrives, or until HostIo::wake_at).
  std::optional<OutFrame> next_frame(ConnId conn, int64_t now_ms);

  // Flow state of a peer, for tests, benchmarks and stats (nullopt before its hello).
  struct PeerFlow {
    size_t in_flight = 0;
    size_t window = 0;
    size_t pending = 0;
    Seq acked = 0;
    bool acks = false;
  };
  std::optional<PeerFlow> peer_flow(ConnId conn) const;

  // --- store ---
  void durable(Seq up_to);
  // The same, with the time (the relay stream signs by time; without it the last time any
  // other input carried is used).
  void durable(Seq up_to, int64_t now_ms);

  // --- the answer source ---
  void llm_delta(TurnId turn, std::string_view bytes);
  // Reasoning of the answer being generated, shown apart and never sent back to the model.
  // A turn's thinking precedes its text: thinking that arrives after the turn's first text
  // delta is dropped (viewers show one thinking block above the answer).
  void llm_thinking(TurnId turn, std::string_view bytes);
  void llm_done(TurnId turn, uint64_t token_count, int64_t now_ms);
  void llm_error(TurnId turn, std::string_view reason, int64_t now_ms);

  // --- the host's own console ---
  // A prompt from the host; with no model attached, broadcast as a turn of the host's.
  void host_prompt(std::string_view text, int64_t now_ms);
  // Cancels the turn being generated, if any.
  void host_cancel(int64_t now_ms);
  // Opens a turn fed by an external source (--stdin): deltas and the end come through
  // llm_delta / llm_done / llm_error. Returns nullopt while another turn is open.
  std::optional<TurnId> start_external_turn(std::string_view author, int64_t now_ms);
  void set_meta(std::string_view title, std::string_view model);

  // --- moderation ---
  struct PresentPeer {
    ConnId conn = 0;
    PeerId id = 0;
    PeerRole role = PeerRole::kViewer;
    std::string name;  // as every peer sees it
  };
  // Peers that said hello and are still here, in the order they arrived.
  std::vector<PresentPeer> present_peers() const;
  // Removes the present peer shown as `name` (exactly): bye kRemoved, its queued prompts
  // dropped. Returns its link, so the runtime can refuse that client's rejoin; nullopt when no
  // present peer has that name.
  std::optional<ConnId> remove_peer(std::string_view name);
  // --approve: participants' prompts waiting for the host, oldest first.
  struct HeldPrompt {
    uint64_t id = 0;  // what the host names it by (/approve ID)
    std::string author;
    std::string text;
  };
  std::vector<HeldPrompt> held_prompts() const;
  // Queues a held prompt (it is answered in turn); false when no prompt has that id.
  bool approve_prompt(uint64_t id, int64_t now_ms);
  // Drops a held prompt and tells its author; false when no prompt has that id.
  bool decline_prompt(uint64_t id);

  // Timeouts (hello, silent peers). Call every second or so.
  void tick(int64_t now_ms);
  // Tells every peer the session ends (bye kShutdown with `text`); their last frames follow.
  void shutdown(std::string_view text = "the host ended the session");

  Status status() const;
  const SessionLog& log() const { return log_; }
  // The latest signature over the visible transcript (nullopt before the first ended turn, or
  // without a signing key).
  const std::optional<SignatureFrame>& latest_signature() const { return signature_; }
  // The relay stream's head (index = the visible head), nullopt without a signing key.
  std::optional<RelayPosition> relay_head() const;
  // Peers streamed as relays (their hello offered a relay capacity).
  size_t relay_peers() const;

 private:
  enum class Phase { kAwaitingHello, kActive, kClosing };
  struct Peer {
    PeerRole role = PeerRole::kViewer;
    Phase phase = Phase::kAwaitingHello;
    PeerId id = 0;
    uint64_t version = 0;  // the hello's (and welcome's) protocol version
    std::string name;
    int64_t opened_at_ms = 0;
    int64_t last_heard_ms = 0;
    std::deque<FrameBytes> direct;  // frames before the queue exists (refusals)
    std::optional<OutboundQueue> queue;
    std::optional<FlowControl> flow;
    size_t pending_prompts = 0;
    size_t prompt_tokens = 0;                   // the rate limit's bucket
    std::optional<int64_t> prompt_refilled_ms;  // unset until the first prompt
    // Relay stream peers (no queue, no window: the link's send buffer paces them).
    bool relay = false;
    uint64_t relay_capacity = 0;
    bool relay_live = false;    // reading the ring (else: records rebuilt from the log)
    uint64_t relay_cursor = 0;  // live: the ring number of the next frame
    Seq relay_sent = 0;         // the last record sent
    size_t relay_unsigned = 0;  // records sent since the last signature sent
    std::optional<FrameBytes> relay_checkpoint;  // rebuilt: a checkpoint to send next
  };
  struct RelayKept {
    uint64_t number = 0;  // position in the ring's whole history
    uint64_t index = 0;
    bool record = false;
    bool signs = false;  // a signed record or a checkpoint
    FrameBytes bytes;
  };
  struct Prompt {
    ConnId conn = 0;  // 0: the host
    std::string author;
    std::string text;
    uint64_t id = 0;  // held prompts' number for the host
  };

  HostSession(HostSessionConfig config, SessionLog log, HostIo& io);

  Seq append(EventBody body);
  // Folds a visible event into the signer's turns and, for a turn_ended when `sign` is set,
  // signs the transcript as it stands at that event.
  void fold_visible(const Event& event, bool sign);
  // Appends text (or thinking) to an open turn as deltas of at most kMaxDeltaBytes each.
  void append_text(TurnId turn, std::string_view text, bool thinking = false);
  void send_control(ConnId conn, Peer& peer, const Frame& frame);
  void refuse(ConnId conn, Peer& peer, StatusCode code, std::string text);
  void on_hello(ConnId conn, Peer& peer, const HelloFrame& hello);
  void on_prompt(ConnId conn, Peer& peer, const PromptFrame& prompt, int64_t now_ms);
  void on_ack(ConnId conn, Peer& peer, const AckFrame& ack, int64_t now_ms);
  void on_cancel(ConnId conn, Peer& peer, const CancelFrame& cancel, int64_t now_ms);
  void maybe_start_next_turn(int64_t now_ms);
  void end_turn(TurnEnd end, const std::string& reason, int64_t now_ms);
  std::vector<ChatMessage> history() const;
  // The name shown for a peer: bounded, never host-like, unique among present peers.
  std::string clean_name(std::string_view name, PeerId id);
  bool name_in_use(std::string_view name) const;
  // Takes one token of the peer's bucket at `now_ms`; false when it is empty.
  bool take_prompt_token(Peer& peer, int64_t now_ms) const;

  HostSessionConfig config_;
  SessionLog log_;      // every appended event: validates appends, feeds the LLM history
  SessionLog visible_;  // the durable prefix: what peers' queues read
  HostIo* io_;
  std::map<ConnId, Peer> peers_;
  std::deque<Prompt> prompts_;
  std::deque<Prompt> held_;  // --approve: waiting for the host
  uint64_t next_held_id_ = 1;
  ConnId next_conn_ = 1;
  PeerId next_peer_ = 1;
  bool generating_ = false;
  ConnId asker_ = 0;            // whose prompt the answer being generated answers; 0: the host's
  size_t session_prompts_ = 0;  // participants' prompts accepted
  // Welcomed peers' names, folded (names::fold): a thousand joiners all called "guest" cost
  // a lookup per suffix tried, not a scan of everyone.
  std::multiset<std::string> names_in_use_;
  uint64_t turn_tokens_ = 0;
  bool turn_has_text_ = false;  // the open answer has text: later thinking is dropped
  // The visible log's ended turns, encoded once for signing (with a signing key only), the
  // visible turn being assembled, and the visible title and model.
  std::optional<TranscriptSigner> signer_;
  std::optional<TranscriptTurn> signing_turn_;
  SessionMeta signing_meta_;
  std::optional<SignatureFrame> signature_;
  // The relay stream: the writer, h_0..h_head, the ring of its newest frames.
  void relay_write(const Event& event, int64_t now_ms);
  // Keeps a frame the writer made (`record`: a record, else a checkpoint; `signs`: it carries
  // a signature) in the ring.
  void relay_keep(FrameBytes bytes, uint64_t index, bool record, bool signs);
  void relay_checkpoint_if_due(int64_t now_ms);
  std::optional<OutFrame> relay_next(ConnId conn, Peer& peer, int64_t now_ms);
  FrameBytes relay_checkpoint_at(Seq index) const;
  std::optional<RelayStreamWriter> relay_writer_;
  std::vector<RelayChainHash> relay_chain_;
  std::deque<RelayKept> relay_ring_;
  size_t relay_ring_bytes_ = 0;
  uint64_t relay_next_number_ = 0;
  Seq relay_ring_first_record_ = 0;  // 0: no record in the ring
  int64_t now_ms_ = 0;               // the latest time an input carried
};

}  // namespace tokencast
