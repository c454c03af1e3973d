// hetero_bench: a batch of uneven jobs on two full-speed nodes and one held to a
// quarter of a CPU, for bench/hetero.sh.
//
//   hetero_bench --fast HOST:PORT --fast HOST:PORT --slow HOST:PORT [--repeat N] [--jobs N]
//                [--min-ms N] [--max-ms N]
//
// The secret comes from PP_SECRET. Prints a Markdown section on stdout (progress on
// stderr):
//  * node speeds measured together: each node is kept busy by its own client for a few
//    seconds, all three at once (so they share the machine as in the batch); a node's
//    speed is the job CPU seconds it completes per wall second;
//  * the batch (jobs of --min-ms..--max-ms of CPU, log-uniform, fixed seed) under three set-ups,
//    interleaved round by round: ppcluster's scheduling on all three nodes, the plain
//    free-slot policy (Parallel Python's) on all three, ppcluster on the two fast nodes
//    alone; medians of the makespans;
//  * the ideal: total work / summed node speeds, and the ratios against it.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "pp/cluster.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Spins for `cpu_s` seconds of the worker's CPU time; a node held to 20% of a CPU
// takes five times as long in wall time.
const pp::Code kSpin = pp::Code::lua(R"(function(i, cpu_s)
  local t0 = os.clock()
  local x = 0
  while os.clock() - t0 < cpu_s do x = x + 1 end
  return i
end)");

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n == 0 ? 0 : (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
}

pp::ClusterOptions options(std::vector<std::string> servers,
                           pp::ClusterOptions::Scheduling policy) {
  pp::ClusterOptions o;
  o.servers = std::move(servers);
  o.local_workers = 0;
  o.scheduling = policy;
  o.no_node_timeout = 60s;
  return o;
}

void wait_connected(pp::Cluster& c, int workers) {
  for (int i = 0; i < 500 && c.get_ncpus() < workers; ++i) std::this_thread::sleep_for(10ms);
  if (c.get_ncpus() < workers) {
    std::fprintf(stderr, "hetero_bench: nodes not reachable\n");
    std::exit(1);
  }
}

// Keeps one node busy for `seconds` with 20 ms jobs; returns CPU seconds per wall second.
double node_speed(const std::string& node, double seconds) {
  pp::Cluster c(options({node}, pp::ClusterOptions::Scheduling::kAdaptive));
  wait_connected(c, 1);
  const double job = 0.02;
  auto t0 = Clock::now();
  std::vector<pp::Job> inflight;
  size_t done = 0;
  while (seconds_since(t0) < seconds) {
    while (inflight.size() < 4) inflight.push_back(c.submit(kSpin, 0, job));
    inflight.front().get<int>();
    inflight.erase(inflight.begin());
    ++done;
  }
  double wall = seconds_since(t0);
  for (auto& j : inflight) j.get<int>();  // not counted: they finish after `wall`
  return static_cast<double>(done) * job / wall;
}

struct Run {
  double makespan = 0;
  double slow_share = 0;     // of the work: the CPU seconds its jobs asked for
  uint64_t steals = 0, backups = 0, slow_jobs = 0;
};

Run batch(const std::vector<std::string>& servers, pp::ClusterOptions::Scheduling policy,
          const std::vector<double>& work, const std::string& slow) {
  pp::Cluster c(options(servers, policy));
  wait_connected(c, static_cast<int>(servers.size()));
  auto t0 = Clock::now();
  std::vector<pp::Job> jobs;
  for (size_t i = 0; i < work.size(); ++i) jobs.push_back(c.submit(kSpin, static_cast<int>(i), work[i]));
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (jobs[i].get<int>() != static_cast<int>(i)) {
      std::fprintf(stderr, "hetero_bench: job %zu returned a wrong result\n", i);
      std::exit(1);
    }
  }
  Run r;
  r.makespan = seconds_since(t0);
  double total = 0, on_slow = 0;
  for (size_t i = 0; i < jobs.size(); ++i) {
    total += work[i];
    if (jobs[i].node() == slow) {
      on_slow += work[i];
      ++r.slow_jobs;
    }
  }
  for (const auto& s : c.stats()) {
    r.steals += s.stolen_to;
    r.backups += s.backups_won + s.backups_lost;
  }
  r.slow_share = total > 0 ? on_slow / total : 0;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> fast;
  std::string slow;
  int repeat = 3;
  size_t njobs = 60;
  double min_ms = 20, max_ms = 600;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "hetero_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--fast") fast.push_back(value());
    else if (a == "--slow") slow = value();
    else if (a == "--repeat") repeat = std::max(1, std::atoi(value().c_str()));
    else if (a == "--jobs") njobs = static_cast<size_t>(std::max(10, std::atoi(value().c_str())));
    else if (a == "--min-ms") min_ms = std::max(1.0, std::atof(value().c_str()));
    else if (a == "--max-ms") max_ms = std::max(1.0, std::atof(value().c_str()));
    else {
      std::fprintf(stderr,
                   "usage: hetero_bench --fast H:P --fast H:P --slow H:P [--repeat N] [--jobs N] "
                   "[--min-ms N] [--max-ms N]\n");
      return 2;
    }
  }
  if (fast.size() != 2 || slow.empty()) {
    std::fprintf(stderr, "hetero_bench: give two --fast nodes and one --slow node\n");
    return 2;
  }
  std::vector<double> work(njobs);
  std::mt19937_64 rng(42);
  if (max_ms < min_ms) std::swap(min_ms, max_ms);
  std::uniform_real_distribution<double> u(std::log(min_ms / 1000), std::log(max_ms / 1000));
  double total_work = 0;
  for (double& w : work) total_work += (w = std::exp(u(rng)));

  // Speeds, all three nodes busy at once.
  std::vector<std::string> all = {fast[0], fast[1], slow};
  std::vector<double> speed(3);
  {
    std::vector<std::thread> t;
    for (size_t k = 0; k < 3; ++k) t.emplace_back([&, k] { speed[k] = node_speed(all[k], 4.0); });
    for (auto& th : t) th.join();
  }
  double sum_speed = speed[0] + speed[1] + speed[2];
  double ideal = total_work / sum_speed;
  std::fprintf(stderr, "speeds %.3f %.3f %.3f, work %.2f s, ideal %.2f s\n", speed[0], speed[1],
               speed[2], total_work, ideal);

  using S = pp::ClusterOptions::Scheduling;
  std::vector<Run> adaptive, freeslot, fast_only;
  for (int r = 0; r < repeat; ++r) {
    adaptive.push_back(batch(all, S::kAdaptive, work, slow));
    freeslot.push_back(batch(all, S::kFreeSlot, work, slow));
    fast_only.push_back(batch(fast, S::kAdaptive, work, slow));
    std::fprintf(stderr, "round %d: ppcluster %.2f s, free-slot %.2f s, fast nodes alone %.2f s\n",
                 r + 1, adaptive.back().makespan, freeslot.back().makespan,
                 fast_only.back().makespan);
  }
  auto med = [](const std::vector<Run>& v, auto field) {
    std::vector<double> x;
    for (const Run& r : v) x.push_back(static_cast<double>(field(r)));
    return median(x);
  };
  auto makespan = [](const Run& r) { return r.makespan; };
  double m_ad = med(adaptive, makespan), m_fs = med(freeslot, makespan),
         m_fast = med(fast_only, makespan);

  std::printf("Batch: %zu jobs of %.0f..%.0f ms of CPU (log-uniform, seed 42), %.2f s of work in "
              "all.\n", njobs, min_ms, max_ms, total_work);
  std::printf("Nodes: two with 1 worker at full speed, one with 1 worker at a quarter of it.\n");
  std::printf("Speeds measured with all three busy at once (job CPU seconds per wall second): "
              "%.3f, %.3f, %.3f; sum %.3f. They come from streams of 20 ms jobs, so they carry "
              "per-job costs and the 100 ms granularity of `--cpu-limit`: a batch of longer jobs "
              "can beat this ideal by a few percent.\n\n", speed[0], speed[1], speed[2], sum_speed);
  std::printf("| set-up | median makespan | × ideal | × fast nodes alone | worst round (× ideal) | slow node's share of the work (its jobs' CPU seconds) | steals | backup copies |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  std::printf("| ideal (work / summed speeds) | %.3f s | 1.00 | %.2f | | | | |\n", ideal, ideal / m_fast);
  auto line = [&](const char* name, const std::vector<Run>& v, double m, bool has_slow) {
    double worst = 0;
    for (const Run& r : v) worst = std::max(worst, r.makespan);
    std::printf("| %s | %.3f s | %.2f | %.2f | %.3f s (%.2f) | %s | %.0f | %.0f |\n", name, m,
                m / ideal, m / m_fast, worst, worst / ideal,
                has_slow ? (std::to_string(static_cast<int>(std::lround(
                                100 * med(v, [](const Run& r) { return r.slow_share; })))) + " %")
                               .c_str()
                         : "",
                med(v, [](const Run& r) { return static_cast<double>(r.steals); }),
                med(v, [](const Run& r) { return static_cast<double>(r.backups); }));
  };
  line("ppcluster (windows by speed, stealing, backups), 3 nodes", adaptive, m_ad, true);
  line("free-slot policy (Parallel Python's), 3 nodes", freeslot, m_fs, true);
  line("ppcluster, the two fast nodes alone", fast_only, m_fast, false);
  std::printf("\nRounds (ppcluster / free-slot / fast alone, seconds):");
  for (int r = 0; r < repeat; ++r) {
    std::printf(" %.2f/%.2f/%.2f%s", adaptive[r].makespan, freeslot[r].makespan,
                fast_only[r].makespan, r + 1 < repeat ? ";" : ".\n");
  }
  return 0;
}
