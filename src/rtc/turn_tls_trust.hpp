// Trust for TURN servers' TLS certificates (turns: URLs) beyond libwebrtc's built-in roots,
// which are all it checks against and which no option extends: a TURN server with a private
// CA (or a self-signed certificate) is otherwise unreachable over TLS.
//
// libwebrtc calls a PeerConnection's SSLCertificateVerifier for each certificate of the chain
// that OpenSSL could not verify; a certificate accepted here stands as verified. libwebrtc
// still checks afterwards that the server's certificate names the TURN host.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "rtc_base/ssl_certificate.h"
#include "tokencast/core/expected.hpp"

namespace tokencast::rtc_internal {

class TurnTlsTrust final : public rtc::SSLCertificateVerifier {
 public:
  // `pem`: one or more PEM certificates. An error (a message for people) when it holds none or
  // one does not parse.
  static Expected<std::unique_ptr<TurnTlsTrust>, std::string> from_pem(std::string_view pem);
  ~TurnTlsTrust() override;

  // True when `certificate` is within its validity period and is one of the trusted
  // certificates, or is issued and signed by one of them.
  bool Verify(const rtc::SSLCertificate& certificate) override;

 private:
  struct Anchors;
  explicit TurnTlsTrust(std::unique_ptr<Anchors> anchors);
  std::unique_ptr<Anchors> anchors_;
};

}  // namespace tokencast::rtc_internal
