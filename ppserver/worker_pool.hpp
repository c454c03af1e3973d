// WorkerPool: the node's worker processes, each one LuaJIT state, supervised
// from the node's event loop.
//
// Jobs are assigned into a per-worker pipeline (the worker runs them in order),
// so a worker never waits on the event loop: a job joins a busy worker only when
// its code is known to be short (JobTimes) and every job ahead of it is too, up to
// --pipeline jobs and about 2 ms of expected work; the rest wait in the node's
// queue for the next idle worker. The worker answers what it was sent in one write
// (worker_process.cpp), and tells through a shared page (RunningPage) which job it
// is running, so a death is blamed on exactly that job. The pool enforces time
// limits by killing the worker, turns a worker's death into one outcome for the job
// it was running (timeout, crash, cancel) and hands every other job without a
// result back to the node (never started, or finished with its result lost with
// the worker: they run again). Dead workers are respawned. With
// --cpu-limit, a CpuLimiter duty-cycles the busy workers (SIGSTOP / SIGCONT);
// stopped workers are still killed, reaped and respawned like running ones.
//
// Each worker is the leader of a process group of its own, and a worker is always
// stopped with its whole group, so processes its job started go with it
// (job_processes.hpp). A worker whose socket closes is killed and then reaped
// without blocking the event loop: a short timer retries waitpid(WNOHANG) (one
// that lingers is killed again, one that cannot be reaped within a second is
// given up), and only once it is reaped does its job get its one outcome, the
// jobs behind it go back to the node and the worker is respawned, in that order.
// Meanwhile the slot is neither ready nor killable again.
//
// A worker serves one client at a time: before a job of another client it gets
// WORKER_RESET (a fresh Lua state); idle_worker() prefers workers whose last
// client is the one asking and pipeline_slot() queues a job only behind the same
// client's, so clients sharing a node rarely cause a reset.
// idle_worker(), pipeline_slot() and assigned() are how the JobQueue sees the
// workers (JobQueue::Workers).
// While the node is paused (PauseState, owned by the Node) every worker's process
// group is held with SIGSTOP (the CPU limiter's duty cycle is suspended meanwhile)
// and no job is given to a worker: idle_worker(), pipeline_slot() and is_idle() say
// none. A job's time limit and a worker's startup limit count only the time the node
// was not paused. A worker that dies while stopped is handled as any other death.
// Runs on the node's single io_context thread; callbacks are invoked there.
#pragma once

#include <sys/types.h>

#include <asio.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/net/frame_stream.hpp"
#include "ppserver/cpu_limit.hpp"
#include "ppserver/job.hpp"
#include "ppserver/job_queue.hpp"
#include "ppserver/job_times.hpp"
#include "ppserver/node_config.hpp"
#include "ppserver/pause_state.hpp"
#include "ppserver/worker_process_page.hpp"

namespace pp::server {

class WorkerPool : public JobQueue::Workers {
 public:
  struct Callbacks {
    std::function<void(NodeJob&&, proto::ResultMsg&&)> on_result;  // the job's one outcome
    std::function<void(NodeJob&&)> on_requeue;                      // never started: run again
    std::function<void()> on_capacity;                              // a pipeline slot freed
  };

  // `pause` is the node's; the pool reads it and is told of changes (paused(), resumed()).
  WorkerPool(asio::io_context& io, const NodeConfig& config, const PauseState& pause,
             Callbacks callbacks);
  ~WorkerPool() override;

  // `node` is the node's advertised "host:port": a job sees it as worker.node, and
  // "host:port#k" as worker.id on the k-th worker (k = 1..workers).
  void start(std::string node);
  void stop();
  // The node has just paused: every worker's process group gets SIGSTOP.
  void paused();
  // The node has just resumed: SIGCONT, and the CPU limiter takes the busy workers again.
  void resumed();
  int size() const { return static_cast<int>(workers_.size()); }
  int ready_workers() const;
  std::vector<pid_t> pids() const;
  size_t running() const;
  // A ready worker with nothing to do, or -1: one that last ran a job of
  // `session_id`, else one that has run nothing yet, else any (it is reset first).
  int idle_worker(uint64_t session_id) const override;
  // A busy worker that may take `job` behind its pipeline, or -1: the job's code is
  // known to be short, and so is every job in that pipeline, which ends with a job of
  // the same client, holds fewer than --pipeline jobs and about kPipelineSeconds of
  // work. A job of unknown length waits in the node's queue instead, where the next
  // idle worker (or the client's STEAL) takes it. A job never waits behind another
  // client's job: that would cost a reset for the sake of a pipeline slot, and could
  // lock two clients into taking turns on every worker.
  int pipeline_slot(const NodeJob& job) const override;
  // Jobs of `session_id` given to workers and not finished.
  size_t assigned(uint64_t session_id) const override;
  // Worker `index` is ready, not being stopped, with nothing to do (a placed job's turn).
  bool is_idle(int index) const override;
  void assign(int worker, NodeJob job);
  // A scattered value no client on the node holds any more: workers that decoded it
  // drop it (WORKER_DATA with no bytes).
  void forget_data(const std::string& hash);
  // Stops one job (client_job_id set) or all of a session's jobs: a running one
  // by killing its worker, a waiting one when its turn comes.
  void cancel(uint64_t session_id, std::optional<uint64_t> client_job_id);

 private:
  using Stream = net::FrameStream<asio::local::stream_protocol::socket>;
  enum class Kill { kNone, kTimeout, kCpuLimit, kCancel, kStop };
  struct Slot {
    int index = 0;
    pid_t pid = -1;
    bool ready = false;
    std::shared_ptr<Stream> stream;
    std::deque<NodeJob> pipeline;
    size_t pipeline_unknown = 0;     // jobs in it not known to be short
    double pipeline_seconds = 0;     // expected seconds of the others
    RunningPage page;                // which job the worker runs (its own writes)
    // When the job the node first saw running started (read from the page).
    std::chrono::steady_clock::time_point head_started;
    // --job-cpu-limit: the worker's CPU seconds when the watchdog first saw the head job.
    uint64_t cpu_job_key = 0;
    double cpu_at_start = 0;
    std::chrono::steady_clock::time_point spawned;
    std::unordered_set<std::string> hashes;
    std::unordered_set<std::string> data;   // scattered values sent since its last reset
    uint64_t last_session = 0;   // client of the last job given to it; 0 = none yet
    Kill kill = Kill::kNone;
    uint64_t kill_key = 0;           // the job a kill was aimed at (0: none in particular)
    int quick_deaths = 0;
    // From its socket's close until it is reaped (on_worker_closed .. finish_worker).
    bool reaping = false;
    bool killed_again = false;
    std::chrono::steady_clock::time_point closed;
    std::string closed_why;
    std::unique_ptr<asio::steady_timer> reap_timer;
  };

  static void kill_group(pid_t worker);
  static void signal_group(pid_t worker, int sig);
  // Time since `since` that the node was not paused.
  std::chrono::steady_clock::duration active_since(std::chrono::steady_clock::time_point since,
                                                   std::chrono::steady_clock::time_point now) const;
  void spawn(Slot& slot);
  void adopt(Slot& slot, pid_t pid, int fd);   // the started worker's record and stream
  void on_frame(Slot& slot, std::string_view payload);
  void on_message(Slot& slot, Result<proto::Message>&& msg);
  void on_worker_closed(Slot& slot, const std::string& why);
  void try_reap(Slot& slot);
  void finish_worker(Slot& slot, const std::string& how, int exit_code);
  proto::ResultMsg outcome_of(const Slot& slot, const NodeJob& head, pid_t pid,
                              const std::string& how,
                              std::chrono::steady_clock::time_point since) const;
  void kill_worker(Slot& slot, Kill why, uint64_t key = 0);
  void left_pipeline(Slot& slot, const NodeJob& job);
  // The job the worker of `slot` is running now (its key on the page, and when it
  // started), or nullptr between jobs.
  const NodeJob* running_job(const Slot& slot, std::chrono::steady_clock::time_point* since) const;
  void watchdog();
  void respawn_later(Slot& slot, std::chrono::milliseconds delay);
  std::vector<pid_t> busy_pids() const;

  asio::io_context& io_;
  const NodeConfig& config_;
  const PauseState& pause_;
  Callbacks cb_;
  std::vector<std::unique_ptr<Slot>> workers_;
  asio::steady_timer watchdog_;
  std::vector<std::unique_ptr<asio::steady_timer>> respawn_timers_;
  std::string exe_;
  std::string node_;               // advertised "host:port", passed to every worker
  CpuLimiter limiter_;
  JobTimes times_;                 // mean job time per code, from the results
  std::unordered_map<uint64_t, size_t> assigned_;   // session -> jobs in pipelines
  bool stopping_ = false;
};

}  // namespace pp::server
