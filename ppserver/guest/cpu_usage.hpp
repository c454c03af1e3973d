// CPU usage of the whole machine and of the node's own processes, to tell the node's load
// from other processes' (--pause-when-busy, and load_own / load_other in NodeFacts).
//
// The parsers and the arithmetic are pure functions over text and numbers (unit-tested);
// CpuMeter reads /proc and the cgroup tree. "Own" is the node's cgroup when the node runs in a
// cgroup of its own (a systemd service: every process its jobs start is counted, however
// they detach), else the process tree from /proc under the node's pid. In the tree, each
// process counts its own CPU and that of the children it reaped (cutime, cstime), so a
// worker that ends moves its time to its parent instead of dropping out of the sum.
// Shares are of the whole machine (all CPUs together), so a hog of one core on 64 is 1.6 %.
// One meter per node, owned by the Node: the busy watch samples it each second, the facts the
// node announces read it as load_own / load_other (in cores, as `load` always was).
// Not thread-safe: one owner's thread calls sample() and recent().
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pp::server::guest {

// The "cpu" line of /proc/stat, in clock ticks summed over all CPUs.
struct MachineTicks {
  uint64_t total = 0;  // all time (guest time is already part of user time)
  uint64_t busy = 0;   // total less idle and iowait
};
std::optional<MachineTicks> parse_proc_stat(std::string_view text);

// One /proc/PID/stat line: its parent and its CPU with its reaped children's, in ticks.
struct ProcessTicks {
  pid_t pid = 0;
  pid_t ppid = 0;
  uint64_t ticks = 0;  // utime + stime + cutime + cstime
  uint64_t own = 0;    // utime + stime: the process alone
};
std::optional<ProcessTicks> parse_pid_stat(std::string_view line);

// utime + stime of a live process from /proc, in clock ticks (0 if it is gone): a worker's
// CPU for --job-cpu-limit.
uint64_t process_cpu_ticks(pid_t pid);

// The usage_usec line of a cgroup v2 cpu.stat.
std::optional<uint64_t> parse_cgroup_usage_usec(std::string_view cpu_stat);

// The cgroup v2 path of a /proc/PID/cgroup text (its "0::" line), if any.
std::optional<std::string> parse_cgroup_v2_path(std::string_view proc_cgroup);

// The CPU ticks of `root` and all its descendants in `all`.
uint64_t tree_ticks(pid_t root, const std::vector<ProcessTicks>& all);

// Shares of the whole machine between two samples, each 0..1.
struct LoadShares {
  double own = 0;
  double other = 0;
};
// `machine_*` from /proc/stat; `own_seconds` is the CPU time the node's processes used
// between the samples. Other = busy - own, never below 0 (the two sources are not read at
// the same instant). Zero shares when no time passed.
LoadShares load_shares(const MachineTicks& before, const MachineTicks& after, double own_seconds,
                       double ticks_per_second);

class CpuMeter {
 public:
  // Measures for the process `self` (the node) and decides where its own CPU is read.
  explicit CpuMeter(pid_t self);

  // Shares since the previous call (zeros on the first one).
  LoadShares sample();
  // The last sample, taken again first when it is `min_age` old or older: readers at
  // their own pace share the meter without cutting each other's intervals short.
  LoadShares recent(std::chrono::milliseconds min_age);
  // What sample() last returned.
  const LoadShares& last() const { return last_; }
  // CPUs online: a share times cpus() is in cores (NodeFacts' load_own and load_other).
  double cpus() const { return cpus_; }
  // "cgroup /system.slice/ppserver.service" or "process tree": for the log.
  const std::string& source() const { return source_; }

 private:
  double own_seconds_now() const;

  pid_t self_;
  std::string cgroup_stat_;  // path of the node's cpu.stat, empty: the process tree
  std::string source_;
  double ticks_per_second_;
  double cpus_;
  std::optional<MachineTicks> machine_;
  std::chrono::steady_clock::time_point sampled_{};
  double own_seconds_ = 0;
  LoadShares last_;
};

}  // namespace pp::server::guest
