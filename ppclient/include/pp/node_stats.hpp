// pp::NodeStats: what one node contributed to a batch, the one record of per-node
// figures. The engine folds the scheduler's counters into one per node name (a node
// that reconnected is one row); the text table, the JSON, the HTML/SVG report, the C++
// API (Cluster::stats) and the Lua API (js:get_stats()) all read this same record.
// Plain data; docs/report.md defines every figure.
//
//   for (const pp::NodeStats& s : cluster.stats())
//     std::printf("%s: %llu jobs\n", s.node.c_str(), (unsigned long long)s.jobs);
#pragma once

#include <cstdint>
#include <string>

namespace pp {

// What one node contributed (docs/report.md has every figure's definition).
struct NodeStats {
  std::string node;        // how the client addresses it: "host:port" or "local"
  std::string host;        // the node's host name (from its HELLO)
  int workers = 0;
  double speed_score = 0;  // the node's calibration score (1.0 = reference machine)
  bool connected = false;  // still connected when the figures were taken
  uint64_t jobs = 0;       // results delivered from this node (ok or failed)
  uint64_t failures = 0;   // delivered results that were errors
  uint64_t crashes = 0;    // executions that killed one of its workers
  double job_time = 0;     // sum of job wall times of its delivered results, seconds
  double cpu_time = 0;     // CPU seconds of every execution there, lost copies included
  double busy_time = 0;    // wall seconds with at least one job in flight there
  uint64_t stolen_from = 0;  // not-started jobs taken off its queue for another node
  uint64_t stolen_to = 0;    // jobs it received that way
  uint64_t backups_won = 0;  // backup copies it ran whose result came first
  uint64_t backups_lost = 0; // backup copies it ran that were cancelled / came second
  uint64_t requeued = 0;   // jobs sent elsewhere because it went away
  double paused_time = 0;  // wall seconds it was paused by its machine (PAUSE) while used
  bool paused = false;     // paused when the figures were taken
  uint64_t bytes_sent = 0;      // bytes the client wrote to it (frames: code, jobs, values)
  uint64_t bytes_received = 0;  // bytes the client read from it (results, heartbeats)

  bool operator==(const NodeStats&) const = default;
};

}  // namespace pp
