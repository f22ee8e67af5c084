// UDP sockets for libwebrtc's ports that do not each hold a 64 KB read buffer, nor make two
// system calls per datagram that a data channel has no use for.
//
// The libwebrtc this build links (tg_owt) gives every AsyncUDPSocket a 64 KB buffer of its own
// for reading datagrams. A peer connection has one UDP socket per local address family and
// network (2-3 on a machine with IPv4 and IPv6), and a host has one peer connection per viewer:
// heaptrack showed these buffers as the largest single cost of a viewer in the host (64 KB x
// 2.5 sockets of heap per viewer, fanout_bench). Every socket is read on the network thread,
// one read at a time, and the packet is handed on synchronously before the next read, so one
// buffer per thread serves them all (newer libwebrtc reads into a shared, growable buffer too).
// Debian's libwebrtc is built with DCHECKs on, which gives AsyncPacketSocket (constructed by the
// library, subclassed here) a sequence checker with state; the headers must see the same
// layout, or the library's constructor writes past this class (valgrind showed it). Only this
// file subclasses a libwebrtc class that holds one.
#ifndef DCHECK_ALWAYS_ON
#define DCHECK_ALWAYS_ON 1
#endif

#include "udp_sockets.hpp"

#include <rtc_base/async_packet_socket.h>
#include <rtc_base/network/sent_packet.h>
#include <rtc_base/socket.h>
#include <rtc_base/time_utils.h>
#include <sys/socket.h>

#include <array>
#include <memory>

#include "tokencast/core/log.hpp"

namespace tokencast::rtc_internal {
namespace {

// The largest UDP payload: nothing a socket reads is cut short.
constexpr size_t kMaxDatagram = size_t{64} * 1024;

class SharedBufferUdpSocket final : public ::rtc::AsyncPacketSocket {
 public:
  // `socket` is bound: its address no longer changes, so it is asked for once.
  explicit SharedBufferUdpSocket(std::unique_ptr<::rtc::Socket> socket)
      : socket_(std::move(socket)), local_(socket_->GetLocalAddress()) {
    socket_->SignalReadEvent.connect(this, &SharedBufferUdpSocket::on_read);
    socket_->SignalWriteEvent.connect(this, &SharedBufferUdpSocket::on_write);
  }

  // libwebrtc asks for it on every packet sent (for the sent-packet info); the socket's own
  // answer is a getsockname() system call each time.
  ::rtc::SocketAddress GetLocalAddress() const override { return local_; }
  ::rtc::SocketAddress GetRemoteAddress() const override { return socket_->GetRemoteAddress(); }

  int Send(const void* data, size_t size, const ::rtc::PacketOptions& options) override {
    ::rtc::SentPacket sent(options.packet_id, ::rtc::TimeMillis(),
                           options.info_signaled_after_sent);
    ::rtc::CopySocketInformationToPacketInfo(size, *this, false, &sent.info);
    const int result = socket_->Send(data, size);
    SignalSentPacket(this, sent);
    return result;
  }

  int SendTo(const void* data, size_t size, const ::rtc::SocketAddress& to,
             const ::rtc::PacketOptions& options) override {
    ::rtc::SentPacket sent(options.packet_id, ::rtc::TimeMillis(),
                           options.info_signaled_after_sent);
    ::rtc::CopySocketInformationToPacketInfo(size, *this, true, &sent.info);
    const int result = socket_->SendTo(data, size, to);
    SignalSentPacket(this, sent);
    return result;
  }

  int Close() override { return socket_->Close(); }
  State GetState() const override { return STATE_BOUND; }
  int GetOption(::rtc::Socket::Option option, int* value) override {
    return socket_->GetOption(option, value);
  }
  int SetOption(::rtc::Socket::Option option, int value) override {
    return socket_->SetOption(option, value);
  }
  int GetError() const override { return socket_->GetError(); }
  void SetError(int error) override { socket_->SetError(error); }

 private:
  void on_read(::rtc::Socket* /*socket*/) {
    // Sockets are read on their socket server's thread only (the network thread).
    thread_local std::unique_ptr<std::array<char, kMaxDatagram>> buffer =
        std::make_unique<std::array<char, kMaxDatagram>>();
    ::rtc::SocketAddress from;
    // No kernel timestamp: asking for one costs an ioctl(SIOCGSTAMP) per datagram, and only
    // media (RTP arrival times) would use it; data channels never do.
    const int size = socket_->RecvFrom(buffer->data(), buffer->size(), &from, nullptr);
    // An error is usually an ICMP unreachable for an earlier send: ICE expects those.
    if (size <= 0) return;
    const int64_t now_us = ::rtc::TimeMicros();
    SignalReadPacket(this, buffer->data(), static_cast<size_t>(size), from, now_us);
  }
  void on_write(::rtc::Socket* /*socket*/) { SignalReadyToSend(this); }

  std::unique_ptr<::rtc::Socket> socket_;
  const ::rtc::SocketAddress local_;
};

// Binds to the address, or to the first free port in [min_port, max_port] when a range is set.
int bind_in_range(::rtc::Socket& socket, const ::rtc::SocketAddress& local, uint16_t min_port,
                  uint16_t max_port) {
  if (min_port == 0 && max_port == 0) return socket.Bind(local);
  int result = -1;
  for (uint32_t port = min_port; result < 0 && port <= max_port; ++port) {
    result = socket.Bind(::rtc::SocketAddress(local.ipaddr(), static_cast<int>(port)));
  }
  return result;
}

}  // namespace

::rtc::AsyncPacketSocket* UdpSocketFactory::CreateUdpSocket(
    const ::rtc::SocketAddress& local_address, uint16_t min_port, uint16_t max_port) {
  std::unique_ptr<::rtc::Socket> socket(sockets_->CreateSocket(local_address.family(), SOCK_DGRAM));
  if (!socket) return nullptr;
  if (bind_in_range(*socket, local_address, min_port, max_port) < 0) {
    log::debug("rtc", "cannot bind a UDP socket for ICE");
    return nullptr;
  }
  if (socket->SetOption(::rtc::Socket::OPT_RCVBUF, kUdpReceiveBuffer) != 0) {
    log::debug("rtc", "could not enlarge a UDP receive buffer");
  }
  return new SharedBufferUdpSocket(std::move(socket));
}

}  // namespace tokencast::rtc_internal
