// A client's view of a session, sans I/O: the hello it opens each link with, the host's frames
// decoded in order into a transcript, and the prompt and cancel frames it may send. It
// outlives links: after a reconnect the next hello carries the last sequence held, so the host
// resumes it with no gap and no duplicate.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "tokencast/core/events.hpp"
#include "tokencast/core/expected.hpp"
#include "tokencast/core/flow_control.hpp"
#include "tokencast/core/frame.hpp"
#include "tokencast/core/relay_stream.hpp"
#include "tokencast/core/signing.hpp"
#include "tokencast/core/transcript.hpp"

namespace tokencast {

enum class ClientError {
  kWrongSession = 1,  // a welcome from another session than the one this client holds
  kNotParticipant,    // prompt or cancel with a viewer link
  kNotWelcomed,       // prompt or cancel before the host's welcome
  kNothingToCancel,   // no turn is open
};
const std::error_category& client_session_category();
std::error_code make_error_code(ClientError e);

// What one host frame meant, for the user interface.
struct Welcomed {
  PeerRole role = PeerRole::kViewer;
  PeerId peer = 0;
  Seq head = 0;
  bool resumed = false;  // this client already held part of the session
};
struct Applied {
  Event event;  // in order, never twice; merged deltas arrive as one event with a span
};
struct HostReported {
  ErrorFrame error;  // the link stays up
};
struct HostLeft {
  ByeFrame bye;  // the link ends; kShutdown, kRemoved and kNormal are final, others can be retried
};
using ClientEvent = std::variant<Welcomed, Applied, HostReported, HostLeft>;

class ClientSession {
 public:
  explicit ClientSession(std::string display_name) : name_(std::move(display_name)) {}

  // Offers to relay for up to `capacity` children (protocol version 5). A host that accepts
  // streams this client the relay stream (docs/PROTOCOL.md section 6): receive() verifies it
  // under `host_key` (the invite link's) and applies only what a host signature covers.
  void offer_relay(uint64_t capacity, const Ed25519PublicKey& host_key) {
    relay_capacity_ = capacity;
    host_key_ = host_key;
  }
  // The key relay streams are verified under (the invite link's host key), for a client that
  // does not offer to relay but may be placed below a relay (offer_relay sets it too).
  void set_host_key(const Ed25519PublicKey& host_key) { host_key_ = host_key; }
  // The relay stream on the current link (the welcome said so, or the link is to a relay).
  bool relay_link() const { return relay_link_; }
  // The current link is to a relay parent (a relay_welcome came on it), not to the host.
  bool parent_link() const { return parent_link_; }
  // The first frame on a link to a relay parent, relay_hello (docs/PROTOCOL.md section 6, "The
  // child's link to its relay"): the verified chain position when it covers everything held; the
  // last sequence held and an all-zero hash when it does not (events held without a chain
  // position); 0 and the genesis (all zero before any welcome: the session id is not known
  // yet) when nothing is held.
  // Marks the current link as one to a relay parent: from then on only relay_welcome, relay
  // frames and control frames are taken on it (a host's welcome, events or signature frames
  // from a relay are kUnexpectedFrame: it forwards the host's signed records only).
  FrameBytes parent_hello();
  const std::optional<SessionId>& session_id() const { return session_; }
  // The last relay record this client verified (index = its last sequence), once it has
  // been streamed the relay stream.
  std::optional<RelayPosition> relay_verified() const;

  // The first frame on every link (resumes from the last sequence held).
  FrameBytes hello() const;

  // Decodes one frame from the host (or from a relay parent) and applies it. Errors: any
  // FrameError (the link should be closed and the session resumed on a new one; nothing of the
  // frame was applied; relay_intro, relay_candidate, relay_route and relay_routed are
  // kUnexpectedFrame here: a relay's
  // client takes them off its host link first), kWrongSession, and the RelayError of a relay
  // stream that does not verify. Pongs produce no event. On a relay parent link, a
  // relay_welcome takes the welcome's place (a Welcomed with peer 0, role viewer).
  Expected<std::vector<ClientEvent>, std::error_code> receive(std::span<const uint8_t> frame);

  // Frames to send. Errors: kNotWelcomed, kNotParticipant, kNothingToCancel, and
  // FrameError::kInvalidUtf8 / kOversized for a prompt that cannot be sent.
  Expected<FrameBytes, std::error_code> prompt(std::string_view text, uint64_t prompt_id);
  Expected<FrameBytes, std::error_code> cancel();
  static FrameBytes ping(uint64_t nonce);
  static FrameBytes bye();

  // Acknowledgements (protocol version 2): call after every receive() and whenever
  // ack_due_ms() passes. Returns an ack frame when one is due: the client holds events it has
  // not acknowledged on this link and either kAckDelayMs passed since its last ack (so the
  // first frame after a pause is acknowledged at once) or kAckBytes arrived since. Nothing on
  // a version 1 link.
  std::optional<FrameBytes> take_ack(int64_t now_ms);
  // When the next ack falls due if nothing else arrives; nullopt when nothing awaits one.
  std::optional<int64_t> ack_due_ms() const;
  // The version the host welcomed this link with (0 before the welcome).
  uint64_t link_version() const { return link_version_; }

  const Transcript& transcript() const { return transcript_; }
  const StreamPosition& position() const { return decoder_.position(); }
  std::optional<PeerRole> role() const { return role_; }
  PeerId peer() const { return peer_; }
  // The host welcomed this client on the current link (set_link_lost() clears it).
  bool welcomed() const { return welcomed_; }
  // The link ended: nothing more may be sent until the next welcome.
  void set_link_lost();

 private:
  std::string name_;
  FrameDecoder decoder_;
  Transcript transcript_;
  std::optional<SessionId> session_;
  std::optional<PeerRole> role_;
  PeerId peer_ = 0;
  bool welcomed_ = false;  // on the current link
  // Offered in hello; falls back to 1 for good when a host refuses it as unsupported.
  uint64_t hello_version_ = kProtocolVersion;
  uint64_t link_version_ = 0;
  Seq acked_seq_ = 0;
  size_t unacked_bytes_ = 0;
  std::optional<int64_t> last_ack_ms_;
  // Relaying: what was offered, and the verifier of the current relay link (its verified
  // position outlives the link: the next one resumes from it).
  uint64_t relay_capacity_ = 0;
  std::optional<Ed25519PublicKey> host_key_;
  bool relay_link_ = false;
  bool parent_link_ = false;
  bool awaiting_anchor_ = false;
  std::optional<RelayVerifier> verifier_;
  Expected<std::vector<ClientEvent>, std::error_code> receive_relay(std::span<const uint8_t> bytes);
  Expected<std::vector<ClientEvent>, std::error_code> on_relay_welcome(
      const RelayWelcomeFrame& welcome);
};

}  // namespace tokencast

template <>
struct std::is_error_code_enum<tokencast::ClientError> : std::true_type {};
