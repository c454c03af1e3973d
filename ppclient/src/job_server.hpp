// JobServer: the engine behind pp::Cluster and the Lua module.
//
// Owns the background io_context thread, one NodeLink per node (explicit
// "host:port" entries and the embedded local node), the Scheduler, and the job
// table. User threads submit and wait; the io thread connects, dispatches,
// collects results and requeues the jobs of nodes that go away. Submissions are
// handed over in batches (one wake-up of the io thread per burst, not per job).
// Every job gets exactly one outcome: a result, an error from its node, or an
// error saying no node could run it. Thread-safe.
#pragma once

#include <asio.hpp>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/discovery/beacon.hpp"
#include "core/proto/messages.hpp"
#include "core/sched/scheduler.hpp"
#include "ppclient/src/execution_sample.hpp"
#include "ppclient/src/report.hpp"
#include "pp/cluster_options.hpp"
#include "pp/node_stats.hpp"

namespace pp::discovery {
class UdpListener;
class AvahiBrowser;
}

namespace pp::client {

class NodeLink;
class LocalNode;
class Journal;

// A node seen through discovery, for `ppclient nodes`.
struct SeenNode {
  discovery::NodeFacts facts;
  std::string via;            // "broadcast", "mdns" or "broadcast+mdns"
  bool compatible = false;
  std::string why_not;        // when not compatible
  bool connected = false;
  bool gone = false;          // said BYE
};

struct Sync {
  std::mutex mutex;
  std::condition_variable cv;
};

// One job's outcome as the user sees it. Guarded by sync->mutex.
struct JobState {
  uint64_t id = 0;
  std::shared_ptr<Sync> sync;
  bool done = false;
  bool waited = false;
  proto::JobStatus status = proto::JobStatus::kOk;
  std::string value;          // msgpack array of returned values
  std::string error;
  std::string traceback;
  std::string node;
  double wall_seconds = 0;
};

class JobServer {
 public:
  explicit JobServer(ClusterOptions options, bool lua_bytecode = false);
  ~JobServer();

  std::shared_ptr<JobState> submit(const std::string& blob, std::string args,
                                   uint32_t timeout_ms = 0);
  void wait(JobState& job);
  void wait_all();
  // Ids of jobs finished since the last call (only when tracking was enabled).
  std::vector<uint64_t> take_finished();
  void track_finished(bool on);
  int ncpus() const;
  std::map<std::string, int> active_nodes() const;
  std::vector<NodeStats> stats() const;
  double elapsed_seconds() const;
  std::string stats_table() const;
  std::vector<SeenNode> seen_nodes() const;
  // What each node contributed so far (see report.hpp); taken on the io thread.
  report::Report report() const;
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
  // A copy sent as a stolen job or as a backup (the others are plain).
  struct SpecialCopy {
    sched::NodeId node;
    report::Kind kind;
  };
  struct Pending {
    std::shared_ptr<JobState> state;
    std::string hash;
    std::shared_ptr<const std::string> blob;
    std::string args;
    uint32_t timeout_ms = 0;
    std::vector<SpecialCopy> special;
    std::string journal_key;       // with a journal: where its result goes
    bool from_journal = false;     // finished in an earlier run: never sent
    bool refused = false;          // failed at submit (cannot fit any frame): never sent
    uint8_t drops = 0;             // times its node went away before answering
  };
  // Per scheduler node: what the report needs beyond the scheduler's figures.
  struct NodeExtra {
    NodeLink* link = nullptr;    // while ready
    std::string host;
    double speed = 0;
    double cpu_seconds = 0;
  };
  struct NodeEntry {
    std::string name, host;
    uint16_t port = 0;
    std::shared_ptr<NodeLink> link;
    std::string last_error;
    bool refused = false;
    int failures = 0;
    bool local = false;
    bool discovered = false;
    std::string node_id;
  };

  // Runs f on the io thread and returns what it returns (the io thread owns the
  // scheduler and the node table).
  template <typename F>
  auto on_io(F f) const -> decltype(f()) {
    if (thread_.get_id() == std::this_thread::get_id()) return f();
    auto promise = std::make_shared<std::promise<decltype(f())>>();
    auto future = promise->get_future();
    asio::post(const_cast<asio::io_context&>(io_),
               [f = std::move(f), promise]() mutable { promise->set_value(f()); });
    return future.get();
  }
  static void enlist(JobServer* server);   // the process's live servers, for interrupt_all
  static void unlist(JobServer* server);
  void io_main();
  void start_discovery();
  void on_found(const discovery::NodeFacts& facts, const std::string& via, bool bye);
  void start_nodes();
  void connect(NodeEntry& node);
  void drain_incoming();
  void pump();
  void send(const sched::Assignment& a, report::Kind kind);
  void on_ready(NodeLink& link);
  void on_result(NodeLink& link, proto::ResultMsg&& r);
  void on_stolen(NodeLink& link, proto::Stolen&& st);
  void record(uint64_t job, sched::NodeId node, const proto::ResultMsg& r, double now,
              report::Kind kind, report::Fate fate);
  double now() const;
  report::Report build_report() const;
  void on_down(NodeLink& link, const std::string& reason, bool permanent);
  size_t count_drops(const std::vector<uint64_t>& requeued, const std::string& node,
                     const std::string& reason);
  void give_up(uint64_t id, proto::JobStatus st, std::string error);
  void finish(uint64_t id, proto::JobStatus st, std::string value, std::string error,
              std::string traceback, const std::string& node, double wall);
  void check_starvation();
  void shutdown_io();
  NodeEntry* entry_of(NodeLink& link);

  ClusterOptions opt_;
  bool lua_bytecode_;
  std::string secret_;
  std::string local_secret_;   // the embedded node's one-off secret
  std::shared_ptr<Sync> sync_ = std::make_shared<Sync>();
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  std::unique_ptr<LocalNode> local_;
  std::unique_ptr<Journal> journal_;   // ClusterOptions::journal; thread-safe itself
  uint64_t journal_hits_ = 0;          // under sync_->mutex
  uint64_t journal_appended_ = 0;      // io thread
  asio::steady_timer housekeeping_;
  std::chrono::steady_clock::time_point created_;

  // Shared with user threads, under sync_->mutex.
  std::vector<Pending> incoming_;
  bool wake_posted_ = false;
  uint64_t next_id_ = 0;
  uint64_t finished_count_ = 0;
  bool waiting_all_ = false;
  bool track_finished_ = false;
  std::vector<uint64_t> finished_ids_;
  std::vector<NodeStats> stats_snapshot_;
  std::map<std::string, int> active_snapshot_;
  bool closed_ = false;

  // io thread only.
  sched::Scheduler sched_;
  std::unordered_map<uint64_t, Pending> jobs_;
  std::unordered_map<std::string, std::shared_ptr<const std::string>> code_;
  std::deque<NodeEntry> nodes_;   // stable addresses: links refer to entries
  bool discover_ = false;
  bool interrupted_ = false;   // no new connections once interrupt() ran
  std::unique_ptr<discovery::UdpListener> udp_;
  std::unique_ptr<discovery::AvahiBrowser> mdns_;
  std::map<std::string, SeenNode> seen_;   // by node id
  std::vector<NodeExtra> extra_;           // by scheduler node id
  // Finished jobs whose other copies were cancelled: their kinds, until they answer.
  std::unordered_map<uint64_t, std::vector<SpecialCopy>> losers_;
  // For the timeline: a bounded sample (the figures come from sched_ and extra_, which
  // count everything). Execution::node holds the scheduler's node id here.
  report::ExecutionSample executions_;
  double first_submit_ = -1;
  double last_result_ = 0;
  uint64_t resent_ = 0;
  uint64_t duplicates_ = 0;
  std::chrono::steady_clock::time_point no_node_since_;
  bool had_node_ = false;
};

}  // namespace pp::client
