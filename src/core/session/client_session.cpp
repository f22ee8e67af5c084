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
  HelloFrame hello{hello_version_, decoder_.position().last_seq, name_};
  if (hello_version_ >= kRelayVersion && host_key_) hello.relay_capacity = relay_capacity_;
  return encode_or_empty(hello);
}

FrameBytes ClientSession::parent_hello() {
  parent_link_ = true;
  RelayHelloFrame hello{kRelayVersion, 0, {}};
  const Seq held = decoder_.position().last_seq;
  if (verifier_ && verifier_->verified().index == held) {
    hello.last_index = held;
    hello.chain_hash = verifier_->verified().chain;
  } else if (held > 0) {
    hello.last_index = held;  // events without a chain position: the hash stays all zero
  } else if (session_ && host_key_) {
    hello.chain_hash = relay_chain_genesis(*session_, *host_key_);
  }
  return encode_or_empty(hello);
}

std::optional<RelayPosition> ClientSession::relay_verified() const {
  if (!verifier_) return std::nullopt;
  return verifier_->verified();
}

void ClientSession::set_link_lost() {
  welcomed_ = false;
  link_version_ = 0;
  relay_link_ = false;
  parent_link_ = false;
  awaiting_anchor_ = false;
  // Records received but not yet covered by a signature are dropped; the next parent sends
  // them again after the verified position.
  if (verifier_ && session_) {
    const RelayPosition verified = verifier_->verified();  // emplace destroys the old one first
    verifier_.emplace(*session_, *host_key_, verified);
  }
}

Expected<std::vector<ClientEvent>, std::error_code> ClientSession::receive_relay(
    std::span<const uint8_t> bytes) {
  if (!welcomed_ || !relay_link_ || !session_ || !host_key_) {
    return unexpected(make_error_code(FrameError::kUnexpectedFrame));
  }
  std::vector<ClientEvent> out;
  if (awaiting_anchor_) {
    // The first relay frame vouches for the position this client resumes from.
    // The host anchors exactly at the last sequence held; a relay parent at the newest
    // signed index at or below it (the records up to the sequence held are verified, not
    // applied again).
    auto anchored = RelayVerifier::from_anchor(*session_, *host_key_, bytes);
    if (!anchored) return unexpected(anchored.error());
    const uint64_t at = anchored->verified().index;
    const Seq held = decoder_.position().last_seq;
    if (parent_link_ ? (at == 0 || at > held) : at != held) {
      return unexpected(make_error_code(RelayError::kOutOfOrder));
    }
    verifier_.emplace(std::move(*anchored));
    awaiting_anchor_ = false;
    return out;
  }
  auto released = verifier_->accept(bytes);
  if (!released) return unexpected(released.error());
  unacked_bytes_ += bytes.size();
  for (const VerifiedRecord& record : *released) {
    // Held already: a relay parent anchored this client below its last sequence.
    if (parent_link_ && record.index <= decoder_.position().last_seq) continue;
    // Index = sequence: a record is the frame a level peer gets for that event.
    if (record.index != decoder_.position().last_seq + 1) {
      return unexpected(make_error_code(FrameError::kSequenceGap));
    }
    auto frame = decoder_.decode(record.payload);
    if (!frame) return unexpected(frame.error());
    auto* events = std::get_if<EventsFrame>(&*frame);
    if (events == nullptr || decoder_.position().last_seq != record.index) {
      return unexpected(make_error_code(FrameError::kUnexpectedFrame));
    }
    for (auto& event : events->events) {
      transcript_.apply(event);
      out.push_back(Applied{std::move(event)});
    }
  }
  return out;
}

Expected<std::vector<ClientEvent>, std::error_code> ClientSession::receive(
    std::span<const uint8_t> bytes) {
  if (!bytes.empty() && bytes[0] >= kRelayRecordType && bytes[0] <= kRelayCheckpointType) {
    return receive_relay(bytes);
  }
  if (parent_link_ && !bytes.empty()) {
    // A relay forwards the host's signed records only: besides them it may welcome, answer
    // pings, report and say bye. Checked before decoding (events would move the position).
    const auto type = static_cast<FrameType>(bytes[0]);
    if (type != FrameType::kRelayWelcome && type != FrameType::kPong && type != FrameType::kError &&
        type != FrameType::kBye) {
      return unexpected(make_error_code(FrameError::kUnexpectedFrame));
    }
  }
  auto frame = decoder_.decode(bytes);
  if (!frame) return unexpected(frame.error());
  std::vector<ClientEvent> out;
  if (std::holds_alternative<RelayIntroFrame>(*frame) ||
      std::holds_alternative<RelayCandidateFrame>(*frame) ||
      std::holds_alternative<RelayRouteFrame>(*frame) ||
      std::holds_alternative<RelayRoutedFrame>(*frame)) {
    return unexpected(make_error_code(FrameError::kUnexpectedFrame));
  }
  if (const auto* relay_welcome = std::get_if<RelayWelcomeFrame>(&*frame)) {
    return on_relay_welcome(*relay_welcome);
  }
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
    relay_link_ = welcome->relay_stream && host_key_.has_value();
    awaiting_anchor_ = false;
    if (relay_link_) {
      const Seq held = decoder_.position().last_seq;
      if (verifier_ && verifier_->verified().index == held) {
        // Resuming what this client verified itself: the host's anchor must match it.
        const RelayPosition verified = verifier_->verified();
        verifier_.emplace(welcome->session_id, *host_key_, verified);
      } else if (held == 0) {
        verifier_.emplace(welcome->session_id, *host_key_);
      } else {
        verifier_.reset();
        awaiting_anchor_ = true;
      }
    } else if (welcome->relay_stream) {
      return unexpected(make_error_code(FrameError::kUnexpectedFrame));
    }
    out.push_back(Welcomed{welcome->role, welcome->peer, welcome->head_seq, resumed});
  } else if (const auto* error = std::get_if<ErrorFrame>(&*frame)) {
    // A host older than this client: say hello one version lower from the next link on (a
    // version 2 host keeps acks; a version 1 host refuses once more).
    if (error->code == StatusCode::kUnsupportedVersion && !welcomed_ && !parent_link_ &&
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

Expected<std::vector<ClientEvent>, std::error_code> ClientSession::on_relay_welcome(
    const RelayWelcomeFrame& welcome) {
  if (welcomed_ || !parent_link_ || !host_key_) {
    return unexpected(make_error_code(FrameError::kUnexpectedFrame));
  }
  if (session_ && *session_ != welcome.session_id) {
    return unexpected(make_error_code(ClientError::kWrongSession));
  }
  const Seq held = decoder_.position().last_seq;
  const bool resumed = session_.has_value() || held > 0;
  // A child that was never welcomed takes the session id from its relay: the host's checkpoint
  // signatures bind it, so a wrong one fails verification.
  session_ = welcome.session_id;
  role_ = PeerRole::kViewer;
  welcomed_ = true;
  link_version_ = welcome.version;
  relay_link_ = true;
  awaiting_anchor_ = false;
  unacked_bytes_ = 0;
  // The same choice parent_hello() made for this link.
  if (verifier_ && verifier_->verified().index == held) {
    const RelayPosition verified = verifier_->verified();
    verifier_.emplace(welcome.session_id, *host_key_, verified);
  } else if (held == 0) {
    verifier_.emplace(welcome.session_id, *host_key_);
  } else {
    verifier_.reset();
    awaiting_anchor_ = true;
  }
  return std::vector<ClientEvent>{Welcomed{PeerRole::kViewer, 0, welcome.head_index, resumed}};
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
  // A relay parent paces its children by their send buffers: no acks to it.
  if (!welcomed_ || parent_link_ || link_version_ < 2 || held <= acked_seq_) return std::nullopt;
  const bool delay_passed = !last_ack_ms_ || now_ms - *last_ack_ms_ >= kAckDelayMs;
  if (!delay_passed && unacked_bytes_ < kAckBytes) return std::nullopt;
  acked_seq_ = held;
  unacked_bytes_ = 0;
  last_ack_ms_ = now_ms;
  return encode_or_empty(AckFrame{held});
}

std::optional<int64_t> ClientSession::ack_due_ms() const {
  if (!welcomed_ || parent_link_ || link_version_ < 2 ||
      decoder_.position().last_seq <= acked_seq_) {
    return std::nullopt;
  }
  return last_ack_ms_ ? *last_ack_ms_ + kAckDelayMs : 0;
}

FrameBytes ClientSession::ping(uint64_t nonce) { return encode_or_empty(PingFrame{nonce}); }

FrameBytes ClientSession::bye() {
  return encode_or_empty(ByeFrame{StatusCode::kNormal, "leaving"});
}

}  // namespace tokencast
