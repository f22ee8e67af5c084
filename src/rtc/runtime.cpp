// RtcRuntime: the process's libwebrtc factory and threads, and the libwebrtc log bridge.
#include "runtime.hpp"

#include <api/create_peerconnection_factory.h>
#include <api/task_queue/default_task_queue_factory.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <rtc_base/logging.h>
#include <rtc_base/ssl_adapter.h>
#include <sys/socket.h>

#include <mutex>
#include <string>
#include <thread>

#include "tokencast/core/log.hpp"
#include "udp_sockets.hpp"

namespace tokencast {
namespace {

::rtc::LoggingSeverity to_webrtc(log::Level level) {
  switch (level) {
    case log::Level::kTrace:
      return ::rtc::LS_VERBOSE;
    case log::Level::kDebug:
      return ::rtc::LS_INFO;  // libwebrtc's INFO is chatty: it is debug detail for us
    case log::Level::kInfo:
    case log::Level::kWarn:
      return ::rtc::LS_WARNING;
    case log::Level::kError:
      return ::rtc::LS_ERROR;
    case log::Level::kOff:
      return ::rtc::LS_NONE;
  }
  return ::rtc::LS_NONE;
}

log::Level from_webrtc(::rtc::LoggingSeverity severity) {
  switch (severity) {
    case ::rtc::LS_VERBOSE:
      return log::Level::kTrace;
    case ::rtc::LS_INFO:
      return log::Level::kDebug;
    case ::rtc::LS_WARNING:
      return log::Level::kWarn;
    case ::rtc::LS_ERROR:
      return log::Level::kError;
    case ::rtc::LS_NONE:
      break;
  }
  return log::Level::kOff;
}

std::string_view trim_newline(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

class LogBridge final : public ::rtc::LogSink {
 public:
  void OnLogMessage(const ::rtc::LogLineRef& line) override {
    log::write(from_webrtc(line.severity()), "webrtc",
               trim_newline(std::string_view(line.message().data(), line.message().size())));
  }
  void OnLogMessage(const std::string& message, ::rtc::LoggingSeverity severity) override {
    log::write(from_webrtc(severity), "webrtc", trim_newline(message));
  }
  void OnLogMessage(const std::string& message) override {
    log::write(log::Level::kInfo, "webrtc", trim_newline(message));
  }
};

// True when an interface other than loopback is up with an address: peers on this machine can
// then reach us through it too.
bool has_non_loopback_network() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return false;
  bool found = false;
  for (ifaddrs* a = list; a != nullptr && !found; a = a->ifa_next) {
    if (a->ifa_addr == nullptr) continue;
    const int family = a->ifa_addr->sa_family;
    found = (family == AF_INET || family == AF_INET6) && (a->ifa_flags & IFF_UP) != 0 &&
            (a->ifa_flags & IFF_LOOPBACK) == 0;
  }
  freeifaddrs(list);
  return found;
}

}  // namespace

void sync_webrtc_log_level() {
  // Never freed: libwebrtc threads may log until the very end of the process.
  static auto* mu = new std::mutex;
  static auto* bridge = new LogBridge;
  static bool registered = false;
  static ::rtc::LoggingSeverity registered_severity = ::rtc::LS_NONE;
  static std::once_flag quiet_once;
  std::call_once(quiet_once, [] {
    // libwebrtc prints to stderr at LS_INFO by default; everything goes through the bridge.
    ::rtc::LogMessage::LogToDebug(::rtc::LS_NONE);
    ::rtc::LogMessage::SetLogToStderr(false);
    ::rtc::LogMessage::LogTimestamps(false);
    ::rtc::LogMessage::LogThreads(false);
  });

  const ::rtc::LoggingSeverity wanted = to_webrtc(log::level());
  std::lock_guard lock(*mu);
  if (registered && wanted == registered_severity) return;
  if (!registered && wanted == ::rtc::LS_NONE) return;
  if (registered) ::rtc::LogMessage::RemoveLogToStream(bridge);
  registered = wanted != ::rtc::LS_NONE;
  registered_severity = wanted;
  if (registered) ::rtc::LogMessage::AddLogToStream(bridge, wanted);
}

RtcRuntime::Impl::Impl() {
  static std::once_flag ssl_once;
  std::call_once(ssl_once, [] { ::rtc::InitializeSSL(); });

  network = ::rtc::Thread::CreateWithSocketServer();
  network->SetName("tc-rtc-network", nullptr);
  network->Start();
  worker = ::rtc::Thread::Create();
  worker->SetName("tc-rtc-worker", nullptr);
  worker->Start();

  // Data channels only: no media engine, no call factory, no event log.
  webrtc::PeerConnectionFactoryDependencies deps;
  deps.network_thread = network.get();
  deps.worker_thread = worker.get();
  deps.signaling_thread = network.get();
  deps.task_queue_factory = webrtc::CreateDefaultTaskQueueFactory();
  deps.packet_socket_factory =
      std::make_unique<rtc_internal::UdpSocketFactory>(network->socketserver());
  factory = webrtc::CreateModularPeerConnectionFactory(std::move(deps));
  if (!factory) {
    log::error("rtc", "libwebrtc refused to create the peer connection factory");
    return;
  }
  // Loopback is used only on a machine that has nothing else (a network namespace with only
  // `lo`, an offline laptop). Otherwise it is ignored, like libwebrtc's default: peers on this
  // machine still connect through its other addresses, and each peer connection saves the
  // loopback ports and candidate pairs, ~50 KB (256 -> 206 KB, bench/rtc_setup_bench).
  webrtc::PeerConnectionFactoryInterface::Options options;
  options.network_ignore_mask = has_non_loopback_network() ? ::rtc::ADAPTER_TYPE_LOOPBACK : 0;
  options.crypto_options.srtp.enable_aes128_sha1_80_crypto_cipher = false;
  options.crypto_options.srtp.enable_gcm_crypto_suites = true;
  factory->SetOptions(options);
}

RtcRuntime::Impl::~Impl() {
  factory = nullptr;  // the factory proxy destroys it on the signaling thread
  worker.reset();     // Thread's destructor stops and joins
  network.reset();
}

void RtcRuntime::Impl::post_batched(std::function<void()> task) {
  {
    std::lock_guard lock(batch_mu);
    batch.push_back(std::move(task));
    if (batch_posted) return;  // the posted task has not taken the batch yet: it runs this too
    batch_posted = true;
  }
  network->PostTask([this] { run_batched(); });
}

// The network thread outlives every task posted to it (~Impl stops it first), and `this`
// outlives the network thread.
void RtcRuntime::Impl::run_batched() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(batch_mu);
    tasks.swap(batch);
    batch_posted = false;  // what is batched from now on needs a task of its own
  }
  for (auto& task : tasks) task();
}

bool RtcRuntime::Impl::is_own_thread() const {
  return (worker && worker->IsCurrent()) || (network && network->IsCurrent());
}

RtcRuntime::RtcRuntime() : impl_(std::make_unique<Impl>()) {}

RtcRuntime::~RtcRuntime() {
  if (impl_ && impl_->is_own_thread()) {
    // The last reference went away on one of our own threads (for example a link destroyed from
    // inside its callback while nobody else held the runtime). A thread cannot join itself: shut
    // down from a helper thread instead.
    log::warn("rtc", "runtime released on its own thread; shutting down from a helper thread");
    std::thread([impl = std::move(impl_)]() mutable { impl.reset(); }).detach();
  }
}

std::shared_ptr<RtcRuntime> RtcRuntime::instance() {
  static auto* mu = new std::mutex;
  static auto* current = new std::weak_ptr<RtcRuntime>;
  std::lock_guard lock(*mu);
  if (auto live = current->lock()) return live;
  sync_webrtc_log_level();
  std::shared_ptr<RtcRuntime> created(new RtcRuntime());
  *current = created;
  return created;
}

void RtcRuntime::refresh_log_level() { sync_webrtc_log_level(); }

}  // namespace tokencast
