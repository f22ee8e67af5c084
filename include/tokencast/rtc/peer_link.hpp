// PeerLink: one WebRTC peer connection carrying ONE reliable, ordered data channel.
//
// The adapter over libwebrtc (src/rtc); no libwebrtc type appears here. See
// docs/architecture/rtc.md for the threading model and the pitfalls it handles.
//
// Threads. One RtcRuntime per process owns libwebrtc's factory and its two threads: network
// (which is also libwebrtc's signaling thread) and worker. EVERY callback of every PeerLink runs
// on that one signaling thread, one at
// a time, in the order libwebrtc produced the events. Callbacks must not block (no waiting on
// locks held by threads that call into PeerLink, no I/O); they may call any PeerLink method,
// including destroying the link they were called for. All PeerLink methods may be called from any
// thread; none of them waits for the signaling thread except create() and the destructor.
//
// Flow (the offerer is the side that creates the data channel, e.g. the joining browser):
//   offerer:  create(kOfferer) -> create_offer() -> on_local_description(offer) ->
//             [send the offer] ... set_remote_description(answer)
//   answerer: create(kAnswerer) -> set_remote_description(offer) -> create_answer() ->
//             on_local_description(answer) -> [send the answer]
//   both:     on_local_candidate(...) -> [trickle to the peer] -> add_remote_candidate(...)
//             (remote candidates may arrive before the remote description: they are buffered)
//   then:     on_state(kConnecting) -> on_state(kOpen) -> send()/on_message() ->
//             on_state(kClosed or kFailed), exactly once, always the last state event.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokencast/core/expected.hpp"
#include "tokencast/core/ice_candidate.hpp"  // IceCandidate {sdp_mid, mline_index, candidate}

namespace tokencast {

enum class RtcErrc : uint8_t {
  kInvalidConfig = 1,     // LinkConfig or ICE server list rejected
  kInvalidSdp = 2,        // SDP string does not parse
  kInvalidCandidate = 3,  // ICE candidate string does not parse
  kWrongState = 4,        // wrong role or order, e.g. create_answer() on an offerer
  kClosed = 5,            // the link is closing or closed
  kInternal = 6,          // libwebrtc refused to create the peer connection or channel
};
std::string_view to_string(RtcErrc code);

struct RtcError {
  RtcErrc code = RtcErrc::kInternal;
  std::string message;  // human-readable, never contains TURN credentials
};

// One entry of RTCConfiguration.iceServers. URLs (RFC 7064 / 7065):
//   stun:host[:port]   stuns:host[:port]
//   turn:host[:port][?transport=udp|tcp]   turns:host[:port][?transport=udp|tcp]
// host is a DNS name, an IPv4 address or a bracketed IPv6 address; port 1..65535.
// TURN entries need username and credential.
struct IceServer {
  std::vector<std::string> urls;
  std::string username;
  std::string credential;  // a secret: never logged, never echoed in errors
};

// Checks every URL and the TURN credentials; the error names the bad URL and what is wrong.
// PeerLink::create() runs the same check.
Expected<void, RtcError> validate_ice_servers(const std::vector<IceServer>& servers);
// The servers of `servers` that pass validate_ice_servers() one by one (for lists from an
// untrusted source, such as a rendezvous). `problems` gets one message per server dropped.
std::vector<IceServer> usable_ice_servers(std::vector<IceServer> servers,
                                          std::vector<std::string>* problems = nullptr);

// Checks LinkConfig::turn_tls_ca_pem: at least one certificate, each one parses.
Expected<void, RtcError> validate_turn_tls_ca(std::string_view pem);

enum class NegotiationRole : uint8_t { kOfferer, kAnswerer };

enum class LinkState : uint8_t {
  kNew,         // created, not yet connecting
  kConnecting,  // ICE/DTLS under way
  kOpen,        // the data channel is open: send() accepts messages
  kClosed,      // terminal: closed by either side (graceful or not)
  kFailed,      // terminal: negotiation, ICE, DTLS or SCTP failed
};
std::string_view to_string(LinkState state);

enum class CloseCause : uint8_t {
  kNone,         // not a terminal event
  kLocal,        // close() was called on this link
  kRemote,       // the peer closed the channel or its peer connection
  kTransport,    // ICE/DTLS/SCTP failure or abort
  kNegotiation,  // an SDP step failed, or the peer's channel is not what the protocol needs
};
std::string_view to_string(CloseCause cause);

// The ICE candidate pair a link settled on, from libwebrtc's stats (RTCTransportStats'
// selectedCandidatePairId). Types: host, srflx, prflx, relay. Protocols: udp or tcp; for a local
// relay candidate, how this side reaches its TURN server: udp, tcp or tls.
struct CandidatePath {
  std::string local_type;
  std::string local_protocol;
  std::string remote_type;
  std::string remote_protocol;
  // Through a TURN relay (either side's candidate is a relay one).
  bool relayed() const { return local_type == "relay" || remote_type == "relay"; }
};
// "local=<type>/<protocol> remote=<type>/<protocol>", e.g. "local=relay/tls remote=srflx/udp".
std::string describe(const CandidatePath& path);

struct LinkEvent {
  LinkState state = LinkState::kNew;
  CloseCause cause = CloseCause::kNone;  // set for kClosed and kFailed
  std::string reason;  // for kClosed/kFailed: close()'s reason (kLocal) or what happened
  // kFailed before the channel opened because ICE found no working candidate pair (no path
  // between the peers: a NAT or firewall in the way, or a TURN server that failed).
  bool no_path = false;
};

enum class SendResult : uint8_t {
  kSent,               // accepted; buffered amount at or under the high-water mark
  kSentOverHighWater,  // accepted; buffered amount over high water: pause until on_drain
  kRefusedFull,        // NOT accepted: it would exceed max_buffered; on_drain will follow
  kRefusedTooLarge,    // NOT accepted: larger than max_message_size; the channel is unaffected
  kNotOpen,            // NOT accepted: the channel is not open yet
  kClosed,             // NOT accepted: close() was called, or the link closed or failed
};
std::string_view to_string(SendResult result);
// True when the message was accepted (it will be delivered unless the link fails).
constexpr bool accepted(SendResult r) {
  return r == SendResult::kSent || r == SendResult::kSentOverHighWater;
}

// A DTLS certificate kept across links, so that a client's reconnects present one fingerprint
// (a host refuses the rejoins of a client it removed by that fingerprint). Opaque: copies
// share one certificate. Without one, every link makes its own.
class DtlsIdentity {
 public:
  // A fresh ECDSA P-256 certificate (as browsers make by default).
  static Expected<DtlsIdentity, RtcError> generate();
  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit DtlsIdentity(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

struct LinkConfig {
  std::vector<IceServer> ice_servers;    // empty: host candidates only (LAN, loopback)
  bool relay_only = false;               // iceTransportPolicy "relay" (needs a TURN server)
  bool tcp_candidates = false;           // also gather TCP host candidates (costs memory; rarely
                                         // useful: UDP-blocked networks need TURN over TCP/TLS)
  std::optional<DtlsIdentity> identity;  // the certificate to present; none: a fresh one
  // PEM certificates that a turns: server's TLS certificate may be, or be issued by, beside
  // libwebrtc's built-in roots (which nothing else extends): a TURN server with a private CA or
  // a self-signed certificate. The server's name is still checked. Empty: built-in roots only.
  std::string turn_tls_ca_pem;
  std::string label = "tokencast";  // the data channel's label (offerer creates it; answerer
                                    // accepts only a channel with this label)

  // Frame limit of the protocol. Larger sends are refused (kRefusedTooLarge); libwebrtc would
  // otherwise send them and the peer would close the channel. At most 65536 (the default
  // max-message-size of a peer that does not announce one).
  size_t max_message_size = size_t{16} * 1024;

  // Backpressure, in bytes accepted by send() and not yet handed to SCTP. Over high_water,
  // send() answers kSentOverHighWater; a send that would pass max_buffered is refused
  // (kRefusedFull). Either arms on_drain, called once the amount falls to low_water or below.
  // Requires low_water < high_water <= max_buffered <= 15 MiB (libwebrtc closes at 16 MiB).
  // SCTP keeps its own send buffer (about 2 MB) behind this amount.
  size_t high_water = size_t{1024} * 1024;
  size_t low_water = size_t{256} * 1024;
  size_t max_buffered = size_t{4} * 1024 * 1024;

  // The link fails (kFailed, kTransport) if its channel is not open this long after create():
  // a peer that vanished mid-negotiation does not hold a connection forever. 0: no limit.
  std::chrono::milliseconds connect_timeout{30000};

  // close() lets SCTP transmit what was sent before it: the stream is reset once nothing has
  // been handed to SCTP for close_linger, or at the latest close_timeout after close(). (This
  // libwebrtc's stream reset discards what SCTP has not transmitted yet; see close().)
  std::chrono::milliseconds close_linger{500};
  std::chrono::milliseconds close_timeout{3000};
};

// All callbacks run on the runtime's signaling thread (see the top of this file). Any may be
// empty. After the PeerLink's destructor has returned, none of its callbacks runs again and none
// is running (when destroyed from inside its own callback: none runs after that callback).
struct LinkCallbacks {
  // The local offer (offerer) or answer (answerer), complete SDP to send to the peer. The DTLS
  // fingerprint is in it (a=fingerprint). Candidates are not: they trickle separately.
  std::function<void(const std::string& sdp)> on_local_description;
  std::function<void(const IceCandidate& candidate)> on_local_candidate;
  // Local gathering finished: no more on_local_candidate (end-of-candidates for the peer).
  std::function<void()> on_local_candidates_done;
  std::function<void(const LinkEvent& event)> on_state;
  // One whole message, in order. Binary and text messages alike arrive as bytes; empty messages
  // arrive as an empty span. The span is valid only during the call.
  std::function<void(std::span<const uint8_t> message)> on_message;
  // The buffered amount fell to low_water or below after a send() answered kSentOverHighWater
  // or kRefusedFull. Once per arming.
  std::function<void()> on_drain;
  // Once, soon after on_state(kOpen): the candidate pair the link uses (skipped when the stats
  // do not name one).
  std::function<void(const CandidatePath& path)> on_path;
};

// libwebrtc's factory and threads, one per process. instance() returns the live runtime,
// creating it on first use; every PeerLink holds a reference, and the runtime shuts down (threads
// joined) when the last reference goes. Hold `RtcRuntime::instance()` in main() for the life of
// the process so that links coming and going do not start and stop the threads each time.
class RtcRuntime {
 public:
  static std::shared_ptr<RtcRuntime> instance();
  ~RtcRuntime();
  RtcRuntime(const RtcRuntime&) = delete;
  RtcRuntime& operator=(const RtcRuntime&) = delete;

  // libwebrtc's log threshold follows tokencast::log::level(); it is read when a runtime or a
  // link is created. Call this after changing the level to apply it at once.
  static void refresh_log_level();

  struct Impl;

 private:
  RtcRuntime();
  friend class PeerLink;
  std::unique_ptr<Impl> impl_;
};

class PeerLink {
 public:
  // Creates the peer connection (and, for the offerer, the data channel) on the signaling
  // thread; blocks until done. Fails on an invalid config (kInvalidConfig with the reason).
  static Expected<std::unique_ptr<PeerLink>, RtcError> create(NegotiationRole role,
                                                              LinkConfig config,
                                                              LinkCallbacks callbacks);

  // Closes the peer connection at once (abruptly: queued data is dropped; use close() and wait
  // for on_state(kClosed) to flush first). Blocks until the signaling thread has torn the link
  // down, unless called on the signaling thread (from a callback), where teardown is deferred.
  ~PeerLink();
  PeerLink(const PeerLink&) = delete;
  PeerLink& operator=(const PeerLink&) = delete;

  NegotiationRole role() const;

  // Negotiation. Each call is queued to the signaling thread and returns at once; results come
  // through on_local_description, and a failure through on_state(kFailed, kNegotiation).
  // Synchronous errors: wrong role or order (kWrongState), bad SDP/candidate, closed link.
  Expected<void, RtcError> create_offer();                                // offerer
  Expected<void, RtcError> set_remote_description(std::string_view sdp);  // answer or offer
  Expected<void, RtcError> create_answer();  // answerer, after set_remote_description
  // Buffered until the remote description is applied. An empty candidate string (the peer's
  // end-of-candidates) is accepted and ignored.
  Expected<void, RtcError> add_remote_candidate(const IceCandidate& candidate);

  // Queues one message (binary) and returns at once; it reaches SCTP on the signaling thread,
  // in send() order. Never blocks, never closes the channel.
  SendResult send(std::span<const uint8_t> message);
  SendResult send(std::string_view message);

  // Graceful close. send() refuses from now on; messages accepted before are handed to SCTP;
  // then the channel's stream is reset (the peer sees kClosed, kRemote), then the peer
  // connection closes. Ends with on_state(kClosed, kLocal, reason), or with whatever else
  // ended the link first. Idempotent; returns at once.
  // Delivery caveat: this libwebrtc (dcSCTP, January 2023) discards at the reset what SCTP has
  // not transmitted yet, and SCTP's queue (up to ~2 MB) is not observable. close() therefore
  // waits until nothing has been handed to SCTP for close_linger (0.5 s: ample on a LAN; an
  // idle link resets at once), capped by close_timeout. Where the last frames must arrive, let
  // the peer close first: send the protocol's goodbye frame, wait for on_state(kClosed,
  // kRemote), and close() only when that times out. The reason stays local (a data channel
  // carries none): the peer learns why from the protocol's frames.
  void close(std::string reason);

  LinkState state() const;
  // ICE has found a working candidate pair (at some point): false means no path so far.
  bool path_found() const;
  size_t buffered_amount() const;          // bytes accepted by send() and not yet handed to SCTP
  std::string local_description() const;   // SDP last produced locally ("" before)
  std::string remote_description() const;  // SDP given to set_remote_description ("" before)

  struct Core;  // implementation, src/rtc/peer_link.cpp

 private:
  friend struct PeerLinkInternals;  // src/rtc only (benchmark hooks)
  explicit PeerLink(std::shared_ptr<Core> core);
  std::shared_ptr<Core> core_;
};

}  // namespace tokencast
