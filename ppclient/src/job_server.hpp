// JobServer: the engine behind pp::Cluster and the Lua module, and its thread
// boundary.
//
// libzmq's model: the user's threads only enqueue requests and wait on results;
// everything about nodes, jobs and the scheduler is owned by one io thread, in the
// NodeTable (one record per node, its link and reconnects) and the Dispatcher (the
// Scheduler, the job table, the report's figures); other threads read snapshots
// copied on the io thread (ActiveNodes) or ask the io thread for a copy (on_io).
// JobServer itself keeps only what crosses: submissions handed over in batches (one
// wake-up of the io thread per burst, not per job), each job's JobState filled once
// and its waiters woken, and the lifecycle (start, close, interrupt). Every job gets
// exactly one outcome: a result, an error from its node, or an error saying no node
// could run it. Thread-safe.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/discovery/beacon.hpp"
#include "ppclient/report/report.hpp"
#include "ppclient/src/active_nodes.hpp"
#include "ppclient/src/completions.hpp"
#include "ppclient/src/job_state.hpp"
#include "ppclient/src/live_figures.hpp"
#include "ppclient/src/scatter.hpp"
#include "ppclient/src/submit_extras.hpp"
#include "pp/cluster_options.hpp"
#include "pp/node_stats.hpp"

namespace pp::discovery {
class Browser;
struct BrowseOptions;
}

namespace pp::client {

class Dispatcher;
class NodeTable;
class ProgressBar;
class LocalNode;
class Dashboard;
class Journal;
struct Submission;
struct JobCode;
struct Outcome;

// A node seen through discovery, for `ppclient nodes`.
struct SeenNode {
  discovery::NodeFacts facts;
  std::string via;            // "broadcast", "mdns" or "broadcast+mdns"
  bool compatible = false;
  std::string why_not;        // when not compatible
  bool connected = false;
  bool gone = false;          // said BYE
};

// How a client browses for nodes: the backends $PP_DISCOVERY names (both by default), on
// `port`, QUERYs to `targets` (else $PP_BROADCAST, else every interface). For the
// JobServer and `ppclient top`.
discovery::BrowseOptions browse_options(uint16_t port, std::vector<std::string> targets);

// A code blob with its hash, made once and shared by every job of that code.
using CodeRef = std::shared_ptr<const JobCode>;

class JobServer {
 public:
  static CodeRef code_ref(std::string blob);

  explicit JobServer(ClusterOptions options, bool lua_bytecode = false);
  // close().
  ~JobServer();
  JobServer(const JobServer&) = delete;
  JobServer& operator=(const JobServer&) = delete;

  // Ends the cluster, at an explicit point (pp::Cluster's destructor, the Lua
  // cluster's close or collection): writes the report when ClusterOptions::report
  // names a file, says BYE to every node, fails every unfinished job ("the cluster
  // was closed") and joins the io thread. Idempotent; by the owner, not concurrently
  // with other calls. What is called after it runs on the caller's thread.
  void close();

  // Scatters a value (its msgpack bytes): sent to a node once, before the first job there
  // that names it, or to every connected node now with `broadcast` (scatter.hpp). Fails
  // when the value is larger than every connected node takes (its data cache, its frame
  // limit), naming its size and the limit. Any user thread.
  Result<std::shared_ptr<const SharedData>> scatter(std::string bytes, bool broadcast);

  // Throws std::invalid_argument when `extras` names a job of another cluster.
  std::shared_ptr<JobState> submit(const std::string& blob, std::string args,
                                   uint32_t timeout_ms = 0,
                                   std::unique_ptr<SubmitExtras> extras = nullptr);
  // The same for a blob hashed once already (a driver submitting many jobs of one code).
  std::shared_ptr<JobState> submit(const CodeRef& code, std::string args, uint32_t timeout_ms = 0,
                                   std::unique_ptr<SubmitExtras> extras = nullptr);
  void wait(JobState& job);
  void wait_all();

  // Futures (job_server_futures.cpp); any user thread.
  // Cancels `job` wherever it is (waiting in the driver, queued on a node, running: that
  // node stops its worker). True when it had not finished: its outcome is then kCancelled,
  // at once (waiters woken); what its copies answer later is ignored.
  bool cancel(const std::shared_ptr<JobState>& job);
  // The jobs in the order they finish (see completions.hpp).
  std::shared_ptr<Completions> watch(std::vector<std::shared_ptr<JobState>> jobs);
  // Ok once at least n workers are connected; after `timeout`, an error naming what is
  // connected (nodes and workers) and the nodes' last errors.
  Status wait_for_workers(int n, std::chrono::milliseconds timeout);
  // The jobs submitted under SubmitExtras::group `name` and not collected yet.
  std::vector<std::shared_ptr<JobState>> jobs_in_group(const std::string& name) const;

  int ncpus() const;
  // The lock, wake-up and counts every JobState of this server shares.
  const Sync& sync() const { return *sync_; }
  const std::shared_ptr<Sync>& shared_sync() const { return sync_; }
  std::map<std::string, int> active_nodes() const;
  // The connected nodes with what placing a job on each worker needs (js:run).
  std::map<std::string, NodePlaces> node_places() const { return active_.places(); }
  std::vector<NodeStats> stats() const;
  std::string stats_table() const;
  std::vector<SeenNode> seen_nodes() const;
  // What each node contributed so far (see report.hpp); taken on the io thread.
  report::Report report() const;
  // The live figures (live_figures.hpp): a copy taken on the io thread at most about
  // every 100 ms; a caller in between gets the last one. Any thread.
  LiveSnapshot live_snapshot() const;
  // Pipelines (job_server_live.cpp): one made with its stages' names gets the id its
  // jobs carry (SubmitExtras::pipeline, ::stage); its figures are counted with the other
  // live figures, and read back here (pl:stats(), Pipeline::stats). Any thread.
  uint32_t add_pipeline(std::vector<std::string> stage_names);
  report::Pipeline pipeline_figures(uint32_t id) const;
  // Writes report() to `path` (format by extension).
  Status write_report(const std::string& path) const;
  // Beacons of nodes heard by discovery that this client could not use: another
  // cluster's id or a MAC under another secret (distinct senders, for `ppclient nodes`).
  size_t unverified_nodes() const;

  // Ends the batch at once (SIGINT of `ppclient run`; any thread but the io
  // thread): says BYE to every node, so each drops this client's queued jobs and
  // stops its running ones, and stops the embedded node; waits for that at most
  // about `limit`. Waiters are not woken: the caller ends the process next.
  void interrupt(std::chrono::milliseconds limit);
  // interrupt() for every JobServer of the process (see interrupt.cpp).
  static void interrupt_all(std::chrono::milliseconds limit);

 private:
  // Runs f on the io thread and returns what it returns (the io thread owns the
  // scheduler and the node table); after close(), on the caller's.
  template <typename F>
  auto on_io(F f) const -> decltype(f()) {
    if (!thread_.joinable() || thread_.get_id() == std::this_thread::get_id()) return f();
    auto promise = std::make_shared<std::promise<decltype(f())>>();
    auto future = promise->get_future();
    asio::post(const_cast<asio::io_context&>(io_),
               [f = std::move(f), promise]() mutable { promise->set_value(f()); });
    return future.get();
  }
  static void enlist(JobServer* server);   // the process's live servers, for interrupt_all
  static void unlist(JobServer* server);
  void open_journal();
  void add_nodes();
  void io_main();
  void start_discovery();
  void on_found(const discovery::NodeFacts& facts, const std::string& via, bool bye);
  void drain_incoming();
  void on_hungry();
  void deliver(Submission& job, Outcome&& outcome);
  // `state` has its outcome (done is set): counted, and handed to its watchers.
  void finished_locked(const std::shared_ptr<JobState>& state);
  void add_to_group(const std::string& group, const std::shared_ptr<JobState>& state);
  void check_dependencies(const SubmitExtras& extras) const;
  std::optional<Outcome> recall(const Submission& s);
  void hand_over();
  void housekeeping();
  std::string why_no_node() const;
  void shutdown_io();
  // The dashboard (job_server_dashboard.cpp): its option checked first, bound just before
  // the io thread starts, served once it runs; at close its final state, kept up for
  // dashboard_linger, then stopped.
  void check_dashboard() const;
  void bind_dashboard();
  void serve_dashboard();
  void finish_dashboard();
  void linger_dashboard();
  LiveSnapshot take_live() const;   // io thread
  struct Delivered;
  void count_live(const Delivered& d);   // under sync_->mutex
  // Under sync_->mutex: a pipeline's job (SubmitExtras::pipeline) submitted, or ended
  // with `status` (`outcome`, when it ran: its run time, and whether it returned nil).
  void count_stage_submitted(const SubmitExtras* extras);
  void count_stage_finished(const SubmitExtras* extras, proto::JobStatus status,
                            const Outcome* outcome);
  // Scattered values (scatter_server.cpp).
  std::string data_refusal(uint64_t size) const;
  void release_data(const std::string& hash);

  ClusterOptions opt_;
  bool lua_bytecode_;
  std::string secret_;
  std::string local_secret_;   // the embedded node's one-off secret
  std::shared_ptr<Sync> sync_ = std::make_shared<Sync>();
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  std::unique_ptr<LocalNode> local_;
  std::unique_ptr<Dashboard> dashboard_;   // ClusterOptions::dashboard; its own threads
  std::unique_ptr<Journal> journal_;   // ClusterOptions::journal; thread-safe itself
  // ClusterOptions::progress: the bar, Sync::observer of this server's waits; stopped
  // by close() before the io thread ends (it reads live_snapshot()).
  std::unique_ptr<ProgressBar> progress_;
  ActiveNodes active_;                 // written by nodes_, read by any thread
  std::shared_ptr<DataRegistry> data_;   // scattered values; thread-safe itself

  // Shared with user threads, under sync_->mutex.
  std::deque<Submission> incoming_;   // a deque: no copy of a million as it grows
  bool wake_posted_ = false;
  // The io thread's scheduler queue ran dry: the next submission wakes it. Otherwise
  // submissions wait here until it asks (its windows are full: it could not send them).
  bool hungry_ = true;
  uint64_t next_id_ = 0;
  std::shared_ptr<const JobCode> last_code_;   // the code of the last submit
  uint64_t finished_count_ = 0;
  bool waiting_all_ = false;
  bool closed_ = false;
  uint64_t journal_hits_ = 0;
  uint64_t journal_appended_ = 0;
  LiveFigures live_;   // jobs counted as they are submitted and finish (live_figures.hpp)
  // Jobs by group name (weak: a collected job leaves its group), pruned as they grow.
  struct Group {
    std::vector<std::weak_ptr<JobState>> jobs;
    size_t prune_at = 64;
  };
  mutable std::unordered_map<std::string, Group> groups_;

  // io thread only (dispatcher_ outlives nodes_, whose links call it).
  // Outcomes of this turn of the event loop, handed to the user's threads together
  // (hand_over: one lock, one wake-up for a burst of results, not one per job).
  std::vector<Delivered> outbox_;
  bool hand_over_posted_ = false;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<NodeTable> nodes_;
  asio::steady_timer housekeeping_;
  bool discover_ = false;
  std::unique_ptr<discovery::Browser> discovery_;   // UDP and mDNS behind one interface
  std::map<std::string, SeenNode> seen_;   // by node id

  // The last live snapshot, under its own lock (readers never wait on sync_->mutex).
  mutable std::mutex live_mutex_;
  mutable LiveSnapshot live_last_;
  mutable std::chrono::steady_clock::time_point live_taken_;
  mutable uint64_t live_serial_ = 0;
};

}  // namespace pp::client
