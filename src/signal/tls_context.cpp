#include "tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/ip/address.hpp>
#include <filesystem>
#include <fstream>
#include <optional>

namespace tokencast::rendezvous {

namespace ssl = boost::asio::ssl;

namespace {

// Why a file cannot be used before OpenSSL tries it: clearer than OpenSSL's own text.
std::optional<std::string> unreadable(const std::string& what, const std::string& path) {
  if (path.empty()) return what + " file not given";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return what + " file '" + path + "' does not exist";
  if (!std::filesystem::is_regular_file(path, ec)) {
    return what + " file '" + path + "' is not a regular file";
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return what + " file '" + path + "' cannot be read (permissions?)";
  return std::nullopt;
}

std::string openssl_reason(const boost::system::error_code& ec) {
  // ERR_reason_error_string-based text; it names the check, never the key's bytes.
  std::string text = ec.message();
  ERR_clear_error();
  return text;
}

}  // namespace

Expected<std::unique_ptr<ssl::context>, std::string> make_server_tls_context(
    const std::string& cert_file, const std::string& key_file) {
  if (auto problem = unreadable("TLS certificate", cert_file)) return unexpected(*problem);
  if (auto problem = unreadable("TLS key", key_file)) return unexpected(*problem);
  auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use);
  boost::system::error_code ec;
  context->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    return unexpected("TLS certificate file '" + cert_file +
                      "' holds no usable PEM certificate: " + openssl_reason(ec));
  }
  context->use_private_key_file(key_file, ssl::context::pem, ec);
  const bool mismatch =
      ec && ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH;
  if (ec && !mismatch) {
    return unexpected("TLS key file '" + key_file +
                      "' holds no usable PEM private key: " + openssl_reason(ec));
  }
  if (mismatch || SSL_CTX_check_private_key(context->native_handle()) != 1) {
    ERR_clear_error();
    return unexpected("TLS key file '" + key_file + "' does not match the certificate in '" +
                      cert_file + "'");
  }
  return context;
}

Expected<std::unique_ptr<ssl::context>, std::string> make_client_tls_context(
    const std::string& ca_file) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  context->set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  if (ca_file.empty()) {
    context->set_default_verify_paths(ec);
    if (ec) return unexpected("cannot load the system's CA certificates: " + openssl_reason(ec));
  } else {
    if (auto problem = unreadable("CA", ca_file)) return unexpected(*problem);
    context->load_verify_file(ca_file, ec);
    if (ec) {
      return unexpected("CA file '" + ca_file +
                        "' holds no PEM certificate: " + openssl_reason(ec));
    }
  }
  return context;
}

bool expect_server_name(TransportStream::TlsLayer& tls, const std::string& host) {
  SSL* ssl = tls.native_handle();
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  if (!ec) {
    // An IP address: checked against the certificate's IP subjectAltNames; no SNI for it.
    return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1;
  }
  if (SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) return false;
  return SSL_set1_host(ssl, host.c_str()) == 1;
}

TlsFailure describe_tls_failure(TransportStream::TlsLayer& tls, boost::system::error_code ec) {
  TlsFailure out;
  long verify = SSL_get_verify_result(tls.native_handle());
  if (verify != X509_V_OK) {
    out.certificate_rejected = true;
    out.text = std::string("TLS certificate verification failed: ") +
               X509_verify_cert_error_string(verify);
  } else {
    out.text = "TLS handshake failed: " + ec.message();
  }
  ERR_clear_error();
  return out;
}

}  // namespace tokencast::rendezvous
