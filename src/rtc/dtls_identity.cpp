// DtlsIdentity: one libwebrtc certificate shared by the links of one client.
#include <rtc_base/rtc_certificate.h>
#include <rtc_base/rtc_certificate_generator.h>

#include "dtls_identity_impl.hpp"
#include "runtime.hpp"
#include "tokencast/rtc/peer_link.hpp"

namespace tokencast {

Expected<DtlsIdentity, RtcError> DtlsIdentity::generate() {
  // libwebrtc logs the generation; before any runtime exists it would print to stderr.
  sync_webrtc_log_level();
  auto certificate = rtc::RTCCertificateGenerator::GenerateCertificate(
      rtc::KeyParams::ECDSA(rtc::EC_NIST_P256), absl::nullopt);
  if (!certificate) {
    return unexpected(RtcError{RtcErrc::kInternal, "cannot generate a DTLS certificate"});
  }
  return DtlsIdentity(std::make_shared<const Impl>(Impl{std::move(certificate)}));
}

}  // namespace tokencast
