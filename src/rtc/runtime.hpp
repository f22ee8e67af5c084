// Private to src/rtc: the libwebrtc side of RtcRuntime.
#pragma once

#include <api/peer_connection_interface.h>
#include <api/scoped_refptr.h>
#include <rtc_base/thread.h>

#include <memory>

#include "tokencast/rtc/peer_link.hpp"

namespace tokencast {

struct RtcRuntime::Impl {
  Impl();
  ~Impl();

  // True on one of the runtime's own threads (where it must not be destroyed: joining itself).
  bool is_own_thread() const;

  // Sockets, ICE, DTLS, SCTP, and also libwebrtc's "signaling" thread (the PeerConnection API,
  // data channels, callbacks). One thread for both: in this libwebrtc every data channel send
  // made on the signaling thread is a blocking call into the network thread, two context
  // switches per message per peer, which dominated the host's cost of fanning a token out.
  std::unique_ptr<::rtc::Thread> network;
  std::unique_ptr<::rtc::Thread> worker;  // media work; idle without a media engine
  ::rtc::Thread* signaling() const { return network.get(); }
  ::rtc::scoped_refptr<webrtc::PeerConnectionFactoryInterface> factory;  // null if creation failed
};

// Points libwebrtc's log at tokencast::log with a threshold that follows log::level().
void sync_webrtc_log_level();

}  // namespace tokencast
