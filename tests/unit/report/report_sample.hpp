// Reports for the report tests and the sample tool: a small hand-built one with round
// figures, and a simulated batch on three nodes (one of them old and slow) with
// stolen jobs, backup copies at the tail, a failure and a crash. Header-only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "ppclient/report/report.hpp"

namespace pp::client::report::sample {

// Two fast nodes and one slow one; C has gone away.
//   A: 100 jobs, 48 s of job time (mean 0.48 s), busy 12.5 s on 4 workers
//   B: 100 jobs, 50 s (mean 0.50 s), busy 12.5 s on 4 workers
//   C:  20 jobs, 40 s (mean 2.00 s), busy 20 s on 2 workers
inline Report hand_built() {
  Report r;
  r.batch = {15.0, 220, 138.0, 3, 4};
  NodeRow a{"local", "alpha", 4, 1.0, true, 100, 1, 0, 48.0, 47.5, 12.5, 0, 5, 2, 1, 0};
  NodeRow b{"10.0.0.2:60000", "beta", 4, 1.1, true, 100, 0, 0, 50.0, 49.0, 12.5, 0, 3, 1, 0, 0};
  NodeRow c{"10.0.0.3:60000", "gamma", 2, 0.3, false, 20, 2, 1, 40.0, 44.0, 20.0, 8, 0, 0, 2, 3};
  r.nodes = {a, b, c};
  r.executions = {{1, 0, 0, 0.0, 0.5, Kind::kNormal, Fate::kWon},
                  {2, 1, 3, 0.1, 0.6, Kind::kStolen, Fate::kWon},
                  {3, 2, 1, 0.2, 2.2, Kind::kNormal, Fate::kLost},
                  {3, 0, 1, 0.9, 1.4, Kind::kBackup, Fate::kWon},
                  {4, 2, 0, 0.3, 1.0, Kind::kNormal, Fate::kCrashed},
                  {5, 1, 0, 0.7, 1.1, Kind::kNormal, Fate::kFailed}};
  return r;
}

namespace internal {

// xorshift64*: the same numbers on every platform (unlike std:: distributions).
struct Rng {
  uint64_t s;
  double next() {
    s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
    return static_cast<double>((s * 0x2545F4914F6CDD1DULL) >> 11) * 0x1.0p-53;
  }
};

inline double union_seconds(std::vector<std::pair<double, double>> v) {
  std::sort(v.begin(), v.end());
  double total = 0, start = 0, end = -1;
  for (auto [a, b] : v) {
    if (a > end) {
      if (end > start) total += end - start;
      start = a, end = b;
    } else {
      end = std::max(end, b);
    }
  }
  if (end > start) total += end - start;
  return total;
}

}  // namespace internal

// Fills nodes' figures and the batch from the executions, as the job server would.
inline void tally(Report& r) {
  std::vector<std::vector<std::pair<double, double>>> spans(r.nodes.size());
  r.batch = {};
  for (NodeRow& n : r.nodes) {
    n.jobs = n.failures = n.crashes = n.backups_won = n.backups_lost = 0;
    n.job_time = n.cpu_time = 0;
  }
  for (const Execution& e : r.executions) {
    NodeRow& n = r.nodes[e.node];
    double d = e.end - e.start;
    spans[e.node].push_back({e.start, e.end});
    n.cpu_time += 0.97 * d;
    r.batch.wall_seconds = std::max(r.batch.wall_seconds, e.end);
    if (e.fate == Fate::kWon || e.fate == Fate::kFailed) {
      ++n.jobs, n.job_time += d;
      ++r.batch.jobs, r.batch.job_seconds += d;
    }
    if (e.fate == Fate::kFailed) ++n.failures;
    if (e.fate == Fate::kCrashed) ++n.crashes, ++r.batch.resent;
    if (e.fate == Fate::kLost) ++r.batch.duplicates;
    if (e.kind == Kind::kBackup) ++(e.fate == Fate::kLost ? n.backups_lost : n.backups_won);
  }
  for (size_t i = 0; i < r.nodes.size(); ++i) {
    r.nodes[i].busy_time = internal::union_seconds(spans[i]);
  }
}

// `jobs` jobs of 0.25-0.55 s on the reference machine, greedily on the first free
// worker of: laptop (local, 4 workers, 1.0), ws-new (8 workers, 1.6), old-pc (2, 0.35).
// Late jobs on ws-new count as stolen from old-pc; old-pc's tail jobs get backup copies
// on the fast nodes, which win; one job fails and one crashes old-pc's worker.
inline Report simulated(size_t jobs, uint64_t seed = 7) {
  Report r;
  r.nodes = {{"local", "laptop", 4, 1.0, true},
             {"10.0.0.12:60000", "ws-new", 8, 1.6, true},
             {"10.0.0.7:60000", "old-pc", 2, 0.35, true}};
  struct Worker {
    uint32_t node, index;
    double free;
  };
  std::vector<Worker> workers;
  for (uint32_t n = 0; n < r.nodes.size(); ++n) {
    for (int w = 0; w < r.nodes[n].workers; ++w) {
      workers.push_back({n, static_cast<uint32_t>(w), 0.01 * n});
    }
  }
  auto first_free = [&](bool fast_only) {
    Worker* best = nullptr;
    for (Worker& w : workers) {
      if (fast_only && w.node == 2) continue;
      if (!best || w.free < best->free) best = &w;
    }
    return best;
  };
  internal::Rng rng{seed * 0x9E3779B97F4A7C15ULL + 1};
  std::vector<double> cost(jobs + 1);
  bool crashed = false;
  for (size_t j = 1; j <= jobs; ++j) {
    cost[j] = 0.25 + 0.3 * rng.next();
    Worker* w = first_free(false);
    double start = w->free + 0.002 + 0.004 * rng.next();
    double end = start + cost[j] / r.nodes[w->node].speed_score;
    Kind kind = w->node == 1 && j > jobs * 17 / 20 && j % 6 == 0 ? Kind::kStolen : Kind::kNormal;
    if (kind == Kind::kStolen) ++r.nodes[1].stolen_to, ++r.nodes[2].stolen_from;
    Fate fate = j == jobs / 3 ? Fate::kFailed : Fate::kWon;
    if (w->node == 2 && j >= jobs / 5 && !crashed) {   // kills its worker; runs again elsewhere
      crashed = true;
      r.executions.push_back({j, 2, w->index, start, (start + end) / 2, kind, Fate::kCrashed});
      w->free = (start + end) / 2 + 0.05;
      w = first_free(true);
      start = w->free + 0.003;
      end = start + cost[j] / r.nodes[w->node].speed_score;
    }
    r.executions.push_back({j, w->node, w->index, start, end, kind, fate});
    w->free = end;
  }
  // The tail: old-pc's copies still running after every fast worker is idle get a
  // backup; the first result wins and the other copy is cancelled.
  bool lost_one = false;
  for (size_t i = 0, n = r.executions.size(); i < n; ++i) {
    Execution e = r.executions[i];
    if (e.node != 2 || e.fate != Fate::kWon) continue;
    Worker* w = first_free(true);
    double start = std::max(w->free, e.start) + 0.01;
    if (start >= e.end) continue;
    double end = start + cost[e.job] / r.nodes[w->node].speed_score;
    if (end < e.end) {
      r.executions[i].fate = Fate::kLost;
      r.executions[i].end = end + 0.002;
      r.executions.push_back({e.job, w->node, w->index, start, end, Kind::kBackup, Fate::kWon});
      w->free = end;
    } else if (!lost_one) {
      lost_one = true;
      r.executions.push_back(
          {e.job, w->node, w->index, start, e.end + 0.002, Kind::kBackup, Fate::kLost});
      w->free = e.end + 0.002;
    }
  }
  tally(r);
  return r;
}

}  // namespace pp::client::report::sample
