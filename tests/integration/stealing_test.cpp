// Integration: work stealing, backup copies and the contribution report with real
// nodes, one of them held to a small share of a CPU with --cpu-limit (an old, slow
// machine). The checks are on what happened (who ran what, stolen and backup
// counts, exactly one correct result per job), never on how long it took; the
// times are printed.
#include <doctest/doctest.h>

#include <cstdio>
#include <initializer_list>
#include <thread>
#include <string>
#include <vector>

#include "pp/cluster.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::test::ServerProcess;

constexpr char kSecret[] = "stealing-test-secret";

// Spins for `cpu_s` seconds of the worker's CPU time (os.clock), so a node held to
// 5% of a CPU takes 20 times as long in wall time; returns `i`.
const pp::Code kSpin = pp::Code::lua(R"(function(i, cpu_s)
  local t0 = os.clock()
  local x = 0
  while os.clock() - t0 < cpu_s do x = x + 1 end
  return i
end)");

pp::ClusterOptions options_for(std::vector<std::string> servers) {
  pp::ClusterOptions o;
  o.servers = std::move(servers);
  o.local_workers = 0;
  o.secret = kSecret;
  o.no_node_timeout = 30s;
  return o;
}

const pp::NodeStats& row(const std::vector<pp::NodeStats>& stats, const ServerProcess& node) {
  for (const auto& s : stats)
    if (s.node == node.address()) return s;
  FAIL("no statistics for node " << node.address());
  return stats.front();
}

// A node serves at once and calibrates its speed after (its HELLO says 0, unknown,
// until then): these cases are about the speeds nodes announce, so the client connects
// once every node has its own.
void wait_calibrated(std::initializer_list<const ServerProcess*> nodes) {
  for (const ServerProcess* n : nodes) REQUIRE(n->wait_for_log("speed score", 30s));
}

// Waits until the cluster has `workers` workers connected.
void wait_connected(pp::Cluster& cluster, int workers) {
  for (int i = 0; i < 300 && cluster.get_ncpus() < workers; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  REQUIRE(cluster.get_ncpus() == workers);
}

}  // namespace

TEST_CASE("integration.steal.queued_jobs_leave_the_slow_node" * doctest::timeout(120)) {
  // Before any job time is known both nodes get a full window of jobs; the slow one
  // can start only one of them. When the client's queue runs dry the fast node's idle
  // worker takes the others back (STEAL / STOLEN) instead of waiting for them.
  ServerProcess fast({"-w", "1"}, kSecret);
  ServerProcess slow({"-w", "1", "--cpu-limit", "5"}, kSecret);
  wait_calibrated({&fast, &slow});
  pp::Cluster cluster(options_for({fast.address(), slow.address()}));
  wait_connected(cluster, 2);
  const int kJobs = 12;
  std::vector<pp::Job> jobs;
  for (int i = 0; i < kJobs; ++i) jobs.push_back(cluster.submit(kSpin, i, 0.02));
  for (int i = 0; i < kJobs; ++i) CHECK(jobs[i].get<int>() == i);

  auto stats = cluster.stats();
  const auto& f = row(stats, fast);
  const auto& s = row(stats, slow);
  std::printf("steal: fast %llu jobs (stolen to it %llu), slow %llu jobs (stolen from it %llu)\n",
              static_cast<unsigned long long>(f.jobs), static_cast<unsigned long long>(f.stolen_to),
              static_cast<unsigned long long>(s.jobs), static_cast<unsigned long long>(s.stolen_from));
  CHECK(f.jobs + s.jobs == kJobs);
  CHECK(s.stolen_from >= 1);
  CHECK(f.stolen_to == s.stolen_from);
  CHECK(s.jobs < f.jobs);
  CHECK(s.speed_score < f.speed_score);  // its HELLO declares the 5% share
  CHECK(cluster.stats_table().find("stolen") != std::string::npos);
}

TEST_CASE("integration.steal.backup_copy_beats_the_slow_node" * doctest::timeout(120)) {
  // Two jobs, one per node. The slow node's copy would take about 20 times as long:
  // the idle fast node gets a backup copy, its result wins, the slow copy is cancelled.
  ServerProcess fast({"-w", "1"}, kSecret);
  ServerProcess slow({"-w", "1", "--cpu-limit", "5"}, kSecret);
  wait_calibrated({&fast, &slow});
  pp::Cluster cluster(options_for({fast.address(), slow.address()}));
  wait_connected(cluster, 2);
  pp::Job a = cluster.submit(kSpin, 1, 0.03);
  pp::Job b = cluster.submit(kSpin, 2, 0.03);
  CHECK(a.get<int>() == 1);
  CHECK(b.get<int>() == 2);
  CHECK(a.node() == fast.address());
  CHECK(b.node() == fast.address());

  auto stats = cluster.stats();
  const auto& f = row(stats, fast);
  const auto& s = row(stats, slow);
  CHECK(f.jobs == 2);
  CHECK(s.jobs == 0);
  CHECK(f.backups_won == 1);
  CHECK(s.backups_lost == 0);  // the slow node ran the original, not a backup
  // The cancelled copy reaches the slow node and stops there; the node stays up and
  // serves the next job.
  CHECK(slow.wait_for_log("cancel", 10s));
  pp::Job c = cluster.submit(kSpin, 3, 0.0);
  CHECK(c.get<int>() == 3);
  CHECK(slow.alive());
}

TEST_CASE("integration.steal.report_shows_the_slow_nodes_share" * doctest::timeout(180)) {
  // Two full-speed nodes and one at 10% of a CPU, jobs of uneven length: every job
  // has one right result, the slow node's share of the work is the smallest, and the
  // report (table, JSON, HTML) names all three.
  ServerProcess a({"-w", "1"}, kSecret);
  ServerProcess b({"-w", "1"}, kSecret);
  ServerProcess slow({"-w", "1", "--cpu-limit", "10"}, kSecret);
  wait_calibrated({&a, &b, &slow});
  pp::Cluster cluster(options_for({a.address(), b.address(), slow.address()}));
  wait_connected(cluster, 3);
  const int kJobs = 60;
  std::vector<pp::Job> jobs;
  double work = 0;
  for (int i = 0; i < kJobs; ++i) {
    double cpu = 0.004 + 0.002 * ((i * 7) % 13);  // 4 .. 28 ms, uneven
    work += cpu;
    jobs.push_back(cluster.submit(kSpin, i, cpu));
  }
  for (int i = 0; i < kJobs; ++i) CHECK(jobs[i].get<int>() == i);

  auto stats = cluster.stats();
  const auto& sa = row(stats, a);
  const auto& sb = row(stats, b);
  const auto& ss = row(stats, slow);
  CHECK(sa.jobs + sb.jobs + ss.jobs == kJobs);
  CHECK(ss.job_time < sa.job_time + sb.job_time);
  CHECK(ss.jobs < sa.jobs);
  CHECK(ss.jobs < sb.jobs);
  std::string table = cluster.stats_table();
  std::printf("%s(total CPU work %.3f s; two fast workers alone: about %.3f s)\n", table.c_str(),
              work, work / 2);
  for (const auto* n : {&a, &b, &slow}) CHECK(table.find(n->address()) != std::string::npos);
  std::string json = cluster.report_json();
  for (const auto* n : {&a, &b, &slow}) CHECK(json.find(n->address()) != std::string::npos);
  CHECK(json.find("\"executions\"") != std::string::npos);
}
