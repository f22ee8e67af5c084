// Reads the selected ICE candidate pair out of a libwebrtc stats report.
#pragma once

#include <api/stats/rtc_stats_report.h>

#include <optional>

#include "tokencast/rtc/peer_link.hpp"

namespace tokencast::rtc_detail {

// The pair named by the transport's selectedCandidatePairId (or, failing that, a nominated
// succeeded pair); nullopt when the report names none.
std::optional<CandidatePath> selected_path(const webrtc::RTCStatsReport& report);

}  // namespace tokencast::rtc_detail
