// Dispatcher: the client's job side, on the io thread only.
//
// Owns the Scheduler, the table of jobs not yet answered (code, arguments, the
// user's JobState), the losing copies still out, and every figure of the report
// (per-node extras, the execution sample, batch counters). It takes batches of
// submissions from JobServer, fills the nodes' windows (pump), sends, takes
// RESULT and STOLEN, requeues the jobs of a node that left (bounded: a job lost
// with its node kMaxDrops times fails), fails a job that cannot fit a node's frame
// limit instead of sending it, and fails queued jobs when no node can take them.
// Each job's one outcome goes back through `Deliver`, which crosses to the user.
//
// Nodes enter by add_node (NodeTable, when a link is ready) and leave by
// remove_node; the Dispatcher keeps each one's link (borrowed: NodeTable owns it
// and calls remove_node before letting it go) by scheduler id, never by search.
// Not thread-safe: every call on the io thread.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/proto/messages.hpp"
#include "core/sched/job_table.hpp"
#include "core/sched/scheduler.hpp"
#include "ppclient/report/execution_sample.hpp"
#include "ppclient/report/report.hpp"
#include "ppclient/src/dependencies.hpp"
#include "ppclient/src/job_state.hpp"
#include "ppclient/src/running_jobs.hpp"
#include "ppclient/src/submit_extras.hpp"
#include "pp/node_stats.hpp"

namespace pp::client {

class NodeLink;
struct LiveSnapshot;
struct GroupCounts;

// A code blob and its hash: one record for all the jobs of one code.
struct JobCode {
  std::string hash;
  std::string blob;
};

// One job handed from a user thread to the io thread, kept until its result is in: one
// per job of a batch (a million of them for a batch of a million), so nothing in it is
// per code or only for a journal (its key is derived again when the result comes).
struct Submission {
  std::shared_ptr<JobState> state;
  std::shared_ptr<const JobCode> code;       // shared by all jobs of one code
  std::string args;
  uint32_t timeout_ms = 0;
  bool settled = false;                      // answered at submit: never sent
  std::unique_ptr<SubmitExtras> extras;      // null for a plain job
};

// A job's one outcome, as it crosses back to the user.
struct Outcome {
  proto::JobStatus status = proto::JobStatus::kOk;
  std::string value, error, traceback, node;
  double wall_seconds = 0;
  std::string output;   // what the job printed (issue 12, output)
  bool kept = false;    // its first value is a kept result's handle (JobState::kept)
};

class Dispatcher {
 public:
  // Called once per job, on the io thread, with the job and its outcome.
  using Deliver = std::function<void(Submission&, Outcome&&)>;
  // Called when pump() leaves the scheduler's queue empty: more jobs could go now.
  using Hungry = std::function<void()>;
  // Asked when a job held for its inputs is ready (its arguments now final): the outcome
  // of an earlier run (ClusterOptions::journal), if there was one.
  using Recall = std::function<std::optional<Outcome>(const Submission&)>;
  // Submits a job again, as a user would (a kept value lost with its node is made again,
  // dispatcher_lineage.cpp): returns its new id, 0 if the cluster no longer takes jobs.
  using Remake = std::function<uint64_t(const std::shared_ptr<const JobCode>& code,
                                        std::string args, uint32_t timeout_ms,
                                        std::unique_ptr<SubmitExtras> extras)>;

  Dispatcher(bool adaptive, Deliver deliver, Hungry hungry = nullptr);
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Registers a batch of submissions (emptied) and sends what the windows allow.
  void take(std::deque<Submission>& batch);
  // A node whose link is ready joins; returns its scheduler id.
  sched::NodeId add_node(NodeLink& link);
  // The node left: its unfinished jobs go back to the queue (or fail, after too many
  // losses). Returns how many were requeued. Call pump() afterwards.
  size_t remove_node(sched::NodeId node, const std::string& reason);
  void on_result(sched::NodeId node, proto::ResultMsg&& r);
  void on_stolen(sched::NodeId node, proto::Stolen&& st);
  // The node paused or resumed (its link's last PAUSE): a paused node takes no job, its
  // queued jobs are stolen back and its running ones get backup copies elsewhere.
  void on_pause(sched::NodeId node);
  // A node's answer to KEEP_FETCH: a kept value's bytes (dispatcher_keep.cpp).
  void on_kept(sched::NodeId node, proto::Kept&& k);
  // A user thread asks for the value of `job`, a kept result (JobState::kept): it is
  // fetched from its node (or taken from here) and put in place of the handle.
  void fetch_for_user(std::shared_ptr<JobState> job);
  // Bytes of kept results moved through this driver (fetched from their node).
  uint64_t kept_bytes_moved() const { return kept_moved_; }
  // Fills windows, plans steals and backup copies.
  void pump();
  // Every 100 ms or so: fails queued jobs when no node could take them for
  // no_node_timeout (or at once when `all_refused`), with `why_none()` as the reason;
  // gives running jobs their chance of a backup copy.
  void check_starvation(bool all_refused, std::chrono::milliseconds no_node_timeout,
                        const std::function<std::string()>& why_none);
  // Every unfinished job fails with `why` (the cluster closes).
  void fail_all(const std::string& why);
  // The user cancelled job `id` (its outcome is already given): it leaves the queue, or
  // each node holding a copy gets CANCEL; what they answer later is ignored.
  void cancel(uint64_t id);
  void set_recall(Recall recall) { recall_ = std::move(recall); }
  void set_remake(Remake remake) { remake_ = std::move(remake); }

  // One row per node name (a node that reconnected is one row); with `row_by_node`,
  // also each scheduler node's row.
  std::vector<NodeStats> node_stats(std::vector<uint32_t>* row_by_node = nullptr) const;
  // The report; without `timeline` its executions are left out (the table needs none).
  report::Report report(bool timeline) const;
  // The live figures it owns (live_figures.hpp): one LiveNode per report row (the same
  // fold, report::derive, and each node's copies in flight), the report's batch figures,
  // jobs retried and held, the most recent executions, the time since the first submit.
  void live(LiveSnapshot& out) const;
  // Follows the jobs running now for LiveSnapshot::running (the dashboard's task stream;
  // off by default: see running_jobs.hpp).
  void track_running() { running_.enable(); }
  // Each group's runs sent again and jobs held now for their inputs, into `groups`
  // (LiveFigures counts the rest; dispatcher_report.cpp). O(jobs held).
  void group_figures(std::vector<GroupCounts>& groups) const;
  // Seconds since the first job was taken (the report's and the task stream's clock).
  double batch_seconds() const { return first_submit_ < 0 ? 0 : now() - first_submit_; }

 private:
  // A copy sent as a stolen job or as a backup (the others are plain).
  struct SpecialCopy {
    sched::NodeId node;
    report::Kind kind;
  };
  struct Job {
    Submission sub;
    uint8_t drops = 0;             // times its node went away before answering
    bool keep_sent = false;        // a copy was sent asking the node to keep its result
    // Arguments of proto::kMinSplice bytes or more, moved here from sub.args at the first
    // send: each SUBMIT's write shares them, so a job that ends while one is being
    // written (another copy won, it was cancelled) leaves the bytes to that write.
    std::shared_ptr<std::string> wire_args;
    const std::string& args() const { return wire_args ? *wire_args : sub.args; }
  };
  // A node as the scheduler knows it, with what the report needs beyond its counters.
  struct Member {
    NodeLink* link = nullptr;      // while in the scheduler
    std::string name, host;
    double speed = 0;
    double cpu_seconds = 0;
    uint64_t bytes_sent = 0, bytes_received = 0;   // of its link, once it left
  };

  void send(const sched::Assignment& a, report::Kind kind);
  // Sends `job`'s scattered values the link lacks; returns why it cannot ("" if sent).
  std::string send_data(NodeLink& l, const SubmitExtras& x, uint64_t job,
                        const std::string& whose);
  void accept(sched::NodeId node, proto::ResultMsg&& r, const sched::Completion& c,
              report::Kind kind, double t);
  void lost(sched::NodeId node, const proto::ResultMsg& r, report::Kind kind, double t);
  void record(uint64_t job, sched::NodeId node, const proto::ResultMsg& r, double t,
              report::Kind kind, report::Fate fate);
  size_t count_drops(const std::vector<uint64_t>& requeued, const std::string& node,
                     const std::string& reason);
  void give_up(uint64_t id, proto::JobStatus st, std::string error);
  // Jobs placed on one worker (Cluster::run, js:run) of a node that went away: they can
  // run nowhere else (dispatcher_placed.cpp).
  void fail_placed(const Member& gone, const std::string& reason);
  static std::string worker_name(const Member& m, uint32_t worker);   // "host:port#k"
  void retried(sched::NodeId node, const proto::ResultMsg& r, const sched::Completion& c,
               report::Kind kind, double t);
  void mark_sent();
  void finish(uint64_t id, Outcome&& outcome);
  // Dependencies (dispatcher_deps.cpp).
  std::string hold(uint64_t id, SubmitExtras& extras);
  void start_held(uint64_t id);
  void settle_dependents(uint64_t id, const Outcome& outcome);
  void end_held(uint64_t id, Outcome&& outcome);
  // Kept results (dispatcher_keep.cpp).
  std::string keep_result(uint64_t id, sched::NodeId node, const std::string& value);
  void drop_unused(const std::string& hash);
  void count_kept(uint64_t id, const std::string& args, SubmitExtras& x);
  // Why a job naming kept values cannot be sent yet (move_kept).
  enum class Wait : uint8_t {
    kNone,       // it can go
    kParked,     // sent once a value reaches this driver (on_kept)
    kDeferred,   // held until a value lost with its node is made again (remade)
  };
  std::string move_kept(NodeLink& to, sched::NodeId node, uint64_t id, const SubmitExtras& x,
                        Wait& wait);
  void prefer_holder(uint64_t id, const SubmitExtras& x);
  bool ready_kept(const sched::Assignment& a, NodeLink& l, const SubmitExtras& x, bool& parked);
  void unref_kept(const std::vector<std::string>& hashes);
  void drop_kept(const std::string& hash);
  void kept_lost(sched::NodeId node);
  struct KeptValue;
  // Lineage (dispatcher_lineage.cpp): a kept value no node holds any more is made again.
  static constexpr sched::NodeId kNoNode = UINT32_MAX;
  struct Recipe;
  std::shared_ptr<Recipe> recipe_of(uint64_t id, const Job& job, uint64_t size);
  void lose_value(const std::string& hash, const std::string& how, sched::NodeId gone);
  std::string remake(const std::string& hash);
  void remade(uint64_t id, Outcome& outcome);
  void fail_value(const std::string& hash, const std::string& why);
  bool remaking_input(const SubmitExtras& x) const;
  bool unused(const KeptValue& v) const;
  void sweep_kept();
  void answer_readers(std::vector<std::shared_ptr<JobState>>& readers, const std::string& hash);
  bool wants_keep(uint64_t id, const Job& job) const;
  void late_keep(uint64_t input);
  void submit_to(Job& job, uint64_t id, NodeLink& l);
  NodeLink* link(sched::NodeId node) const;
  report::Kind special_kind(uint64_t job, sched::NodeId on) const;   // kNormal if plain
  double now() const;
  void batch_figures(report::Report& rep) const;   // rep.batch (nodes already folded)

  Deliver deliver_;
  Hungry hungry_;
  std::chrono::steady_clock::time_point created_;
  sched::Scheduler sched_;
  sched::JobTable<Job> jobs_;   // unfinished jobs, by id (ids are dense: no hash map)
  // The stolen and backup copies of unfinished jobs (few; a table of their own, so the
  // million plain jobs of a batch carry nothing for them).
  std::unordered_map<uint64_t, std::vector<SpecialCopy>> special_;
  std::unordered_map<std::string, std::shared_ptr<const JobCode>> code_;
  std::vector<Member> members_;   // by scheduler node id
  // Finished jobs whose other copies were cancelled: their kinds, until they answer.
  std::unordered_map<uint64_t, std::vector<SpecialCopy>> losers_;
  // For the timeline: a bounded sample (the figures come from sched_ and members_,
  // which count everything). Execution::node holds the scheduler's node id here.
  report::ExecutionSample executions_;
  // For the live task stream: the copies reckoned running now (running_jobs.hpp).
  RunningJobs running_;
  double first_submit_ = -1;
  double last_result_ = 0;
  uint64_t resent_ = 0;
  // Runs sent again, per group (bounded like LiveFigures' groups: "(other)" past it).
  std::unordered_map<std::string, uint64_t> resent_by_group_;
  void count_resent(uint64_t id);
  uint64_t duplicates_ = 0;
  size_t placed_ = 0;   // unfinished jobs placed on one worker (SubmitExtras::worker)
  std::chrono::steady_clock::time_point no_node_since_;
  // Jobs sent during this pump, and whether the copy counts as an attempt: their
  // JobStates learn it together, under one lock (mark_sent).
  std::vector<std::pair<std::shared_ptr<JobState>, bool>> sent_;
  // Jobs held until the jobs they depend on are done (their Job stays in jobs_).
  Dependencies deps_;
  std::deque<std::pair<uint64_t, Outcome>> ending_;   // held jobs to end (end_held)
  bool cascading_ = false;                           // ending_ is being worked off
  Recall recall_;
  Remake remake_;
  // What makes a kept value again: the first job that made it, as the driver had it
  // when its result came (its arguments with their kept inputs as handles), and the
  // recipes of those inputs, so a chain lost together is made again from its start.
  struct Recipe {
    uint64_t job = 0;                            // the job that made it first
    std::shared_ptr<const JobCode> code;
    std::shared_ptr<const std::string> args;     // shared with the job's send when large
    uint32_t timeout_ms = 0, retries = 0;
    bool pinned = false;                         // only its node may run it: not made again
    bool intermediate = false;
    uint64_t size = 0;
    std::vector<std::shared_ptr<const SharedData>> data;   // its scattered values
    std::vector<std::pair<std::string, std::shared_ptr<Recipe>>> inputs;   // kept ones
    uint32_t remakes = 0;                        // times made again
  };
  // The jobs running now to make a kept value again (their ids), with the value's hash.
  std::unordered_map<uint64_t, std::string> remaking_;
  // Kept results (SubmitExtras::keep): a job's value left on the node that made it, by
  // content hash, while a job that names it is unfinished.
  struct KeptValue {
    uint64_t size = 0;
    sched::NodeId holder = 0;   // a node holding it (preferred, asked for its bytes)
    bool holder_gone = false;   // no node holds it any more
    // Nodes that kept it, with how many times (each keep is released once).
    std::unordered_map<sched::NodeId, uint32_t> holds;
    std::shared_ptr<const std::string> bytes;   // once fetched through the driver
    uint32_t users = 0;                         // unfinished jobs whose arguments name it
    bool fetching = false;
    std::vector<std::pair<uint64_t, sched::NodeId>> parked;   // jobs sent once it is in
    std::vector<std::shared_ptr<JobState>> readers;            // users waiting for it
    // The jobs that made it (the user's handles on them: while one lives, it may be asked
    // for); none for a pipeline's intermediate.
    std::vector<std::weak_ptr<JobState>> producers;
    bool internal = false;   // SubmitExtras::keep: only its dependents take it
    bool used = false;       // a dependent named it
    std::shared_ptr<Recipe> recipe;   // how to make it again (null: it cannot be)
    bool remaking = false;            // a job is making it again (remaking_)
    std::vector<uint64_t> deferred;   // jobs held until it is made again
    std::string lost_how;             // "node X died holding", once no node holds it
    std::string lost;                 // why it is lost for good (what its waiters fail with)
  };
  std::unordered_map<std::string, KeptValue> kept_;
  uint64_t kept_moved_ = 0;
};

}  // namespace pp::client
