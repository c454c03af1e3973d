// What a node tells its clients and the LAN about itself: its NodeFacts, assembled once
// when it listens (versions, kernels its library exports, limits), the speed score a short
// calibration measures once the node already serves (SpeedCalibration), and the CPU load of
// processes other than its own, sampled from /proc each time the facts go out. HELLO, beacon
// and TXT all carry these one facts. Single-threaded (the node's loop), but for the
// calibration's own thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "core/proto/node_facts.hpp"
#include "ppserver/node_config.hpp"

namespace pp::server {

// The facts of a node listening on `port` with `config` (all but the load and the address),
// under a fresh random node id and this machine's host name. The speed is 0 (unknown: the
// client's scheduler follows measured job times) until the calibration gives it.
proto::NodeFacts node_facts(const NodeConfig& config, uint16_t port);

// The kernels the loaded libppkernels exports (pp_kernels_list, split at commas).
std::vector<std::string> loaded_kernels();

// Monte Carlo pi samples per microsecond of the calling thread's CPU time (native kernel,
// ~20 ms of CPU). Counting CPU time rather than wall time keeps the score right when the
// thread shares its core with workers. Returns 0 when `stop` is set before the end.
double calibrate_speed(const std::atomic<bool>& stop);

// The calibration off the event loop, so it never delays the node's first job: a thread of
// its own at the lowest niceness (it runs on what workers and the loop leave; under full
// load it still gets a small share and ends), which hands the score to `done` on that
// thread.
// The owner posts it to its loop. The destructor stops the measurement and joins the
// thread, after which `done` is no longer called.
class SpeedCalibration {
 public:
  explicit SpeedCalibration(std::function<void(double score)> done);
  ~SpeedCalibration();
  SpeedCalibration(const SpeedCalibration&) = delete;
  SpeedCalibration& operator=(const SpeedCalibration&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

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
