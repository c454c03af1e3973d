// RunningJobs: the jobs the driver reckons are running now, on which worker and since
// when, for the live task stream's bars of jobs not yet ended.
//
// Why a reckoning: a node does not tell the driver when it starts a job (it answers
// only with the RESULT, which names the worker and the run's wall time), and a notice
// per job would cost every job a frame. What the driver does know is cheap and honest
// enough: when it sent each copy to a node, how many workers the node has, and when each
// copy left it. So each node is a row of worker slots and a queue in send order; a copy
// takes a free slot when it is sent to a node with one (its start is the send), else it
// waits and takes the slot the next ending copy frees (its start is that ending). The
// RESULT then corrects the picture: its worker is the slot freed and the one the next
// waiting copy takes (a node gives a freed worker the next job), and a copy the
// reckoning put on that worker moves to the slot the ended one held. A RESULT's own bar
// (report::Execution) carries the node's measured times; only running bars are reckoned.
//
// Owned by the Dispatcher on the io thread (not thread-safe); copied into LiveSnapshot.
// Memory: one entry per copy in flight; running() is at most one per worker slot. Off
// until enable(): it costs about a tenth of a microsecond per job (a hash map entry),
// which only the dashboard's page, the one reader, should make a batch pay.
//
//   RunningJobs r;
//   r.enable();
//   r.add_node(0, 2);
//   r.sent(0, 7, report::Kind::kNormal, 1.0);   // slot 0 free: running since 1.0
//   r.ended(0, 7, 0, 1.5);                      // its RESULT came from worker 0
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <vector>

#include "ppclient/report/report.hpp"

namespace pp::client {

struct RunningJob {
  uint64_t job = 0;
  uint32_t node = 0;     // the scheduler's node id (a report row, in a LiveSnapshot)
  uint32_t worker = 0;   // the worker slot it is reckoned on, 0-based
  double start = 0;      // when it took that slot (see the top)
  report::Kind kind = report::Kind::kNormal;
  bool operator==(const RunningJob&) const = default;
};

class RunningJobs {
 public:
  // From now on copies are followed (sent and ended do nothing before).
  void enable() { enabled_ = true; }
  bool enabled() const { return enabled_; }
  // A node joined with `workers` worker slots (a reconnected node gets a new id).
  void add_node(uint32_t node, uint32_t workers);
  // A copy of `job` was sent to `node` at `t`.
  void sent(uint32_t node, uint64_t job, report::Kind kind, double t);
  // The copy of `job` on `node` left it at `t`: its result came from `worker` (0-based),
  // or, with worker < 0, it was cancelled or taken back. Unknown copies are ignored.
  void ended(uint32_t node, uint64_t job, int64_t worker, double t);
  // The node went away: its copies with it.
  void node_gone(uint32_t node);

  // The copies reckoned running, by node and slot.
  std::vector<RunningJob> running() const;
  // Copies on `node` reckoned waiting there for a worker.
  size_t waiting(uint32_t node) const;

 private:
  static constexpr int32_t kWaiting = -1;
  struct Copy {
    report::Kind kind = report::Kind::kNormal;
    int32_t slot = kWaiting;
  };
  struct Node {
    std::vector<uint64_t> slots;     // the copy on each worker slot (its job id)
    std::vector<bool> taken;
    std::vector<double> since;
    size_t busy = 0;
    // In send order; may hold ids that ended or already took a slot (skipped lazily).
    std::deque<uint64_t> queue;
    std::unordered_map<uint64_t, Copy> copies;
  };
  Node* find(uint32_t node);
  // Waiting copies take the free slots, `prefer` first (a worker known idle), at `t`.
  static void promote(Node& n, double t, int64_t prefer);
  static void free_slot(Node& n, int32_t slot);

  std::vector<Node> nodes_;   // by scheduler node id
  bool enabled_ = false;
};

}  // namespace pp::client
