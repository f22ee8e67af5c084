#include "selected_path.hpp"

#include <api/stats/rtcstats_objects.h>

namespace tokencast {

std::string describe(const CandidatePath& path) {
  return "local=" + path.local_type + "/" + path.local_protocol + " remote=" + path.remote_type +
         "/" + path.remote_protocol;
}

namespace rtc_detail {
namespace {

std::string text_of(const webrtc::RTCStatsMember<std::string>& member) {
  return member.is_defined() ? *member : std::string("?");
}

const webrtc::RTCIceCandidatePairStats* chosen_pair(const webrtc::RTCStatsReport& report) {
  for (const auto* transport : report.GetStatsOfType<webrtc::RTCTransportStats>()) {
    if (!transport->selected_candidate_pair_id.is_defined()) continue;
    if (const auto* pair = report.GetAs<webrtc::RTCIceCandidatePairStats>(
            *transport->selected_candidate_pair_id)) {
      return pair;
    }
  }
  for (const auto* pair : report.GetStatsOfType<webrtc::RTCIceCandidatePairStats>()) {
    if (pair->nominated.is_defined() && *pair->nominated && pair->state.is_defined() &&
        *pair->state == "succeeded") {
      return pair;
    }
  }
  return nullptr;
}

}  // namespace

std::optional<CandidatePath> selected_path(const webrtc::RTCStatsReport& report) {
  const auto* pair = chosen_pair(report);
  if (pair == nullptr || !pair->local_candidate_id.is_defined() ||
      !pair->remote_candidate_id.is_defined()) {
    return std::nullopt;
  }
  const auto* local = report.GetAs<webrtc::RTCLocalIceCandidateStats>(*pair->local_candidate_id);
  const auto* remote = report.GetAs<webrtc::RTCRemoteIceCandidateStats>(*pair->remote_candidate_id);
  if (local == nullptr || remote == nullptr) return std::nullopt;
  CandidatePath path;
  path.local_type = text_of(local->candidate_type);
  path.local_protocol = text_of(local->protocol);
  // A relay candidate's own protocol is always the relay's UDP side; what matters is how we
  // reach the TURN server.
  if (path.local_type == "relay" && local->relay_protocol.is_defined()) {
    path.local_protocol = *local->relay_protocol;
  }
  path.remote_type = text_of(remote->candidate_type);
  path.remote_protocol = text_of(remote->protocol);
  return path;
}

}  // namespace rtc_detail
}  // namespace tokencast
