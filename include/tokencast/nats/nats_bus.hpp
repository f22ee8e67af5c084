// The cluster bus over NATS (the C client, libnats): what `tokencast rendezvous --nats` shares
// rooms through. A thin adapter: subjects and messages are the cluster wire's.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokencast/core/expected.hpp"
#include "tokencast/signal/cluster_bus.hpp"

namespace tokencast::nats {

struct NatsOptions {
  // nats://HOST:PORT (or tls://); several for a NATS cluster: the client moves to another one
  // when its server goes away.
  std::vector<std::string> urls;
  // Authentication, at most one: a token (a secret: read from a file, never from argv) or a
  // credentials file (JWT and nkey seed, as `nsc` writes them).
  std::string token;
  std::string credentials_file;
  std::string name = "tokencast-rendezvous";  // the connection name nats-server shows
  // One-line notes (connected, disconnected, reconnected); never a secret.
  std::function<void(std::string_view)> log;
};

// Checks the URLs: 1 to 16, each nats:// or tls:// with a host and port, printable ASCII.
std::optional<std::string> validate_nats_urls(const std::vector<std::string>& urls);

// Connects (waiting up to ~2 s for a first server). When none answers yet, the bus is returned
// disconnected and keeps trying in the background (connected() tells); bad options or
// credentials fail here with a message.
Expected<std::shared_ptr<rendezvous::ClusterBus>, std::string> connect_nats(NatsOptions options);

}  // namespace tokencast::nats
