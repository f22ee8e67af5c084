#include "tokencast/core/client_session.hpp"

#include <type_traits>

namespace tokencast {
namespace {

class ClientSessionCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "tokencast.client"; }
  std::string message(int code) const override {
    switch (static_cast<ClientError>(code)) {
      case ClientError::kWrongSession:
        return "the host answered for another session";
      case ClientError::kNotParticipant:
        return "this link is for viewers: it cannot prompt";
      case ClientError::kNotWelcomed:
        return "not connected to the host yet";
      case ClientError::kNothingToCancel:
        return "no answer is being generated";
    }
    return "unknown client error";
  }
};

FrameBytes encode_or_empty(const Frame& frame) {
  auto bytes = encode_frame(frame);
  return bytes ? std::move(*bytes) : FrameBytes{};
}

}  // namespace

const std::error_category& client_session_category() {
  static const ClientSessionCategory category;
  return category;
}

std::error_code make_error_code(ClientError e) {
  return {static_cast<int>(e), client_session_category()};
}

FrameBytes ClientSession::hello() const {
  return encode_or_empty(HelloFrame{hello_version_, decoder_.position().last_seq, name_});
}

Expected<std::vector<ClientEvent>, std::error_code> ClientSession::receive(
    std::span<const uint8_t> bytes) {
  auto frame = decoder_.decode(bytes);
  if (!frame) return unexpected(frame.error());
  std::vector<ClientEvent> out;
  if (auto* events = std::get_if<EventsFrame>(&*frame)) {
    unacked_bytes_ += bytes.size();
    for (auto& event : events->events) {
      transcript_.apply(event);
      out.push_back(Applied{std::move(event)});
    }
  } else if (const auto* welcome = std::get_if<WelcomeFrame>(&*frame)) {
    if (session_ && *session_ != welcome->session_id) {
      return unexpected(make_error_code(ClientError::kWrongSession));
    }
    bool resumed = session_.has_value() || decoder_.position().last_seq > 0;
    session_ = welcome->session_id;
    role_ = welcome->role;
    peer_ = welcome->peer;
    welcomed_ = true;
    link_version_ = welcome->version;
    // The host counts from the hello's last_seq on this link.
    acked_seq_ = decoder_.position().last_seq;
    unacked_bytes_ = 0;
    last_ack_ms_.reset();
    out.push_back(Welcomed{welcome->role, welcome->peer, welcome->head_seq, resumed});
  } else if (const auto* error = std::get_if<ErrorFrame>(&*frame)) {
    // A host older than this client: say hello one version lower from the next link on (a
    // version 2 host keeps acks; a version 1 host refuses once more).
    if (error->code == StatusCode::kUnsupportedVersion && !welcomed_ &&
        hello_version_ > kMinProtocolVersion) {
      hello_version_ -= 1;
    }
    out.push_back(HostReported{*error});
  } else if (const auto* bye = std::get_if<ByeFrame>(&*frame)) {
    welcomed_ = false;
    out.push_back(HostLeft{*bye});
  }
  return out;
}

Expected<FrameBytes, std::error_code> ClientSession::prompt(std::string_view text,
                                                            uint64_t prompt_id) {
  if (!welcomed_) return unexpected(make_error_code(ClientError::kNotWelcomed));
  if (role_ != PeerRole::kParticipant) {
    return unexpected(make_error_code(ClientError::kNotParticipant));
  }
  return encode_frame(PromptFrame{prompt_id, std::string(text)});
}

Expected<FrameBytes, std::error_code> ClientSession::cancel() {
  if (!welcomed_) return unexpected(make_error_code(ClientError::kNotWelcomed));
  if (role_ != PeerRole::kParticipant) {
    return unexpected(make_error_code(ClientError::kNotParticipant));
  }
  auto turn = decoder_.position().open_turn;
  if (!turn) return unexpected(make_error_code(ClientError::kNothingToCancel));
  return encode_frame(CancelFrame{*turn});
}

std::optional<FrameBytes> ClientSession::take_ack(int64_t now_ms) {
  const Seq held = decoder_.position().last_seq;
  if (!welcomed_ || link_version_ < 2 || held <= acked_seq_) return std::nullopt;
  const bool delay_passed = !last_ack_ms_ || now_ms - *last_ack_ms_ >= kAckDelayMs;
  if (!delay_passed && unacked_bytes_ < kAckBytes) return std::nullopt;
  acked_seq_ = held;
  unacked_bytes_ = 0;
  last_ack_ms_ = now_ms;
  return encode_or_empty(AckFrame{held});
}

std::optional<int64_t> ClientSession::ack_due_ms() const {
  if (!welcomed_ || link_version_ < 2 || decoder_.position().last_seq <= acked_seq_) {
    return std::nullopt;
  }
  return last_ack_ms_ ? *last_ack_ms_ + kAckDelayMs : 0;
}

FrameBytes ClientSession::ping(uint64_t nonce) { return encode_or_empty(PingFrame{nonce}); }

FrameBytes ClientSession::bye() {
  return encode_or_empty(ByeFrame{StatusCode::kNormal, "leaving"});
}

}  // namespace tokencast
