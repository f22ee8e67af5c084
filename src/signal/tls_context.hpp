// TLS set-up for the rendezvous: the server's context (certificate chain + key), the client's
// (peer verification against the system's CA store or one CA file), hostname checks, and
// failure descriptions that name the cause.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <string>

#include "tokencast/core/expected.hpp"
#include "transport_stream.hpp"

namespace tokencast::rendezvous {

// Loads a PEM certificate chain and its private key; fails with a sentence naming the file
// and the problem (missing, unreadable, not PEM, key does not match the certificate).
// Never puts key material in the message.
Expected<std::unique_ptr<boost::asio::ssl::context>, std::string> make_server_tls_context(
    const std::string& cert_file, const std::string& key_file);

// A client context that verifies the server's chain: against `ca_file` (PEM, one or more CA
// certificates) when given, else the system's default CA store.
Expected<std::unique_ptr<boost::asio::ssl::context>, std::string> make_client_tls_context(
    const std::string& ca_file);

// Sets SNI (for names) and the name or IP address the server's certificate must carry.
// Returns false when OpenSSL refuses the settings.
bool expect_server_name(TransportStream::TlsLayer& tls, const std::string& host);

// For a failed client handshake: "certificate verify failed: <cause>" when the certificate was
// rejected (untrusted issuer, name mismatch, expired...), else the TLS error text.
struct TlsFailure {
  bool certificate_rejected = false;
  std::string text;
};
TlsFailure describe_tls_failure(TransportStream::TlsLayer& tls, boost::system::error_code ec);

}  // namespace tokencast::rendezvous
