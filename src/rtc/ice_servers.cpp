// ICE server list validation (RFC 7064 stun/stuns and RFC 7065 turn/turns URIs), and the
// string names of the public enums.
#include <api/peer_connection_interface.h>
#include <pc/ice_server_parsing.h>

#include <cctype>
#include <string>

#include "tokencast/rtc/peer_link.hpp"

namespace tokencast {
namespace {

Unexpected<RtcError> config_error(std::string message) {
  return unexpected(RtcError{RtcErrc::kInvalidConfig, std::move(message)});
}

bool valid_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}

bool valid_ipv6_char(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
}

// What is wrong with one URL, or "" when it is fine. `needs_credentials` is set for TURN.
std::string check_url(std::string_view url, bool& needs_credentials) {
  needs_credentials = false;
  const size_t colon = url.find(':');
  if (colon == std::string_view::npos) return "no scheme (expected stun:, stuns:, turn: or turns:)";
  std::string scheme(url.substr(0, colon));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const bool turn = scheme == "turn" || scheme == "turns";
  if (!turn && scheme != "stun" && scheme != "stuns") {
    return "unknown scheme '" + scheme + ":' (expected stun:, stuns:, turn: or turns:)";
  }
  needs_credentials = turn;
  std::string_view rest = url.substr(colon + 1);
  if (rest.starts_with("//")) return "no '//' after the scheme: write " + scheme + ":host:port";

  std::string_view query;
  if (const size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (!query.empty() || url.find('?') != std::string_view::npos) {
    if (!turn) return "a " + scheme + ": URL takes no '?' parameters";
    if (query != "transport=udp" && query != "transport=tcp") {
      return "the only parameter is ?transport=udp or ?transport=tcp";
    }
  }

  std::string_view host = rest;
  std::string_view port;
  if (rest.starts_with("[")) {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return "unterminated IPv6 address (missing ']')";
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return "unexpected text after the IPv6 address";
      port = after.substr(1);
      if (port.empty()) return "empty port";
    }
    if (host.empty()) return "empty IPv6 address";
    for (char c : host) {
      if (!valid_ipv6_char(c)) return "invalid character in the IPv6 address";
    }
  } else {
    if (const size_t c = rest.find(':'); c != std::string_view::npos) {
      host = rest.substr(0, c);
      port = rest.substr(c + 1);
      if (port.empty()) return "empty port";
    }
    if (host.empty()) return "no host";
    for (char c : host) {
      if (!valid_host_char(c)) return "invalid character in the host name";
    }
  }
  if (!port.empty()) {
    if (port.size() > 5) return "port out of range (1-65535)";
    unsigned value = 0;
    for (char c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return "port is not a number";
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return "port out of range (1-65535)";
  }
  return "";
}

}  // namespace

Expected<void, RtcError> validate_ice_servers(const std::vector<IceServer>& servers) {
  webrtc::PeerConnectionInterface::IceServers converted;
  for (size_t i = 0; i < servers.size(); ++i) {
    const IceServer& server = servers[i];
    const std::string which = "ICE server #" + std::to_string(i + 1);
    if (server.urls.empty()) return config_error(which + ": no URL");
    for (const std::string& url : server.urls) {
      if (url.find('@') != std::string::npos) {
        // Do not echo the URL: what precedes '@' is probably a password.
        return config_error(which + ": credentials go in username/credential, not in the URL");
      }
      bool needs_credentials = false;
      if (std::string problem = check_url(url, needs_credentials); !problem.empty()) {
        return config_error(which + ": bad URL '" + url + "': " + problem);
      }
      if (needs_credentials && (server.username.empty() || server.credential.empty())) {
        return config_error(which + ": '" + url + "' needs a username and a credential");
      }
    }
    webrtc::PeerConnectionInterface::IceServer s;
    s.urls = server.urls;
    s.username = server.username;
    s.password = server.credential;
    converted.push_back(std::move(s));
  }
  // libwebrtc's own parser has the last word (it is what CreatePeerConnection will apply).
  cricket::ServerAddresses stun;
  std::vector<cricket::RelayServerConfig> turn;
  webrtc::RTCError error = webrtc::ParseIceServersOrError(converted, &stun, &turn);
  if (!error.ok()) return config_error(std::string("ICE servers rejected: ") + error.message());
  return {};
}

std::vector<IceServer> usable_ice_servers(std::vector<IceServer> servers,
                                          std::vector<std::string>* problems) {
  std::vector<IceServer> usable;
  for (IceServer& server : servers) {
    if (auto valid = validate_ice_servers({server}); !valid) {
      if (problems != nullptr) problems->push_back(valid.error().message);
      continue;
    }
    usable.push_back(std::move(server));
  }
  return usable;
}

std::string_view to_string(RtcErrc code) {
  switch (code) {
    case RtcErrc::kInvalidConfig:
      return "invalid config";
    case RtcErrc::kInvalidSdp:
      return "invalid SDP";
    case RtcErrc::kInvalidCandidate:
      return "invalid ICE candidate";
    case RtcErrc::kWrongState:
      return "wrong role or order";
    case RtcErrc::kClosed:
      return "link closed";
    case RtcErrc::kInternal:
      return "internal error";
  }
  return "?";
}

std::string_view to_string(LinkState state) {
  switch (state) {
    case LinkState::kNew:
      return "new";
    case LinkState::kConnecting:
      return "connecting";
    case LinkState::kOpen:
      return "open";
    case LinkState::kClosed:
      return "closed";
    case LinkState::kFailed:
      return "failed";
  }
  return "?";
}

std::string_view to_string(CloseCause cause) {
  switch (cause) {
    case CloseCause::kNone:
      return "none";
    case CloseCause::kLocal:
      return "local";
    case CloseCause::kRemote:
      return "remote";
    case CloseCause::kTransport:
      return "transport";
    case CloseCause::kNegotiation:
      return "negotiation";
  }
  return "?";
}

std::string_view to_string(SendResult result) {
  switch (result) {
    case SendResult::kSent:
      return "sent";
    case SendResult::kSentOverHighWater:
      return "sent, over high water";
    case SendResult::kRefusedFull:
      return "refused: buffer full";
    case SendResult::kRefusedTooLarge:
      return "refused: too large";
    case SendResult::kNotOpen:
      return "refused: not open";
    case SendResult::kClosed:
      return "refused: closed";
  }
  return "?";
}

}  // namespace tokencast
