// --verbose: the process log (tokencast::log) to stderr, one "[level] component: message" line
// per event, info and above.
#pragma once

namespace tokencast::app {

void log_to_stderr();

}  // namespace tokencast::app
