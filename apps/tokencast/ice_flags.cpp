#include "ice_flags.hpp"

#include <cstdlib>

#include "bounded_file.hpp"

namespace tokencast::app {

void IceFlags::declare(util::CliArgs& cli, bool host_flags) {
  host = host_flags;
  cli.multi("--stun", "URL", &stun,
            host ? "a STUN server, e.g. stun:stun.example.net:3478 (repeatable); joiners get it "
                   "too, in the host's sealed and signed beacon"
                 : "a STUN server, e.g. stun:stun.example.net:3478 (repeatable)");
  cli.multi("--turn", "URL", &turn,
            host ? "a TURN server, e.g. turn:turn.example.net:3478?transport=udp (repeatable); "
                   "joiners get it too, in the host's sealed and signed beacon (every holder of "
                   "a link can read its credential): with --turn-user the credential comes from "
                   "TOKENCAST_TURN_CREDENTIAL; without it, each peer gets its own time-limited "
                   "one made from coturn's shared secret (--turn-secret-file)"
                 : "a TURN server, e.g. turn:turn.example.net:3478?transport=udp (repeatable); "
                   "the credential comes from TOKENCAST_TURN_CREDENTIAL");
  cli.option("--turn-user", "NAME", &turn_user, "the TURN username (a long-term credential)");
  if (host) {
    cli.option("--turn-secret-file", "FILE", &turn_secret_file,
               "coturn's static-auth-secret (use-auth-secret) in FILE, or in "
               "TOKENCAST_TURN_SECRET: --turn servers then get a fresh credential for every "
               "peer, valid for --turn-ttl");
    cli.option("--turn-ttl", "SECONDS", &turn_ttl,
               "how long a credential made from the TURN secret is valid (default 3600; "
               "60..604800): at least as long as a viewer should stay connected");
  }
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
  if (!turn.empty() && !(host && turn_user.empty())) {
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

Expected<rendezvous::IceGrant, std::string> IceFlags::turn_grant() const {
  rendezvous::IceGrant grant;
  if (!host || turn.empty() || !turn_user.empty()) return grant;
  auto secret = read_secret(turn_secret_file, "TOKENCAST_TURN_SECRET");
  if (!secret || secret->empty()) {
    return unexpected(std::string(
        "--turn needs --turn-user (with TOKENCAST_TURN_CREDENTIAL) or coturn's shared secret in "
        "TOKENCAST_TURN_SECRET or a readable, non-empty --turn-secret-file (at most 4096 bytes)"));
  }
  char* end = nullptr;
  unsigned long long ttl = std::strtoull(turn_ttl.c_str(), &end, 10);
  if (end == turn_ttl.c_str() || *end != '\0' || ttl < 60 || ttl > 7 * 86400) {
    return unexpected(std::string("--turn-ttl must be 60..604800 seconds"));
  }
  grant.turn_urls = turn;
  grant.turn_secret = std::move(*secret);
  grant.turn_ttl_seconds = ttl;
  // The URLs must be ones libwebrtc takes (a sample credential of the minted shape).
  std::vector<IceServer> sample{IceServer{turn, "1:0123456789abcdef", "x"}};
  if (auto valid = validate_ice_servers(sample); !valid) return unexpected(valid.error().message);
  return grant;
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
