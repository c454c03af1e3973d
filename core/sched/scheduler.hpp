// Scheduler: which job runs on which node. A pure layer: no sockets, no Asio, no
// clock of its own (time is passed in), so every decision can be replayed in tests.
//
// Jobs wait in one global FIFO queue. Each node has a window (jobs in flight on
// it, running or in its local queue) sized from its workers so no worker waits on
// a network round trip; assign() fills the emptiest windows first, so local
// workers never starve remote nodes. A node that leaves gives its unfinished jobs
// back to the front of the queue. complete() accepts exactly one result per job
// and reports any later copy as a duplicate. Not thread-safe: one owner thread.
//
//   Scheduler s;
//   NodeId n = s.add_node({"host:60000", 4, 1.0});
//   s.submit(1); s.submit(2);
//   for (auto a : s.assign()) send(a.node, a.job);
//   if (s.complete(1, n, 0.02, true) == Outcome::kAccepted) deliver(1);
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_set>
#include <vector>

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
};

struct Assignment {
  JobId job;
  NodeId node;
  uint32_t attempt;                // 0 for the first time a job is sent anywhere
};

enum class Outcome { kAccepted, kDuplicate, kUnknown };

struct SchedulerOptions {
  int window_per_worker = 4;       // jobs in flight per worker of a node
  int min_window = 2;
};

class Scheduler {
 public:
  explicit Scheduler(SchedulerOptions options = {}) : options_(options) {}

  NodeId add_node(const NodeInfo& info);
  // The node left: its unfinished jobs go back to the front of the queue.
  // Returns them (in queue order).
  std::vector<JobId> remove_node(NodeId node);
  void submit(JobId job);
  // Fills node windows from the queue.
  std::vector<Assignment> assign();
  // A node's outcome for a job it was given.
  Outcome complete(JobId job, NodeId node, double job_seconds, bool ok);
  // The node could not run the job (without it being the job's fault): queue it again.
  void give_back(JobId job, NodeId node);
  // Ends every queued job (for example when no node is left); returns them.
  std::vector<JobId> drain_queue();

  size_t queued() const { return queue_.size(); }
  size_t unfinished() const { return unfinished_; }
  size_t in_flight(NodeId node) const { return nodes_.at(node).in_flight.size(); }
  size_t active_nodes() const;
  int active_workers() const;
  size_t window(NodeId node) const;
  const NodeStats& stats(NodeId node) const { return nodes_.at(node).stats; }
  size_t node_count() const { return nodes_.size(); }
  bool is_done(JobId job) const;

 private:
  enum class JobState : uint8_t { kQueued, kRunning, kDone };
  struct Job {
    JobState state = JobState::kQueued;
    NodeId node = 0;
    uint32_t attempts = 0;
  };
  struct Node {
    NodeInfo info;
    NodeStats stats;
    std::unordered_set<JobId> in_flight;
  };
  Job& job(JobId id);

  SchedulerOptions options_;
  std::vector<Job> jobs_;          // index id - 1
  std::deque<JobId> queue_;
  std::vector<Node> nodes_;        // NodeId = index; nodes that left stay, inactive
  size_t unfinished_ = 0;
};

}  // namespace pp::sched
