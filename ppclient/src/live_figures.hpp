// Live figures: one source of what a batch is doing while it runs, for the progress bar,
// the dashboard and the final report, so their numbers agree.
//
// Who owns what. LiveFigures is the part counted as jobs are submitted and finish: counts
// for the batch and per group, the last failures and the last lines of job output. It is
// a plain value kept by the JobServer under the lock every JobState already shares
// (sync->mutex): counted where that lock is held anyway (submit, the hand-over of a turn's
// results, cancel), so no job pays a lock or an allocation of its own for it. The
// per-node figures are not copied here: they are the report's own fold
// (Dispatcher::node_stats, report::derive) and the NodeTable's records, read on the io
// thread when a snapshot is taken.
//
// Readers on other threads call JobServer::live_snapshot(), which returns a LiveSnapshot:
// a copy made on the io thread at most about ten times a second (callers in between get
// the last copy, under a short lock of its own). A LiveSnapshot is a plain value.
//
//   LiveSnapshot s = server.live_snapshot();
//   std::printf("%llu of %llu\n", (unsigned long long)s.jobs.finished(),
//               (unsigned long long)s.jobs.submitted);
//   for (const LiveNode& n : s.nodes) std::printf("%s %s\n", n.figures.node.c_str(),
//                                                  node_state_name(n.state));
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/proto/messages.hpp"
#include "ppclient/report/report.hpp"
#include "ppclient/src/running_jobs.hpp"
#include "pp/node_stats.hpp"

namespace pp::client {

// Jobs of the batch, or of one group. A job is counted once submitted, once finished
// (done, failed or cancelled); `retried` counts runs sent again.
struct JobCounts {
  uint64_t submitted = 0;
  uint64_t done = 0;        // finished with a result (status ok)
  uint64_t failed = 0;      // finished with an error (any status but ok and cancelled)
  uint64_t cancelled = 0;   // cancelled by the driver (js:cancel, pp::Job::cancel)
  // Runs sent again because their node went away or their run failed and may run again
  // (the report's batch.resent). Per group too (Dispatcher::group_figures).
  uint64_t retried = 0;
  uint64_t held = 0;        // waiting now for the jobs they depend on

  uint64_t finished() const { return done + failed + cancelled; }
  uint64_t unfinished() const { return submitted > finished() ? submitted - finished() : 0; }
  bool operator==(const JobCounts&) const = default;
};

struct GroupCounts {
  std::string name;
  JobCounts jobs;
  bool operator==(const GroupCounts&) const = default;
};

// A node's state as the driver sees it.
enum class NodeState : uint8_t {
  kConnecting,   // a connection is being opened (or the handshake runs)
  kWorking,      // connected, with jobs of ours in flight
  kIdle,         // connected, none in flight
  kLost,         // was (or tried to be) connected and is not: `reason` says why
  kRefused,      // refused us for a reason a retry will not fix: `reason`
  kPaused,       // connected, paused by its machine (PAUSE): `reason` says why
};
// "connecting", "working", "idle", "lost", "refused", "paused"
const char* node_state_name(NodeState s);

// One node, one row per node name (a node that reconnected is one row).
struct LiveNode {
  NodeStats figures;             // the report's row: node, host, workers, jobs, times, ...
  report::Derived derived;       // share, relative speed, jobs/s per worker (report::derive)
  std::string found;             // "given", "local", "broadcast", "mdns" or "broadcast+mdns"
  NodeState state = NodeState::kConnecting;
  std::string reason;            // lost or refused: the last error
  double load = -1;              // other processes' CPU share from its beacon; -1: unknown
  std::string version;           // the node's software version ("" before its HELLO)
  uint32_t in_flight = 0;        // copies of our jobs it holds now (running or queued there)
  bool operator==(const LiveNode&) const = default;
};

// A job that ended with an error (the most recent kFailureLimit are kept).
struct LiveFailure {
  uint64_t job = 0;
  std::string node;
  std::string status;            // proto::job_status_name
  std::string error;
  std::string traceback;
  double at = 0;                 // seconds since the batch started
  bool operator==(const LiveFailure&) const = default;
};

// One line a job printed (the most recent kOutputLimit lines are kept).
struct LiveOutput {
  uint64_t job = 0;
  std::string node;
  std::string line;              // without its newline, cut at kLineLimit bytes
  bool operator==(const LiveOutput&) const = default;
};

struct LiveSnapshot {
  uint64_t serial = 0;           // grows with each copy taken on the io thread
  double elapsed = 0;            // seconds since the first job was submitted (0: none yet)
  JobCounts jobs;                // the whole batch
  std::vector<GroupCounts> groups;   // by name
  std::vector<LiveNode> nodes;   // the report's rows first (their order), then nodes not used yet
  // The task stream: the most recent executions (at most kRecentExecutions), oldest
  // first; Execution::node indexes `nodes`, times are seconds since the batch started.
  std::vector<report::Execution> recent;
  uint64_t executions = 0;       // executions recorded in all
  // The copies reckoned running now (RunningJobs), with a dashboard (empty without):
  // RunningJob::node indexes `nodes`, start is seconds since the batch started. At most
  // one per worker slot.
  std::vector<RunningJob> running;
  std::vector<LiveFailure> failures;   // oldest first
  std::vector<LiveOutput> output;      // oldest first
  report::Batch batch;           // the report's batch figures (wall, jobs, resent, ...)
  // The pipelines, in the order they were made, as the report shows them (a stage's
  // items in flight: items_in - items_out - dropped - failed).
  std::vector<report::Pipeline> pipelines;

  // Nodes connected (working, idle or paused) and of those, working / paused.
  size_t nodes_connected() const;
  size_t nodes_working() const;
  size_t nodes_paused() const;
};

// The counted part (see the top of this file). Not thread-safe: its owner's lock.
class LiveFigures {
 public:
  static constexpr size_t kFailureLimit = 20;
  static constexpr size_t kOutputLimit = 50;
  static constexpr size_t kLineLimit = 300;
  static constexpr size_t kTextLimit = 8192;       // an error's or traceback's bytes kept
  static constexpr size_t kGroupLimit = 1000;      // groups beyond are counted as "(other)"
  static constexpr size_t kRecentExecutions = 2000;
  static constexpr size_t kPipelineLimit = 1000;   // beyond, the oldest are forgotten

  // A job was submitted under `group` ("" = none).
  void submitted(std::string_view group);
  // A job finished with `status` (its final outcome: a job cancelled by the driver counts
  // as cancelled whatever its node answered).
  void finished(proto::JobStatus status, std::string_view group);
  // A job's error, kept among the last few.
  void failure(uint64_t job, std::string_view node, proto::JobStatus status,
               std::string_view error, std::string_view traceback, double at);
  // What a job printed: its lines, the last few kept.
  void output(uint64_t job, std::string_view node, std::string_view text);

  // Pipelines (js:pipeline, pp::Pipeline) are counted here and nowhere else: their own
  // stats (pl:stats(), Pipeline::stats) read these figures. A pipeline made with the
  // names of its stages gets its id (1, 2, ...); its jobs carry (id, stage) in their
  // SubmitExtras, and are counted as they are submitted and finish. `now` is seconds on
  // the server's steady clock. An unknown id or stage is not counted.
  uint32_t add_pipeline(std::vector<std::string> stage_names);
  void stage_submitted(uint32_t pipeline, uint32_t stage, double now);
  // `nil`: it returned nil (a dropped item, or a nil passed on); `run_seconds`: its run
  // time on its node.
  void stage_finished(uint32_t pipeline, uint32_t stage, proto::JobStatus status, bool nil,
                      double run_seconds, double now);
  // The figures of pipeline `id` (a pipeline named "pipeline <id>" without stages when
  // it is unknown or forgotten).
  report::Pipeline pipeline(uint32_t id) const;
  // All of them, oldest first.
  std::vector<report::Pipeline> pipelines() const;

  const JobCounts& jobs() const { return jobs_; }
  // Copies the counted part into `out` (jobs except retried and held, groups, failures,
  // output, pipelines).
  void copy_to(LiveSnapshot& out) const;

 private:
  JobCounts& group(std::string_view name);

  // One stage's jobs as they ended: `done` (ok, `nil` of them returning nil), `failed`
  // (its own error), `upstream` (never ran: an earlier stage failed), `cancelled`.
  struct StageCounts {
    std::string name;
    uint64_t submitted = 0, done = 0, nil = 0, failed = 0, upstream = 0, cancelled = 0;
    double seconds = 0;   // run time of the done and failed ones
  };
  struct PipelineCounts {
    std::vector<StageCounts> stages;
    double first = -1, last = -1;   // its first submit, its last job's end (steady clock)
  };
  static report::Pipeline figures(uint32_t id, const PipelineCounts& p);

  // Looked up by string_view: counting a grouped job allocates nothing.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  JobCounts jobs_;
  std::unordered_map<std::string, JobCounts, NameHash, std::equal_to<>> groups_;
  std::deque<LiveFailure> failures_;
  std::deque<LiveOutput> output_;
  std::map<uint32_t, PipelineCounts> pipelines_;
  uint32_t next_pipeline_ = 0;
};

}  // namespace pp::client
