// Ctrl-C for `ppclient run`. The first SIGINT stops the batch: every live
// JobServer says BYE to its nodes (each drops this client's queued jobs and
// stops its running ones) and stops its embedded node; then the process exits
// with status 130 (128 + SIGINT, as shells report it). A second SIGINT exits at
// once. The handler itself only sets a flag and writes a byte to a pipe
// (async-signal-safe); a thread of its own does the rest, so it works whether the
// main thread waits in job() or is busy in the script's own Lua code. SIGTERM and
// SIGHUP stop the batch the same way and exit with 128 + their number (143, 129).
#pragma once

namespace pp::client {

inline constexpr int kExitInterrupted = 130;

// Installs the handler and starts the thread; once, before the script runs.
void install_sigint_handler();
// True once the first SIGINT (or SIGTERM, SIGHUP) arrived.
bool sigint_received();
// For the main thread when the script ended while the batch was being stopped:
// waits for the SIGINT thread to end the process with kExitInterrupted.
[[noreturn]] void wait_for_sigint_exit();

}  // namespace pp::client
