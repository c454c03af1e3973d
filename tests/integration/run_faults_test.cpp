// Integration: Cluster::run (js:run's engine) when a worker or its node dies. A run job
// lives on one worker: a kill -9 of that worker's process mid-job is that worker's
// error in RunError::errors (named, "crashed"), and the job is not run again on the
// respawned worker; a kill -9 of a node fails its workers' jobs at once with the
// reason, not after no_node_timeout (here longer than the test's own time limit).
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "pp/cluster.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::test::ServerProcess;

constexpr char kSecret[] = "run-faults-test-secret";

// Appends "worker.id pid" to `path`; on the workers whose id contains `stall`, sleeps a
// minute (it is killed first); returns the pid.
const pp::Code kNoteAndStall = pp::Code::lua(R"(function(path, stall)
  local ffi = require 'ffi'
  pcall(ffi.cdef, 'int getpid(void); int usleep(unsigned int usec);')
  local f = assert(io.open(path, 'a'))
  f:write(worker.id, ' ', ffi.C.getpid(), '\n')
  f:close()
  if worker.id:find(stall, 1, true) then
    for _ = 1, 6000 do ffi.C.usleep(10000) end
  end
  return ffi.C.getpid()
end)");

std::string fresh_path() {
  char path[] = "/tmp/pp-run-faults-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  return path;
}

// worker id -> pids noted in `path` (one per run of the job there).
std::multimap<std::string, long> noted(const std::string& path) {
  std::ifstream in(path);
  std::multimap<std::string, long> out;
  std::string id;
  for (long pid; in >> id >> pid;) out.emplace(id, pid);
  return out;
}

// Waits until `count` lines naming workers that contain `part` are in `path`.
std::vector<long> wait_noted(const std::string& path, const std::string& part, size_t count) {
  for (int i = 0; i < 6000; ++i) {
    std::vector<long> pids;
    for (const auto& [id, pid] : noted(path)) {
      if (id.find(part) != std::string::npos) pids.push_back(pid);
    }
    if (pids.size() >= count) return pids;
    std::this_thread::sleep_for(10ms);
  }
  FAIL("the jobs on " << part << " never started");
  return {};
}

std::string host_name() {
  char buf[256] = {};
  REQUIRE(gethostname(buf, sizeof buf - 1) == 0);
  return buf;
}

}  // namespace

TEST_CASE("integration.run.a_worker_killed_mid_job_is_its_error_and_not_run_again" *
          doctest::timeout(120)) {
  ServerProcess node({"-w", "2"}, kSecret);
  pp::Cluster cluster(pp::test::client_options({node.address()}, kSecret, 600s));
  cluster.wait_for_workers(2, 60s);
  const std::string path = fresh_path();
  const std::string target = host_name() + ":" + std::to_string(node.port()) + "#2";

  auto run = std::async(std::launch::async,
                        [&] { return cluster.run<int>(kNoteAndStall, path, target); });
  std::vector<long> pid = wait_noted(path, target, 1);
  REQUIRE(kill(static_cast<pid_t>(pid[0]), SIGKILL) == 0);
  try {
    run.get();
    FAIL("run did not raise");
  } catch (const pp::RunError& e) {
    INFO(std::string(e.what()));
    REQUIRE(e.errors().size() == 1);
    CHECK(e.errors().begin()->first == target);
    CHECK(e.results().size() == 1);
    CHECK_THROWS_WITH_AS(e.errors().begin()->second.get<int>(),
                         doctest::Contains(("worker " + target + " crashed running it").c_str()),
                         pp::RemoteError);
  }
  // The respawned worker is there and was never given the job again.
  auto again = cluster.run<int>(pp::Code::lua("function() return 1 end"));
  CHECK(again.size() == 2);
  CHECK(noted(path).count(target) == 1);
  // The crash counts in the node's figures, though it is not run again.
  const auto stats = cluster.stats();
  REQUIRE(stats.size() == 1);
  CHECK(stats[0].crashes == 1);
  CHECK(node.alive());
  std::remove(path.c_str());
}

TEST_CASE("integration.run.a_departed_node_fails_its_workers_jobs_at_once" *
          doctest::timeout(120)) {
  ServerProcess a({"-w", "1"}, kSecret), b({"-w", "2"}, kSecret);
  // A no_node_timeout far past the test's limit: the jobs may not wait for it.
  pp::Cluster cluster(pp::test::client_options({a.address(), b.address()}, kSecret, 600s));
  cluster.wait_for_workers(3, 60s);
  const std::string path = fresh_path();
  const std::string b_own = host_name() + ":" + std::to_string(b.port());

  auto run = std::async(std::launch::async,
                        [&] { return cluster.run<int>(kNoteAndStall, path, b_own + "#"); });
  wait_noted(path, b_own + "#", 2);
  b.kill9();
  try {
    run.get();
    FAIL("run did not raise");
  } catch (const pp::RunError& e) {
    INFO(std::string(e.what()));
    CHECK(e.results().size() == 1);
    REQUIRE(e.errors().size() == 2);
    for (const auto& [id, job] : e.errors()) {
      CHECK(id.rfind(b_own + "#", 0) == 0);
      CHECK_THROWS_WITH_AS(job.get<int>(),
                           doctest::Contains(("was placed on worker " + id +
                                              ", whose node went away").c_str()),
                           pp::RemoteError);
    }
  }
  std::remove(path.c_str());
}

// A worker that cannot start any more (its Lua module broken after the node started,
// then its process killed): after three deaths at start-up it is down, and a run's job
// placed on it fails at once naming it, while the other worker answers.
TEST_CASE("integration.run.a_worker_that_cannot_start_fails_its_job_naming_it" *
          doctest::timeout(120)) {
  char dir[] = "/tmp/pp-run-lua-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  const std::string shadow = std::string(dir) + "/pp";
  REQUIRE(mkdir(shadow.c_str(), 0700) == 0);
  const std::string real = pp::test::bin_dir() + "/../share/lua/5.1";
  // Modules are looked up in `dir` first: empty for now, so the real ones load.
  setenv("PP_LUA_PATH", (std::string(dir) + "/?.lua;" + real + "/?.lua;" + real + "/?/init.lua").c_str(), 1);
  ServerProcess node({"-w", "2"}, kSecret);
  unsetenv("PP_LUA_PATH");
  pp::Cluster cluster(pp::test::client_options({node.address()}, kSecret, 600s));
  cluster.wait_for_workers(2, 60s);
  const pp::Code pid_of = pp::Code::lua(R"(function()
    local ffi = require 'ffi'
    pcall(ffi.cdef, 'int getpid(void);')
    return ffi.C.getpid()
  end)");
  std::map<std::string, int> pids = cluster.run<int>(pid_of);
  REQUIRE(pids.size() == 2);
  const std::string second = host_name() + ":" + std::to_string(node.port()) + "#2";

  {   // from now on a worker that starts fails to load its module
    std::ofstream broken(shadow + "/worker.lua");
    broken << "error('this worker module is broken on purpose')\n";
  }
  REQUIRE(kill(pids.at(second), SIGKILL) == 0);
  REQUIRE(node.wait_for_log("worker 1 is down", 60s));
  try {
    cluster.run<int>(pid_of);
    FAIL("run did not raise");
  } catch (const pp::RunError& e) {
    INFO(std::string(e.what()));
    REQUIRE(e.errors().size() == 1);
    CHECK(e.errors().begin()->first == second);
    CHECK(e.results().size() == 1);
    CHECK_THROWS_WITH_AS(e.errors().begin()->second.get<int>(),
                         doctest::Contains(("worker " + second + " is down: it died during "
                                            "start-up 3 times in a row").c_str()),
                         pp::RemoteError);
  }
  CHECK(node.alive());
  std::remove((shadow + "/worker.lua").c_str());
  rmdir(shadow.c_str());
  rmdir(dir);
}
