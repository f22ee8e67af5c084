// ICE server flags shared by `host` and `join`. The TURN credential is read from the
// environment (TOKENCAST_TURN_CREDENTIAL), never from argv.
#pragma once

#include <string>
#include <vector>

#include "tokencast/rtc/peer_link.hpp"
#include "tokencast/turn_credentials.hpp"
#include "tokencast/util/cli_args.hpp"

namespace tokencast::app {

struct IceFlags {
  std::vector<std::string> stun;
  std::vector<std::string> turn;
  std::string turn_user;
  bool relay_only = false;
  std::string turn_ca;  // a PEM file
  // host only: coturn's shared secret, for credentials minted per peer (TurnGrant)
  std::string turn_secret_file;
  std::string turn_ttl = "3600";
  bool host = false;

  // `host`: also --turn-secret-file and --turn-ttl.
  void declare(util::CliArgs& cli, bool host_flags = false);
  // The servers, or an error message for people (never containing the credential). A host
  // given no --turn-user keeps its --turn URLs for turn_grant() instead.
  Expected<std::vector<IceServer>, std::string> servers() const;
  // host: the --turn URLs with coturn's shared secret (none when --turn-user is given).
  Expected<rendezvous::IceGrant, std::string> turn_grant() const;
  // The --turn-ca file's certificates (empty without the flag), or an error message.
  Expected<std::string, std::string> turn_ca_pem() const;
};

}  // namespace tokencast::app
