// Tests of the Scheduler's time-aware part: speed estimates and windows, work stealing,
// backup copies at the tail, crashing jobs, per-node statistics. Unit cases drive the API
// by hand; the rest run a seeded discrete-event simulation of a cluster (nodes with speed
// factors and local FIFO queues, a network delay, results arriving in time order) and
// check the batch time against the ideal and that every job has exactly one result.
#include "core/sched/scheduler.hpp"
#include "core/sched/simulator.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace pp::sched {
namespace {

// ---- by hand -------------------------------------------------------------------------------

TEST_CASE("sched.time.expected_seconds_and_windows") {
  double t = 0;
  Scheduler s({.clock = [&] { return t; }, .round_trip_seconds = 0.1});
  NodeId a = s.add_node({"a", 4, 1.0});
  NodeId b = s.add_node({"b", 4, 0.5});
  CHECK(s.expected_seconds(a) == doctest::Approx(1.0));  // nothing measured: 1 / speed
  CHECK(s.expected_seconds(b) == doctest::Approx(2.0));
  CHECK(s.window(a) == 16);  // no job time yet: workers * window_per_worker
  for (JobId j = 1; j <= 4; ++j) s.submit(j);
  s.assign();
  CHECK(s.complete(1, a, 0.05, true) == Outcome::kAccepted);
  CHECK(s.expected_seconds(a) == doctest::Approx(0.05));
  CHECK(s.expected_seconds(b) == doctest::Approx(0.1));   // the reference scaled by speed
  CHECK(s.window(a) == 4 + 8);                            // 4 + ceil(4 * 0.1 / 0.05)
  CHECK(s.window(b) == 4 + 4);
  CHECK(s.complete(2, a, 0.15, true) == Outcome::kAccepted);  // ewma 0.3 * 0.15 + 0.7 * 0.05
  CHECK(s.expected_seconds(a) == doctest::Approx(0.08));
  CHECK(s.complete(3, a, 10.0, false) == Outcome::kAccepted);  // failures are not measured
  CHECK(s.expected_seconds(a) == doctest::Approx(0.08));
  s.complete(4, b, 100.0, true);
  CHECK(s.expected_seconds(b) == doctest::Approx(100.0));
  CHECK(s.window(b) == 5);  // slow jobs: never below workers + 1
  Scheduler fast({.round_trip_seconds = 1.0});
  NodeId f = fast.add_node({"f", 2, 1.0});
  fast.submit(1);
  fast.assign();
  fast.complete(1, f, 0.001, true);
  CHECK(fast.window(f) == 8);  // very short jobs: capped at workers * window_per_worker
}

TEST_CASE("sched.time.busy_seconds") {
  double t = 0;
  Scheduler s({.clock = [&] { return t; }});
  NodeId a = s.add_node({"a", 1, 1.0});
  t = 5;
  s.submit(1);
  s.submit(2);
  s.assign();
  t = 7;
  s.complete(1, a, 2, true);
  // Mid-stretch: the counter has nothing yet, busy_seconds() counts the open stretch
  // (live figures: jobs/s per worker while the batch runs).
  CHECK(s.stats(a).busy_seconds == doctest::Approx(0.0));
  CHECK(s.busy_seconds(a) == doctest::Approx(2.0));
  t = 8;
  s.complete(2, a, 1, true);
  t = 20;
  CHECK(s.stats(a).busy_seconds == doctest::Approx(3.0));
  CHECK(s.busy_seconds(a) == doctest::Approx(3.0));   // nothing in flight: the counter
  CHECK(s.stats(a).job_seconds == doctest::Approx(3.0));
}

TEST_CASE("sched.steal.plan_and_confirm") {
  Scheduler s;  // windows of 4
  NodeId a = s.add_node({"a", 1, 1.0});
  NodeId b = s.add_node({"b", 1, 1.0});
  for (JobId j = 1; j <= 8; ++j) s.submit(j);
  std::vector<Assignment> as = s.assign();
  REQUIRE(as.size() == 8);
  CHECK(s.plan_steals().empty());  // nobody idle
  std::vector<JobId> on_b;
  for (const Assignment& x : as) {
    if (x.node == a) CHECK(s.complete(x.job, a, 1.0, true) == Outcome::kAccepted);
    if (x.node == b) on_b.push_back(x.job);
  }
  // b runs on_b[0]; on_b[1..3] wait there. Stealing two balances it (1 + 2 here vs 2 there).
  std::vector<Steal> st = s.plan_steals();
  REQUIRE(st.size() == 2);
  CHECK(st[0].job == on_b[3]);  // from the back
  CHECK(st[1].job == on_b[2]);
  for (const Steal& x : st) {
    CHECK(x.from == b);
    CHECK(x.to == a);
  }
  CHECK(s.plan_steals().empty());  // each job planned once, a's idle worker is spoken for
  CHECK(s.assign().empty());
  std::optional<Assignment> moved = s.stolen(on_b[3], b);
  REQUIRE(moved.has_value());
  CHECK(moved->job == on_b[3]);
  CHECK(moved->node == a);
  CHECK(moved->attempt == 1);
  CHECK_FALSE(moved->backup);
  s.started(on_b[2], b);  // too late: it stays on b
  CHECK(s.in_flight(a) == 1);
  CHECK(s.in_flight(b) == 3);
  CHECK(s.stats(b).stolen_from == 1);
  CHECK(s.stats(a).stolen_to == 1);
  CHECK(s.complete(on_b[3], b, 1.0, true) == Outcome::kAccepted);  // a stale copy is still fine
  CHECK(s.complete(on_b[3], a, 1.0, true) == Outcome::kDuplicate);
  CHECK_FALSE(s.stolen(on_b[3], b).has_value());  // unknown copy
}

TEST_CASE("sched.steal.never_while_queued_or_all_busy") {
  Scheduler s;
  s.add_node({"a", 2, 1.0});
  s.add_node({"b", 2, 1.0});
  for (JobId j = 1; j <= 30; ++j) s.submit(j);
  std::vector<Assignment> as = s.assign();
  REQUIRE(as.size() == 16);
  CHECK(s.plan_steals().empty());  // all busy, queue full
  for (const Assignment& x : as) s.complete(x.job, x.node, 1.0, true);
  CHECK(s.queued() == 14);
  CHECK(s.plan_steals().empty());  // idle workers but the queue still has work
  CHECK(s.assign().size() == 14);
  CHECK(s.plan_steals().empty());  // queue empty but every worker busy
}

TEST_CASE("sched.steal.thief_leaves_or_victim_leaves") {
  Scheduler s;
  NodeId a = s.add_node({"a", 1, 1.0});
  NodeId b = s.add_node({"b", 1, 1.0});
  for (JobId j = 1; j <= 8; ++j) s.submit(j);
  std::vector<Assignment> as = s.assign();
  for (const Assignment& x : as)
    if (x.node == a) s.complete(x.job, a, 1.0, true);
  std::vector<Steal> st = s.plan_steals();
  REQUIRE(st.size() == 2);
  s.remove_node(a);  // the thief left: a confirmed steal goes to the queue
  CHECK_FALSE(s.stolen(st[0].job, b).has_value());
  CHECK(s.queued() == 1);
  NodeId c = s.add_node({"c", 1, 1.0});
  std::vector<Assignment> again = s.assign();
  REQUIRE(again.size() == 1);
  CHECK(again[0].job == st[0].job);
  CHECK(again[0].node == c);
  std::vector<JobId> back = s.remove_node(b);  // the victim left: everything it held requeues
  CHECK(back.size() == 3);
  CHECK_FALSE(s.stolen(st[1].job, b).has_value());
  CHECK(s.unfinished() == 4);
}

// A fast node a and a slow node b, times known; returns the job b started at t = 0.
JobId setup_tail(Scheduler& s, double& t, NodeId& a, NodeId& b) {
  a = s.add_node({"a", 1, 1.0});
  b = s.add_node({"b", 1, 0.1});
  for (JobId j = 1; j <= 4; ++j) s.submit(j);
  std::vector<Assignment> as = s.assign();  // a: 1, 2, 3; b: 4 (a is 10x faster)
  JobId on_b = 0;
  for (const Assignment& x : as) {
    if (x.node == b) on_b = x.job;
    CHECK_FALSE(x.backup);
  }
  REQUIRE(on_b != 0);
  for (const Assignment& x : as) {
    if (x.node != a) continue;
    t += 1.0;
    CHECK(s.complete(x.job, a, 1.0, true) == Outcome::kAccepted);
    // a is busy until t = 3; and at t = 1, b's job has not yet run 1.5 x the median (1 s).
    if (t < 3.0) CHECK(s.assign().empty());
  }
  return on_b;
}

TEST_CASE("sched.backup.abandon_drops_both_copies") {
  double t = 0;
  Scheduler s({.clock = [&] { return t; }});
  NodeId a, b;
  JobId slow = setup_tail(s, t, a, b);
  REQUIRE(s.assign().size() == 1);  // the backup of `slow` on a
  REQUIRE(s.backups_in_flight() == 1);
  std::vector<Copy> out = s.abandon(slow);
  REQUIRE(out.size() == 2);
  CHECK(((out[0].node == a && out[1].node == b) || (out[0].node == b && out[1].node == a)));
  CHECK(s.backups_in_flight() == 0);
  CHECK(s.in_flight(a) + s.in_flight(b) == 0);
  CHECK(s.unfinished() == 0);
  CHECK(s.complete(slow, b, 1.0, true) == Outcome::kDuplicate);
}

TEST_CASE("sched.backup.first_result_wins") {
  for (bool backup_first : {true, false}) {
    CAPTURE(backup_first);
    double t = 0;
    Scheduler s({.clock = [&] { return t; }});
    NodeId a, b;
    JobId slow = setup_tail(s, t, a, b);  // t = 3: b has run `slow` for 3 of its 10 s
    CHECK(s.plan_steals().empty());
    std::vector<Assignment> bk = s.assign();
    REQUIRE(bk.size() == 1);
    CHECK(bk[0].job == slow);
    CHECK(bk[0].node == a);
    CHECK(bk[0].backup);
    CHECK(bk[0].attempt == 1);
    CHECK(s.backups_in_flight() == 1);
    CHECK(s.assign().empty());  // at most one backup per job
    Completion first = s.complete(slow, backup_first ? a : b, 1.0, true);
    CHECK(first == Outcome::kAccepted);
    REQUIRE(first.cancel.size() == 1);
    CHECK(first.cancel[0].job == slow);
    CHECK(first.cancel[0].node == (backup_first ? b : a));
    CHECK(s.complete(slow, backup_first ? b : a, 1.0, true) == Outcome::kDuplicate);
    CHECK(s.stats(a).backups_won == (backup_first ? 1 : 0));
    CHECK(s.stats(a).backups_lost == (backup_first ? 0 : 1));
    CHECK(s.backups_in_flight() == 0);
    CHECK(s.in_flight(a) + s.in_flight(b) == 0);
    CHECK(s.unfinished() == 0);
  }
}

TEST_CASE("sched.backup.not_when_the_copy_would_lose") {
  double t = 0;
  Scheduler s({.clock = [&] { return t; }});
  NodeId a, b;
  setup_tail(s, t, a, b);
  t = 9.5;  // b's job ends at 10; a copy on a needs 1 s
  CHECK(s.assign().empty());
  Scheduler off({.clock = [&] { return t; }, .max_backups = 0});
  t = 0;
  setup_tail(off, t, a, b);
  CHECK(off.assign().empty());  // turned off
}

TEST_CASE("sched.backup.node_of_primary_leaves") {
  double t = 0;
  Scheduler s({.clock = [&] { return t; }});
  NodeId a, b;
  JobId slow = setup_tail(s, t, a, b);
  REQUIRE(s.assign().size() == 1);
  CHECK(s.remove_node(b).empty());  // the backup on a goes on: nothing to requeue
  Completion c = s.complete(slow, a, 1.0, true);
  CHECK(c == Outcome::kAccepted);
  CHECK(c.cancel.empty());
}

TEST_CASE("sched.crash.fails_for_good_after_max_attempts") {
  Scheduler s;
  NodeId a = s.add_node({"a", 1, 1.0});
  NodeId b = s.add_node({"b", 1, 1.0});
  s.submit(1);
  s.submit(2);
  for (uint32_t attempt = 0; attempt < 3; ++attempt) {
    CAPTURE(attempt);
    std::vector<Assignment> as = s.assign();
    auto it = std::find_if(as.begin(), as.end(), [](const Assignment& x) { return x.job == 1; });
    REQUIRE(it != as.end());
    CHECK(it->attempt == attempt);
    Completion c = s.complete(1, it->node, 0.5, false, true);
    CHECK(c.crashes == attempt + 1);
    if (attempt < 2) {
      CHECK(c == Outcome::kRetry);
      CHECK_FALSE(c.failed_for_good);
      CHECK(s.queued() == 1);
    } else {
      CHECK(c == Outcome::kAccepted);
      CHECK(c.failed_for_good);
    }
  }
  CHECK(s.is_done(1));
  CHECK(s.stats(a).crashes + s.stats(b).crashes == 3);
  CHECK(s.stats(a).failures + s.stats(b).failures == 1);
  CHECK(s.complete(1, a, 0.5, false, true) == Outcome::kDuplicate);
  CHECK(s.complete(2, b, 0.5, true) == Outcome::kAccepted);
  CHECK(s.unfinished() == 0);
}

// ---- simulation (core/sched/simulator.hpp) -------------------------------------------------

// One simulated run; every promise the simulator checks along the way must have held.
SimResult run(const SimConfig& cfg) {
  SimResult r = simulate(cfg);
  for (const std::string& v : r.violations) FAIL_CHECK(v);
  CHECK(r.violation_count == 0);
  return r;
}

std::vector<double> jobs(size_t n, uint32_t seed, double lo = 0.8, double hi = 1.2) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<double> out(n);
  for (double& w : out) w = d(rng);
  return out;
}

SimConfig slow_node_cluster(double announced) {
  SimConfig c;
  c.nodes = {SimNode{}, SimNode{}, SimNode{}, SimNode{.speed = 0.1, .announced = announced}};
  c.work = jobs(400, 7);
  return c;
}

void report(const std::string& what, const SimResult& r) {
  MESSAGE(what << ": makespan " << r.makespan << " ideal " << r.ideal << " steals " << r.steals
               << " backups " << r.backups << " last node " << r.last_node);
}

TEST_CASE("sched.steal.slow_node") {
  for (double announced : {0.1, 1.0}) {  // calibrated, and a calibration that is 10x off
    CAPTURE(announced);
    SimConfig cfg = slow_node_cluster(announced);
    SimResult r = run(cfg);
    report("slow node", r);
    CHECK(r.makespan < r.ideal * 1.1);
    CHECK(r.last_node != 3);  // the slow node does not hold the last jobs
    CHECK(r.stats[3].jobs_done > 0);  // but it did contribute
    CHECK(r.steals + r.backups > 0);
    CHECK(r.stats[3].stolen_from + r.stats[3].backups_lost + r.stats[0].backups_won +
              r.stats[1].backups_won + r.stats[2].backups_won > 0);
    cfg.steal = false;
    cfg.max_backups = 0;
    SimResult plain = run(cfg);
    report("slow node, no steals or backups", plain);
    CHECK(plain.makespan > r.makespan + 3);  // what stealing and backups are for
  }
}

TEST_CASE("sched.freeslot.windows_are_workers_and_the_slow_node_holds_the_tail") {
  // The comparison policy (Parallel Python's): a job goes to a node with an idle
  // worker, nothing is queued on nodes, nothing is stolen or copied.
  SimConfig cfg = slow_node_cluster(0.1);
  cfg.adaptive = false;
  Scheduler probe({.adaptive = false});
  NodeId n = probe.add_node({"n", 4, 1.0});
  CHECK(probe.window(n) == 4);
  for (JobId j = 1; j <= 10; ++j) probe.submit(j);
  CHECK(probe.assign().size() == 4);
  CHECK(probe.plan_steals().empty());
  SimResult r = run(cfg);
  report("slow node, free-slot policy", r);
  CHECK(r.steals == 0);
  CHECK(r.backups == 0);
  SimResult adaptive = run(slow_node_cluster(0.1));
  CHECK(r.makespan > adaptive.makespan + 3);
}

TEST_CASE("sched.steal.node_dies_mid_batch") {
  for (bool reports : {false, true}) {
    CAPTURE(reports);
    SimConfig cfg;
    cfg.nodes = {SimNode{.reports_starts = reports}, SimNode{.reports_starts = reports},
                 SimNode{.die_at = 12.0, .reports_starts = reports}};
    cfg.work = jobs(300, 11);
    SimResult r = run(cfg);
    report("node dies", r);
    CHECK(r.stats[2].requeued > 0);
    CHECK_FALSE(r.stats[2].active);
    // The dead node's unfinished work is lost and found out late (detect), then redone.
    CHECK(r.makespan < r.ideal + cfg.detect + 2.5);
  }
}

TEST_CASE("sched.steal.late_joiner") {
  SUBCASE("joins while the queue has work") {
    SimConfig cfg;
    cfg.nodes = {SimNode{}, SimNode{}, SimNode{.join_at = 10.0}};
    cfg.work = jobs(300, 13);
    SimResult r = run(cfg);
    report("late joiner", r);
    CHECK(r.stats[2].jobs_done > 40);
    CHECK(r.makespan < r.ideal * 1.05);
  }
  SUBCASE("joins when the queue is empty: it steals") {
    SimConfig cfg;
    cfg.nodes = {SimNode{}, SimNode{.join_at = 0.5}};
    cfg.work = jobs(16, 17);  // all 16 fit in the first node's first window (4 x 4)
    SimResult r = run(cfg);
    report("late joiner, empty queue", r);
    CHECK(r.stats[1].stolen_to > 0);
    CHECK(r.stats[0].stolen_from == r.stats[1].stolen_to);
    CHECK(r.makespan < r.ideal + 1.5);
    CHECK(r.makespan < 3.0);  // node 0 alone would need 4 rounds of ~1 s
  }
}

TEST_CASE("sched.steal.uneven_job_lengths") {
  SimConfig cfg;
  cfg.nodes = {SimNode{}, SimNode{}, SimNode{}};
  std::mt19937 rng(19);
  cfg.work = jobs(300, 23, 0.5, 1.5);
  double longest = 0;
  for (double& w : cfg.work) {
    if (rng() % 20 == 0) w = 20.0 + static_cast<double>(rng() % 20);
    longest = std::max(longest, w);
  }
  SimResult r = run(cfg);
  report("uneven jobs", r);
  CHECK(r.backups == 0);  // equal speeds: a copy can never finish first
  CHECK(r.makespan < r.ideal + longest);  // list-scheduling bound
}

TEST_CASE("sched.steal.equal_nodes_no_backups") {
  for (bool reports : {false, true}) {
    CAPTURE(reports);
    SimConfig cfg;
    cfg.nodes = {SimNode{.workers = 2, .reports_starts = reports}, SimNode{.workers = 3, .reports_starts = reports},
                 SimNode{.workers = 8, .reports_starts = reports}};
    cfg.work.assign(500, 1.0);
    SimResult r = run(cfg);  // pump() checks no steal while queued or all busy
    report("equal nodes", r);
    CHECK(r.backups == 0);
    uint64_t stolen = 0;
    for (const NodeStats& s : r.stats) stolen += s.stolen_from;
    CHECK(stolen <= 13);  // only at the tail: at most the jobs waiting in local queues then
    CHECK(r.makespan < r.ideal + 1.5);
  }
}

TEST_CASE("sched.crash.poison_job_in_cluster") {
  SimConfig cfg;
  cfg.nodes = {SimNode{}, SimNode{}};
  cfg.work = jobs(50, 29);
  cfg.poison = {7, 31};
  SimResult r = run(cfg);
  CHECK(r.failed_for_good == 2);
  CHECK(r.stats[0].crashes + r.stats[1].crashes == 6);
  CHECK(r.stats[0].failures + r.stats[1].failures == 2);
}

TEST_CASE("sched.steal.many_nodes") {
  // Hundreds of nodes (the scheduler's per-node indices at work, not a handful scanned):
  // mixed speeds and sizes, some calibrated wrong, late joiners, deaths, poison jobs,
  // starts reported or modelled. Every promise holds and the batch ends near the ideal.
  std::mt19937 rng(31);
  SimConfig cfg;
  for (size_t k = 0; k < 300; ++k) {
    SimNode node;
    node.speed = 0.25 * std::pow(16.0, static_cast<double>(rng() % 1000) / 1000.0);
    node.workers = 1 + static_cast<int>(rng() % 4);
    node.announced = rng() % 5 == 0 ? 1.0 : node.speed;
    node.reports_starts = rng() % 2;
    node.rtt = 0.0005 + static_cast<double>(rng() % 20) / 10000.0;
    if (k >= 10 && rng() % 10 == 0) node.join_at = static_cast<double>(rng() % 20);
    if (k >= 10 && rng() % 15 == 0) node.die_at = node.join_at + 1 + static_cast<double>(rng() % 20);
    cfg.nodes.push_back(node);
  }
  cfg.work = jobs(30000, 37, 0.2, 2.0);
  cfg.poison = {5, 777, 20000};
  cfg.rtt = 0.001;
  SimResult r = run(cfg);
  report("many nodes", r);
  CHECK(r.failed_for_good == cfg.poison.size());
  CHECK(r.steals > 0);
  CHECK(r.backups > 0);
  // The dead nodes' lost work is found out late (detect) and redone; the slowest node's
  // longest job (8 s) bounds what the tail may add.
  CHECK(r.makespan < r.ideal * 1.1 + cfg.detect + 8);
}

TEST_CASE("sched.steal.random_clusters") {
  // Random speeds, deaths and joins: whatever happens, every job has exactly one result.
  for (uint32_t seed = 1; seed <= 12; ++seed) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    SimConfig cfg;
    size_t n = 2 + rng() % 4;
    for (size_t k = 0; k < n; ++k) {
      SimNode node;
      node.speed = 0.05 + static_cast<double>(rng() % 100) / 50.0;
      node.workers = 1 + static_cast<int>(rng() % 6);
      node.announced = rng() % 2 ? node.speed : 1.0;
      node.reports_starts = rng() % 2;
      if (k > 0 && rng() % 3 == 0) node.join_at = static_cast<double>(rng() % 20);
      if (k > 0 && rng() % 4 == 0) node.die_at = node.join_at + 1 + static_cast<double>(rng() % 30);
      cfg.nodes.push_back(node);
    }
    cfg.work = jobs(200 + rng() % 200, seed, 0.1, 3.0);
    if (rng() % 2) cfg.poison = {static_cast<JobId>(1 + rng() % 100)};
    cfg.rtt = 0.001 + static_cast<double>(rng() % 100) / 1000.0;
    cfg.max_backups = static_cast<int>(rng() % 4);
    SimResult r = run(cfg);
    CHECK(r.failed_for_good == cfg.poison.size());
  }
}

}  // namespace
}  // namespace pp::sched
