// What a node tells its clients and the LAN about itself: its NodeFacts, assembled once
// when it listens (versions, kernels its library exports, limits), the speed score a short
// calibration measures once the node already serves (SpeedCalibration); the loads are the
// Node's CpuMeter's (guest/cpu_usage.hpp), added each time the facts go out. HELLO, beacon
// and TXT all carry these one facts. Single-threaded (the node's loop), but for the
// calibration's own thread.
#pragma once

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

}  // namespace pp::server
