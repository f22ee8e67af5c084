// Strict UTF-8 validation for labels and prompt texts (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF). Text deltas are not validated: they may split a
// character, and clients reassemble a turn's bytes before decoding them.
#pragma once

#include <string_view>

namespace tokencast::codec {

bool is_valid_utf8(std::string_view text);

}  // namespace tokencast::codec
