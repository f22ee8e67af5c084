// Private to src/rtc: the libwebrtc side of RtcRuntime.
#pragma once

#include <api/peer_connection_interface.h>
#include <api/scoped_refptr.h>
#include <rtc_base/thread.h>

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

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

  // Any thread: runs `task` on the network thread in one task with every other task batched
  // since that task was posted, in the order they were batched. PeerLink hands its queued
  // messages to libwebrtc this way: a token fanned out to N links in one burst wakes the network
  // thread once (one eventfd write, one epoll return, one task) instead of N times.
  void post_batched(std::function<void()> task);

 private:
  void run_batched();

  std::mutex batch_mu;
  std::vector<std::function<void()>> batch;  // guarded by batch_mu
  bool batch_posted = false;                 // guarded by batch_mu
};

// Points libwebrtc's log at tokencast::log with a threshold that follows log::level().
void sync_webrtc_log_level();

}  // namespace tokencast
