// Scheduler: which job runs on which node. A pure layer: no sockets, no Asio, no
// clock of its own (SchedulerOptions::clock is injected), so every decision can be
// replayed in tests.
//
// Jobs wait in one global FIFO queue. Each node has a window (jobs in flight on
// it, running or in its local queue) sized from its workers and measured speed so
// no worker waits on a network round trip; assign() gives each job to the node
// that would start it soonest, so local workers never starve remote nodes. A node
// that leaves gives its unfinished jobs back to the front of the queue.
//
// Speed: each node starts from its calibration score and then follows an
// exponentially weighted mean of the job seconds it reports (see expected_seconds()).
//
// Which copies have started: the scheduler models each node as running the jobs it
// was sent in order, its `workers` oldest copies running and the rest waiting in its
// local queue; a node may also say so itself with started(). A copy not started is
// one the client may steal back.
//
// Stealing: when the global queue is empty and a node has an idle worker,
// plan_steals() picks not-started jobs from the back of the node with the largest
// expected backlog. The caller asks that node; it answers per job with stolen()
// (taken off its queue: the job moves to the thief) or started() (too late: it stays).
//
// Backups (the tail): when nothing is queued and nothing is left to steal, assign()
// may give an idle node a copy (Assignment::backup) of a job running on a node where
// it is expected to finish later than the copy would; see SchedulerOptions for the
// trigger. The first result wins; complete() lists the other copies to cancel. Every
// job yields exactly one accepted result. A job whose copies crash their worker is run
// again up to max_attempts times, then fails for good. Not thread-safe: one owner thread.
//
// Paused nodes (a node paused for its machine's owner holds its workers stopped): pause()
// takes the node out of every choice (no new job, no backup, no thief), plans steals of
// all its copies but pinned ones and backups, started or not in the model (Steal::to is
// kToQueue: a stolen one goes back to the front of the queue; the node answers "started"
// for the ones it runs), and from then on assign() gives each copy running there, first thing,
// a backup copy on another node (a job backed up once is never backed up again; pinned
// copies stay). The first result still wins: the paused node's copy, if it finishes
// later, is a duplicate. resume() makes it an ordinary node again. NodeStats counts the
// seconds it spent paused.
//
// Rules (JobRules, for the few jobs submitted with options): a job pinned to a node name
// runs only on the active node of that name (it waits for it; jobs_without_node() says
// which waited too long), is never stolen and never backed up; a job with retries that
// fails (Lua error, crash, time or memory limit; the caller says which failures count)
// runs again up to `retries` more times, on a node other than those it failed on when
// such a node is active. Such jobs wait in queues of their own (pinned: one per node
// name; retried: one list), served before the main FIFO queue.
//
// Cost: no decision scans every node. Nodes with a measured job time sit in indexed
// heaps (where the next job goes, whom to steal from, who is idle), updated in O(log n)
// when one of their figures changes; the nodes with no job time yet are scanned, and
// they are few once jobs finish. bench/sched_sim measures it at 1,000 nodes.
//
// Memory: the job table holds unfinished jobs only. A finished job leaves it at once
// (it is done if its id was submitted and is no longer there), so a stream of any
// length costs what its unfinished jobs cost, not a record per job ever submitted.
//
//   Scheduler s({.clock = [&] { return seconds_since_start(); }});
//   NodeId n = s.add_node({"host:60000", 4, 1.0});
//   s.submit(1); s.submit(2);
//   for (auto a : s.assign()) send(a.node, a.job);
//   for (auto st : s.plan_steals()) send_steal(st.from, st.job);
//   Completion c = s.complete(1, n, 0.02, true);
//   if (c == Outcome::kAccepted) deliver(1);
//   for (auto copy : c.cancel) send_cancel(copy.node, copy.job);
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/sched/indexed_heap.hpp"
#include "core/sched/job_table.hpp"

namespace pp::sched {

using JobId = uint64_t;    // dense, starting at 1, assigned by the caller in order
using NodeId = uint32_t;

struct NodeInfo {
  std::string name;
  int workers = 1;
  double speed = 1.0;      // relative speed score (calibration), 1.0 = reference
};

struct NodeStats {
  std::string name;
  int workers = 0;
  bool active = false;
  uint64_t jobs_done = 0;          // accepted results, ok or failed
  uint64_t failures = 0;           // accepted results that were errors
  uint64_t requeued = 0;           // jobs taken back from it (it left)
  double job_seconds = 0;          // sum of reported job wall times
  uint64_t stolen_from = 0;        // jobs taken off its local queue for another node
  uint64_t stolen_to = 0;          // jobs it received from another node's queue
  uint64_t backups_won = 0;        // backup copies it ran whose result came first
  uint64_t backups_lost = 0;       // backup copies it ran that were cancelled
  uint64_t crashes = 0;            // copies that killed one of its workers
  double busy_seconds = 0;         // clock time with at least one job in flight there
  bool paused = false;             // paused by its machine (see pause())
  double paused_seconds = 0;       // clock time spent paused, up to its last resume
};

struct Assignment {
  JobId job;
  NodeId node;
  uint32_t attempt;                // 0 for the first time a job is sent anywhere
  bool backup = false;             // a second copy of a job still running elsewhere
};

// Steal::to of a job taken back from a paused node: it goes back to the queue.
inline constexpr NodeId kToQueue = UINT32_MAX - 1;

// A planned steal: ask `from` to give up `job` (not started there) for `to` (a node, or
// kToQueue).
struct Steal {
  JobId job;
  NodeId from;
  NodeId to;
};

struct Copy {
  JobId job;
  NodeId node;
};

// Options of one job (most jobs have none: submit(id) without rules).
struct JobRules {
  std::string only_node;           // only the node of this name runs it ("" = any)
  uint32_t retries = 0;            // failed runs that run again
};

// kRetry: the copy failed (crashed its worker, or a retryable failure with retries left)
// and the job runs again (queued, or its other copy
// goes on). Nothing is delivered.
enum class Outcome { kAccepted, kDuplicate, kUnknown, kRetry };

struct Completion {
  Outcome outcome = Outcome::kUnknown;
  uint32_t crashes = 0;            // copies of this job that crashed a worker so far
  bool failed_for_good = false;    // kAccepted after `crashes` == max_attempts crashes
  uint32_t retries_left = 0;       // kRetry by JobRules::retries: how many remain
  std::vector<Copy> cancel;        // other copies of the job still out: cancel them
  // Compares as its outcome, so `complete(...) == Outcome::kAccepted` reads as before.
  bool operator==(Outcome o) const { return outcome == o; }
};

struct SchedulerOptions {
  int window_per_worker = 4;       // jobs in flight per worker before any job time is known
  int min_window = 2;
  // Seconds since any fixed origin. The default (always 0) turns off everything that
  // needs time: backups never trigger and busy_seconds stays 0.
  std::function<double()> clock = nullptr;
  // Client-node round trip. 0 = unknown: windows stay workers * window_per_worker.
  // Known, and once job times are known, a node's window is
  //   workers + max(1, ceil(workers * round_trip / expected_seconds))
  // (enough jobs waiting there to cover one round trip), at most
  // max(min_window, workers * window_per_worker) and never below workers + 1.
  double round_trip_seconds = 0;
  // Short jobs: once its job times are known, a node may hold beyond that cap up to
  // `short_backlog_seconds` of expected work per worker (at most max_window_per_worker
  // jobs per worker), so that jobs of microseconds travel many to a frame and a system
  // call instead of one at a time. 0 keeps the cap above.
  double short_backlog_seconds = 0;
  int max_window_per_worker = 256;
  double ewma_alpha = 0.3;         // weight of the newest job time in a node's mean
  // Backup trigger: nothing queued, nothing stealable, an idle worker on node i, a job
  // running on node n for e > backup_multiplier * median(recent job seconds), no backup
  // yet, and with D = max(expected_seconds(n), e) the copy is expected to finish first:
  //   D * expected_seconds(i) / expected_seconds(n) < D - e.
  // Among candidates the one expected to finish last is backed up first.
  double backup_multiplier = 1.5;
  int max_backups = 8;             // backup copies in flight at once; 0 turns backups off
  uint32_t max_attempts = 3;       // crashed copies of a job before it fails for good
  // false: the plain free-slot policy (what Parallel Python does), for comparison:
  // windows are exactly the node's workers, no stealing, no backups.
  bool adaptive = true;
};

class Scheduler {
 public:
  explicit Scheduler(SchedulerOptions options = {});

  NodeId add_node(const NodeInfo& info);
  // The node left: its unfinished jobs go back to the front of the queue (a job with a
  // copy on another node goes on there). Returns the requeued jobs in id order.
  std::vector<JobId> remove_node(NodeId node);
  void submit(JobId job);
  // A job with options (see Rules above); plain rules make it a plain job.
  void submit(JobId job, const JobRules& rules);
  // Registers a job that is already finished (its result came from a journal): it keeps
  // ids dense and is never queued or sent.
  void skip(JobId job);
  // A job that waits for others (its dependencies) before it may be sent: it takes its
  // place in the id order now and enters the queue at release(). abandon() ends it.
  void hold(JobId job, const JobRules& rules = {});
  void release(JobId job);
  // The node holding a job's inputs (kept results, the most bytes of them), and what
  // moving them elsewhere costs in seconds: assign() gives the job to that node when it
  // has room, or will soon (the job would start there before its inputs could move; at
  // most four windows), else to the best node as usual. Placed there, it is not stolen
  // (that would move its inputs); a backup copy elsewhere must be expected to finish
  // first by more than the move. Placed elsewhere, it is stolen and backed up as any job.
  void prefer(JobId job, NodeId node, double move_seconds = 0);
  // Fills node windows from the queue; at the tail, may hand out backup copies.
  std::vector<Assignment> assign();
  // Steals to ask for, see the header comment. Each job is planned at most once until
  // the victim answers (stolen / started) or a node involved leaves.
  std::vector<Steal> plan_steals();
  // The victim took `job` off its queue: the job moves to the planned thief (returned,
  // to be sent) or, if the thief left, to the front of the queue.
  std::optional<Assignment> stolen(JobId job, NodeId from);
  // The node started `job` (a report, or its answer to a steal: too late).
  void started(JobId job, NodeId node);
  // A node's outcome for a job it was given. crashed: the job killed its worker.
  // retryable: a failure JobRules::retries covers (the caller's rule; a crash is one).
  Completion complete(JobId job, NodeId node, double job_seconds, bool ok, bool crashed = false,
                      bool retryable = false);
  // A crash that is not run again (a job placed on one worker): counted in the node's
  // stats like any other, without the retry that `complete(..., crashed)` implies.
  void count_crash(NodeId node);
  // The node could not run the job (without it being the job's fault): queue it again.
  void give_back(JobId job, NodeId node);
  // The copy of `job` just assigned to `node` cannot go yet (an input it needs is being
  // made again): the job is held again, as after hold(), until release(); a backup copy
  // is dropped and its original goes on. Returns whether the job is held now.
  bool hold_again(JobId job, NodeId node);
  // Whether `job` is held (hold(), hold_again(); not yet released).
  bool is_held(JobId job) const;
  // The nodes holding a copy of `job` (none when it is queued, held or finished).
  std::vector<NodeId> holders(JobId job) const;
  // Ends every queued job (for example when no node is left); returns them.
  std::vector<JobId> drain_queue();
  // Ends one job without a result from any node (the caller gives up on it: it cannot
  // be sent, or its nodes kept dropping it): off the queue, its copies dropped. Returns
  // the copies still out, for the caller to cancel. A queued job leaves the main queue
  // lazily (skipped when reached), so cancelling many queued jobs costs O(1) each.
  std::vector<Copy> abandon(JobId job);
  // Pinned jobs whose node has not been active for `seconds` (or ever since they were
  // pinned, that long): they end here and are returned, with their node's name.
  std::vector<std::pair<JobId, std::string>> jobs_without_node(double seconds);

  // The node paused (see Paused nodes above): the steals to ask it for, every copy of it
  // that may not have started. Nothing for a node already paused or no longer active.
  std::vector<Steal> pause(NodeId node);
  // The node resumed: it takes jobs again.
  void resume(NodeId node);
  bool paused(NodeId node) const { return nodes_.at(node).stats.paused; }
  // Seconds the node has spent paused, the current pause included.
  double paused_seconds(NodeId node) const;
  // Seconds the node has had a job of ours in flight, the current stretch included
  // (NodeStats::busy_seconds counts a stretch once it ends): live figures mid-batch.
  double busy_seconds(NodeId node) const;
  size_t paused_nodes() const { return paused_count_; }

  // The client-node round trip became known or changed (SchedulerOptions::round_trip_seconds).
  void set_round_trip(double seconds);

  const SchedulerOptions& options() const { return options_; }
  // Jobs waiting to be sent: the main queue, the pinned and the retried ones.
  size_t queued() const { return queue_.size() - dropped_.size() + pinned_count_ + retried_.size(); }
  // Of them, the ones any node may take: when 0, more submissions could go at once.
  size_t queued_for_any() const { return queue_.size() - dropped_.size(); }
  size_t unfinished() const { return unfinished_; }
  // Jobs the job table holds: the unfinished ones only (see Memory above).
  size_t table_size() const { return jobs_.size(); }
  size_t in_flight(NodeId node) const { return nodes_.at(node).copies.size(); }
  size_t active_nodes() const;
  int active_workers() const;
  size_t window(NodeId node) const;
  // Expected seconds of one job there: the node's mean job time once it reported one;
  // before, the cluster's reference time (mean of measured times * calibration speed,
  // weighted by jobs) / its calibration speed; with nothing measured, 1 / speed.
  double expected_seconds(NodeId node) const;
  size_t backups_in_flight() const { return backups_; }
  const NodeStats& stats(NodeId node) const { return nodes_.at(node).stats; }
  size_t node_count() const { return nodes_.size(); }
  bool is_done(JobId job) const;

 private:
  // A finished job leaves the table; a held one is in it but not in the queue.
  enum class JobState : uint8_t { kQueued, kRunning, kHeld };
  static constexpr uint32_t kNone = UINT32_MAX;
  // A copy's planned thief that is a node (not kNone, not kToQueue).
  bool is_thief(NodeId t) const { return t < nodes_.size(); }
  // 20 bytes: one of these per unfinished job (a million for a batch of a million).
  struct Job {
    NodeId holders[2] = {kNone, kNone};  // nodes with a copy; [1] only for a backup
    uint32_t attempts = 0;               // times sent anywhere
    uint32_t crashes = 0;
    JobState state = JobState::kQueued;
    bool backed_up = false;              // at most one backup per job, ever
    bool ruled = false;                  // has an entry in rules_
  };
  // What a job with JobRules carries (a side table: plain jobs pay nothing for it).
  struct Rules {
    std::string only_node;
    uint32_t retries_left = 0;
    std::vector<std::string> failed_on;  // names of the nodes its failed runs ran on
  };
  // Jobs pinned to one node name, in order, and since when that node is away.
  struct Pinned {
    std::deque<JobId> jobs;
    double away_since = -1;              // -1: the node is active
  };
  struct InFlight {
    JobId job;
    double started = -1;                 // clock time it started, -1 = in the node's queue
    bool backup = false;
    bool fixed = false;                  // pinned here: never stolen
    NodeId steal_to = kNone;             // a planned steal awaits the node's answer
  };
  struct Node {
    NodeInfo info;
    NodeStats stats;
    std::deque<InFlight> copies;         // in the order sent: the node's own order (most
                                         // finish first: taken off the front in O(1))
    size_t started = 0;                  // of them, started (promote stays O(workers))
    size_t reserved = 0;                 // planned steals towards it
    double ewma = 0;
    uint64_t samples = 0;
    double busy_since = 0;
    // Its copies by kind (see tally()): not started and no backup; of those, not
    // promised to a thief (may be stolen now); promised to a thief.
    uint32_t unstarted = 0, waiting = 0, leaving = 0;
    bool speed_guessed = false;          // announced none (not calibrated yet)
    double paused_since = 0;             // while stats.paused
  };
  Job& job(JobId id);                     // an unfinished job; throws for any other id
  Job* find_job(JobId id);                // nullptr once finished, or never submitted
  void finish_job(JobId id);              // it is done: leaves the table
  double now() const { return options_.clock ? options_.clock() : 0.0; }
  double typical_speed() const;           // mean announced speed of the active nodes
  void regauge_guessed();                 // nodes without a speed take the typical one
  bool has_room(const Node& n, size_t window) const;
  static double load(const Node& n) {
    return static_cast<double>(n.copies.size() + n.reserved) / n.info.workers;
  }
  static bool has_idle_worker(const Node& n) {
    return n.stats.active && !n.stats.paused &&
           n.copies.size() + n.reserved < static_cast<size_t>(n.info.workers);
  }
  void tally(Node& n, const InFlight& c, int sign);   // a copy joins (+1) or leaves the counts
  void touch(NodeId id);                  // its place in ready_, victims_ and idle_
  int best_node() const;                  // where assign() puts the next job, -1: nowhere
  int preferred_node(JobId id) const;     // prefer()'s node if it has room soon, else -1
  int best_victim(NodeId thief) const;    // see plan_steals(), -1: none
  std::vector<NodeId> idle_by_speed() const;  // idle_ by (expected seconds, id)
  bool plan_one_steal(NodeId t, std::vector<Steal>& out);
  void place(JobId id, NodeId node, bool backup, std::vector<Assignment>& out);
  InFlight* find_copy(NodeId node, JobId id);
  bool drop_copy(NodeId node, JobId id);  // false if it held none
  void promote(Node& n);                  // model: oldest waiting copies start
  void busy_edge(Node& n, bool was_empty);  // busy time starts / stops
  void measure(Node& n, double seconds);
  double reference_seconds(bool* known) const;
  double median_seconds() const;
  struct Candidate;                       // a running copy a backup may be made of
  double move_seconds(JobId id, NodeId from) const;   // its inputs' move cost, if there
  std::vector<Candidate> backup_candidates(double t, double median) const;
  void plan_backups(std::vector<Assignment>& out);
  // Pauses (scheduler_pause.cpp).
  void back_up_paused(std::vector<Assignment>& out);
  void end_pause(Node& n);
  void requeue_front(JobId id);
  // Rules (scheduler_rules.cpp).
  Rules* rules_of(JobId id);
  // A job with rules enters the table (ids dense), not yet a queue.
  void admit_ruled(JobId id, const JobRules& rules);
  // Puts a job in the queue its rules say: the common one, or its node's.
  void enqueue(JobId id);
  void assign_ruled(std::vector<Assignment>& out);
  void assign_retried(std::vector<Assignment>& out);
  int best_node_avoiding(const std::vector<std::string>& avoid) const;
  void node_came(NodeId id);
  void node_left(NodeId id);
  bool retry(JobId id, Job& j, const Node& n, Completion& c);
  void unqueue(JobId id, Job& j);

  SchedulerOptions options_;
  JobTable<Job> jobs_;             // unfinished jobs only (see Memory above)
  JobId last_id_ = 0;              // ids 1..last_id_ were submitted or skipped
  std::deque<JobId> queue_;
  std::unordered_set<JobId> dropped_;      // abandoned while in queue_: skipped there
  std::unordered_map<JobId, Rules> rules_; // jobs with JobRules
  std::map<std::string, Pinned> pinned_;   // by node name (the few names jobs are pinned to)
  size_t pinned_count_ = 0;
  std::deque<JobId> retried_;              // failed runs waiting to run again (few)
  struct Preferred {
    NodeId node;
    double move_seconds;
  };
  std::unordered_map<JobId, Preferred> preferred_;  // prefer(): until the job finishes
  std::unordered_map<std::string, NodeId> active_by_name_;
  std::vector<Node> nodes_;        // NodeId = index; nodes that left stay, inactive
  size_t unfinished_ = 0;
  size_t backups_ = 0;
  size_t paused_count_ = 0;        // active nodes paused
  std::vector<double> recent_;     // last job times, a ring for the median
  size_t recent_next_ = 0;
  // Indices over nodes, so no decision scans every node (touch() keeps them current).
  // Nodes with a measured job time are in heaps; the ones without are few once jobs
  // finish, and their expected time follows the reference, so they are scanned.
  IndexedHeap ready_;              // measured, active, with room: by (load * seconds, id)
  IndexedHeap victims_;            // measured, active, with a positive backlog: by (-backlog, id)
  IndexedHeap idle_;               // active with a worker free (thieves, backup hosts): by id
  std::vector<NodeId> unsampled_;  // active nodes with no job time yet
  size_t sampled_ = 0;             // nodes with a job time
  size_t stealable_ = 0;           // sum of Node::unstarted
  size_t waiting_ = 0;             // sum of Node::waiting
  mutable double reference_ = 1.0;   // reference_seconds(), recomputed after a measurement
  mutable bool reference_dirty_ = false;
};

}  // namespace pp::sched
