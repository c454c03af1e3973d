// JobQueue: the node's jobs that no worker holds yet, one queue per client
// session, and the one rule that says which of them goes to which worker next.
//
// Sessions hand jobs in (push), and cancel or steal their own by client job id;
// the node puts back jobs a dead worker never started (requeue, at the front)
// and drops a closed session's queue; dispatch asks next() for one job and
// worker at a time. Nothing else holds a queued job.
//
// The rule (next()): of the sessions with queued jobs, the one with the fewest
// jobs in workers gets an idle worker, ties broken round robin. One client's
// burst cannot starve another, and as a freed worker usually goes back to the
// client it just served, clients sharing the node rarely cost a worker reset.
// With no idle worker, a job may wait in a worker's pipeline behind its own
// client's job (when the pool says it may: only jobs known to be short), but not
// while some client with queued jobs has no worker at all: that client takes the
// next worker to go idle.
//
// A placed job (NodeJob::worker, from SUBMIT's worker field) waits in that worker's
// own queue and goes to that worker only, once it is idle (after what it runs now),
// before any job of the session queues: a placed job is never given to another worker,
// never stolen (steal() sees only the session queues) and never pipelined.
//
// Plain data, no Asio: the workers are seen through the Workers interface
// (WorkerPool implements it), so the rule is tested with plain calls
// (tests/unit/node/job_queue_test.cpp). Single-threaded: the node's io thread.
//
//   JobQueue jobs(config.max_queued_per_session);
//   jobs.push(std::move(job));                   // false: that session's queue is full
//   while (auto g = jobs.next(pool)) pool.assign(g->worker, std::move(g->job));
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "ppserver/job.hpp"

namespace pp::server {

class JobQueue {
 public:
  // The workers as the rule sees them (docs in worker_pool.hpp).
  class Workers {
   public:
    virtual ~Workers() = default;
    // Jobs of `session` given to workers and not finished.
    virtual size_t assigned(uint64_t session) const = 0;
    // A ready worker with nothing to do (preferring one that served `session`), or -1.
    virtual int idle_worker(uint64_t session) const = 0;
    // A busy worker that may take `job` into its pipeline (it has room, ends with a job
    // of the same session, and `job` is known to be short), or -1.
    virtual int pipeline_slot(const NodeJob& job) const = 0;
    // Whether `worker` is ready with nothing to do (a placed job may go to it now).
    virtual bool is_idle(int worker) const = 0;
    // Whether `worker` is down (it keeps dying at start-up): a placed job goes to it at
    // once, to be answered with that error rather than wait for it.
    virtual bool is_down(int /*worker*/) const { return false; }
  };

  // A job and the worker it goes to.
  struct Grant {
    int worker = -1;
    NodeJob job;
  };

  // At most `per_session` jobs wait in one session's queue (NodeConfig::max_queued_per_session).
  explicit JobQueue(size_t per_session) : per_session_(per_session) {}

  // True when `session` may queue one more job.
  bool has_room(uint64_t session) const { return queued(session) < per_session_; }
  // Queues a job at the back of its session's queue (a placed job: of its worker's
  // queue); false (the job is not kept) when the session's queue is full.
  bool push(NodeJob job);
  // Puts back a job that was given to a worker and never started, at the front of
  // its session's queue (beyond the limit: it was admitted once). Dropped if its
  // session's queue was dropped meanwhile.
  void requeue(NodeJob job);
  // Takes one queued job of `session` out (a CANCEL); nullopt when it is not queued.
  std::optional<NodeJob> cancel(uint64_t session, uint64_t client_job_id);
  // Takes out the queued jobs of `session` among `client_job_ids` (a STEAL) and
  // returns their ids, in queue order; ids not queued are left to the caller.
  std::vector<uint64_t> steal(uint64_t session, std::span<const uint64_t> client_job_ids);
  // Forgets a closed session's queue and everything in it.
  void drop(uint64_t session);

  // The next job to give out and the worker it goes to, taken out of its queue;
  // nullopt when none can go now (see the rule above).
  std::optional<Grant> next(const Workers& workers);

  size_t queued(uint64_t session) const;
  size_t size() const;

 private:
  using Queues = std::map<uint64_t, std::deque<NodeJob>>;

  Queues::iterator fairest(const Workers& workers);
  Queues::iterator behind_own_client(const Workers& workers, int& worker);
  std::optional<Grant> next_placed(const Workers& workers);

  using Placed = std::map<int, std::deque<NodeJob>>;

  size_t per_session_;
  Queues queues_;           // by session id; an entry from a session's first push to drop()
  uint64_t rr_cursor_ = 0;  // session id after which the round robin continues
  Placed placed_;           // by worker; an entry while that worker has placed jobs waiting
};

}  // namespace pp::server
