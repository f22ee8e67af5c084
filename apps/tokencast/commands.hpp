// The subcommands of the one `tokencast` executable. Each takes the arguments after its
// name and returns the process exit code; each lives in its own cmd_<name>.cpp.
#pragma once

#include <span>
#include <string_view>

namespace tokencast::app {

using Args = std::span<const std::string_view>;

int run_host(Args args);
int run_join(Args args);
int run_rendezvous(Args args);
int run_sessions(Args args);
int run_export(Args args);
int run_verify(Args args);
int run_end(Args args);
int run_models(Args args);

}  // namespace tokencast::app
