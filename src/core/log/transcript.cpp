#include "tokencast/core/transcript.hpp"

#include <type_traits>

#include "tokencast/core/text.hpp"

namespace tokencast {
namespace {

// A Markdown block quote headed by `title` in italics: every line of `text` starts with "> ",
// so nothing in it can end the quote or start a heading of its own.
std::string quote_block(std::string_view title, std::string_view text) {
  std::string out = "> *" + std::string(title) + "*\n>\n> ";
  for (char c : text) {
    out += c;
    if (c == '\n') out += "> ";
  }
  return out + "\n\n";
}

}  // namespace

void Transcript::apply(const Event& event) {
  last_seq_ = event.seq;
  std::visit(
      [this](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, TurnStarted>) {
          index_[body.turn] = turns_.size();
          TranscriptTurn turn;
          turn.turn = body.turn;
          turn.role = body.role;
          turn.author = body.author;
          turn.started_at_ms = body.at_ms;
          turns_.push_back(std::move(turn));
        } else if constexpr (std::is_same_v<T, TextDelta>) {
          if (auto it = index_.find(body.turn); it != index_.end()) {
            turns_[it->second].text += body.bytes;
          }
        } else if constexpr (std::is_same_v<T, ThinkingDelta>) {
          if (auto it = index_.find(body.turn); it != index_.end()) {
            turns_[it->second].thinking += body.bytes;
          }
        } else if constexpr (std::is_same_v<T, TurnEnded>) {
          if (auto it = index_.find(body.turn); it != index_.end()) {
            auto& turn = turns_[it->second];
            turn.ended = true;
            turn.end = body.end;
            turn.reason = body.reason;
            turn.token_count = body.token_count;
            turn.ended_at_ms = body.at_ms;
          }
        } else if constexpr (std::is_same_v<T, PeerJoined>) {
          peers_[body.peer] = body;
        } else if constexpr (std::is_same_v<T, PeerLeft>) {
          peers_.erase(body.peer);
        } else if constexpr (std::is_same_v<T, SessionMeta>) {
          meta_ = body;
        }
      },
      event.body);
}

// Everything in an export came from peers or the LLM: one-line fields (title, model, names,
// reasons) cannot start a Markdown line of their own, and no field carries terminal controls
// (the file is likely to be `cat`ed).
std::string Transcript::to_markdown() const {
  std::string out =
      "# " +
      (meta_.title.empty() ? std::string("tokencast session") : neutralize_line(meta_.title)) +
      "\n";
  if (!meta_.model.empty()) out += "\nModel: " + neutralize_line(meta_.model) + "\n";
  for (const auto& turn : turns_) {
    out += "\n## " +
           neutralize_line(turn.author.empty() ? turn_role_name(turn.role) : turn.author) + " (" +
           turn_role_name(turn.role) + ")\n\n";
    if (!turn.thinking.empty())
      out += quote_block("Thinking", neutralize_for_terminal(turn.thinking));
    std::string text = neutralize_for_terminal(turn.text);
    out += text;
    if (!text.empty() && text.back() != '\n') out += "\n";
    if (!turn.ended) {
      out += "\n*(still streaming)*\n";
    } else if (turn.end != TurnEnd::kDone) {
      out += "\n*(" + std::string(turn_end_name(turn.end)) +
             (turn.reason.empty() ? "" : ": " + neutralize_line(turn.reason)) + ")*\n";
    }
  }
  return out;
}

std::string Transcript::to_json() const {
  std::string out = "{\"title\":" + json_quote(meta_.title) +
                    ",\"model\":" + json_quote(meta_.model) +
                    ",\"last_seq\":" + std::to_string(last_seq_) + ",\"turns\":[";
  bool first = true;
  for (const auto& turn : turns_) {
    if (!first) out += ",";
    first = false;
    out += "{\"turn\":" + std::to_string(turn.turn) + ",\"role\":\"" + turn_role_name(turn.role) +
           "\",\"author\":" + json_quote(turn.author) +
           (turn.thinking.empty() ? "" : ",\"thinking\":" + json_quote(turn.thinking)) +
           ",\"text\":" + json_quote(turn.text) + ",\"status\":\"" +
           (turn.ended ? turn_end_name(turn.end) : "streaming") + "\"" +
           ",\"reason\":" + json_quote(turn.reason) +
           ",\"tokens\":" + std::to_string(turn.token_count) +
           ",\"started_at_ms\":" + std::to_string(turn.started_at_ms) +
           ",\"ended_at_ms\":" + std::to_string(turn.ended_at_ms) + "}";
  }
  out += "]}\n";
  return out;
}

}  // namespace tokencast
