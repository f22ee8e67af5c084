// What a DtlsIdentity holds: libwebrtc's certificate (kept out of the public header).
#pragma once

#include <api/scoped_refptr.h>
#include <rtc_base/rtc_certificate.h>

#include "tokencast/rtc/peer_link.hpp"

namespace tokencast {

struct DtlsIdentity::Impl {
  rtc::scoped_refptr<rtc::RTCCertificate> certificate;
};

}  // namespace tokencast
