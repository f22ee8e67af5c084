// The UDP sockets libwebrtc's ports send and receive on (rtc's own; see udp_sockets.cpp).
#pragma once

#include <p2p/base/basic_packet_socket_factory.h>

namespace tokencast::rtc_internal {

// libwebrtc's packet socket factory with two changes to its UDP sockets:
// - a receive buffer large enough for a burst: a late joiner's catch-up (hundreds of KB at once)
//   arrives on loopback or a fast LAN faster than one network thread decrypts it; with the
//   kernel's default buffer (212 KB) the tail was dropped and only SCTP's retransmission timer
//   recovered it (catching up 100,000 tokens: ~630 ms instead of ~30 ms, bench/catchup_bench);
// - no 64 KB read buffer of their own: every socket is read on the network thread, one at a
//   time, so they share that thread's one buffer.
class UdpSocketFactory final : public ::rtc::BasicPacketSocketFactory {
 public:
  // The kernel caps it at net.core.rmem_max and uses the memory only while packets wait.
  static constexpr int kUdpReceiveBuffer = 2 * 1024 * 1024;

  explicit UdpSocketFactory(::rtc::SocketFactory* sockets)
      : BasicPacketSocketFactory(sockets), sockets_(sockets) {}

  ::rtc::AsyncPacketSocket* CreateUdpSocket(const ::rtc::SocketAddress& local_address,
                                            uint16_t min_port, uint16_t max_port) override;

 private:
  ::rtc::SocketFactory* sockets_;
};

}  // namespace tokencast::rtc_internal
