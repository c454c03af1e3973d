// sched_sim: the scheduler at scale, in the pure simulator (core/sched/simulator.hpp).
//
//   sched_sim [--nodes 1000] [--jobs 1000000] [--workers 4] [--seed 1] [--rtt-ms 1]
//             [--speed-min 0.25] [--speed-max 4] [--work-min 0.2] [--work-max 2]
//
// N nodes of W workers, real speeds log-uniform in [speed-min, speed-max] (announced
// exactly as calibration would), per-node round trips log-uniform in [rtt/2, 2 rtt], and
// jobs whose work is log-uniform in [work-min, work-max] seconds at speed 1, all submitted
// at once. Prints one JSON object:
//   sched_us_per_job   time inside Scheduler calls (submit, assign, plan_steals, complete,
//                      stolen, started, add_node) per job: the thread's CPU clock
//                      (CLOCK_THREAD_CPUTIME_ID) read around each call, summed, minus the measured cost of an empty timed
//                      section times the number of calls. The simulator's own event loop,
//                      its node models and its checks are outside those sections.
//   process_cpu_us_per_job  the whole process's CPU (getrusage, user + system) per job:
//                      an upper bound that includes the simulator itself.
//   makespan_s, ideal_s  the simulated batch time, and the bound no schedule beats: the
//                      fluid time (total work / summed speed x workers, as if jobs could
//                      be cut into pieces) plus the smallest round trip (a job must reach
//                      a node and its result come back). Granularity is not added: the
//                      ratio includes what whole jobs cost at the tail.
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "core/sched/simulator.hpp"

namespace {

struct Args {
  size_t nodes = 1000;
  size_t jobs = 1000000;
  int workers = 4;
  uint32_t seed = 1;
  double rtt_ms = 1.0;
  double speed_min = 0.25, speed_max = 4.0;
  double work_min = 0.2, work_max = 2.0;
};

bool parse(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) return false;
    const char* v = argv[++i];
    char* end = nullptr;
    double x = std::strtod(v, &end);
    if (end == v || *end != '\0' || !(x >= 0)) return false;
    if (k == "--nodes") a.nodes = static_cast<size_t>(x);
    else if (k == "--jobs") a.jobs = static_cast<size_t>(x);
    else if (k == "--workers") a.workers = static_cast<int>(x);
    else if (k == "--seed") a.seed = static_cast<uint32_t>(x);
    else if (k == "--rtt-ms") a.rtt_ms = x;
    else if (k == "--speed-min") a.speed_min = x;
    else if (k == "--speed-max") a.speed_max = x;
    else if (k == "--work-min") a.work_min = x;
    else if (k == "--work-max") a.work_max = x;
    else return false;
  }
  return a.nodes > 0 && a.jobs > 0 && a.workers > 0 && a.speed_min > 0 &&
         a.speed_max >= a.speed_min && a.work_min > 0 && a.work_max >= a.work_min;
}

double log_uniform(std::mt19937_64& rng, double lo, double hi) {
  std::uniform_real_distribution<double> u(std::log(lo), std::log(hi));
  return std::exp(u(rng));
}

pp::sched::SimConfig config(const Args& a) {
  std::mt19937_64 rng(a.seed);
  pp::sched::SimConfig cfg;
  cfg.rtt = a.rtt_ms * 1e-3;
  cfg.deep_checks = false;
  cfg.time_scheduler = true;
  cfg.max_events = UINT64_MAX;
  for (size_t i = 0; i < a.nodes; ++i) {
    pp::sched::SimNode n;
    n.speed = log_uniform(rng, a.speed_min, a.speed_max);
    n.workers = a.workers;
    n.rtt = log_uniform(rng, cfg.rtt / 2, cfg.rtt * 2);
    cfg.nodes.push_back(n);
  }
  cfg.work.resize(a.jobs);
  for (double& w : cfg.work) w = log_uniform(rng, a.work_min, a.work_max);
  return cfg;
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec * 1e-6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!parse(argc, argv, a)) {
    std::fprintf(stderr,
                 "usage: sched_sim [--nodes N] [--jobs N] [--workers W] [--seed S] [--rtt-ms MS]\n"
                 "                 [--speed-min X] [--speed-max X] [--work-min S] [--work-max S]\n");
    return 2;
  }
  pp::sched::SimConfig cfg = config(a);
  double min_rtt = cfg.rtt * 2;
  for (const pp::sched::SimNode& n : cfg.nodes) min_rtt = std::min(min_rtt, n.rtt);
  const double cpu0 = cpu_seconds();
  const auto wall0 = std::chrono::steady_clock::now();
  pp::sched::SimResult r = pp::sched::simulate(cfg);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  const double cpu = cpu_seconds() - cpu0;
  for (const std::string& v : r.violations) std::fprintf(stderr, "sched_sim: broken: %s\n", v.c_str());
  const double jobs = static_cast<double>(a.jobs);
  const double ideal = r.ideal + min_rtt;
  std::printf(
      "{\"system\": \"sched_sim\", \"nodes\": %zu, \"jobs\": %zu, \"workers\": %d, "
      "\"speed_min\": %g, \"speed_max\": %g, \"work_min\": %g, \"work_max\": %g, \"rtt_ms\": %g, "
      "\"sched_us_per_job\": %.3f, \"process_cpu_us_per_job\": %.3f, \"sched_calls\": %llu, "
      "\"timer_overhead_ns\": %.1f, \"wall_s\": %.3f, \"makespan_s\": %.4f, \"ideal_s\": %.4f, "
      "\"fluid_s\": %.4f, \"makespan_over_ideal\": %.4f, \"steals\": %zu, \"backups\": %zu, "
      "\"events\": %llu, \"violations\": %llu, \"ok\": %s}\n",
      a.nodes, a.jobs, a.workers, a.speed_min, a.speed_max, a.work_min, a.work_max, a.rtt_ms,
      r.scheduler_seconds / jobs * 1e6, cpu / jobs * 1e6,
      static_cast<unsigned long long>(r.scheduler_calls), r.timer_overhead_seconds * 1e9, wall,
      r.makespan, ideal, r.ideal, r.makespan / ideal, r.steals, r.backups,
      static_cast<unsigned long long>(r.events), static_cast<unsigned long long>(r.violation_count),
      r.violation_count == 0 ? "true" : "false");
  return r.violation_count == 0 ? 0 : 1;
}
