// What a node tells its clients and the LAN about itself: its NodeFacts, assembled once
// when it listens (versions, kernels its library exports, a speed score from a short
// calibration, limits), and the CPU load of processes other than its own, sampled from /proc
// each time the facts go out. HELLO, beacon and TXT all carry these one facts.
// Single-threaded (the node's loop).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/proto/node_facts.hpp"
#include "ppserver/node_config.hpp"

namespace pp::server {

// The facts of a node listening on `port` with `config` (all but the load and the address),
// under a fresh random node id and this machine's host name.
proto::NodeFacts node_facts(const NodeConfig& config, uint16_t port, double speed);

// The kernels the loaded libppkernels exports (pp_kernels_list, split at commas).
std::vector<std::string> loaded_kernels();

// Monte Carlo pi samples per microsecond on one core (native kernel, ~20 ms).
double calibrate_speed();

// utime + stime of a process from /proc, in clock ticks (0 if it is gone).
uint64_t process_cpu_ticks(pid_t pid);

class LoadMeter {
 public:
  // CPU share used by other processes since the last call, in cores (0..ncores).
  double sample(const std::vector<pid_t>& own);

 private:
  uint64_t last_total_ = 0;
  uint64_t last_busy_ = 0;
  uint64_t last_own_ = 0;
  double last_load_ = 0;
};

}  // namespace pp::server
