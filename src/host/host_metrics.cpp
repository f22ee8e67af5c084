// The host's statistics in the Prometheus text format (docs/DEPLOY.md, "Metrics").
#include <algorithm>
#include <cstdio>
#include <string>

#include "tokencast/host/host.hpp"

namespace tokencast {
namespace {

class Exposition {
 public:
  explicit Exposition(std::string session) : session_(std::move(session)) {}

  void metric(const char* name, const char* type, const char* help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  // `labels`: extra labels, already formatted ("link=\"direct\""), or empty.
  void sample(const char* name, double value, const std::string& labels = {}) {
    char number[64];
    std::snprintf(number, sizeof number, "%.10g", value);
    out_ += name;
    out_ += "{session=\"" + session_ + "\"";
    if (!labels.empty()) out_ += "," + labels;
    out_ += "} ";
    out_ += number;
    out_ += '\n';
  }
  void one(const char* name, const char* type, const char* help, double value) {
    metric(name, type, help);
    sample(name, value);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string session_;
  std::string out_;
};

// Label values here are fixed names from the code (reasons, link kinds); anything else is
// reduced to the characters a label may hold unescaped.
std::string label_value(const std::string& text) {
  std::string out;
  for (char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') out += c;
  }
  return out.empty() ? "unknown" : out;
}

}  // namespace

std::string render_host_metrics(const HostStats& s, const std::string& session_id) {
  Exposition e(label_value(session_id));
  e.metric("tokencast_host_peers", "gauge", "Peers with an open data channel, by path.");
  e.sample("tokencast_host_peers", static_cast<double>(s.peers_direct), "link=\"direct\"");
  e.sample("tokencast_host_peers", static_cast<double>(s.peers_relayed), "link=\"relayed\"");
  e.sample("tokencast_host_peers",
           static_cast<double>(s.peers - std::min(s.peers, s.peers_direct + s.peers_relayed)),
           "link=\"unknown\"");
  e.one("tokencast_host_generating", "gauge", "1 while the model writes an answer.",
        s.generating ? 1 : 0);
  e.one("tokencast_host_log_head", "counter",
        "Sequence number of the session log's newest event (its rate: events per second).",
        static_cast<double>(s.head));
  e.one("tokencast_host_log_durable", "gauge",
        "Newest event committed to the store; head - durable is the commit backlog.",
        static_cast<double>(s.durable));
  e.one("tokencast_host_store_commits_total", "counter", "Group commits to the store.",
        static_cast<double>(s.store_commits));
  e.one("tokencast_host_store_max_commit_seconds", "gauge", "Slowest store commit so far.",
        s.store_max_commit_ms / 1000.0);
  e.one("tokencast_host_prompts_queued", "gauge", "Prompts waiting for the model.",
        static_cast<double>(s.queued_prompts));
  e.one("tokencast_host_prompts_held", "gauge", "Prompts waiting for the host's approval.",
        static_cast<double>(s.held_prompts));
  e.one("tokencast_host_rendezvous_rooms_joined", "gauge",
        "Of the session's two rendezvous rooms (viewer, participant), those joined.",
        static_cast<double>(s.rooms_joined));
  e.one("tokencast_host_frames_sent_total", "counter", "Frames handed to peers' data channels.",
        static_cast<double>(s.frames_sent));
  e.one("tokencast_host_frame_bytes_sent_total", "counter", "Payload bytes of those frames.",
        static_cast<double>(s.frame_bytes_sent));
  e.one("tokencast_host_frames_received_total", "counter", "Frames received from peers.",
        static_cast<double>(s.frames_received));
  e.metric("tokencast_host_joins_total", "counter", "Join attempts by outcome.");
  e.sample("tokencast_host_joins_total", static_cast<double>(s.joins_answered),
           "outcome=\"answered\"");
  e.sample("tokencast_host_joins_total", static_cast<double>(s.links_opened), "outcome=\"opened\"");
  e.sample("tokencast_host_joins_total", static_cast<double>(s.joins_refused_full),
           "outcome=\"room_full\"");
  e.sample("tokencast_host_joins_total", static_cast<double>(s.joins_refused_removed),
           "outcome=\"removed\"");
  e.sample("tokencast_host_joins_total", static_cast<double>(s.joins_evicted),
           "outcome=\"evicted\"");
  e.sample("tokencast_host_joins_total", static_cast<double>(s.joins_timed_out),
           "outcome=\"timed_out\"");
  e.sample("tokencast_host_joins_total", static_cast<double>(s.offers_dropped_busy),
           "outcome=\"dropped_busy\"");
  e.metric("tokencast_host_join_envelopes_refused_total", "counter",
           "Join envelopes refused, by reason.");
  for (const auto& [reason, count] : s.refused) {
    e.sample("tokencast_host_join_envelopes_refused_total", static_cast<double>(count),
             "reason=\"" + label_value(reason) + "\"");
  }
  e.one("tokencast_host_join_envelopes_dropped_total", "counter",
        "Join envelopes dropped over the inbox's bounds.",
        static_cast<double>(s.envelopes_dropped));
  e.one("tokencast_host_relays", "gauge", "Viewers that relay the stream to others.",
        static_cast<double>(s.relays));
  e.one("tokencast_host_relayed_viewers", "gauge", "Viewers served by a relay.",
        static_cast<double>(s.relayed_viewers));
  e.one("tokencast_host_relay_introductions_total", "counter",
        "Viewers introduced to a relay (docs/PROTOCOL.md section 6).",
        static_cast<double>(s.relay_introductions));
  e.one("tokencast_host_relay_bypasses_total", "counter",
        "Viewers served directly after coming back from a relay that stayed.",
        static_cast<double>(s.relay_bypasses));
  return e.take();
}

}  // namespace tokencast
