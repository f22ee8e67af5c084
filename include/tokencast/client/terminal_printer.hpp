// Renders a client's events as terminal text: authors and turn boundaries, the model's thinking
// (under a "thinking:" line, dimmed on a TTY) and then the answer as they stream, every control
// sequence in received text neutralized. Pure: bytes in, bytes out,
// so tests compare the output byte for byte.
#pragma once

#include <string>

#include "tokencast/core/client_session.hpp"
#include "tokencast/core/text.hpp"

namespace tokencast {

class TerminalPrinter {
 public:
  // `styled`: our own bold/dim headers and dim thinking (only for a TTY); received text never
  // carries escapes. `show_thinking` false leaves a turn's thinking out (`--no-thinking`).
  explicit TerminalPrinter(bool styled, bool show_thinking = true)
      : styled_(styled), show_thinking_(show_thinking) {}

  // Text to write for one event (possibly empty). `live` is false while catching up, when
  // peer comings and goings are not worth showing.
  std::string render(const ClientEvent& event, bool live);

 private:
  std::string header(const std::string& text) const;
  std::string note(const std::string& text) const;
  // Ends the thinking block of the turn, if one is open: flushes it and starts a new line.
  std::string close_thinking();

  bool styled_;
  bool show_thinking_;
  TerminalSanitizer text_;
  TerminalSanitizer thinking_;
  bool in_thinking_ = false;
  bool at_line_start_ = true;
};

}  // namespace tokencast
