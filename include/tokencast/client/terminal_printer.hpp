// Renders a client's events as terminal text: authors and turn boundaries, the answer as it
// streams, every control sequence in received text neutralized. Pure: bytes in, bytes out,
// so tests compare the output byte for byte.
#pragma once

#include <string>

#include "tokencast/core/client_session.hpp"
#include "tokencast/core/text.hpp"

namespace tokencast {

class TerminalPrinter {
 public:
  // `styled`: our own bold/dim headers (only for a TTY); received text never carries escapes.
  explicit TerminalPrinter(bool styled) : styled_(styled) {}

  // Text to write for one event (possibly empty). `live` is false while catching up, when
  // peer comings and goings are not worth showing.
  std::string render(const ClientEvent& event, bool live);

 private:
  std::string header(const std::string& text) const;
  std::string note(const std::string& text) const;

  bool styled_;
  TerminalSanitizer text_;
  bool at_line_start_ = true;
};

}  // namespace tokencast
