// Integration: Cluster::run against three real ppserver processes over TCP: every
// worker reached exactly once (each run appends its worker's pid to a file), results by
// worker id ("host:port#k", the node's own name), one failing worker's error collected
// with the others' results, RunOptions::nodes narrowing it, an unknown node named.
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "pp/cluster.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::test::ServerProcess;

constexpr char kSecret[] = "run-test-secret";

// Appends its worker's pid to the file `path`, returns the pid; raises on worker `bad`.
const pp::Code kPidOnce = pp::Code::lua(R"(function(path, bad)
  local ffi = require 'ffi'
  pcall(ffi.cdef, 'int getpid(void);')
  local pid = ffi.C.getpid()
  if pid == bad then error('worker ' .. pid .. ' refuses') end
  local f = assert(io.open(path, 'a'))
  f:write(pid, '\n')
  f:close()
  return pid
end)");

std::string fresh_path() {
  char path[] = "/tmp/pp-run-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  return path;
}

std::vector<long> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<long> out;
  for (long v; in >> v;) out.push_back(v);
  return out;
}

std::string host_name() {
  char buf[256] = {};
  REQUIRE(gethostname(buf, sizeof buf - 1) == 0);
  return buf;
}

}  // namespace

TEST_CASE("integration.run.every_worker_of_three_nodes_once" * doctest::timeout(120)) {
  ServerProcess a({"-w", "2"}, kSecret), b({"-w", "2"}, kSecret), c({"-w", "3"}, kSecret);
  pp::Cluster cluster(
      pp::test::client_options({a.address(), b.address(), c.address()}, kSecret, 30s));
  cluster.wait_for_workers(7, 60s);
  const std::string path = fresh_path();

  std::map<std::string, int> pids = cluster.run<int>(kPidOnce, path, -1);
  std::set<std::string> expected;
  for (const ServerProcess* n : {&a, &b, &c}) {
    int workers = n == &c ? 3 : 2;
    for (int k = 1; k <= workers; ++k) {
      expected.insert(host_name() + ":" + std::to_string(n->port()) + "#" + std::to_string(k));
    }
  }
  std::set<std::string> ids;
  std::set<int> distinct;
  for (const auto& [id, pid] : pids) {
    ids.insert(id);
    distinct.insert(pid);
  }
  CHECK(ids == expected);
  // Each key is the job's own worker.id.
  for (const auto& [id, own] : cluster.run<std::string>(pp::Code::lua("function() return worker.id end"))) {
    CHECK(id == own);
  }
  CHECK(distinct.size() == 7);   // seven workers, seven processes
  std::vector<long> ran = lines_of(path);
  CHECK(ran.size() == 7);        // each ran it exactly once
  CHECK(std::set<long>(ran.begin(), ran.end()).size() == 7);

  SUBCASE("a failing worker's error is collected, the others' results kept") {
    const std::string bad_id = *std::next(expected.begin(), 3);
    const int bad = pids.at(bad_id);
    try {
      cluster.run<int>(kPidOnce, path, bad);
      FAIL("run did not raise");
    } catch (const pp::RunError& e) {
      INFO(std::string(e.what()));
      CHECK(std::string(e.what()).find("1 of 7 workers failed") != std::string::npos);
      REQUIRE(e.errors().size() == 1);
      CHECK(e.errors().begin()->first == bad_id);
      CHECK(e.results().size() == 6);
      CHECK_FALSE(e.results().contains(bad_id));
      try {
        e.errors().begin()->second.get<int>();
        FAIL("the failed worker's job returned");
      } catch (const pp::RemoteError& re) {
        CHECK(re.kind() == "lua error");
        CHECK(re.message().find("refuses") != std::string::npos);
      }
      for (const auto& [id, job] : e.results()) CHECK(job.get<int>() == pids.at(id));
    }
  }

  SUBCASE("workers that die during it report their own errors") {
    // Every worker of node b exits mid-job (once: a placed job is not run again); the
    // others answer.
    const pp::Code die_on = pp::Code::lua(R"(function(node_pid)
      local ffi = require 'ffi'
      pcall(ffi.cdef, 'int getpid(void); int getppid(void);')
      if ffi.C.getppid() == node_pid then os.exit(3) end
      return ffi.C.getpid()
    end)");
    try {
      cluster.run<int>(die_on, static_cast<int>(b.pid()));
      FAIL("run did not raise");
    } catch (const pp::RunError& e) {
      CHECK(e.errors().size() == 2);
      CHECK(e.results().size() == 5);
      for (const auto& [id, job] : e.errors()) {
        CHECK(id.find(":" + std::to_string(b.port()) + "#") != std::string::npos);
        CHECK_THROWS_WITH_AS(job.get<int>(), doctest::Contains("crashed"), pp::RemoteError);
      }
    }
    CHECK(b.alive());
  }

  SUBCASE("nodes narrows it, by the cluster's name or the node's own") {
    std::map<std::string, int> on_b = cluster.run<int>({.nodes = {b.address()}}, kPidOnce,
                                                       path, -1);
    CHECK(on_b.size() == 2);
    for (const auto& [id, pid] : on_b) {
      CHECK(id.find(":" + std::to_string(b.port()) + "#") != std::string::npos);
      CHECK(pids.at(id) == pid);   // the same worker processes as before
    }
    const std::string own = host_name() + ":" + std::to_string(c.port());
    CHECK(cluster.run<int>({.nodes = {own, c.address()}}, kPidOnce, path, -1).size() == 3);
    CHECK_THROWS_WITH_AS(cluster.run<int>({.nodes = {"127.0.0.1:1"}}, kPidOnce, path, -1),
                         doctest::Contains("node 127.0.0.1:1 is not connected"),
                         std::invalid_argument);
  }
  std::remove(path.c_str());
}

// Placed jobs wait for their worker: with the one worker busy on a long job, a run
// still reaches it (after that job) and no other job of the batch takes its place.
TEST_CASE("integration.run.waits_for_a_busy_worker" * doctest::timeout(120)) {
  ServerProcess node({"-w", "1"}, kSecret);
  pp::Cluster cluster(pp::test::client_options({node.address()}, kSecret, 30s));
  cluster.wait_for_workers(1, 60s);
  const pp::Code sleep = pp::Code::lua(R"(function(ms)
    local ffi = require 'ffi'
    pcall(ffi.cdef, 'int usleep(unsigned int usec);')
    for _ = 1, ms / 10 do ffi.C.usleep(10000) end
    return ms
  end)");
  pp::Job busy = cluster.submit(sleep, 300);
  const std::string path = fresh_path();
  auto pids = cluster.run<int>(kPidOnce, path, -1);
  CHECK(pids.size() == 1);
  CHECK(busy.get<int>() == 300);
  CHECK(lines_of(path).size() == 1);
  std::remove(path.c_str());
}
