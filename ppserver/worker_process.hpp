// The worker process: one LuaJIT state running jobs sent by its node over a
// socketpair (WORKER_CODE, WORKER_RUN in; RESULT out), one at a time and in order.
// The RESULTs of what it read in one go leave in one write; which job it runs is
// written to a page shared with the node (worker_process_page.hpp), so a death is
// blamed on that job alone.
//
// A worker is started by the node as `ppserver` re-executed with hidden options;
// it never touches the network. Lua errors become RESULT frames; a crash, a kill
// for a time limit, or a memory-limit overflow ends the process and the node
// reports and respawns. Single-threaded, blocking I/O.
//
// Isolation: each job runs in a fresh global table over a read-only standard
// library (lua/pp/worker.lua); processes a job starts are stopped when it ends
// (job_processes.hpp); WORKER_RESET, sent before a job of another client, closes
// the Lua state and opens a fresh one. The socket to the node is close-on-exec,
// so nothing a job starts holds it.
#pragma once

#include <cstddef>
#include <string>

#include "core/proto/constants.hpp"

namespace pp::server {

struct WorkerConfig {
  int fd = -1;               // socketpair end to the node
  int index = 0;             // worker number on this node (for messages)
  std::string node;          // the node's advertised "host:port" (the job's worker.node)
  size_t memory_mb = 0;      // Lua heap limit (0 = none)
  size_t max_frame = proto::kDefaultMaxFrame;  // the node's --max-frame
  std::string prefix;        // installation prefix (Lua modules, kernels)
};

// Runs until the node closes the socket; returns the process exit code.
int run_worker_process(const WorkerConfig& config);

// Exit code a worker uses after its Lua heap overflowed (it restarts clean).
inline constexpr int kExitOutOfMemory = 86;
// Exit code after an unprotected Lua error (the state is unusable).
inline constexpr int kExitPanic = 87;
// Exit code when processes a job left behind could not be stopped (the node then
// kills the worker's process group).
inline constexpr int kExitStrayProcesses = 88;

}  // namespace pp::server
