// PeerLink over libwebrtc. Everything that touches libwebrtc runs on the runtime's signaling
// thread; public methods only parse, account and post. See docs/architecture/rtc.md.
#include "tokencast/rtc/peer_link.hpp"

#include <api/data_channel_interface.h>
#include <api/jsep.h>
#include <api/make_ref_counted.h>
#include <api/peer_connection_interface.h>
#include <api/set_local_description_observer_interface.h>
#include <api/set_remote_description_observer_interface.h>
#include <api/stats/rtc_stats_collector_callback.h>
#include <api/units/time_delta.h>
#include <media/sctp/sctp_transport_internal.h>
#include <rtc_base/copy_on_write_buffer.h>
#include <rtc_base/thread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "dtls_identity_impl.hpp"
#include "peer_link_internals.hpp"
#include "runtime.hpp"
#include "selected_path.hpp"
#include "tokencast/core/log.hpp"
#include "turn_tls_trust.hpp"

namespace tokencast {
namespace {

constexpr std::string_view kLog = "rtc";
// libwebrtc closes a channel whose send queue would pass 16 MiB; stay clear of it.
constexpr size_t kMaxBufferedLimit = 15 * 1024 * 1024;
// A peer that announces no max-message-size gets 65536 (RFC 8841).
constexpr size_t kMaxMessageLimit = 64 * 1024;
// Remote candidates held until the remote description is applied.
constexpr size_t kMaxPendingCandidates = 256;
// Messages one flush task hands to libwebrtc before yielding the signaling thread.
constexpr size_t kFlushBatch = 32;
// How often a lingering close() looks again, and how long the stream reset may take.
constexpr std::chrono::milliseconds kLingerPoll{20};
constexpr std::chrono::milliseconds kResetTimeout{2000};

using Clock = std::chrono::steady_clock;

Unexpected<RtcError> fail(RtcErrc code, std::string message) {
  return unexpected(RtcError{code, std::move(message)});
}

bool terminal(LinkState s) { return s == LinkState::kClosed || s == LinkState::kFailed; }

Expected<void, RtcError> validate(const LinkConfig& config) {
  if (auto ice = validate_ice_servers(config.ice_servers); !ice) return ice;
  if (config.label.empty() || config.label.size() > 65535) {
    return fail(RtcErrc::kInvalidConfig, "data channel label must be 1..65535 bytes");
  }
  if (config.max_message_size == 0 || config.max_message_size > kMaxMessageLimit) {
    return fail(RtcErrc::kInvalidConfig, "max_message_size must be 1..65536");
  }
  if (!(config.low_water < config.high_water && config.high_water <= config.max_buffered &&
        config.max_buffered <= kMaxBufferedLimit)) {
    return fail(RtcErrc::kInvalidConfig, "need low_water < high_water <= max_buffered <= 15 MiB");
  }
  if (config.max_buffered < config.max_message_size) {
    return fail(RtcErrc::kInvalidConfig, "max_buffered must hold at least one message");
  }
  if (config.connect_timeout.count() < 0) {
    return fail(RtcErrc::kInvalidConfig, "connect_timeout must not be negative");
  }
  if (config.close_linger.count() < 0 || config.close_timeout < config.close_linger) {
    return fail(RtcErrc::kInvalidConfig, "need 0 <= close_linger <= close_timeout");
  }
  return {};
}

// The SDP attribute an error is about, without its value (an ice-pwd line is a secret).
std::string attribute_name(const std::string& line) {
  std::string name = line.substr(0, std::min(line.find(':'), line.find(' ')));
  if (name.size() > 40) name.resize(40);
  return name;
}

}  // namespace

struct PeerLink::Core final : public webrtc::PeerConnectionObserver,
                              public webrtc::DataChannelObserver,
                              public std::enable_shared_from_this<PeerLink::Core> {
  Core(NegotiationRole r, LinkConfig c, LinkCallbacks callbacks, std::shared_ptr<RtcRuntime> rt)
      : role(r),
        config(std::move(c)),
        runtime(std::move(rt)),
        signaling(runtime->impl_->signaling()),
        cb(std::move(callbacks)) {}

  ~Core() override = default;

  const NegotiationRole role;
  const LinkConfig config;
  const std::shared_ptr<RtcRuntime> runtime;  // outlives every Core
  ::rtc::Thread* const signaling;

  // ---- shared with callers' threads; guarded by mu --------------------------------------
  mutable std::mutex mu;
  std::deque<::rtc::CopyOnWriteBuffer> outbox;  // accepted by send(), not yet given to libwebrtc
  bool flush_posted = false;
  bool accepting = true;  // false once close() was called or the link ended
  size_t buffered = 0;    // bytes accepted by send() and not yet handed to SCTP
  bool want_drain = false;
  std::string local_sdp;
  std::string remote_sdp;
  // ---- atomics, written on the signaling thread (except close_requested) -----------------
  std::atomic<LinkState> state{LinkState::kNew};
  std::atomic<bool> remote_given{false};
  std::atomic<bool> close_requested{false};
  std::atomic<bool> path_found{false};  // ICE connected at least once

  // ---- signaling thread only --------------------------------------------------------------
  LinkCallbacks cb;
  ::rtc::scoped_refptr<webrtc::PeerConnectionInterface> pc;
  ::rtc::scoped_refptr<webrtc::DataChannelInterface> dc;
  bool detached = false;  // the PeerLink is gone: no callback may run any more
  // A GetStats request is in flight. Its network half is a task queued on this same thread
  // (signaling and network are one thread here), and PeerConnection::Close() waits for that
  // half: closing now would wait forever. So the close waits for the report instead, holding
  // the core alive until then (signaling thread only).
  bool stats_pending = false;
  std::shared_ptr<Core> close_after_stats;
  bool ended = false;  // the terminal state event was emitted
  bool closing_locally = false;
  bool reset_started = false;
  std::string close_reason;
  Clock::time_point close_started{};
  Clock::time_point last_handoff{};  // the last time libwebrtc handed bytes to SCTP
  bool remote_applied = false;
  std::vector<std::unique_ptr<webrtc::IceCandidateInterface>> pending_candidates;
  std::string turn_error;  // the last TURN server failure (allocation refused, unreachable)

  // Runs f(*this) on the signaling thread unless the link has been detached by then.
  template <class F>
  void post(F&& f) {
    signaling->PostTask([self = shared_from_this(), f = std::forward<F>(f)]() mutable {
      if (!self->detached) f(*self);
    });
  }

  template <class Fn, class... Args>
  void emit(const Fn& fn, Args&&... args) {
    if (!detached && fn) fn(std::forward<Args>(args)...);
  }

  // ---- setup and teardown (signaling thread) -----------------------------------------------

  Expected<void, RtcError> init_s() {
    webrtc::PeerConnectionInterface::RTCConfiguration rtc_config;
    rtc_config.sdp_semantics = webrtc::SdpSemantics::kUnifiedPlan;
    rtc_config.type = config.relay_only ? webrtc::PeerConnectionInterface::kRelay
                                        : webrtc::PeerConnectionInterface::kAll;
    rtc_config.bundle_policy = webrtc::PeerConnectionInterface::kBundlePolicyMaxBundle;
    // Each TCP host candidate is a listening socket with its own buffers: ~12 KB RSS and
    // ~130 KB of heap per connection. UDP (and TURN) is what peers on a LAN or behind NATs use.
    rtc_config.tcp_candidate_policy =
        config.tcp_candidates ? webrtc::PeerConnectionInterface::kTcpCandidatePolicyEnabled
                              : webrtc::PeerConnectionInterface::kTcpCandidatePolicyDisabled;
    for (const IceServer& server : config.ice_servers) {
      webrtc::PeerConnectionInterface::IceServer s;
      s.urls = server.urls;
      s.username = server.username;
      s.password = server.credential;
      rtc_config.servers.push_back(std::move(s));
    }
    if (config.identity) rtc_config.certificates.push_back(config.identity->impl().certificate);
    auto& factory = runtime->impl_->factory;
    if (!factory) return fail(RtcErrc::kInternal, "no peer connection factory");
    webrtc::PeerConnectionDependencies dependencies(this);
    if (!config.turn_tls_ca_pem.empty()) {
      auto trust = rtc_internal::TurnTlsTrust::from_pem(config.turn_tls_ca_pem);
      if (!trust)
        return fail(RtcErrc::kInvalidConfig, "the TURN CA certificates: " + trust.error());
      dependencies.tls_cert_verifier = std::move(*trust);
    }
    auto created = factory->CreatePeerConnectionOrError(rtc_config, std::move(dependencies));
    if (!created.ok()) {
      return fail(RtcErrc::kInternal,
                  std::string("cannot create the peer connection: ") + created.error().message());
    }
    pc = created.MoveValue();
    if (role == NegotiationRole::kOfferer) {
      webrtc::DataChannelInit init;  // reliable, ordered, negotiated in-band (DCEP)
      init.ordered = true;
      auto channel = pc->CreateDataChannelOrError(config.label, &init);
      if (!channel.ok()) {
        return fail(RtcErrc::kInternal,
                    std::string("cannot create the data channel: ") + channel.error().message());
      }
      dc = channel.MoveValue();
      dc->RegisterObserver(this);
    }
    return {};
  }

  void close_pc_s() {
    if (dc) {
      dc->UnregisterObserver();
      dc = nullptr;
    }
    if (pc && stats_pending) {
      close_after_stats = shared_from_this();  // closed when the report arrives
      return;
    }
    if (pc) {
      auto closing = std::move(pc);
      closing->Close();  // after Close() returns libwebrtc never calls this observer again
    }
  }

  // The PeerLink is being destroyed. Never called from inside a libwebrtc callback.
  void teardown_s() {
    detached = true;
    close_pc_s();
    pending_candidates.clear();
    {
      std::lock_guard lock(mu);
      accepting = false;
      outbox.clear();
      buffered = 0;
    }
    cb = LinkCallbacks{};  // release what the application captured, here, on this thread
  }

  // The one terminal state event; then the peer connection is closed (outside libwebrtc's
  // stack, since this is often called from one of its callbacks).
  void end_s(LinkState final_state, CloseCause cause, std::string reason, bool no_path = false) {
    if (ended) return;
    ended = true;
    state.store(final_state, std::memory_order_release);
    {
      std::lock_guard lock(mu);
      accepting = false;
      outbox.clear();
      buffered = 0;
      want_drain = false;
    }
    if (log::enabled(log::Level::kDebug)) {
      log::debug(kLog, std::string("link ") + std::string(to_string(final_state)) + " (" +
                           std::string(to_string(cause)) + "): " + reason);
    }
    emit(cb.on_state, LinkEvent{final_state, cause, std::move(reason), no_path});
    signaling->PostTask([self = shared_from_this()] { self->close_pc_s(); });
  }

  // ---- negotiation (signaling thread) ------------------------------------------------------

  class LocalSet : public webrtc::SetLocalDescriptionObserverInterface {
   public:
    explicit LocalSet(std::weak_ptr<Core> core) : core_(std::move(core)) {}
    void OnSetLocalDescriptionComplete(webrtc::RTCError error) override {
      if (auto core = core_.lock()) core->on_local_set_s(error);
    }

   private:
    std::weak_ptr<Core> core_;
  };

  class RemoteSet : public webrtc::SetRemoteDescriptionObserverInterface {
   public:
    explicit RemoteSet(std::weak_ptr<Core> core) : core_(std::move(core)) {}
    void OnSetRemoteDescriptionComplete(webrtc::RTCError error) override {
      if (auto core = core_.lock()) core->on_remote_set_s(error);
    }

   private:
    std::weak_ptr<Core> core_;
  };

  void set_local_s() {
    if (!pc || ended) return;
    // Implicit SetLocalDescription: creates the offer or answer that fits the signaling state.
    pc->SetLocalDescription(::rtc::make_ref_counted<LocalSet>(weak_from_this()));
  }

  void on_local_set_s(const webrtc::RTCError& error) {
    if (detached || ended || !pc) return;
    if (!error.ok()) {
      end_s(LinkState::kFailed, CloseCause::kNegotiation,
            std::string("local description failed: ") + error.message());
      return;
    }
    const webrtc::SessionDescriptionInterface* description = pc->local_description();
    std::string sdp;
    if (!description || !description->ToString(&sdp)) {
      end_s(LinkState::kFailed, CloseCause::kNegotiation, "no local description to send");
      return;
    }
    {
      std::lock_guard lock(mu);
      local_sdp = sdp;
    }
    emit(cb.on_local_description, sdp);
  }

  void set_remote_s(std::unique_ptr<webrtc::SessionDescriptionInterface> description) {
    if (!pc || ended) return;
    pc->SetRemoteDescription(std::move(description),
                             ::rtc::make_ref_counted<RemoteSet>(weak_from_this()));
  }

  void on_remote_set_s(const webrtc::RTCError& error) {
    if (detached || ended || !pc) return;
    if (!error.ok()) {
      end_s(LinkState::kFailed, CloseCause::kNegotiation,
            std::string("remote description rejected: ") + error.message());
      return;
    }
    remote_applied = true;
    auto held = std::move(pending_candidates);
    pending_candidates.clear();
    for (auto& candidate : held) add_candidate_s(std::move(candidate));
  }

  void add_candidate_s(std::unique_ptr<webrtc::IceCandidateInterface> candidate) {
    if (!pc || ended) return;
    if (!remote_applied) {
      if (pending_candidates.size() >= kMaxPendingCandidates) {
        log::warn(kLog, "too many early remote candidates; dropping one");
        return;
      }
      pending_candidates.push_back(std::move(candidate));
      return;
    }
    pc->AddIceCandidate(std::move(candidate), [](webrtc::RTCError error) {
      if (!error.ok()) {
        log::warn(kLog, std::string("remote candidate not added: ") + error.message());
      }
    });
  }

  // ---- sending ------------------------------------------------------------------------------

  // Any thread.
  SendResult send(std::span<const uint8_t> message) {
    if (message.size() > config.max_message_size) return SendResult::kRefusedTooLarge;
    const LinkState s = state.load(std::memory_order_acquire);
    if (terminal(s)) return SendResult::kClosed;
    if (s != LinkState::kOpen) return SendResult::kNotOpen;
    ::rtc::CopyOnWriteBuffer buffer(message.data(), message.size());
    SendResult result = SendResult::kSent;
    bool post_flush = false;
    {
      std::lock_guard lock(mu);
      if (!accepting) return SendResult::kClosed;
      if (buffered + message.size() > config.max_buffered) {
        want_drain = true;
        return SendResult::kRefusedFull;
      }
      buffered += message.size();
      outbox.push_back(std::move(buffer));
      if (buffered > config.high_water) {
        want_drain = true;
        result = SendResult::kSentOverHighWater;
      }
      post_flush = !flush_posted;
      flush_posted = true;
    }
    // Batched with the other links' flushes asked for meanwhile (one network-thread task).
    if (post_flush) {
      runtime->impl_->post_batched([self = shared_from_this()] {
        if (!self->detached) self->flush_s();
      });
    }
    return result;
  }

  // Hands queued messages to the data channel, in order. Called in our own tasks only, never
  // from inside a libwebrtc callback. Each message runs SCTP, DTLS and a sendto() inside
  // libwebrtc, so one task hands over at most kFlushBatch messages and re-posts itself:
  // other links, negotiation and teardown interleave instead of waiting behind a long queue.
  // all = true (closing) hands over everything at once.
  void flush_s(bool all = false) {
    std::vector<::rtc::CopyOnWriteBuffer> batch;
    bool more = false;
    {
      std::lock_guard lock(mu);
      const size_t n = all ? outbox.size() : std::min(outbox.size(), kFlushBatch);
      batch.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(outbox.front()));
        outbox.pop_front();
      }
      more = !outbox.empty();
      flush_posted = more;
    }
    for (auto& message : batch) {
      const size_t size = message.size();
      // On success libwebrtc reports the bytes through OnBufferedAmountChange, at once or when
      // SCTP takes them from its queue. Send() is false only when the channel is not open.
      const bool handed = dc && !ended && dc->Send(webrtc::DataBuffer(message, /*binary=*/true));
      if (!handed) {
        std::lock_guard lock(mu);
        buffered -= std::min(buffered, size);
      }
    }
    if (more) post([](Core& core) { core.flush_s(); });
  }

  void OnBufferedAmountChange(uint64_t sent_data_size) override {
    last_handoff = Clock::now();
    bool drained = false;
    {
      std::lock_guard lock(mu);
      buffered -= std::min<size_t>(buffered, sent_data_size);
      if (want_drain && buffered <= config.low_water) {
        want_drain = false;
        drained = true;
      }
    }
    if (drained) emit(cb.on_drain);
  }

  // ---- closing ------------------------------------------------------------------------------

  // close(): stop accepting (done by the caller), hand everything accepted to libwebrtc, let
  // SCTP transmit it, then reset the stream (the peer sees the channel close), then close the
  // peer connection. The stream reset of this libwebrtc (dcSCTP, January 2023) DISCARDS messages
  // still waiting in SCTP's own send queue, and that queue is not observable. So the reset waits
  // until libwebrtc's queue is empty and nothing has been handed to SCTP for close_linger (time
  // for SCTP to put it on the wire), or until close_timeout has passed since close().
  void close_s(std::string reason) {
    if (ended || closing_locally) return;
    closing_locally = true;
    close_reason = std::move(reason);
    close_started = Clock::now();
    flush_s(/*all=*/true);  // what send() accepted before close() goes first
    maybe_reset_s();
  }

  void maybe_reset_s() {
    if (ended || detached || reset_started) return;
    if (!dc || dc->state() != webrtc::DataChannelInterface::kOpen) {
      end_s(LinkState::kClosed, CloseCause::kLocal, close_reason);  // nothing to shut gracefully
      return;
    }
    const auto now = Clock::now();
    const auto hard_deadline = close_started + config.close_timeout;
    const auto quiet_at = last_handoff + config.close_linger;
    if ((dc->buffered_amount() == 0 && now >= quiet_at) || now >= hard_deadline) {
      reset_s();
      return;
    }
    auto wait = std::min(hard_deadline, std::max(quiet_at, now + kLingerPoll)) - now;
    signaling->PostDelayedTask(
        [weak = weak_from_this()] {
          if (auto self = weak.lock()) self->maybe_reset_s();
        },
        webrtc::TimeDelta::Millis(std::chrono::ceil<std::chrono::milliseconds>(wait).count()));
  }

  void reset_s() {
    reset_started = true;
    dc->Close();  // stream reset; the peer's channel closes, then ours (OnStateChange)
    if (ended) return;
    signaling->PostDelayedTask(
        [weak = weak_from_this()] {
          auto self = weak.lock();
          if (self && !self->detached && !self->ended) {
            self->end_s(LinkState::kClosed, CloseCause::kLocal,
                        self->close_reason + " (closing handshake timed out)");
          }
        },
        webrtc::TimeDelta::Millis(kResetTimeout.count()));
  }

  // ---- PeerConnectionObserver (signaling thread) ---------------------------------------

  void OnSignalingChange(webrtc::PeerConnectionInterface::SignalingState) override {}

  void OnDataChannel(::rtc::scoped_refptr<webrtc::DataChannelInterface> channel) override {
    if (detached || ended) return;
    const bool wanted =
        role == NegotiationRole::kAnswerer && !dc && channel->label() == config.label;
    if (!wanted) {
      log::warn(kLog, "closing an unexpected data channel from the peer");
      signaling->PostTask([channel] { channel->Close(); });
      return;
    }
    if (!channel->ordered() || !channel->reliable()) {
      signaling->PostTask([channel] { channel->Close(); });
      end_s(LinkState::kFailed, CloseCause::kNegotiation,
            "the peer's data channel is not reliable and ordered");
      return;
    }
    dc = std::move(channel);
    dc->RegisterObserver(this);  // delivers messages that arrived before, if any
    OnStateChange();
  }

  void OnIceGatheringChange(webrtc::PeerConnectionInterface::IceGatheringState s) override {
    if (s == webrtc::PeerConnectionInterface::kIceGatheringComplete) {
      emit(cb.on_local_candidates_done);
    }
  }

  void OnIceCandidate(const webrtc::IceCandidateInterface* candidate) override {
    if (detached || ended || !candidate) return;
    IceCandidate out;
    out.sdp_mid = candidate->sdp_mid();
    out.mline_index = static_cast<uint16_t>(std::max(0, candidate->sdp_mline_index()));
    if (!candidate->ToString(&out.candidate)) return;
    emit(cb.on_local_candidate, out);
  }

  void OnConnectionChange(webrtc::PeerConnectionInterface::PeerConnectionState s) override {
    using PCS = webrtc::PeerConnectionInterface::PeerConnectionState;
    if (detached || ended) return;
    switch (s) {
      case PCS::kConnecting:
        if (state.load() == LinkState::kNew) {
          state.store(LinkState::kConnecting, std::memory_order_release);
          emit(cb.on_state, LinkEvent{LinkState::kConnecting, CloseCause::kNone, ""});
        }
        break;
      case PCS::kDisconnected:
        log::debug(kLog, "peer connection disconnected (ICE may recover)");
        break;
      case PCS::kFailed:
        if (path_found.load()) {
          end_s(LinkState::kFailed, CloseCause::kTransport, "connection failed (ICE or DTLS)");
        } else {
          fail_no_path_s("ICE found no working path to the peer");
        }
        break;
      case PCS::kNew:
      case PCS::kConnected:
      case PCS::kClosed:
        break;
    }
  }

  void OnIceConnectionChange(webrtc::PeerConnectionInterface::IceConnectionState s) override {
    if (s == webrtc::PeerConnectionInterface::kIceConnectionConnected ||
        s == webrtc::PeerConnectionInterface::kIceConnectionCompleted) {
      path_found.store(true, std::memory_order_release);
    }
  }

  void OnIceCandidateError(const std::string& address, int port, const std::string& url,
                           int error_code, const std::string& error_text) override {
    (void)address;
    (void)port;
    // The URL never holds credentials (validate_ice_servers refuses user@host).
    if (url.rfind("turn", 0) != 0) return;
    turn_error = "TURN server " + url + " failed: " + std::to_string(error_code) +
                 (error_text.empty() ? "" : " " + error_text);
    log::debug(kLog, turn_error);
  }

  // Ends the link: ICE found no candidate pair that works (NAT, firewall, TURN failure).
  void fail_no_path_s(std::string reason) {
    if (!turn_error.empty()) reason += " (" + turn_error + ")";
    end_s(LinkState::kFailed, CloseCause::kTransport, std::move(reason), true);
  }

  // Reports the selected candidate pair once the channel is open.
  class PathStats : public webrtc::RTCStatsCollectorCallback {
   public:
    explicit PathStats(std::weak_ptr<Core> core) : core_(std::move(core)) {}
    void OnStatsDelivered(
        const ::rtc::scoped_refptr<const webrtc::RTCStatsReport>& report) override {
      auto core = core_.lock();
      if (!core) return;
      core->stats_pending = false;
      if (core->close_after_stats) {
        // Outside the collector's stack: Close() must not run inside its own callback.
        core->signaling->PostTask([core] {
          core->close_after_stats.reset();
          core->close_pc_s();
        });
        return;
      }
      if (core->detached || !report) return;
      if (auto path = rtc_detail::selected_path(*report)) core->emit(core->cb.on_path, *path);
      // The collector keeps its last report (every candidate, pair and certificate: ~10 KB)
      // for as long as the connection lives; this link asks for one report only.
      if (core->pc) core->pc->ClearStatsCache();
    }

   private:
    std::weak_ptr<Core> core_;
  };

  // ---- DataChannelObserver (signaling thread) ------------------------------------------

  void OnStateChange() override {
    if (detached || ended || !dc) return;
    switch (dc->state()) {
      case webrtc::DataChannelInterface::kConnecting:
        break;
      case webrtc::DataChannelInterface::kOpen: {
        const LinkState s = state.load();
        if (s == LinkState::kNew || s == LinkState::kConnecting) {
          state.store(LinkState::kOpen, std::memory_order_release);
          emit(cb.on_state, LinkEvent{LinkState::kOpen, CloseCause::kNone, ""});
          if (cb.on_path && pc) {
            stats_pending = true;
            pc->GetStats(::rtc::make_ref_counted<PathStats>(weak_from_this()).get());
          }
        }
        break;
      }
      case webrtc::DataChannelInterface::kClosing: {
        std::lock_guard lock(mu);
        accepting = false;
        break;
      }
      case webrtc::DataChannelInterface::kClosed: {
        const webrtc::RTCError error = dc->error();
        if (closing_locally) {
          end_s(LinkState::kClosed, CloseCause::kLocal, close_reason);
        } else if (error.ok()) {
          end_s(LinkState::kClosed, CloseCause::kRemote, "the peer closed the channel");
        } else if (error.error_detail() == webrtc::RTCErrorDetailType::SCTP_FAILURE &&
                   error.sctp_cause_code() ==
                       static_cast<uint16_t>(cricket::SctpErrorCauseCode::kUserInitiatedAbort)) {
          // The peer closed its whole peer connection (SCTP ABORT, "User-Initiated Abort").
          end_s(LinkState::kClosed, CloseCause::kRemote,
                std::string("the peer closed the connection: ") + error.message());
        } else {
          end_s(LinkState::kClosed, CloseCause::kTransport,
                std::string("channel closed: ") + error.message());
        }
        break;
      }
    }
  }

  void OnMessage(const webrtc::DataBuffer& buffer) override {
    if (detached || ended) return;
    emit(cb.on_message, std::span<const uint8_t>(buffer.data.cdata(), buffer.data.size()));
  }
};

// ---- PeerLink ---------------------------------------------------------------------------------

PeerLink::PeerLink(std::shared_ptr<Core> core) : core_(std::move(core)) {}

Expected<std::unique_ptr<PeerLink>, RtcError> PeerLink::create(NegotiationRole role,
                                                               LinkConfig config,
                                                               LinkCallbacks callbacks) {
  if (auto valid = validate(config); !valid) return unexpected(valid.error());
  std::shared_ptr<RtcRuntime> runtime = RtcRuntime::instance();
  sync_webrtc_log_level();
  auto core =
      std::make_shared<Core>(role, std::move(config), std::move(callbacks), std::move(runtime));
  Expected<void, RtcError> ready = core->signaling->BlockingCall([&] {
    Expected<void, RtcError> r = core->init_s();
    if (!r) core->teardown_s();
    return r;
  });
  if (!ready) return unexpected(ready.error());
  if (core->config.connect_timeout.count() > 0) {
    core->signaling->PostDelayedTask(
        [weak = std::weak_ptr<Core>(core)] {
          auto self = weak.lock();
          if (self && !self->detached && !self->ended && self->state.load() != LinkState::kOpen) {
            std::string why = "not connected within " +
                              std::to_string(self->config.connect_timeout.count()) + " ms";
            if (self->path_found.load()) {
              self->end_s(LinkState::kFailed, CloseCause::kTransport, why);
            } else {
              self->fail_no_path_s(why + ": ICE found no working path to the peer");
            }
          }
        },
        webrtc::TimeDelta::Millis(core->config.connect_timeout.count()));
  }
  return std::unique_ptr<PeerLink>(new PeerLink(std::move(core)));
}

PeerLink::~PeerLink() {
  if (!core_) return;
  ::rtc::Thread* signaling = core_->signaling;
  if (signaling->IsCurrent()) {
    // Inside a callback (possibly this link's own): stop callbacks now, tear down after the
    // current callback has unwound.
    core_->detached = true;
    signaling->PostTask([core = std::move(core_)] { core->teardown_s(); });
  } else {
    // Waiting here means: once the destructor returns no callback of this link is running or
    // will run, so whatever the callbacks captured may be destroyed right after.
    signaling->BlockingCall([this] { core_->teardown_s(); });
    core_.reset();  // the last reference, unless a queued task still holds one
  }
}

NegotiationRole PeerLink::role() const { return core_->role; }

Expected<void, RtcError> PeerLink::create_offer() {
  if (core_->role != NegotiationRole::kOfferer) {
    return fail(RtcErrc::kWrongState, "create_offer() on an answerer");
  }
  if (terminal(core_->state.load()) || core_->close_requested.load()) {
    return fail(RtcErrc::kClosed, "link closed");
  }
  core_->post([](Core& core) { core.set_local_s(); });
  return {};
}

Expected<void, RtcError> PeerLink::set_remote_description(std::string_view sdp) {
  if (terminal(core_->state.load()) || core_->close_requested.load()) {
    return fail(RtcErrc::kClosed, "link closed");
  }
  const webrtc::SdpType type =
      core_->role == NegotiationRole::kOfferer ? webrtc::SdpType::kAnswer : webrtc::SdpType::kOffer;
  webrtc::SdpParseError error;
  std::unique_ptr<webrtc::SessionDescriptionInterface> description =
      webrtc::CreateSessionDescription(type, std::string(sdp), &error);
  if (!description) {
    std::string message = "SDP does not parse";
    if (!error.line.empty()) message += " at '" + attribute_name(error.line) + "'";
    if (!error.description.empty()) message += ": " + error.description;
    return fail(RtcErrc::kInvalidSdp, std::move(message));
  }
  {
    std::lock_guard lock(core_->mu);
    core_->remote_sdp.assign(sdp);
  }
  core_->remote_given.store(true);
  core_->post(
      [d = std::move(description)](Core& core) mutable { core.set_remote_s(std::move(d)); });
  return {};
}

Expected<void, RtcError> PeerLink::create_answer() {
  if (core_->role != NegotiationRole::kAnswerer) {
    return fail(RtcErrc::kWrongState, "create_answer() on an offerer");
  }
  if (!core_->remote_given.load()) {
    return fail(RtcErrc::kWrongState, "create_answer() before set_remote_description()");
  }
  if (terminal(core_->state.load()) || core_->close_requested.load()) {
    return fail(RtcErrc::kClosed, "link closed");
  }
  core_->post([](Core& core) { core.set_local_s(); });
  return {};
}

Expected<void, RtcError> PeerLink::add_remote_candidate(const IceCandidate& candidate) {
  if (candidate.candidate.empty()) return {};  // end-of-candidates: nothing to do
  if (terminal(core_->state.load()) || core_->close_requested.load()) {
    return fail(RtcErrc::kClosed, "link closed");
  }
  webrtc::SdpParseError error;
  std::unique_ptr<webrtc::IceCandidateInterface> parsed(webrtc::CreateIceCandidate(
      candidate.sdp_mid, candidate.mline_index, candidate.candidate, &error));
  if (!parsed) {
    std::string message = "ICE candidate does not parse";
    if (!error.description.empty()) message += ": " + error.description;
    return fail(RtcErrc::kInvalidCandidate, std::move(message));
  }
  core_->post([c = std::move(parsed)](Core& core) mutable { core.add_candidate_s(std::move(c)); });
  return {};
}

SendResult PeerLink::send(std::span<const uint8_t> message) { return core_->send(message); }

SendResult PeerLink::send(std::string_view message) {
  return core_->send(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(message.data()), message.size()));
}

void PeerLink::close(std::string reason) {
  if (core_->close_requested.exchange(true)) return;
  {
    std::lock_guard lock(core_->mu);
    core_->accepting = false;  // later sends are refused; earlier ones are still delivered
  }
  core_->post([r = std::move(reason)](Core& core) mutable { core.close_s(std::move(r)); });
}

LinkState PeerLink::state() const { return core_->state.load(std::memory_order_acquire); }

bool PeerLink::path_found() const { return core_->path_found.load(std::memory_order_acquire); }

size_t PeerLink::buffered_amount() const {
  std::lock_guard lock(core_->mu);
  return core_->buffered;
}

std::string PeerLink::local_description() const {
  std::lock_guard lock(core_->mu);
  return core_->local_sdp;
}

std::string PeerLink::remote_description() const {
  std::lock_guard lock(core_->mu);
  return core_->remote_sdp;
}

// ---- benchmark hooks ----------------------------------------------------------------------

std::function<bool(std::span<const uint8_t>)> PeerLinkInternals::direct_proxy_sender(
    PeerLink& link) {
  ::rtc::scoped_refptr<webrtc::DataChannelInterface> channel =
      link.core_->signaling->BlockingCall([&] { return link.core_->dc; });
  return [channel](std::span<const uint8_t> message) {
    if (!channel) return false;
    // Through libwebrtc's proxy: from any other thread this blocks while it hops to the
    // signaling thread, which then blocks on the network thread.
    return channel->Send(
        webrtc::DataBuffer(::rtc::CopyOnWriteBuffer(message.data(), message.size()), true));
  };
}

}  // namespace tokencast
