#include "ice_flags.hpp"

#include <cstdlib>

#include "bounded_file.hpp"

namespace tokencast::app {

void IceFlags::declare(util::CliArgs& cli) {
  cli.multi("--stun", "URL", &stun, "a STUN server, e.g. stun:stun.example.net:3478 (repeatable)");
  cli.multi("--turn", "URL", &turn,
            "a TURN server, e.g. turn:turn.example.net:3478?transport=udp (repeatable); the "
            "credential comes from TOKENCAST_TURN_CREDENTIAL");
  cli.option("--turn-user", "NAME", &turn_user, "the TURN username");
  cli.option("--turn-ca", "FILE", &turn_ca,
             "trust the PEM certificates in FILE for turns: servers (a private CA or a "
             "self-signed TURN certificate), beside the built-in roots; the name is still checked");
  cli.flag("--relay-only", &relay_only,
           "connect through a TURN relay only, never directly (needs a TURN server: --turn, or "
           "one the rendezvous hands out)");
}

Expected<std::vector<IceServer>, std::string> IceFlags::servers() const {
  std::vector<IceServer> servers;
  if (!stun.empty()) servers.push_back(IceServer{stun, "", ""});
  if (!turn.empty()) {
    const char* credential = std::getenv("TOKENCAST_TURN_CREDENTIAL");
    if (turn_user.empty() || credential == nullptr || *credential == '\0') {
      return unexpected(
          std::string("--turn needs --turn-user and the credential in TOKENCAST_TURN_CREDENTIAL"));
    }
    servers.push_back(IceServer{turn, turn_user, credential});
  }
  if (auto valid = validate_ice_servers(servers); !valid) return unexpected(valid.error().message);
  return servers;
}

Expected<std::string, std::string> IceFlags::turn_ca_pem() const {
  if (turn_ca.empty()) return std::string();
  constexpr size_t kMaxBytes = 1 << 20;  // a CA bundle is a few hundred KB at most
  auto pem = read_bounded_file(turn_ca, kMaxBytes);
  if (!pem) {
    return unexpected(pem.error() == BoundedReadError::kTooLarge
                          ? "--turn-ca: " + turn_ca + " is larger than 1 MiB"
                          : "--turn-ca: cannot read " + turn_ca);
  }
  if (auto valid = validate_turn_tls_ca(*pem); !valid) {
    return unexpected("--turn-ca: " + turn_ca + ": " + valid.error().message);
  }
  return std::move(*pem);
}

}  // namespace tokencast::app
