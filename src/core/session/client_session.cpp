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
  return encode_or_empty(HelloFrame{kProtocolVersion, decoder_.position().last_seq, name_});
}

Expected<std::vector<ClientEvent>, std::error_code> ClientSession::receive(
    std::span<const uint8_t> bytes) {
  auto frame = decoder_.decode(bytes);
  if (!frame) return unexpected(frame.error());
  std::vector<ClientEvent> out;
  if (auto* events = std::get_if<EventsFrame>(&*frame)) {
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
    out.push_back(Welcomed{welcome->role, welcome->peer, welcome->head_seq, resumed});
  } else if (const auto* error = std::get_if<ErrorFrame>(&*frame)) {
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

FrameBytes ClientSession::ping(uint64_t nonce) { return encode_or_empty(PingFrame{nonce}); }

FrameBytes ClientSession::bye() {
  return encode_or_empty(ByeFrame{StatusCode::kNormal, "leaving"});
}

}  // namespace tokencast
