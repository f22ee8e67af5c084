// One peer's WebSocket connection to the rendezvous: JOIN, then SEND / PING until it closes.
// Lives on one shard's thread; other threads reach it only through deliver(), which posts.
//
// Every limit ends the connection with a close code and reason (see CloseCode) except a slow
// reader, whose socket is reset: it is not reading, so a close frame could not reach it.
// A peer flooding another one pays for it: its messages beyond its share of the recipient's
// queue are dropped, and the recipient is dropped only when its own reading stalls.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <deque>
#include <memory>
#include <optional>
#include <unordered_map>

#include "room_registry.hpp"
#include "server_context.hpp"
#include "token_bucket.hpp"
#include "transport_stream.hpp"

namespace tokencast::rendezvous {

class WsSession final : public ShardSession, public RoomMember {
 public:
  using Request = boost::beast::http::request<boost::beast::http::empty_body>;

  WsSession(Shard& shard, ServerContext& ctx, TransportStream stream, ConnectionSlot slot);
  // Answers the upgrade request; then reads messages. With `join` (the upgrade offered the join
  // subprotocol) the 101 selects it and the session joins that room as soon as it is accepted,
  // as if a JOIN message had come first.
  void start(Request request, std::optional<RoomLocator> join = std::nullopt);
  void shutdown() override;
  void deliver(OutMessage message) override;

 private:
  enum class State { kUpgrading, kAwaitingJoin, kJoined, kClosing, kDone };

  std::shared_ptr<WsSession> self() {
    return std::static_pointer_cast<WsSession>(shared_from_this());
  }
  void on_accept(boost::system::error_code ec, std::optional<RoomLocator> join);
  void do_read();
  void on_read(boost::system::error_code ec);
  void handle(std::span<const uint8_t> bytes, SteadyClock::time_point now);
  void handle_join(const RoomLocator& room, SteadyClock::time_point now);
  // ICE_SERVERS with fresh TURN credentials, when the server hands out ICE servers.
  void send_ice_servers();
  void handle_send(PeerId to, std::span<const uint8_t> bytes);
  void enqueue(OutMessage message);
  // The in-flight write has been pending for the stall timeout: the peer is not reading.
  bool reading_stalled(SteadyClock::time_point now) const;
  void release_queued(const OutMessage& message);
  void do_write();
  void on_write(boost::system::error_code ec);
  void arm_timer(SteadyClock::time_point at);
  void on_timer(boost::system::error_code ec);
  // Starts the closing handshake with `code` (counting it as a rejection where it is one).
  void begin_close(CloseCode code);
  // Ends at once: leaves the room, closes the socket.
  void finish();
  void leave_room();

  ServerContext& ctx_;
  boost::beast::websocket::stream<TransportStream, false> ws_;
  size_t max_message_;  // largest message accepted (a full SEND)
  boost::beast::flat_buffer read_buffer_;
  net::steady_timer timer_;
  net::steady_timer throttle_;  // reading paused over the rate limit
  ConnectionSlot slot_;
  TokenBucket bucket_;
  State state_ = State::kUpgrading;

  PeerId id_ = 0;
  std::shared_ptr<Room> room_;

  std::deque<OutMessage> write_queue_;
  OutMessage in_flight_;     // being written; kept alive until its write completes
  size_t queued_bytes_ = 0;  // queue and in-flight message, with per-entry overhead
  // The same per sending peer (bounded by the room size): each may hold half the queue.
  std::unordered_map<uint64_t, size_t> queued_by_sender_;
  bool writing_ = false;
  SteadyClock::time_point write_started_at_{};

  SteadyClock::time_point last_received_{};
  bool ping_outstanding_ = false;  // sent after silence, nothing received since
  bool ping_in_flight_ = false;    // the ping's write has not completed
};

}  // namespace tokencast::rendezvous
