// A native client session: joins a host from an invite link (rendezvous, sealed offer, signed
// answer, data channel), streams the session into a ClientSession, sends prompts, and resumes
// by itself with no gap and no duplicate when the link drops or the host restarts.
// `tokencast join` is a thin command line around this; tests run it in-process.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tokencast/core/client_session.hpp"
#include "tokencast/core/expected.hpp"
#include "tokencast/rtc/peer_link.hpp"

namespace tokencast {

enum class JoinFailure {
  kBadLink = 1,            // the link does not parse
  kRendezvousUnreachable,  // no WebSocket connection to the rendezvous
  kNoAnswer,               // nobody answered: a wrong or expired link, or the host is not running
  kInvalidAnswer,          // an answer that does not verify: not the link's host (fail closed)
  kRefused,                // the host turned the join down (room full, clock skew, closing)
  kSessionEnded,           // the host ended the session (bye)
  kRemoved,                // the host removed this client (bye removed): never rejoin
  kInterrupted,            // the link broke and reconnecting is off or gave up
  // No answer, but signaling that failed to open or verify arrived: beacons that are not the
  // link's host's while no genuine one came, or envelopes from the host's peer that do not
  // open. Altered in transit, or sent by someone without the link (docs/SECURITY.md).
  kSignalingAltered,
  // An https link whose rendezvous certificate does not verify (untrusted, wrong name,
  // expired): never retried, never tried in plain.
  kCertificateRejected,
  kNoPath,     // the host answered but ICE found no network path to it (NAT/firewall: needs TURN)
  kNotOpened,  // a path was found but the connection did not open (DTLS or SCTP failed)
};
const char* join_failure_text(JoinFailure failure);

struct JoinOptions {
  std::string link;
  // More rendezvous WebSocket URLs (ws:// or wss://, `join --rendezvous`), tried after the
  // link's own base URL and its alternates (docs/PROTOCOL.md section 1): when the rendezvous in
  // use is lost before the data channel is open, the join moves to the next and starts again.
  std::vector<std::string> rendezvous_fallback_urls;
  std::string name = "guest";
  // Our own STUN/TURN servers; those the rendezvous hands out are added to them.
  std::vector<IceServer> ice_servers;
  // https links: a PEM file of CA certificates to trust for the rendezvous instead of the
  // system's store.
  std::string ca_file;
  // Relayed candidates only (iceTransportPolicy "relay"): needs a TURN server.
  bool relay_only = false;
  std::string turn_tls_ca_pem;  // LinkConfig::turn_tls_ca_pem (--turn-ca)
  // Offer sent -> a verified answer; past it the attempt counts as kNoAnswer.
  std::chrono::milliseconds answer_timeout{10'000};
  // Answer -> data channel open.
  std::chrono::milliseconds open_timeout{15'000};
  // Resume automatically after the link drops (also after a host restart). Attempts back off
  // from 250 ms to 5 s; after `give_up_after` without a working link the client fails with
  // kInterrupted (0: never give up once it had connected).
  bool reconnect = true;
  std::chrono::milliseconds give_up_after{0};
  // The DTLS certificate every link of this client presents (reconnects included), so a host
  // knows the client again (and refuses it after removing it). None: one is made at start.
  std::optional<DtlsIdentity> identity;
  // `join --relay N`: offer to relay the host's stream for up to N children (protocol version
  // 5; 0: none). A host that accepts (viewer links only) streams this client its signed relay
  // stream, which the client verifies under the link's host key before showing anything
  // (docs/PROTOCOL.md section 6). While that link is up the host may place viewers below
  // this client: it answers their offers (relay_intro), forwards the signed stream to them
  // (children verify it themselves) and serves late joiners from its ring. At most 64.
  uint64_t relay_capacity = 0;
  // TEST-ONLY fault injection (the tamper test; not reachable from the command line): from
  // this record index on, a relaying client flips one payload byte of every record it
  // forwards to its children. 0: off.
  uint64_t tamper_for_test = 0;
};

struct JoinCallbacks {
  // Every callback runs on the client's own thread, one at a time.
  std::function<void(const ClientEvent& event)> on_event;
  std::function<void(const std::string& status)> on_status;  // "connecting", "connected", ...
  // The candidate pair of each data channel, once open (see CandidatePath).
  std::function<void(const CandidatePath& path)> on_path;
  // The session is over for this client (final; no callback follows).
  std::function<void(JoinFailure failure, const std::string& detail)> on_ended;
};

class JoinClient {
 public:
  // Errors: kBadLink with what is wrong with it (the link is never echoed: it holds a secret).
  static Expected<std::unique_ptr<JoinClient>, std::pair<JoinFailure, std::string>> start(
      JoinOptions options, JoinCallbacks callbacks);
  ~JoinClient();  // says bye when connected, closes everything
  JoinClient(const JoinClient&) = delete;
  JoinClient& operator=(const JoinClient&) = delete;

  // The calls below are thread-safe but wait for the client's thread: never call them from
  // inside a JoinCallbacks callback (it runs on that thread).
  // Errors as ClientSession::prompt / cancel (not connected, viewer link, ...).
  Expected<void, std::error_code> prompt(std::string text);
  Expected<void, std::error_code> cancel();
  // A copy of the transcript so far and the position held.
  Transcript transcript() const;
  StreamPosition position() const;
  // The data channel is open and the host has welcomed this client.
  bool connected() const;
  // The current link carries the relay stream, and the last relay record verified (index =
  // the last sequence held) once one was (see JoinOptions::relay_capacity).
  bool relay_link() const;
  std::optional<RelayPosition> relay_verified() const;
  // The current link is to a relay parent the host placed this client below (not the host).
  bool via_relay() const;
  // Children this client relays for with their link open and served (relay_capacity > 0).
  size_t relay_children() const;
  // Tests and benchmarks: breaks the current data channel as a network failure would.
  void drop_link_for_test();

  struct Impl;

 private:
  explicit JoinClient(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace tokencast
