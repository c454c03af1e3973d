#include "ppserver/node_facts.hpp"

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

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

proto::NodeFacts node_facts(const NodeConfig& config, uint16_t port, double speed) {
  proto::NodeFacts f;
  f.cluster_id = proto::cluster_id(config.secret);
  f.node_id = proto::random_hex(8);
  f.host = host_name();
  f.port = port;
  f.workers = static_cast<uint32_t>(config.workers);
  f.speed = speed;
  f.software = proto::kSoftwareVersion;
  f.protocol = proto::kProtocolVersion;
  f.min_protocol = proto::kMinProtocolVersion;
  f.kernel_abi = pp_kernels_abi_version();
  f.luajit = LUAJIT_VERSION;
  f.kernels = loaded_kernels();
  f.caps = proto::kOwnCaps;
  if (config.encrypt) f.caps |= static_cast<uint32_t>(proto::Cap::kEncrypt);
  f.max_frame = config.max_frame;
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

double calibrate_speed() {
  using Clock = std::chrono::steady_clock;
  uint64_t samples = 0;
  uint64_t sink = 0;
  auto t0 = Clock::now();
  auto elapsed = Clock::duration::zero();
  while (elapsed < std::chrono::milliseconds(20)) {
    sink += pp_mc_pi_hits(100000, samples + 1);
    samples += 100000;
    elapsed = Clock::now() - t0;
  }
  (void)sink;
  double us = std::chrono::duration<double, std::micro>(elapsed).count();
  return static_cast<double>(samples) / us;
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
