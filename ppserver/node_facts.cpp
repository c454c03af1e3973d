#include "ppserver/node_facts.hpp"

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

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

}  // namespace pp::server
