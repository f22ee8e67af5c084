// SIGINT/SIGTERM handling for long-running commands: block them in every thread, then wait
// for them on one. Call block_stop_signals() before any thread is started.
#pragma once

#include <atomic>
#include <functional>

namespace tokencast::app {

void block_stop_signals();
// Waits on this thread for SIGINT or SIGTERM (blocked first); returns the signal.
int wait_stop_signal();
// Starts a thread that calls `on_stop` (once) when SIGINT or SIGTERM arrives.
void on_stop_signal(std::function<void()> on_stop);

}  // namespace tokencast::app
