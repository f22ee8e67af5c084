// The message bus that rendezvous instances share rooms through (NATS: tokencast/nats/nats_bus.hpp
// implements it). Subjects and messages are the cluster wire's (tokencast/signal/cluster_wire.hpp).
// A bus delivers each subscriber the messages of one publisher in the order they were published;
// it may drop messages while disconnected (the cluster resynchronises on reconnect).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

namespace tokencast::rendezvous {

class ClusterBus {
 public:
  using Handler = std::function<void(std::span<const uint8_t> message)>;
  // true: (re)connected; false: the connection to the bus is lost (it keeps trying).
  using StatusHandler = std::function<void(bool connected)>;

  virtual ~ClusterBus() = default;
  // Fire and forget; a message published while disconnected may be lost.
  virtual void publish(const std::string& subject, std::span<const uint8_t> message) = 0;
  // Handlers run on the bus' own threads, one message at a time per subscription. Returns an id
  // for unsubscribe(), or 0 when the subscription could not be made.
  virtual uint64_t subscribe(const std::string& subject, Handler handler) = 0;
  // After it returns, the handler of `id` is not running and will not run again.
  virtual void unsubscribe(uint64_t id) = 0;
  virtual bool connected() const = 0;
  // Replaces the status handler (null: none). Returns once a call of the previous one in flight
  // has ended, so its owner may go away after on_status(nullptr).
  virtual void on_status(StatusHandler handler) = 0;
};

}  // namespace tokencast::rendezvous
