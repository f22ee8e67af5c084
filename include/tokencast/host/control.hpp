// The presenter view's moderation API (docs/SECURITY.md "Presenter control"): a small HTTP
// server on 127.0.0.1 only, on a random port, answering only requests that carry this run's
// fresh 32-byte token (hex, in the X-Tokencast-Control header). The token reaches the presenter
// page in its URL fragment, never in a query string, argv or a log.
//
//   GET  /v1/room     {"approve": bool, "peers": [{"name", "role"}], "held": [{"id", "author",
//   "text"}]} POST /v1/remove   {"name": "..."}   removes a present peer (HostRuntime::kick) POST
//   /v1/accept   {"id": N}         lets a held prompt through (HostRuntime::approve_prompt) POST
//   /v1/reject   {"id": N}         declines it (HostRuntime::decline_prompt)
//
// Every answer is JSON. Refused: a request without the token or with another (401), one whose
// Origin is not the presenter page's or whose Host is not this server's address (403), one
// from a non-loopback address (403), bodies over 1 KiB and headers over 8 KiB.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "tokencast/core/expected.hpp"

namespace tokencast {

class HostRuntime;

class ControlServer {
 public:
  // Serves `host` (which must outlive the server) on 127.0.0.1, a random port. `page_origin`
  // is the only origin allowed to call it from a browser ("http://192.0.2.1:8787"), the origin
  // of the presenter page.
  static Expected<std::unique_ptr<ControlServer>, std::string> start(HostRuntime& host,
                                                                     std::string page_origin);
  ~ControlServer();  // stops serving; waits for the request in progress
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  uint16_t port() const;
  // 64 lowercase hex digits: the capability to moderate. Keep it out of argv and logs.
  const std::string& token() const;
  // What the presenter URL's fragment carries after the viewer payload: "control=PORT.TOKEN".
  std::string fragment() const;

  // The origin (scheme://host[:port], lowercase, no default port) of an http(s) URL, such as
  // a viewer link; empty when it has none.
  static std::string origin_of(const std::string& url);

  struct Impl;

 private:
  explicit ControlServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tokencast
