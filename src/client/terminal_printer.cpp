#include "tokencast/client/terminal_printer.hpp"

#include <type_traits>

namespace tokencast {
namespace {

const char* role_label(TurnRole role) {
  switch (role) {
    case TurnRole::kUser:
      return "asks";
    case TurnRole::kAssistant:
      return "answers";
    case TurnRole::kSystem:
      return "system";
  }
  return "";
}

}  // namespace

std::string TerminalPrinter::header(const std::string& text) const {
  return styled_ ? "\x1b[1m" + text + "\x1b[0m" : text;
}

std::string TerminalPrinter::note(const std::string& text) const {
  return styled_ && !text.empty() ? "\x1b[2m" + text + "\x1b[0m" : text;
}

std::string TerminalPrinter::close_thinking() {
  if (!in_thinking_) return "";
  in_thinking_ = false;
  std::string out = note(thinking_.finish());
  if (!at_line_start_) out += "\n";
  at_line_start_ = true;
  return out;
}

std::string TerminalPrinter::render(const ClientEvent& event, bool live) {
  std::string out;
  if (const auto* applied = std::get_if<Applied>(&event)) {
    std::visit(
        [&](const auto& body) {
          using T = std::decay_t<decltype(body)>;
          if constexpr (std::is_same_v<T, TurnStarted>) {
            out += close_thinking();
            text_ = TerminalSanitizer();
            thinking_ = TerminalSanitizer();
            if (!at_line_start_) out += "\n";
            out +=
                "\n" +
                header(neutralize_for_terminal(body.author) + " " + role_label(body.role) + ":") +
                "\n";
            at_line_start_ = true;
          } else if constexpr (std::is_same_v<T, ThinkingDelta>) {
            if (!show_thinking_) return;
            if (!in_thinking_) {
              in_thinking_ = true;
              out += note("thinking:") + "\n";
              at_line_start_ = true;
            }
            // Dimmed chunk by chunk: the sanitized text has no escapes of its own to interleave.
            std::string shown = thinking_.feed(body.bytes);
            if (!shown.empty()) at_line_start_ = shown.back() == '\n';
            out += note(shown);
          } else if constexpr (std::is_same_v<T, TextDelta>) {
            out += close_thinking();
            std::string shown = text_.feed(body.bytes);
            if (!shown.empty()) at_line_start_ = shown.back() == '\n';
            out += shown;
          } else if constexpr (std::is_same_v<T, TurnEnded>) {
            out += close_thinking();
            out += text_.finish();
            if (!at_line_start_) out += "\n";
            at_line_start_ = true;
            if (body.end == TurnEnd::kCancelled) {
              out += note("[cancelled" +
                          (body.reason.empty() ? "" : ": " + neutralize_for_terminal(body.reason)) +
                          "]") +
                     "\n";
            } else if (body.end == TurnEnd::kError) {
              out += note("[error: " + neutralize_for_terminal(body.reason) + "]") + "\n";
            }
          } else if constexpr (std::is_same_v<T, PeerJoined>) {
            if (live && at_line_start_) {
              out += note("* " + neutralize_for_terminal(body.name) + " joined") + "\n";
            }
          } else if constexpr (std::is_same_v<T, SessionMeta>) {
            if (!body.title.empty()) {
              out += header("# " + neutralize_for_terminal(body.title)) + "\n";
            }
          }
        },
        applied->event.body);
  } else if (const auto* reported = std::get_if<HostReported>(&event)) {
    out += note("[host: " + neutralize_for_terminal(reported->error.text) + "]") + "\n";
  }
  return out;
}

}  // namespace tokencast
