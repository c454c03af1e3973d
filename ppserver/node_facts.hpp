// What a node tells the LAN about itself: a speed score from a short calibration
// at start, and the CPU load of processes other than its own, sampled from /proc.
// Used by the discovery announcer. Single-threaded (the node's loop).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace pp::server {

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
