// CpuLimiter: caps each busy worker at a percentage of CPU time (--cpu-limit)
// by duty-cycling it: in every period of kPeriod the worker runs for the "on"
// part and is held with SIGSTOP for the rest, then resumed with SIGCONT.
//
// A node is a guest on someone's desktop; nice alone still lets a worker take
// a whole core when the desktop is idle, which shows as heat and fan noise.
//
// Only workers running a job are cycled: an idle worker blocks in read() and
// costs nothing, and leaving idle workers alone lets the timer disarm itself
// when the node has no work, so an idle node does not wake 20 times a second.
// The phase is global (one timer for all workers). A worker that becomes busy
// during the "off" part (on_busy) is stopped at once, so no job ever starts
// with a fresh allowance in the middle of a period.
//
// The stopped time is wall time: the node's per-job time limit (which counts
// wall time) runs on while a worker is stopped, so a job needs about
// cpu / percent of wall time. The worker's reported cpu_us stays its process
// CPU time, which is what it really used.
//
// Owned by the WorkerPool and run on the node's io_context thread. It signals
// only pids it is given; the pool calls forget() as soon as it reaps a worker,
// before the pid can be reused, and stop() before it kills its workers.
//
//   CpuLimiter limiter(io, 25, [&] { return busy_worker_pids(); });
//   limiter.on_busy(pid);   // a job was assigned to the worker `pid`
//   limiter.forget(pid);    // the worker was reaped
//   limiter.stop();         // resume everything, disarm
#pragma once

#include <sys/types.h>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <vector>

namespace pp::server {

// The "on" part of one period at `percent` (1..100), at least 1 ms.
std::chrono::microseconds cpu_limit_on_time(int percent, std::chrono::microseconds period);

class CpuLimiter {
 public:
  static constexpr std::chrono::milliseconds kPeriod{100};
  using BusyPids = std::function<std::vector<pid_t>()>;

  // `percent` 100 (or more) disables the limiter; `busy` lists the pids of the
  // workers running a job and is called at every start of an "off" part.
  CpuLimiter(asio::io_context& io, int percent, BusyPids busy);
  ~CpuLimiter();
  CpuLimiter(const CpuLimiter&) = delete;
  CpuLimiter& operator=(const CpuLimiter&) = delete;

  bool enabled() const { return percent_ < 100; }
  int percent() const { return percent_; }

  // The worker `pid` was given a job: arms the timer if idle (starting with an
  // "on" part), or stops the worker at once during an "off" part.
  void on_busy(pid_t pid);
  // The worker `pid` is gone: never signal that pid again.
  void forget(pid_t pid);
  // Resumes every held worker and disarms the timer; on_busy() re-arms it.
  void stop();

 private:
  using Clock = std::chrono::steady_clock;
  void schedule(std::chrono::microseconds part);
  void on_edge();
  void hold(pid_t pid);
  void resume_all();

  int percent_;
  BusyPids busy_;
  asio::steady_timer timer_;
  std::chrono::microseconds on_;
  std::chrono::microseconds off_;
  Clock::time_point next_edge_;  // when the current part ends
  bool armed_ = false;
  bool off_phase_ = false;
  uint64_t generation_ = 0;     // ignores a handler that was queued before stop()
  std::vector<pid_t> stopped_;  // pids held with SIGSTOP
};

}  // namespace pp::server
