// Text from the LLM and from peers is hostile. These functions make it safe to show.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tokencast {

// Returns `bytes` with every invalid UTF-8 sequence (overlong forms, surrogates, code points
// above U+10FFFF, truncated or stray bytes) replaced by U+FFFD, one per maximal invalid
// subpart as the Unicode standard recommends.
std::string to_valid_utf8(std::string_view bytes);

// True when `bytes` is valid UTF-8.
bool is_valid_utf8(std::string_view bytes);

// The longest prefix of `text` of at most `max` bytes that does not end inside a UTF-8
// character (it steps back over continuation bytes at the cut).
std::string_view utf8_prefix(std::string_view text, size_t max);

// Makes a byte stream valid UTF-8 as it arrives (a command's stdout, stdin): what push()
// returns ends on a character boundary, and everything together equals to_valid_utf8() of the
// whole stream. An incomplete character at the end of a chunk waits for the next one.
class Utf8Repair {
 public:
  std::string push(std::string_view bytes);
  // End of input: a held incomplete character becomes U+FFFD.
  std::string finish();

 private:
  std::string held_;
};

// For a terminal: valid UTF-8 with every control that could move the cursor, change modes,
// set titles, hyperlink (OSC 8) or reorder text removed or made visible. C0 controls other
// than \n and \t, DEL, C1 controls (U+0080..U+009F), and the bidi controls (U+202A..U+202E,
// U+2066..U+2069, U+200E, U+200F, U+061C) become U+FFFD; ESC-introduced sequences (CSI, OSC,
// DCS, ...) are dropped whole, so no fragment of them reaches the screen.
std::string neutralize_for_terminal(std::string_view bytes);

// neutralize_for_terminal for one-line fields (names, titles, reasons, log lines): line breaks
// and tabs become spaces, so the text cannot start a line of its own (a fake heading or log
// line).
std::string neutralize_line(std::string_view bytes);

// The streaming form of neutralize_for_terminal: deltas arrive split anywhere (inside a UTF-8
// character or an escape sequence), so the state carries over between feed() calls.
class TerminalSanitizer {
 public:
  // Returns what is safe to print now; incomplete input is held back until the next feed().
  std::string feed(std::string_view bytes);
  // Flushes what is held back (an incomplete character becomes U+FFFD) and resets the state.
  std::string finish();

 private:
  enum class Mode { kText, kEscape, kCsi, kString, kStringEscape };
  void put_code_point(uint32_t cp, std::string& out);
  void consume(uint32_t cp, std::string& out);
  std::string pending_;  // bytes of an incomplete UTF-8 character
  Mode mode_ = Mode::kText;
  size_t sequence_length_ = 0;
};

// Escapes a string for a JSON string literal (without the quotes); input must be valid UTF-8.
// C0 and C1 controls, DEL, U+2028 and U+2029 become \u escapes: a JSON file printed to a
// terminal or pasted into JavaScript stays inert.
std::string json_escape(std::string_view utf8);

// Any bytes as a quoted JSON string literal: made valid UTF-8 (to_valid_utf8), then escaped.
std::string json_quote(std::string_view bytes);

}  // namespace tokencast
