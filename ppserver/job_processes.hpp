// Processes a job starts (os.execute, io.popen, or fork through the FFI) must not
// outlive the job, nor hold its worker's slot.
//
// Two sides. The node (worker_pool.cpp) starts each worker in a process group of
// its own and, whenever it stops a worker (time limit, CPU limit, cancel, crash,
// shutdown), kills the whole group, so the slot is free at once. And the worker
// (this file) adopts every orphaned descendant (PR_SET_CHILD_SUBREAPER) and,
// after each job, kills and reaps whatever the job left running; the common case,
// a job that started nothing, costs one waitpid().
//
// Not caught: a process that has left the worker's process group (setsid,
// setpgid) when its worker is killed (time limit, cancel, crash): init adopts it
// and it runs on (after a job that ends normally such processes are stopped too:
// orphaned, they come to the worker). And processes of jobs running when the node
// itself is killed with SIGKILL: the workers die with it, what they started runs on.
//
// Used by the worker process only, from its one thread.
#pragma once

namespace pp::server {

// Makes this process the reaper of its orphaned descendants. False if the
// kernel refuses (then only processes still in the worker's group are caught).
bool adopt_orphans();

enum class LeftProcesses {
  kNone,      // the job left no process
  kStopped,   // it did; they are killed and reaped
  kFailed,    // some could not be found or would not go: the worker should exit
};

// Kills and reaps every process the last job left behind.
LeftProcesses stop_left_processes();

}  // namespace pp::server
