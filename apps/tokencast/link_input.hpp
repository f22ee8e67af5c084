// Reading an invite link from the command line without leaving its secret in argv: the link
// itself (scrubbed from our argv at once), "-" for a line on stdin, or a picture of its QR code.
#pragma once

#include <optional>
#include <string>

#include "commands.hpp"

namespace tokencast::app {

// The link `target` names. On failure, prints why on stderr (prefixed with `command`) and
// returns nullopt. `args` is the command's argv, whose copy of the link's secret is overwritten.
std::optional<std::string> read_invite_link(const std::string& command, const std::string& target,
                                            Args args);

}  // namespace tokencast::app
