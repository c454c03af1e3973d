#include "ppserver/node_facts.hpp"

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "core/proto/auth.hpp"
#include "core/util/split.hpp"
#include "pp_kernels.h"

extern "C" {
#include <luajit.h>
}

namespace pp::server {

namespace {

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace

proto::NodeFacts node_facts(const NodeConfig& config, uint16_t port) {
  proto::NodeFacts f;
  f.cluster_id = proto::cluster_id(config.secret);
  f.node_id = proto::random_hex(8);
  f.host = host_name();
  f.port = port;
  f.workers = static_cast<uint32_t>(config.workers);
  f.speed = 0;
  f.software = proto::kSoftwareVersion;
  f.protocol = proto::kProtocolVersion;
  f.min_protocol = proto::kMinProtocolVersion;
  f.kernel_abi = pp_kernels_abi_version();
  f.luajit = LUAJIT_VERSION;
  f.kernels = loaded_kernels();
  f.caps = proto::kOwnCaps;
  if (config.encrypt) f.caps |= static_cast<uint32_t>(proto::Cap::kEncrypt);
  f.max_frame = config.max_frame;
  f.data_cache = static_cast<uint64_t>(config.data_cache_mb) << 20;
  return f;
}

std::vector<std::string> loaded_kernels() { return split_list(pp_kernels_list(), ','); }

uint64_t process_cpu_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return 0;
  auto close = line.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return 0;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return utime + stime;
}

double calibrate_speed(const std::atomic<bool>& stop) {
  auto cpu_us = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
  };
  constexpr double kMeasureUs = 20000;
  constexpr uint64_t kChunk = 10000;  // about 0.1 ms of CPU: how soon `stop` is seen
  uint64_t samples = 0;
  uint64_t sink = 0;
  double t0 = cpu_us();
  double elapsed = 0;
  while (elapsed < kMeasureUs) {
    if (stop.load(std::memory_order_relaxed)) return 0;
    sink += pp_mc_pi_hits(kChunk, samples + 1);
    samples += kChunk;
    elapsed = cpu_us() - t0;
  }
  (void)sink;
  return static_cast<double>(samples) / elapsed;
}

SpeedCalibration::SpeedCalibration(std::function<void(double score)> done)
    : thread_([this, done = std::move(done)] {
        // The lowest niceness (this thread only): workers starting and jobs running get
        // nearly all of the CPU, yet a busy machine still leaves it a share to finish in.
        // (SCHED_IDLE would starve it for seconds behind any busy process.)
        (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);
        double score = calibrate_speed(stop_);
        if (score > 0) done(score);
      }) {}

SpeedCalibration::~SpeedCalibration() {
  stop_ = true;
  thread_.join();
}

double LoadMeter::sample(const std::vector<pid_t>& own) {
  std::ifstream in("/proc/stat");
  std::string cpu;
  uint64_t v[10] = {};
  in >> cpu;
  for (auto& x : v) in >> x;
  uint64_t idle = v[3] + v[4];
  uint64_t total = 0;
  for (int i = 0; i < 8; ++i) total += v[i];  // guest time is already in user
  uint64_t busy = total - idle;
  uint64_t own_ticks = 0;
  for (pid_t p : own) own_ticks += process_cpu_ticks(p);
  if (last_total_ != 0 && total > last_total_) {
    double ncpu = static_cast<double>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
    double dt = static_cast<double>(total - last_total_);
    double others = static_cast<double>(busy - last_busy_) -
                    static_cast<double>(own_ticks >= last_own_ ? own_ticks - last_own_ : 0);
    last_load_ = std::max(0.0, others / dt * ncpu);
  }
  last_total_ = total;
  last_busy_ = busy;
  last_own_ = own_ticks;
  return last_load_;
}

}  // namespace pp::server
