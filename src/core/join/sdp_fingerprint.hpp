// Extraction of the DTLS certificate fingerprint from an SDP (RFC 8122 "a=fingerprint:").
// The handshake puts both peers' fingerprints in the transcript the host signs, so the
// rendezvous cannot swap a certificate without breaking the signature. Internal to src/core.
#pragma once

#include <string_view>

#include "tokencast/core/expected.hpp"
#include "tokencast/core/handshake.hpp"

namespace tokencast {

enum class SdpFingerprintError {
  kMissing = 1,      // no a=fingerprint line
  kMalformed,        // an a=fingerprint line not of the form "sha-256 XX:XX:...:XX" (32 bytes)
  kUnsupportedHash,  // a fingerprint with another hash function than sha-256
  kConflicting,      // several a=fingerprint lines that are not all identical
};

// Finds every line that starts with "a=fingerprint:" (lines end in CRLF or LF) and requires
// each to be exactly "a=fingerprint:sha-256 " followed by 32 colon-separated hex pairs (either
// case; the hash name is case-insensitive), and all of them to name the same fingerprint.
// WebRTC stacks (Chrome, Firefox, libwebrtc) emit exactly this.
Expected<DtlsFingerprint, SdpFingerprintError> extract_sdp_fingerprint(std::string_view sdp);

}  // namespace tokencast
