#include "turn_tls_trust.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <vector>

#include "tokencast/rtc/peer_link.hpp"

namespace tokencast::rtc_internal {
namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};

// Every certificate in `pem`, in order; empty when one does not parse.
std::vector<X509Ptr> read_certificates(std::string_view pem, bool& malformed) {
  std::vector<X509Ptr> out;
  malformed = false;
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    malformed = true;
    return out;
  }
  for (;;) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    out.push_back(std::move(cert));
  }
  // The loop ends at the end of the input (PEM_R_NO_START_LINE) or at a broken certificate.
  unsigned long error = ERR_peek_last_error();
  malformed = error != 0 && ERR_GET_REASON(error) != PEM_R_NO_START_LINE;
  ERR_clear_error();
  return out;
}

bool within_validity(X509* cert) {
  return X509_cmp_current_time(X509_get0_notBefore(cert)) < 0 &&
         X509_cmp_current_time(X509_get0_notAfter(cert)) > 0;
}

}  // namespace

struct TurnTlsTrust::Anchors {
  std::vector<X509Ptr> certificates;
};

TurnTlsTrust::TurnTlsTrust(std::unique_ptr<Anchors> anchors) : anchors_(std::move(anchors)) {}
TurnTlsTrust::~TurnTlsTrust() = default;

Expected<std::unique_ptr<TurnTlsTrust>, std::string> TurnTlsTrust::from_pem(std::string_view pem) {
  bool malformed = false;
  auto anchors = std::make_unique<Anchors>();
  anchors->certificates = read_certificates(pem, malformed);
  if (malformed) return unexpected(std::string("a certificate in it does not parse"));
  if (anchors->certificates.empty()) return unexpected(std::string("it holds no PEM certificate"));
  return std::unique_ptr<TurnTlsTrust>(new TurnTlsTrust(std::move(anchors)));
}

bool TurnTlsTrust::Verify(const rtc::SSLCertificate& certificate) {
  // The certificate crosses libwebrtc's API as PEM: no OpenSSL object is shared with it.
  bool malformed = false;
  auto presented = read_certificates(certificate.ToPEMString(), malformed);
  if (malformed || presented.size() != 1) return false;
  X509* cert = presented.front().get();
  if (!within_validity(cert)) return false;
  return std::ranges::any_of(anchors_->certificates, [cert](const X509Ptr& anchor) {
    if (X509_cmp(anchor.get(), cert) == 0) return true;
    if (X509_check_issued(anchor.get(), cert) != X509_V_OK) return false;
    EVP_PKEY* key = X509_get0_pubkey(anchor.get());
    return key != nullptr && X509_verify(cert, key) == 1 && within_validity(anchor.get());
  });
}

}  // namespace tokencast::rtc_internal

namespace tokencast {

Expected<void, RtcError> validate_turn_tls_ca(std::string_view pem) {
  auto trust = rtc_internal::TurnTlsTrust::from_pem(pem);
  if (!trust) return unexpected(RtcError{RtcErrc::kInvalidConfig, trust.error()});
  return {};
}

}  // namespace tokencast
