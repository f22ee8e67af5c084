#include "tokencast/nats/nats_bus.hpp"

#include <nats/nats.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>

namespace tokencast::nats {

namespace {

using rendezvous::ClusterBus;

constexpr size_t kMaxUrls = 16;
constexpr size_t kMaxUrlLength = 255;
// Message delivery threads shared by every subscription (a room is one subscription: a thread
// per subscription, libnats' default, would be a thread per room). Each subscription stays on
// one thread, so its messages keep their order.
constexpr int kDeliveryThreads = 2;

std::string status_text(natsStatus s) { return natsStatus_GetText(s); }

// What libnats' callbacks reach: outlives the connection (freed after its closed callback).
struct Shared {
  std::mutex mu;
  std::condition_variable cv;
  bool closed = false;
  // Held while the status handler runs, so that replacing it (on_status(nullptr) when its
  // owner goes away) waits for a call in flight.
  std::mutex status_mu;
  ClusterBus::StatusHandler status;  // guarded by status_mu
  std::function<void(std::string_view)> log;

  std::atomic<bool> closing{false};  // the owner is closing: a disconnect is no news

  void report(bool connected, const char* line) {
    if (closing) return;
    if (log) log(line);
    std::lock_guard lock(status_mu);
    if (status) status(connected);
  }
};

void on_disconnected(natsConnection*, void* closure) {
  static_cast<Shared*>(closure)->report(false, "nats: disconnected; reconnecting");
}
void on_reconnected(natsConnection*, void* closure) {
  static_cast<Shared*>(closure)->report(true, "nats: reconnected");
}
void on_connected(natsConnection*, void* closure) {
  static_cast<Shared*>(closure)->report(true, "nats: connected");
}
void on_closed(natsConnection*, void* closure) {
  auto* shared = static_cast<Shared*>(closure);
  std::lock_guard lock(shared->mu);
  shared->closed = true;
  shared->cv.notify_all();
}

// One subscription's handler. The message callback holds `mu` while the handler runs, so
// unsubscribe(), which clears `alive` under it, returns only once no handler runs.
struct SubState {
  std::recursive_mutex mu;
  bool alive = true;
  ClusterBus::Handler handler;
};

void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto& state = **static_cast<std::shared_ptr<SubState>*>(closure);
  {
    std::lock_guard lock(state.mu);
    if (state.alive) {
      const auto* data = reinterpret_cast<const uint8_t*>(natsMsg_GetData(msg));
      const auto size = static_cast<size_t>(natsMsg_GetDataLength(msg));
      state.handler(std::span<const uint8_t>(data, size));
    }
  }
  natsMsg_Destroy(msg);
}

void on_subscription_complete(void* closure) {
  delete static_cast<std::shared_ptr<SubState>*>(closure);
}

class NatsBus final : public ClusterBus {
 public:
  NatsBus(natsConnection* nc, natsOptions* opts, std::unique_ptr<Shared> shared)
      : nc_(nc), opts_(opts), shared_(std::move(shared)) {}

  ~NatsBus() override {
    std::map<uint64_t, Sub> subs;
    {
      std::lock_guard lock(subs_mu_);
      subs.swap(subs_);
    }
    for (auto& [id, sub] : subs) close_subscription(sub);
    shared_->closing = true;
    natsConnection_Close(nc_);
    {
      // The closed callback is the last one libnats makes with `shared_`.
      std::unique_lock lock(shared_->mu);
      shared_->cv.wait_for(lock, std::chrono::seconds(5), [this] { return shared_->closed; });
    }
    natsConnection_Destroy(nc_);
    natsOptions_Destroy(opts_);
  }

  void publish(const std::string& subject, std::span<const uint8_t> message) override {
    natsConnection_Publish(nc_, subject.c_str(), message.data(), static_cast<int>(message.size()));
  }

  uint64_t subscribe(const std::string& subject, Handler handler) override {
    auto state = std::make_shared<SubState>();
    state->handler = std::move(handler);
    auto* closure = new std::shared_ptr<SubState>(state);
    natsSubscription* sub = nullptr;
    if (natsConnection_Subscribe(&sub, nc_, subject.c_str(), on_message, closure) != NATS_OK) {
      delete closure;
      return 0;
    }
    if (natsSubscription_SetOnCompleteCB(sub, on_subscription_complete, closure) != NATS_OK) {
      // Without the callback the closure cannot be freed safely; it stays (a few bytes).
    }
    std::lock_guard lock(subs_mu_);
    const uint64_t id = next_id_++;
    subs_.emplace(id, Sub{sub, std::move(state)});
    return id;
  }

  void unsubscribe(uint64_t id) override {
    Sub sub;
    {
      std::lock_guard lock(subs_mu_);
      auto it = subs_.find(id);
      if (it == subs_.end()) return;
      sub = std::move(it->second);
      subs_.erase(it);
    }
    close_subscription(sub);
  }

  bool connected() const override {
    return natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED;
  }

  void on_status(StatusHandler handler) override {
    std::lock_guard lock(shared_->status_mu);
    shared_->status = std::move(handler);
  }

 private:
  struct Sub {
    natsSubscription* sub = nullptr;
    std::shared_ptr<SubState> state;
  };

  static void close_subscription(Sub& sub) {
    {
      std::lock_guard lock(sub.state->mu);
      sub.state->alive = false;
    }
    natsSubscription_Unsubscribe(sub.sub);
    natsSubscription_Destroy(sub.sub);
  }

  natsConnection* nc_;
  natsOptions* opts_;
  std::unique_ptr<Shared> shared_;
  std::mutex subs_mu_;
  std::map<uint64_t, Sub> subs_;
  uint64_t next_id_ = 1;
};

bool printable(std::string_view s) {
  for (char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> validate_nats_urls(const std::vector<std::string>& urls) {
  if (urls.empty()) return "no NATS URL given";
  if (urls.size() > kMaxUrls) return "at most " + std::to_string(kMaxUrls) + " NATS URLs";
  for (const auto& url : urls) {
    std::string_view rest = url;
    if (rest.starts_with("nats://")) {
      rest.remove_prefix(7);
    } else if (rest.starts_with("tls://")) {
      rest.remove_prefix(6);
    } else {
      return "NATS URL must start with nats:// or tls:// (got '" + std::string(url.substr(0, 64)) +
             "')";
    }
    if (url.size() > kMaxUrlLength || !printable(url)) return "invalid NATS URL";
    if (auto at = rest.rfind('@'); at != std::string_view::npos) {
      return "put NATS credentials in --nats-token-file or --nats-creds, not in the URL";
    }
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size()) {
      return "NATS URL needs HOST:PORT (e.g. nats://127.0.0.1:4222)";
    }
  }
  return std::nullopt;
}

Expected<std::shared_ptr<ClusterBus>, std::string> connect_nats(NatsOptions options) {
  if (auto problem = validate_nats_urls(options.urls)) return unexpected(*problem);
  if (!options.token.empty() && !options.credentials_file.empty()) {
    return unexpected(std::string("give a NATS token or a credentials file, not both"));
  }
  nats_SetMessageDeliveryPoolSize(kDeliveryThreads);
  natsOptions* opts = nullptr;
  if (natsOptions_Create(&opts) != NATS_OK) return unexpected(std::string("nats: out of memory"));
  auto shared = std::make_unique<Shared>();
  shared->log = options.log;
  std::vector<const char*> urls;
  for (const auto& url : options.urls) urls.push_back(url.c_str());
  natsStatus s = natsOptions_SetServers(opts, urls.data(), static_cast<int>(urls.size()));
  if (s == NATS_OK) s = natsOptions_SetName(opts, options.name.c_str());
  if (s == NATS_OK) s = natsOptions_SetNoEcho(opts, true);
  if (s == NATS_OK) s = natsOptions_UseGlobalMessageDelivery(opts, true);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);  // forever
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 250);
  // A dead server is noticed within ~4 s even without a TCP reset.
  if (s == NATS_OK) s = natsOptions_SetPingInterval(opts, 2000);
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(opts, 2);
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, 2000);
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts, on_disconnected, shared.get());
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(opts, on_reconnected, shared.get());
  if (s == NATS_OK) s = natsOptions_SetClosedCB(opts, on_closed, shared.get());
  if (s == NATS_OK) s = natsOptions_SetRetryOnFailedConnect(opts, true, on_connected, shared.get());
  if (s == NATS_OK && !options.token.empty()) s = natsOptions_SetToken(opts, options.token.c_str());
  if (s == NATS_OK && !options.credentials_file.empty()) {
    s = natsOptions_SetUserCredentialsFromFiles(opts, options.credentials_file.c_str(), nullptr);
  }
  if (s != NATS_OK) {
    natsOptions_Destroy(opts);
    return unexpected("nats: bad options: " + status_text(s));
  }
  natsConnection* nc = nullptr;
  s = natsConnection_Connect(&nc, opts);
  if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
    if (nc != nullptr) natsConnection_Destroy(nc);
    natsOptions_Destroy(opts);
    return unexpected("nats: cannot connect: " + status_text(s));
  }
  if (s == NATS_NOT_YET_CONNECTED && options.log) {
    options.log("nats: no server answers yet; retrying in the background");
  }
  return std::shared_ptr<ClusterBus>(std::make_shared<NatsBus>(nc, opts, std::move(shared)));
}

}  // namespace tokencast::nats
