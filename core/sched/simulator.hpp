// Simulator: a discrete-event model of a cluster that drives the real Scheduler, for the
// scheduling tests (tests/unit/sched) and the scale benchmark (bench/sched_sim.cpp). Pure:
// simulated time only, no threads, no sockets. Not part of the product.
//
// The model: each node has workers that take jobs from its local FIFO queue; a job of
// work w takes w / speed seconds; every message between the client and a node takes half
// that node's round trip; a node that dies drops what it holds and is noticed `detect`
// seconds later. The client side answers the scheduler like the real engine does: it
// sends assignments, asks victims for steals, forwards answers and cancels copies. Events
// at equal times run in the order they were created, so a run is a pure function of its
// configuration.
//
// Along the way it checks the scheduler's promises (exactly one accepted result per job,
// nothing sent to a departed node, backups and steals only at the tail) and lists every
// broken one in SimResult::violations.
//
//   SimConfig cfg;
//   cfg.nodes = {SimNode{}, SimNode{.speed = 0.5}};
//   cfg.work.assign(100, 1.0);
//   SimResult r = simulate(cfg);
//   assert(r.violations.empty() && r.makespan < r.ideal * 1.1);
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "core/sched/scheduler.hpp"

namespace pp::sched {

struct SimNode {
  double speed = 1.0;         // real speed: a job of work w takes w / speed seconds
  int workers = 4;
  double announced = -1;      // calibration score sent to the scheduler; < 0: = speed
  double join_at = 0;
  double die_at = std::numeric_limits<double>::infinity();
  bool reports_starts = false;
  double rtt = -1;            // client-node round trip; < 0: SimConfig::rtt
};

struct SimConfig {
  std::vector<SimNode> nodes;
  std::vector<double> work;   // per job (index = id - 1), seconds at speed 1
  std::set<JobId> poison;     // jobs that crash their worker every time
  double rtt = 0.01;          // also the round trip the scheduler is told
  double detect = 0.5;        // time to notice a dead node
  bool steal = true;
  int max_backups = 8;
  bool adaptive = true;       // false: the free-slot policy
  // Checks that cost a pass over every node at each step (no steal while every worker
  // is busy). On for tests; off for large runs, where they would dominate.
  bool deep_checks = true;
  // Time every scheduler call with the thread's CPU clock (SimResult::scheduler_seconds).
  bool time_scheduler = false;
  uint64_t max_events = 10'000'000;  // a run that needs more is stuck: it stops there
};

struct SimResult {
  double makespan = 0;
  double ideal = 0;           // when the summed speed of the live nodes would have done all work
  std::vector<uint32_t> accepted;  // per job: accepted results
  std::vector<NodeStats> stats;
  size_t steals = 0, backups = 0, failed_for_good = 0;
  int last_node = -1;         // sim index of the node whose result finished the batch
  uint64_t events = 0;
  std::vector<std::string> violations;  // the first broken promises (at most 20)
  uint64_t violation_count = 0;
  // With SimConfig::time_scheduler: summed CPU time inside scheduler calls, the number of
  // calls, and the measured cost of one empty timed section (already subtracted).
  double scheduler_seconds = 0;
  uint64_t scheduler_calls = 0;
  double timer_overhead_seconds = 0;
};

SimResult simulate(const SimConfig& cfg);

// When the integral of the live nodes' summed capacity (speed * workers) reaches the total
// work: the fluid bound, which no schedule beats.
double fluid_makespan(const SimConfig& cfg);

}  // namespace pp::sched
