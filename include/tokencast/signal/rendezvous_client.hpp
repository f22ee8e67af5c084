// A rendezvous client: one WebSocket connection to a rendezvous server, joined to one room.
// The host runs two (its viewer room and its participant room); a joiner runs one.
//
// Threading: each Client owns one I/O thread, started by the constructor and joined by the
// destructor. Every callback runs on that thread, one at a time, in the order the server sent
// the messages. send() and close() may be called from any thread, callbacks included. The
// destructor must not run on the client's own thread (that is, not inside a callback).
//
// Lifecycle: connecting -> joined (on_joined) -> closed (on_closed, exactly once, then no more
// callbacks). Once the destructor has started no callback runs at all, on_closed included.
// There is no automatic reconnect: make a new Client.
//
// Transport: ws:// (plain) or wss:// (TLS). With wss:// the server's certificate must chain to
// a trusted CA (the system's store, or ClientOptions::ca_file) and carry the URL's host name
// or IP address; otherwise the connection fails (CloseInfo::certificate_rejected), and is never
// retried in plain.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "tokencast/core/expected.hpp"
#include "tokencast/signal/rendezvous_wire.hpp"

namespace tokencast::rendezvous {

enum class ClientError {
  kBadUrl = 1,    // not ws[s]://host[:port][/path]
  kNotJoined,     // send() before on_joined
  kClosed,        // send() after the connection closed or close() was called
  kBadRecipient,  // peer id 0
  kEmptyPayload,
  kPayloadTooLarge,  // over kMaxEnvelopeSize
  kQueueFull,        // more than ClientOptions::max_queued_bytes waiting to be written
};
const std::error_category& client_category();
std::error_code make_error_code(ClientError e);

// A parsed ws:// or wss:// URL.
struct WsUrl {
  bool tls = false;            // wss://
  std::string host;            // without brackets for IPv6
  uint16_t port = 80;          // 443 for wss://
  std::string target = "/ws";  // path (and query) sent in the upgrade request
};
// Accepts ws[s]://HOST[:PORT][/PATH]; HOST may be [v6]. Defaults: port 80 (443 for wss),
// path /ws.
Expected<WsUrl, ClientError> parse_ws_url(std::string_view url);

struct ClientOptions {
  std::string url = "ws://127.0.0.1:8787/ws";
  // wss:// only: a PEM file of the CA certificates to trust instead of the system's store.
  std::string ca_file;
  RoomLocator room{};
  // Offer JOIN in the WebSocket upgrade (the join subprotocol, docs/PROTOCOL.md section 3):
  // JOINED then follows the 101 without a round trip of its own. A server that does not take it
  // gets the JOIN message after the upgrade, as before. Off: always the JOIN message.
  bool join_in_upgrade = true;
  // Resolve + TCP connect + WebSocket handshake + JOIN -> JOINED must finish within this.
  std::chrono::milliseconds connect_timeout{10'000};
  // A PING is sent after this long without traffic from the server; if nothing at all arrives
  // for twice this long the client closes with 1006 "server not responding". Keeps the
  // server's idle timeout from firing too.
  std::chrono::milliseconds ping_interval{15'000};
  // Bytes accepted by send() but not yet written; beyond it send() fails with kQueueFull.
  size_t max_queued_bytes = 4 << 20;
};

struct CloseInfo {
  // The server's WebSocket close code (see CloseCode), or 1006 when the connection failed
  // or broke without a close frame, or 1000 after close().
  uint16_t code = 0;
  std::string reason;  // the server's reason text, or a description of the local failure
  // wss://: the server's certificate failed verification (reason names the cause).
  bool certificate_rejected = false;
  // The connection (TCP, TLS, upgrade, JOIN) did not complete within connect_timeout: on a
  // lossy link this is often transient, unlike a refused connection.
  bool timed_out = false;
};

struct ClientCallbacks {
  std::function<void(PeerId self, std::vector<PeerId> peers)> on_joined;
  std::function<void(PeerId peer)> on_peer_joined;
  std::function<void(PeerId peer)> on_peer_left;
  // `payload` is valid only during the call. `from` is the id the server says sent it: the
  // server is not trusted, so whatever matters is proven inside the sealed payload.
  std::function<void(PeerId from, std::span<const uint8_t> payload)> on_envelope;
  // A SEND the server could not route (recipient unknown in this room, or self).
  std::function<void(ErrorCode code, PeerId to)> on_error;
  // STUN/TURN servers the rendezvous hands out (right after on_joined, when it has any). The
  // TURN credentials in them are secrets: never log them.
  std::function<void(std::vector<IceServerEntry> servers)> on_ice_servers;
  std::function<void(const CloseInfo& info)> on_closed;
};

class Client {
 public:
  // Starts connecting at once on the client's own thread. A bad URL is reported through
  // on_closed (code 1006) like any connection failure.
  Client(ClientOptions options, ClientCallbacks callbacks);
  ~Client();  // close()s, waits briefly for the closing handshake, joins the thread
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Queues one envelope for `to`; thread-safe. Succeeds once queued (delivery is not
  // confirmed: an unknown recipient comes back through on_error).
  Expected<void, std::error_code> send(PeerId to, std::span<const uint8_t> payload);

  // Starts a normal close (1000); on_closed follows. Thread-safe, idempotent.
  void close();

  // 0 until joined.
  PeerId self() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tokencast::rendezvous

template <>
struct std::is_error_code_enum<tokencast::rendezvous::ClientError> : std::true_type {};
