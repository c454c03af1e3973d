// Integration: the live figures (ppclient/src/live_figures.hpp) of a real batch on two
// ppserver processes, read through JobServer::live_snapshot while it runs and after:
// counts per batch and group, nodes working while jobs are out, the task stream (ended
// and running jobs), jobs/s per worker mid-batch, the
// failures with their tracebacks and nodes, the last lines of output, a cancelled job
// and a held one, and the per-node rows being the report's own.
#include <doctest/doctest.h>

#include <chrono>
#include <msgpack.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>

#include "ppclient/src/code_blob.hpp"
#include "ppclient/src/job_server.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::client::JobServer;
using pp::client::LiveSnapshot;
using pp::client::NodeState;
using pp::test::ServerProcess;

constexpr char kSecret[] = "live-figures-test-secret";

// Sleeps `ms` on the node, prints a line, fails when i is a multiple of 10.
const char* const kJob = R"(function(i, ms)
  local ffi = require 'ffi'
  pcall(ffi.cdef, 'int usleep(unsigned int usec);')
  ffi.C.usleep(ms * 1000)
  print('line ' .. i)
  if i % 10 == 0 then error('boom ' .. i) end
  return i
end)";

std::string args(int i, int ms) {
  std::stringstream out;
  msgpack::pack(out, std::make_tuple(i, ms));
  return out.str();
}

std::unique_ptr<pp::client::SubmitExtras> in_group(const std::string& g) {
  auto x = std::make_unique<pp::client::SubmitExtras>();
  x->group = g;
  return x;
}

// The next snapshot that satisfies `ok` (snapshots are taken at most every 100 ms).
template <typename Pred>
LiveSnapshot snapshot_when(const JobServer& server, Pred ok) {
  for (;;) {
    LiveSnapshot s = server.live_snapshot();
    if (ok(s)) return s;
    std::this_thread::sleep_for(20ms);
  }
}

}  // namespace

TEST_CASE("integration.live_figures.a_batch_seen_while_it_runs" * doctest::timeout(120)) {
  ServerProcess a({"-w", "2"}, kSecret), b({"-w", "2"}, kSecret);
  pp::ClusterOptions opt = pp::test::client_options({a.address(), b.address()}, kSecret);
  opt.echo_output = false;
  opt.dashboard = "127.0.0.1:0";   // its reader: the running jobs are followed
  JobServer server(opt);
  REQUIRE(server.wait_for_workers(4, 30s));
  auto code = JobServer::code_ref(pp::client::encode_code_blob({"source", "job", kJob, {}, {}}));
  constexpr int kJobs = 40;
  for (int i = 1; i <= kJobs; ++i) {
    server.submit(code, args(i, 100), 0, i % 2 == 0 ? in_group("even") : nullptr);
  }

  // While it runs: every job counted as submitted, some finished, jobs out on a node.
  LiveSnapshot mid = snapshot_when(server, [](const LiveSnapshot& s) {
    return s.jobs.finished() >= 1 && s.jobs.finished() <= kJobs / 2;
  });
  CHECK(mid.jobs.submitted == kJobs);
  CHECK(mid.nodes.size() == 2);
  CHECK(mid.nodes_connected() == 2);
  CHECK(mid.nodes_working() >= 1);   // 20 jobs or more are unfinished: some are out
  CHECK(mid.elapsed > 0);
  CHECK(!mid.recent.empty());
  for (const auto& e : mid.recent) CHECK(e.node < mid.nodes.size());
  // Jobs running now: at most one per worker, on a known node and worker, started
  // within the batch; and the per-worker rate is known before the batch ends (the busy
  // time counts the stretch still open).
  CHECK(!mid.running.empty());
  CHECK(mid.running.size() <= 4);
  std::set<std::pair<uint32_t, uint32_t>> slots;
  for (const auto& r : mid.running) {
    CHECK(r.node < mid.nodes.size());
    CHECK(r.worker < 2);
    CHECK(r.start >= 0);
    CHECK(r.start <= mid.elapsed);
    slots.emplace(r.node, r.worker);
  }
  CHECK(slots.size() == mid.running.size());
  size_t rated = 0;
  for (const auto& n : mid.nodes) {
    if (n.figures.jobs > 0) {
      CHECK(n.figures.busy_time > 0);
      CHECK(n.derived.throughput_per_worker > 0);
      ++rated;
    }
  }
  CHECK(rated >= 1);

  server.wait_all();
  LiveSnapshot end = snapshot_when(
      server, [](const LiveSnapshot& s) { return s.jobs.finished() == kJobs; });
  CHECK(end.running.empty());   // every copy answered
  CHECK(end.serial > mid.serial);
  CHECK(end.jobs.submitted == kJobs);
  CHECK(end.jobs.done == kJobs - 4);
  CHECK(end.jobs.failed == 4);
  CHECK(end.jobs.cancelled == 0);
  REQUIRE(end.groups.size() == 1);
  CHECK(end.groups[0].name == "even");
  CHECK(end.groups[0].jobs.submitted == kJobs / 2);
  CHECK(end.groups[0].jobs.failed == 4);   // 10, 20, 30 and 40 are even
  CHECK(end.groups[0].jobs.done == kJobs / 2 - 4);

  // Failures: the job, its node, its traceback.
  REQUIRE(end.failures.size() == 4);
  const std::set<std::string> names{a.address(), b.address()};
  for (const auto& f : end.failures) {
    CHECK(f.job % 10 == 0);
    CHECK(names.count(f.node) == 1);
    CHECK(f.status == "lua error");
    CHECK(f.error.find("boom " + std::to_string(f.job)) != std::string::npos);
    CHECK(!f.traceback.empty());
  }
  // Output: a line from each job (failed ones printed first).
  REQUIRE(end.output.size() == kJobs);
  std::set<std::string> lines;
  for (const auto& o : end.output) lines.insert(o.line);
  CHECK(lines.size() == kJobs);
  CHECK(lines.count("line 17") == 1);

  // The nodes: the report's rows, given, connected, with their version.
  pp::client::report::Report rep = server.report();
  REQUIRE(rep.nodes.size() == 2);
  uint64_t jobs = 0;
  double share = 0;
  for (size_t i = 0; i < 2; ++i) {
    const auto& n = end.nodes[i];
    CHECK(n.figures.node == rep.nodes[i].node);
    CHECK(n.figures.jobs == rep.nodes[i].jobs);
    CHECK(n.figures.workers == 2);
    CHECK(n.found == "given");
    CHECK(!n.version.empty());
    CHECK(n.load == -1);
    CHECK((n.state == NodeState::kIdle || n.state == NodeState::kWorking));
    jobs += n.figures.jobs;
    share += n.derived.share;
  }
  CHECK(jobs == kJobs);
  CHECK(share == doctest::Approx(1.0));
  CHECK(end.batch.jobs == kJobs);
  CHECK(end.jobs.retried == end.batch.resent);
  CHECK(end.executions >= kJobs);
}

TEST_CASE("integration.live_figures.cancelled_held_and_lost_nodes" * doctest::timeout(120)) {
  auto node = std::make_unique<ServerProcess>(std::vector<std::string>{"-w", "1"}, kSecret);
  pp::ClusterOptions opt = pp::test::client_options({node->address()}, kSecret);
  opt.echo_output = false;
  JobServer server(opt);
  REQUIRE(server.wait_for_workers(1, 30s));
  auto code = JobServer::code_ref(pp::client::encode_code_blob({"source", "job", kJob, {}, {}}));
  auto slow = server.submit(code, args(1, 60000));
  auto after = std::make_unique<pp::client::SubmitExtras>();
  after->after.push_back(slow);
  auto held = server.submit(code, args(2, 1), 0, std::move(after));
  LiveSnapshot s = snapshot_when(server, [](const LiveSnapshot& x) { return x.jobs.held == 1; });
  CHECK(s.jobs.submitted == 2);
  CHECK(s.nodes_working() == 1);

  CHECK(server.cancel(slow));
  server.wait(*held);   // fails: its input was cancelled
  s = snapshot_when(server, [](const LiveSnapshot& x) { return x.jobs.finished() == 2; });
  CHECK(s.jobs.cancelled == 1);
  CHECK(s.jobs.failed == 1);
  CHECK(s.jobs.held == 0);
  REQUIRE(s.failures.size() == 1);
  CHECK(s.failures[0].status == "dependency");

  // The node goes away: its row stays, lost, with the reason.
  node->kill9();
  s = snapshot_when(server, [](const LiveSnapshot& x) {
    return !x.nodes.empty() && x.nodes[0].state == NodeState::kLost;
  });
  CHECK(!s.nodes[0].reason.empty());
  CHECK(s.nodes_connected() == 0);
}

// A group's own retried and held counts (Dispatcher::group_figures), beside its done and
// failed ones: a job of the group waits for a slow one, another fails and runs again.
TEST_CASE("integration.live_figures.a_groups_retried_and_held" * doctest::timeout(120)) {
  ServerProcess node({"-w", "2"}, kSecret);
  pp::ClusterOptions opt = pp::test::client_options({node.address()}, kSecret);
  opt.echo_output = false;
  JobServer server(opt);
  REQUIRE(server.wait_for_workers(2, 30s));
  auto code = JobServer::code_ref(pp::client::encode_code_blob({"source", "job", kJob, {}, {}}));
  auto slow = server.submit(code, args(1, 60000), 0, in_group("g"));
  auto after = in_group("g");
  after->after.push_back(slow);
  auto held = server.submit(code, args(2, 1), 0, std::move(after));
  auto again = in_group("g");
  again->retries = 1;
  auto failing = server.submit(code, args(10, 1), 0, std::move(again));   // fails twice
  server.wait(*failing);
  auto of_g = [](const LiveSnapshot& x) -> const pp::client::JobCounts* {
    for (const auto& g : x.groups) {
      if (g.name == "g") return &g.jobs;
    }
    return nullptr;
  };
  LiveSnapshot s = snapshot_when(server, [&](const LiveSnapshot& x) {
    const auto* g = of_g(x);
    return g != nullptr && g->failed == 1 && g->held == 1;
  });
  const pp::client::JobCounts& g = *of_g(s);
  CHECK(g.submitted == 3);
  CHECK(g.retried == 1);
  CHECK(g.held == 1);
  CHECK(s.jobs.retried == 1);
  CHECK(server.cancel(slow));
  server.wait(*held);
  s = snapshot_when(server, [&](const LiveSnapshot& x) { return of_g(x)->finished() == 3; });
  CHECK(of_g(s)->held == 0);
  CHECK(of_g(s)->retried == 1);
}
