#include "ws_session.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <chrono>
#include <cstdio>
#include <string>

#include "random_id.hpp"
#include "tokencast/signal/rendezvous_wire.hpp"

namespace tokencast::rendezvous {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using boost::system::error_code;

namespace {

// Messages larger than this fail in the WebSocket layer itself (close 1009, no reason text);
// between the envelope limit and this, the session closes with 4001 "envelope too large".
constexpr size_t kHardMessageLimit = 1 << 20;
// What a queued message costs beyond its bytes (queue slot, shared ownership).
constexpr size_t kQueueEntryOverhead = 64;
// A read buffer grown past this by a large message is released after it.
constexpr size_t kKeepReadCapacity = size_t{16} * 1024;

std::optional<Rejection> rejection_for(CloseCode code) {
  switch (code) {
    case CloseCode::kProtocolError:
      return Rejection::kProtocolError;
    case CloseCode::kEnvelopeTooLarge:
      return Rejection::kEnvelopeTooLarge;
    case CloseCode::kRoomFull:
      return Rejection::kRoomFull;
    case CloseCode::kTooManyRooms:
      return Rejection::kTooManyRooms;
    case CloseCode::kHandshakeTimeout:
      return Rejection::kHandshakeTimeout;
    case CloseCode::kIdleTimeout:
      return Rejection::kIdleTimeout;
    case CloseCode::kSlowReader:
      return Rejection::kSlowReader;
    // Counted where they happen (connect, JOIN, room rates: their own reasons), when the
    // connection was accepted (ConnectionSlot), or not rejections at all.
    case CloseCode::kRateLimited:
    case CloseCode::kServerFull:
    case CloseCode::kTooManyFromAddress:
    case CloseCode::kNormal:
    case CloseCode::kGoingAway:
      return std::nullopt;
  }
  return std::nullopt;
}

OutMessage out_of(std::vector<uint8_t> bytes) { return OutMessage::copy_of(bytes); }

}  // namespace

WsSession::WsSession(Shard& shard, ServerContext& ctx, TransportStream stream, ConnectionSlot slot)
    : ShardSession(shard),
      ctx_(ctx),
      ws_(std::move(stream)),
      max_message_(std::max(kJoinSize, kSendHeaderSize + ctx.options.max_envelope_size)),
      timer_(ws_.get_executor()),
      throttle_(ws_.get_executor()),
      slot_(std::move(slot)),
      bucket_(ctx.options.rate_per_second, ctx.options.rate_burst, SteadyClock::now()) {}

void WsSession::start(Request request, std::optional<RoomLocator> join) {
  register_in_shard();
  ws_.read_message_max(kHardMessageLimit);
  ws_.auto_fragment(false);
  ws_.binary(true);
  std::string selected = join ? join_subprotocol(*join) : std::string();
  ws_.set_option(websocket::stream_base::decorator(
      [selected = std::move(selected)](websocket::response_type& res) {
        res.set(beast::http::field::server, "tokencast-rendezvous");
        if (!selected.empty()) res.set(beast::http::field::sec_websocket_protocol, selected);
      }));
  ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
    if (kind != websocket::frame_type::close) {
      last_received_ = SteadyClock::now();
      ping_outstanding_ = false;
    }
  });
  // The whole way from TCP accept to JOIN is bounded by the handshake timeout.
  arm_timer(slot_.accepted_at() + ctx_.options.handshake_timeout);
  ctx_.metrics.http_response(101);
  ws_.async_accept(request, [self = self(), join](error_code ec) { self->on_accept(ec, join); });
}

void WsSession::on_accept(error_code ec, std::optional<RoomLocator> join) {
  if (state_ != State::kUpgrading) return;
  if (ec) {
    finish();
    return;
  }
  state_ = State::kAwaitingJoin;
  last_received_ = SteadyClock::now();
  if (auto refusal = slot_.refusal(); refusal || shard_.stopping) {
    begin_close(refusal ? *refusal : CloseCode::kGoingAway);
    return;
  }
  if (join) {
    // JOIN came with the upgrade: JOINED follows the 101 at once, and a JOIN message after it
    // is a second JOIN (protocol error).
    handle_join(*join, SteadyClock::now());
    if (state_ != State::kJoined) return;  // refused: the close is under way
    bump(ctx_.metrics.joins_in_upgrade_total);
  }
  do_read();
}

void WsSession::do_read() {
  // Reads a message piecewise so that an oversized one is caught here, while the stream is
  // still usable for a close frame with a reason (a full buffer would fail the stream).
  size_t room = max_message_ - read_buffer_.size();
  if (room == 0) {
    begin_close(CloseCode::kEnvelopeTooLarge);
    return;
  }
  ws_.async_read_some(read_buffer_, room,
                      [self = self()](error_code ec, size_t) { self->on_read(ec); });
}

void WsSession::on_read(error_code ec) {
  if (state_ == State::kClosing || state_ == State::kDone) return;  // the close path owns it
  if (ec) {
    if (ec == websocket::error::message_too_big) {
      ctx_.metrics.reject(Rejection::kEnvelopeTooLarge);  // Beast already sent 1009
    }
    finish();
    return;
  }
  if (!ws_.is_message_done()) {
    do_read();
    return;
  }
  auto now = SteadyClock::now();
  last_received_ = now;
  ping_outstanding_ = false;
  bump(ctx_.metrics.messages_received_total);
  if (!ws_.got_binary()) {
    begin_close(CloseCode::kProtocolError);
    return;
  }
  // Over its rate a connection is throttled, not closed: the message is handled, and the next
  // read waits until the bucket has paid back what it lent. TCP holds the sender back
  // meanwhile. A host answering a room full of joiners at once is slowed, never cut off.
  auto wait = bucket_.take_or_borrow(now);
  auto data = read_buffer_.cdata();
  handle({static_cast<const uint8_t*>(data.data()), data.size()}, now);
  read_buffer_.consume(read_buffer_.size());
  if (read_buffer_.capacity() > kKeepReadCapacity) read_buffer_.shrink_to_fit();
  if (state_ != State::kAwaitingJoin && state_ != State::kJoined) return;
  if (wait == SteadyClock::duration::zero()) {
    do_read();
    return;
  }
  bump(ctx_.metrics.throttled_total);
  throttle_.expires_after(wait);
  throttle_.async_wait([self = self()](error_code ec) {
    if (!ec && (self->state_ == State::kAwaitingJoin || self->state_ == State::kJoined)) {
      self->do_read();
    }
  });
}

void WsSession::handle(std::span<const uint8_t> bytes, SteadyClock::time_point now) {
  auto message = decode_client_message(bytes);
  if (!message) {
    begin_close(message.error() == WireError::kPayloadTooLarge ? CloseCode::kEnvelopeTooLarge
                                                               : CloseCode::kProtocolError);
    return;
  }
  if (auto* send = std::get_if<Send>(&*message)) {
    if (state_ != State::kJoined) {
      begin_close(CloseCode::kProtocolError);
      return;
    }
    handle_send(send->to, bytes);
  } else if (auto* join = std::get_if<Join>(&*message)) {
    if (state_ != State::kAwaitingJoin) {
      begin_close(CloseCode::kProtocolError);
      return;
    }
    handle_join(join->room, now);
  } else if (auto* ping = std::get_if<Ping>(&*message)) {
    enqueue(out_of(encode_pong(ping->token)));
  }
}

void WsSession::handle_join(const RoomLocator& room, SteadyClock::time_point now) {
  const auto& address = slot_.address_key();
  const bool per_address = ctx_.options.max_connections_per_ip > 0;  // else: behind a proxy
  if (per_address && !ctx_.limits.allow_join(address, now)) {
    ctx_.metrics.reject(Rejection::kJoinRate);
    begin_close(CloseCode::kRateLimited);
    return;
  }
  // Cut off from the cluster bus, an instance keeps its rooms but takes no new one: its peers
  // could not meet the room's peers on other instances.
  if (ctx_.cluster && !ctx_.cluster->healthy() && !ctx_.rooms.find(room)) {
    begin_close(CloseCode::kTooManyRooms);
    return;
  }
  auto joined = ctx_.rooms.join(
      room, self(), [&] { return ctx_.limits.allow_new_room(address, per_address, now); });
  if (!joined) {
    switch (joined.error()) {
      case RoomRegistry::JoinError::kRoomFull:
        begin_close(CloseCode::kRoomFull);
        break;
      case RoomRegistry::JoinError::kTooManyRooms:
        begin_close(CloseCode::kTooManyRooms);
        break;
      case RoomRegistry::JoinError::kRoomRateLimited:
        ctx_.metrics.reject(Rejection::kRoomRate);
        begin_close(CloseCode::kRateLimited);
        break;
    }
    return;
  }
  state_ = State::kJoined;
  id_ = joined->id;
  room_ = std::move(joined->room);
  bump(ctx_.metrics.joins_total);
  bump(ctx_.metrics.peers);
  // JOINED goes first into our own queue: anything others send us is posted to this thread
  // and so lands after it.
  auto welcome = encode_joined(id_, joined->other_ids);
  enqueue(welcome ? OutMessage::copy_of(*welcome) : OutMessage{});
  send_ice_servers();
  if (!joined->others.empty()) {
    auto notice = out_of(*encode_peer_joined(id_));
    for (auto& other : joined->others) other->deliver(notice);
  }
  if (ctx_.cluster) ctx_.cluster->local_joined(room_, id_, joined->created);
  arm_timer(now + ctx_.options.idle_timeout / 2);
}

void WsSession::send_ice_servers() {
  const IceGrant& grant = ctx_.options.ice;
  if (grant.empty()) return;
  char tag[17];
  std::snprintf(tag, sizeof tag, "%016llx", static_cast<unsigned long long>(random_peer_id()));
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto now_unix =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(now).count());
  // validate() checked that the grant encodes; a failure here would be a bug, not input.
  if (auto message = encode_ice_servers(grant_ice_servers(grant, now_unix, tag))) {
    enqueue(out_of(std::move(*message)));
  }
}

void WsSession::handle_send(PeerId to, std::span<const uint8_t> bytes) {
  if (to == id_) {
    ctx_.metrics.reject(Rejection::kSelfAddressed);
    enqueue(out_of(*encode_error(ErrorCode::kSelfAddressed, to)));
    return;
  }
  auto target = room_->find(to);
  if (!target) {
    ctx_.metrics.reject(Rejection::kUnknownPeer);
    enqueue(out_of(*encode_error(ErrorCode::kUnknownPeer, to)));
    return;
  }
  OutMessage envelope = OutMessage::allocate(bytes.size());
  envelope_from_send(bytes, id_, envelope.bytes());
  bump(ctx_.metrics.envelopes_relayed_total);
  bump(ctx_.metrics.envelope_bytes_relayed_total, bytes.size() - kSendHeaderSize);
  envelope.from = id_;
  target->deliver(std::move(envelope));
}

void WsSession::deliver(OutMessage message) {
  if (shard_.ioc.get_executor().running_in_this_thread()) {
    enqueue(std::move(message));
  } else {
    net::post(shard_.ioc, [self = self(), message = std::move(message)]() mutable {
      self->enqueue(std::move(message));
    });
  }
}

void WsSession::enqueue(OutMessage message) {
  if (state_ != State::kAwaitingJoin && state_ != State::kJoined) return;
  if (message.size == 0) return;
  size_t cost = message.size + kQueueEntryOverhead;
  const size_t max = ctx_.options.max_queued_bytes;
  auto charged = queued_by_sender_.find(message.from);
  size_t from_sender = charged == queued_by_sender_.end() ? 0 : charged->second;
  bool over_share = message.from != 0 && from_sender + cost > max / 2;
  if (queued_bytes_ + cost > max || over_share) {
    if (reading_stalled(SteadyClock::now())) {
      ctx_.metrics.reject(Rejection::kSlowReader);
      if (ctx_.logging()) ctx_.log("rendezvous: dropped a slow reader (write queue full)");
      finish();
      return;
    }
    // This peer reads, but the sender outpaces it: the sender's message is what goes.
    ctx_.metrics.reject(Rejection::kOverSenderShare);
    return;
  }
  queued_bytes_ += cost;
  queued_by_sender_[message.from] += cost;
  write_queue_.push_back(std::move(message));
  if (!writing_) do_write();
}

bool WsSession::reading_stalled(SteadyClock::time_point now) const {
  return writing_ && now - write_started_at_ >= ctx_.options.write_stall_timeout;
}

void WsSession::release_queued(const OutMessage& message) {
  size_t cost = message.size + kQueueEntryOverhead;
  queued_bytes_ -= std::min(queued_bytes_, cost);
  auto it = queued_by_sender_.find(message.from);
  if (it == queued_by_sender_.end()) return;
  it->second -= std::min(it->second, cost);
  if (it->second == 0) queued_by_sender_.erase(it);
}

void WsSession::do_write() {
  writing_ = true;
  write_started_at_ = SteadyClock::now();
  in_flight_ = std::move(write_queue_.front());
  write_queue_.pop_front();
  ws_.async_write(net::buffer(in_flight_.data.get(), in_flight_.size),
                  [self = self()](error_code ec, size_t) { self->on_write(ec); });
}

void WsSession::on_write(error_code ec) {
  writing_ = false;
  release_queued(in_flight_);
  in_flight_ = OutMessage{};
  if (state_ == State::kClosing || state_ == State::kDone) return;
  if (ec) {
    finish();
    return;
  }
  if (!write_queue_.empty()) do_write();
}

void WsSession::arm_timer(SteadyClock::time_point at) {
  timer_.expires_at(at);
  timer_.async_wait([self = self()](error_code ec) { self->on_timer(ec); });
}

void WsSession::on_timer(error_code ec) {
  if (ec || state_ == State::kDone) return;
  auto now = SteadyClock::now();
  if (now < timer_.expiry()) return;  // a stale expiry: the timer was re-armed since
  switch (state_) {
    case State::kUpgrading:
      ctx_.metrics.reject(Rejection::kHandshakeTimeout);
      finish();
      return;
    case State::kAwaitingJoin:
      begin_close(CloseCode::kHandshakeTimeout);
      return;
    case State::kJoined: {
      const auto idle = ctx_.options.idle_timeout;
      auto silent = now - last_received_;
      if (silent >= idle) {
        begin_close(CloseCode::kIdleTimeout);
        return;
      }
      if (silent >= idle / 2 && !ping_outstanding_ && !ping_in_flight_) {
        ping_outstanding_ = true;
        ping_in_flight_ = true;
        ws_.async_ping({}, [self = self()](error_code) { self->ping_in_flight_ = false; });
      }
      arm_timer(last_received_ + (ping_outstanding_ ? idle : idle / 2));
      return;
    }
    case State::kClosing:
      finish();  // the peer did not complete the closing handshake in time
      return;
    case State::kDone:
      return;
  }
}

void WsSession::begin_close(CloseCode code) {
  if (state_ == State::kClosing || state_ == State::kDone) return;
  if (auto r = rejection_for(code)) ctx_.metrics.reject(*r);
  if (state_ == State::kUpgrading) {
    finish();
    return;
  }
  if (ctx_.logging() && code != CloseCode::kGoingAway) {
    ctx_.log("rendezvous: closing a connection: " + std::string(close_reason_text(code)));
  }
  leave_room();
  state_ = State::kClosing;
  // Drop what was queued but not yet being written; the close frame follows at once.
  write_queue_.clear();
  websocket::close_reason reason(static_cast<uint16_t>(code));
  reason.reason = std::string(close_reason_text(code));
  ws_.async_close(reason, [self = self()](error_code) { self->finish(); });
  arm_timer(SteadyClock::now() + ctx_.options.close_timeout);
}

void WsSession::finish() {
  if (state_ == State::kDone) return;
  leave_room();
  state_ = State::kDone;
  write_queue_.clear();  // in_flight_ stays alive until its write completes
  timer_.cancel();
  throttle_.cancel();
  ws_.next_layer().close();
  unregister_from_shard();
}

void WsSession::leave_room() {
  if (!room_) return;
  auto room = std::move(room_);
  room_.reset();
  ctx_.metrics.peers.fetch_sub(1, std::memory_order_relaxed);
  auto left = ctx_.rooms.leave(room, id_);
  // Other instances are told even while this one stops: their peers stay.
  if (left.removed && ctx_.cluster) ctx_.cluster->local_left(room->locator(), id_);
  // When the whole server stops, everyone is leaving: no point telling each other.
  if (!left.rest.empty() && !ctx_.stopping.load(std::memory_order_relaxed)) {
    auto notice = out_of(*encode_peer_left(id_));
    for (auto& other : left.rest) other->deliver(notice);
  }
}

void WsSession::shutdown() {
  if (state_ == State::kUpgrading) {
    finish();
  } else {
    begin_close(CloseCode::kGoingAway);
  }
}

}  // namespace tokencast::rendezvous
