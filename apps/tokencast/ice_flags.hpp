// ICE server flags shared by `host` and `join`. The TURN credential is read from the
// environment (TOKENCAST_TURN_CREDENTIAL), never from argv.
#pragma once

#include <string>
#include <vector>

#include "tokencast/rtc/peer_link.hpp"
#include "tokencast/util/cli_args.hpp"

namespace tokencast::app {

struct IceFlags {
  std::vector<std::string> stun;
  std::vector<std::string> turn;
  std::string turn_user;
  bool relay_only = false;
  std::string turn_ca;  // a PEM file

  void declare(util::CliArgs& cli);
  // The servers, or an error message for people (never containing the credential).
  Expected<std::vector<IceServer>, std::string> servers() const;
  // The --turn-ca file's certificates (empty without the flag), or an error message.
  Expected<std::string, std::string> turn_ca_pem() const;
};

}  // namespace tokencast::app
