// A session's conversation rebuilt from its events: what `export`, the native client and the
// tests compare. Text deltas are joined as bytes, so a UTF-8 character split across deltas is
// whole again in the turn's text.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tokencast/core/events.hpp"

namespace tokencast {

struct TranscriptTurn {
  TurnId turn = 0;
  TurnRole role = TurnRole::kAssistant;
  std::string author;
  std::string text;      // raw bytes as streamed; may hold invalid UTF-8 from a hostile source
  std::string thinking;  // the model's reasoning before its text (same byte rules)
  bool ended = false;
  TurnEnd end = TurnEnd::kDone;
  std::string reason;
  uint64_t token_count = 0;
  int64_t started_at_ms = 0;
  int64_t ended_at_ms = 0;
  bool operator==(const TranscriptTurn&) const = default;
};

class Transcript {
 public:
  // Applies one event. Events must come in sequence order; deltas for a turn that never
  // started are ignored (the session log refuses them, so they cannot occur in a valid log).
  void apply(const Event& event);

  const std::vector<TranscriptTurn>& turns() const { return turns_; }
  const SessionMeta& meta() const { return meta_; }
  Seq last_seq() const { return last_seq_; }
  // Peers currently present, by id, with their display names.
  const std::map<PeerId, PeerJoined>& peers() const { return peers_; }

  // Markdown: one section per turn, headed by author and role; failed or cancelled turns say so;
  // a turn's thinking is a quoted block headed "Thinking" before its text.
  std::string to_markdown() const;
  // JSON with every string made valid UTF-8 (invalid bytes become U+FFFD). A turn with
  // thinking has a "thinking" string beside its "text".
  std::string to_json() const;

  bool operator==(const Transcript&) const = default;

 private:
  std::vector<TranscriptTurn> turns_;
  std::map<TurnId, size_t> index_;
  std::map<PeerId, PeerJoined> peers_;
  SessionMeta meta_;
  Seq last_seq_ = 0;
};

}  // namespace tokencast
