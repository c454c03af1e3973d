// Integration: futures against real ppserver processes over TCP: as_completed and
// wait(FIRST_COMPLETED / FIRST_EXCEPTION), cancel wherever a job is (the driver's
// queue, a node's queue, a running worker), retries (on another node), placement,
// wait_for_workers, groups, and get<T> on a value of another type.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "pp/cluster.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::test::ServerProcess;

constexpr char kSecret[] = "futures-test-secret";

pp::ClusterOptions options_for(std::vector<std::string> servers,
                               std::chrono::seconds no_node_timeout = 30s) {
  return pp::test::client_options(std::move(servers), kSecret, no_node_timeout);
}

// Sleeps `ms` milliseconds on the node (without using CPU), then returns `v`.
const pp::Code kSleep = pp::Code::lua(R"(function(ms, v)
  local ffi = require 'ffi'
  pcall(ffi.cdef, 'int usleep(unsigned int usec);')
  for _ = 1, math.floor(ms / 10) do ffi.C.usleep(10000) end
  return v
end)");

// The pid of the node that runs the job (a worker's parent).
const char* const kNodePid = R"(
  local ffi = require 'ffi'
  pcall(ffi.cdef, 'int getppid(void);')
  local node_pid = ffi.C.getppid())";

// A path for a marker file that does not exist yet.
std::string fresh_path() {
  char path[] = "/tmp/pp-futures-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  std::remove(path);
  return path;
}

double thread_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::string kind_of_failure(const pp::Job& job) {
  try {
    job.wait();
    job.results();
  } catch (const pp::RemoteError& e) {
    return e.kind();
  }
  return "none";
}

}  // namespace

TEST_CASE("integration.futures.as_completed_yields_jobs_in_the_order_they_finish" *
          doctest::timeout(90)) {
  ServerProcess node({"-w", "3"}, kSecret);
  pp::Cluster cluster(options_for({node.address()}));
  cluster.wait_for_workers(3, 30s);
  std::vector<pp::Job> jobs{cluster.submit(kSleep, 2400, 3), cluster.submit(kSleep, 50, 1),
                            cluster.submit(kSleep, 1200, 2)};
  std::vector<int> order;
  for (const pp::Job& job : pp::as_completed(jobs)) order.push_back(job.get<int>());
  CHECK(order == std::vector<int>{1, 2, 3});
  // Finished ones come at once, and an empty list yields nothing.
  size_t again = 0;
  for (const pp::Job& job : pp::as_completed(jobs)) again += job.ready() ? 1 : 0;
  CHECK(again == 3);
  for (const pp::Job& job : pp::as_completed({})) FAIL("a job from no jobs: " << job.id());
  CHECK(jobs[0].elapsed() > jobs[1].elapsed());
  CHECK(jobs[1].attempts() == 1);
  CHECK(jobs[1].status() == pp::JobStatus::kFinished);
}

TEST_CASE("integration.futures.first_completed_returns_while_the_slow_job_runs" *
          doctest::timeout(90)) {
  ServerProcess node({"-w", "2"}, kSecret);
  pp::Cluster cluster(options_for({node.address()}));
  pp::Job slow = cluster.submit(kSleep, 60000, 0);
  pp::Job fast = cluster.submit(kSleep, 50, 1);
  auto [done, not_done] = cluster.wait({slow, fast}, pp::ReturnWhen::kFirstCompleted);
  REQUIRE(done.size() == 1);
  CHECK(done[0].id() == fast.id());
  REQUIRE(not_done.size() == 1);
  CHECK(not_done[0].id() == slow.id());
  CHECK(slow.status() == pp::JobStatus::kRunning);
  CHECK(std::string(pp::to_string(slow.status())) == "running");
  // A time limit: nothing more finishes within it.
  auto limited = cluster.wait({slow}, pp::ReturnWhen::kAllCompleted, 100ms);
  CHECK(limited.done.empty());
  CHECK(limited.not_done.size() == 1);
  CHECK(slow.cancel());
  CHECK(cluster.wait({slow, fast}).not_done.empty());
}

TEST_CASE("integration.futures.first_exception_returns_at_the_failed_job" * doctest::timeout(90)) {
  ServerProcess node({"-w", "3"}, kSecret);
  pp::Cluster cluster(options_for({node.address()}));
  pp::Job slow = cluster.submit(kSleep, 60000, 0);
  pp::Job ok = cluster.submit(kSleep, 10, 1);
  pp::Job bad = cluster.submit(pp::Code::lua("function() error('boom') end"));
  auto [done, not_done] = cluster.wait({slow, ok, bad}, pp::ReturnWhen::kFirstException);
  std::set<uint64_t> done_ids;
  for (const pp::Job& j : done) done_ids.insert(j.id());
  CHECK(done_ids.count(bad.id()) == 1);
  CHECK(done_ids.count(slow.id()) == 0);
  CHECK(not_done.size() + done.size() == 3);
  CHECK(bad.status() == pp::JobStatus::kFailed);
  CHECK(kind_of_failure(bad) == "lua error");
  slow.cancel();
}

// One 1-worker node: a job running, one queued on the node, two more in its window, one
// in the driver; each cancelled where it is.
TEST_CASE("integration.futures.cancel_queued_in_driver_on_node_and_running" *
          doctest::timeout(120)) {
  ServerProcess node({"-w", "1"}, kSecret);
  pp::Cluster cluster(options_for({node.address()}));
  cluster.wait_for_workers(1, 30s);
  // Running on the worker, not only sent to the node (whose worker may still be starting,
  // slowly in a sanitized build): the job says so by creating a file.
  std::string marker = "/tmp/pp-test-running-" + std::to_string(::getpid());
  std::remove(marker.c_str());
  pp::Job running = cluster.submit(pp::Code::lua(R"(function(path, ms)
    io.open(path, 'w'):close()
    local ffi = require 'ffi'
    pcall(ffi.cdef, 'int usleep(unsigned int usec);')
    for _ = 1, math.floor(ms / 10) do ffi.C.usleep(10000) end
    return 0
  end)"), marker, 600000);
  REQUIRE(pp::test::wait_until([&] { return ::access(marker.c_str(), F_OK) == 0; }, 60s));
  std::remove(marker.c_str());
  pp::Job on_node = cluster.submit(kSleep, 10, 1);
  pp::Job next = cluster.submit(kSleep, 10, 2);
  pp::Job after = cluster.submit(kSleep, 10, 3);
  pp::Job in_driver = cluster.submit(kSleep, 10, 4);   // the window (4 jobs) is full
  REQUIRE(pp::test::wait_until([&] { return after.status() == pp::JobStatus::kRunning; }, 30s));
  CHECK(in_driver.status() == pp::JobStatus::kPending);
  CHECK(in_driver.attempts() == 0);

  CHECK(in_driver.cancel());
  CHECK(in_driver.status() == pp::JobStatus::kCancelled);
  CHECK(on_node.cancel());
  CHECK_FALSE(on_node.cancel());   // once
  CHECK(running.cancel());
  // The worker is stopped: the jobs behind it run now, not in ten minutes.
  CHECK(next.get<int>() == 2);
  CHECK(after.get<int>() == 3);
  try {
    running.get<int>();
    FAIL("a cancelled job gave a value");
  } catch (const pp::RemoteError& e) {
    CHECK(e.kind() == "cancelled");
    CHECK(e.message().find("cancelled by the driver") != std::string::npos);
  }
  CHECK(kind_of_failure(in_driver) == "cancelled");
  CHECK(kind_of_failure(on_node) == "cancelled");
  CHECK(running.attempts() == 1);
  CHECK(node.wait_for_log("cancelled by its client while running; stopping worker", 10s));
  // No stray process: the node has its one (respawned) worker again.
  CHECK(pp::test::wait_until([&] { return pp::test::children_of(node.pid()).size() == 1; }, 10s));
  // The scheduler's accounting stayed right: the node's window takes jobs as before.
  std::vector<pp::Job> more;
  for (int i = 0; i < 20; ++i) more.push_back(cluster.submit(kSleep, 0, i));
  for (int i = 0; i < 20; ++i) CHECK(more[i].get<int>() == i);
  CHECK_FALSE(more[0].cancel());
  auto stats = cluster.stats();
  REQUIRE(stats.size() == 1);
  CHECK(stats[0].jobs == 22);   // next, after and the 20: no cancelled job counted
}

TEST_CASE("integration.futures.cancel_a_group" * doctest::timeout(60)) {
  ServerProcess node({"-w", "1"}, kSecret);
  pp::Cluster cluster(options_for({node.address()}));
  std::vector<pp::Job> jobs;
  for (int i = 0; i < 10; ++i) jobs.push_back(cluster.submit({.group = "g"}, kSleep, 600000, i));
  pp::Job other = cluster.submit({.group = "h"}, kSleep, 0, 7);
  CHECK(cluster.group("g").size() == 10);
  CHECK(cluster.cancel("g") == 10);
  CHECK(cluster.cancel("g") == 0);
  for (const pp::Job& j : jobs) CHECK(j.status() == pp::JobStatus::kCancelled);
  CHECK(other.get<int>() == 7);
  CHECK(cluster.group("nothing").empty());
}

TEST_CASE("integration.futures.retries_succeed_on_a_later_attempt_and_give_up" *
          doctest::timeout(90)) {
  ServerProcess node({"-w", "2"}, kSecret);
  pp::Cluster cluster(options_for({node.address()}));
  const pp::Code fails_first = pp::Code::lua(R"(function(path)
    local f = io.open(path, 'r')
    if f then f:close() return 'second run' end
    f = io.open(path, 'w') f:write('x') f:close()
    error('no marker yet')
  end)");
  const std::string marker = fresh_path();
  pp::Job job = cluster.submit({.retries = 3}, fails_first, marker);
  CHECK(job.get<std::string>() == "second run");
  CHECK(job.attempts() == 2);
  std::remove(marker.c_str());

  pp::Job hopeless = cluster.submit({.retries = 2}, pp::Code::lua("function() error('never') end"));
  CHECK(kind_of_failure(hopeless) == "lua error");
  CHECK(hopeless.attempts() == 3);
  // A crash and a time limit are retried too; without retries a failure is final at once.
  pp::Job timed_out = cluster.submit({.timeout = 200ms, .retries = 1}, kSleep, 5000, 0);
  CHECK(kind_of_failure(timed_out) == "timeout");
  CHECK(timed_out.attempts() == 2);
  pp::Job once = cluster.submit(pp::Code::lua("function() error('once') end"));
  CHECK(kind_of_failure(once) == "lua error");
  CHECK(once.attempts() == 1);
}

TEST_CASE("integration.futures.retry_runs_on_the_other_node" * doctest::timeout(90)) {
  ServerProcess a({"-w", "1"}, kSecret);
  ServerProcess b({"-w", "1"}, kSecret);
  pp::Cluster cluster(options_for({a.address(), b.address()}));
  cluster.wait_for_workers(2, 30s);
  const pp::Code fails_first = pp::Code::lua(std::string("function(path)") + kNodePid + R"(
    local f = io.open(path, 'r')
    if f then
      local first = tonumber(f:read('*a'))
      f:close()
      return {first, node_pid}
    end
    f = io.open(path, 'w') f:write(tostring(node_pid)) f:close()
    error('first run fails')
  end)");
  // Each of four jobs fails once; had the retry gone anywhere, one in two would rerun
  // where it failed.
  std::vector<std::string> markers;
  std::vector<pp::Job> jobs;
  for (int i = 0; i < 4; ++i) {
    markers.push_back(fresh_path());
    jobs.push_back(cluster.submit({.retries = 1}, fails_first, markers.back()));
  }
  const std::set<int> nodes{a.pid(), b.pid()};
  for (size_t i = 0; i < jobs.size(); ++i) {
    auto pids = jobs[i].get<std::vector<int>>();
    REQUIRE(pids.size() == 2);
    CHECK(pids[0] != pids[1]);
    CHECK(nodes.count(pids[0]) == 1);
    CHECK(nodes.count(pids[1]) == 1);
    CHECK(jobs[i].attempts() == 2);
    std::remove(markers[i].c_str());
  }
}

TEST_CASE("integration.futures.placement_on_one_node" * doctest::timeout(90)) {
  ServerProcess a({"-w", "2"}, kSecret);
  ServerProcess b({"-w", "2"}, kSecret);
  pp::Cluster cluster(options_for({a.address(), b.address()}, 2s));
  cluster.wait_for_workers(4, 30s);
  const pp::Code where = pp::Code::lua(std::string("function()") + kNodePid + " return node_pid end");
  std::vector<pp::Job> jobs;
  for (int i = 0; i < 12; ++i) jobs.push_back(cluster.submit({.node = b.address()}, where));
  for (const pp::Job& j : jobs) {
    CHECK(j.get<int>() == b.pid());
    CHECK(j.node() == b.address());
  }
  // A node that never connects: the job fails after no_node_timeout, saying why.
  pp::Job nowhere = cluster.submit({.node = "127.0.0.1:9"}, where);
  try {
    nowhere.get<int>();
    FAIL("a job pinned to no node ran");
  } catch (const pp::RemoteError& e) {
    CHECK(e.kind() == "lost");
    CHECK(e.message().find("may run only on node 127.0.0.1:9") != std::string::npos);
    CHECK(e.message().find(a.address() + ": connected") != std::string::npos);
  }
  CHECK(cluster.submit(where).get<int>() > 0);   // the others go on
}

TEST_CASE("integration.futures.a_thread_blocked_in_as_completed_uses_no_cpu" *
          doctest::timeout(60)) {
  ServerProcess node({"-w", "1"}, kSecret);
  pp::Cluster cluster(options_for({node.address()}));
  cluster.wait_for_workers(1, 30s);
  std::vector<pp::Job> jobs{cluster.submit(kSleep, 1000, 1), cluster.submit(kSleep, 200, 2)};
  const double before = thread_cpu_seconds();
  int sum = 0;
  for (const pp::Job& j : pp::as_completed(jobs)) sum += j.get<int>();
  const double used = thread_cpu_seconds() - before;
  CHECK(sum == 3);
  MESSAGE("CPU of the waiting thread over ~1.2 s: " << used << " s");
  CHECK(used < 0.05);
}

TEST_CASE("integration.futures.wait_for_workers_and_its_timeout_message" * doctest::timeout(60)) {
  ServerProcess node({"-w", "2"}, kSecret);
  pp::Cluster cluster(options_for({node.address(), "127.0.0.1:9"}));
  cluster.wait_for_workers(2, 30s);
  CHECK(cluster.get_ncpus() == 2);
  try {
    cluster.wait_for_workers(5, 300ms);
    FAIL("5 workers from 2");
  } catch (const pp::TimeoutError& e) {
    const std::string m = e.what();
    CHECK(m.find("for 5 workers; 2 connected") != std::string::npos);
    CHECK(m.find(node.address() + " (2)") != std::string::npos);
    CHECK(m.find("127.0.0.1:9: ") != std::string::npos);
    CHECK(m.find("127.0.0.1:9: not reachable") == std::string::npos);   // its real error
  }
}

TEST_CASE("integration.futures.get_of_another_type_says_what_the_value_was" *
          doctest::timeout(60)) {
  ServerProcess node({"-w", "1"}, kSecret);
  pp::Cluster cluster(options_for({node.address()}));
  pp::Job job = cluster.submit(pp::Code::lua("function() return 'abc' end"));
  try {
    job.get<int>();
    FAIL("a string read as an int");
  } catch (const pp::TypeError& e) {
    const std::string m = e.what();
    CHECK(m.find("returned a string (\"abc\")") != std::string::npos);
    CHECK(m.find("not a int") != std::string::npos);
  }
  CHECK(job.get<std::string>() == "abc");
  pp::Job table = cluster.submit(pp::Code::lua("function() return {1, 2} end"));
  CHECK_THROWS_WITH_AS(table.get<double>(), doctest::Contains("an array of 2"), pp::TypeError);
}
