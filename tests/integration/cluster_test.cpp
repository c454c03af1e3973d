// Integration: the C++ API against real ppserver processes over real TCP.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "pp/cluster.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::test::ServerProcess;

constexpr char kSecret[] = "integration-test-secret";

pp::ClusterOptions options_for(std::vector<std::string> servers, std::string secret = kSecret) {
  pp::ClusterOptions o;
  o.servers = std::move(servers);
  o.local_workers = 0;
  o.secret = std::move(secret);
  o.no_node_timeout = 20s;
  return o;
}

const pp::Code kSquare = pp::Code::lua("function(x) return x * x end");

}  // namespace

TEST_CASE("integration.cluster.thousand_jobs_on_a_real_node" * doctest::timeout(60)) {
  ServerProcess node({"-w", "2"}, kSecret);
  pp::Cluster cluster(options_for({node.address()}));
  std::vector<pp::Job> jobs;
  for (int i = 0; i < 1000; ++i) jobs.push_back(cluster.submit(kSquare, i));
  for (int i = 0; i < 1000; ++i) REQUIRE(jobs[i].get<long long>() == 1LL * i * i);
  auto stats = cluster.stats();
  REQUIRE(stats.size() == 1);
  CHECK(stats[0].jobs == 1000);
  CHECK(stats[0].workers == 2);
  CHECK(cluster.get_ncpus() == 2);
  CHECK(cluster.stats_table().find("Job execution statistics") != std::string::npos);
}

TEST_CASE("integration.cluster.multiple_return_values_and_tables" * doctest::timeout(30)) {
  ServerProcess node({"-w", "1"}, kSecret);
  pp::Cluster cluster(options_for({node.address()}));
  auto job = cluster.submit(pp::Code::lua("function(a, b) return {sum = a + b, list = {a, b}}, 'x' end"), 2, 3);
  auto h = job.results();
  const msgpack::object& arr = h.get();
  REQUIRE(arr.type == msgpack::type::ARRAY);
  REQUIRE(arr.via.array.size == 2);
  auto m = arr.via.array.ptr[0].as<std::map<std::string, msgpack::object>>();
  CHECK(m.at("sum").as<int>() == 5);
  CHECK(m.at("list").as<std::vector<int>>() == std::vector<int>{2, 3});
  CHECK(arr.via.array.ptr[1].as<std::string>() == "x");
}

TEST_CASE("integration.cluster.wrong_secret_is_refused_and_runs_nothing" * doctest::timeout(30)) {
  ServerProcess node({"-w", "1"}, kSecret);
  char marker[] = "/tmp/pp-test-marker-XXXXXX";
  int fd = mkstemp(marker);
  close(fd);
  std::remove(marker);
  pp::Cluster cluster(options_for({node.address()}, "not-the-secret"));
  auto job = cluster.submit(
      pp::Code::lua("function(path) local f = io.open(path, 'w'); f:write('ran'); f:close(); return 1 end"),
      std::string(marker));
  try {
    job.get<int>();
    FAIL("a job ran with the wrong secret");
  } catch (const pp::RemoteError& e) {
    CHECK(std::string(e.what()).find("authentication failed") != std::string::npos);
  }
  CHECK(node.wait_for_log("authentication failed", 2s));
  CHECK(access(marker, F_OK) != 0);  // the code never ran
  CHECK(node.alive());
}

TEST_CASE("integration.cluster.client_without_a_secret_is_told_how_to_give_one" *
          doctest::timeout(30)) {
  ServerProcess node({"-w", "1"}, kSecret);
  // No secret anywhere the client looks: none given, no $PP_SECRET, no ~/.ppcluster/secret.
  char home[] = "/tmp/pp-test-home-XXXXXX";
  REQUIRE(mkdtemp(home) != nullptr);
  const char* old_home = std::getenv("HOME");
  const char* old_secret = std::getenv("PP_SECRET");
  std::string saved_home = old_home ? old_home : "", saved_secret = old_secret ? old_secret : "";
  setenv("HOME", home, 1);
  unsetenv("PP_SECRET");
  std::string message;
  {
    pp::Cluster cluster(options_for({node.address()}, ""));
    try {
      cluster.submit(kSquare, 2).get<int>();
    } catch (const pp::RemoteError& e) {
      message = e.what();
    }
  }
  if (old_home) setenv("HOME", saved_home.c_str(), 1);
  if (old_secret) setenv("PP_SECRET", saved_secret.c_str(), 1);
  rmdir(home);
  INFO(message);
  CHECK(message.find("this client has none") != std::string::npos);
  CHECK(message.find("does not match") == std::string::npos);
  for (const char* way : {"pp.server{secret = ...}", "$PP_SECRET", "~/.ppcluster/secret",
                          "--secret-file"}) {
    CHECK(message.find(way) != std::string::npos);
  }
  CHECK(node.wait_for_log("authentication failed", 2s));
}

TEST_CASE("integration.cluster.lua_error_carries_traceback_and_node" * doctest::timeout(30)) {
  ServerProcess node({"-w", "1"}, kSecret);
  pp::Cluster cluster(options_for({node.address()}));
  auto code = pp::Code::lua("function(x) return helper(x) end",
                            {{"helper", "function(x) error('bad input ' .. x) end"}});
  auto job = cluster.submit(code, 42);
  try {
    job.get<int>();
    FAIL("expected a RemoteError");
  } catch (const pp::RemoteError& e) {
    CHECK(e.kind() == "lua error");
    CHECK(e.message().find("bad input 42") != std::string::npos);
    CHECK(e.traceback().find("stack traceback") != std::string::npos);
    CHECK(e.traceback().find("helper") != std::string::npos);
    CHECK(e.node() == node.address());
    CHECK(e.job_id() == job.id());
  }
  CHECK(cluster.submit(kSquare, 3).get<int>() == 9);  // the node carries on
}

TEST_CASE("integration.cluster.raised_table_is_the_error_value" * doctest::timeout(30)) {
  // error({code = 42}) comes back as that table (its __tostring, if any, is the message),
  // not as "(error object is a table value)" alone.
  ServerProcess node({"-w", "1"}, kSecret);
  pp::Cluster cluster(options_for({node.address()}));
  auto plain = cluster.submit(pp::Code::lua("function() error({code = 42, why = 'no'}) end"));
  try {
    plain.get<int>();
    FAIL("expected a RemoteError");
  } catch (const pp::RemoteError& e) {
    CHECK(e.message() == "(error object is a table value; it is in the error's value field)");
    REQUIRE(!e.value_msgpack().empty());
    auto h = msgpack::unpack(e.value_msgpack().data(), e.value_msgpack().size());
    auto m = h.get().as<std::map<std::string, msgpack::object>>();
    CHECK(m.at("code").as<int>() == 42);
    CHECK(m.at("why").as<std::string>() == "no");
  }
  auto shown = cluster.submit(pp::Code::lua(
      "function() error(setmetatable({code = 7}, {__tostring = function(t) "
      "return 'code ' .. t.code end})) end"));
  try {
    shown.get<int>();
    FAIL("expected a RemoteError");
  } catch (const pp::RemoteError& e) {
    CHECK(e.message() == "code 7");
    CHECK(e.value_msgpack() == std::string("\x81\xa4" "code\x07", 7));
  }
  auto text = cluster.submit(pp::Code::lua("function() error('plain text') end"));
  try {
    text.get<int>();
    FAIL("expected a RemoteError");
  } catch (const pp::RemoteError& e) {
    CHECK(e.message().find("plain text") != std::string::npos);
    CHECK(e.value_msgpack().empty());
  }
}

TEST_CASE("integration.cluster.int64_arguments_and_results_are_exact" * doctest::timeout(30)) {
  // A 64-bit integer a double cannot hold reaches the job as int64_t/uint64_t cdata and
  // comes back exactly (before, the job saw the nearest double).
  ServerProcess node({"-w", "1"}, kSecret);
  pp::Cluster cluster(options_for({node.address()}));
  const int64_t big = (int64_t{1} << 62) + 1;
  CHECK(cluster.submit(pp::Code::lua("function(x) return x + 1 end"), big).get<int64_t>() ==
        big + 1);
  CHECK(cluster.submit(pp::Code::lua("function(x) return x - 1 end"), UINT64_MAX)
            .get<uint64_t>() == UINT64_MAX - 1);
  CHECK(cluster.submit(pp::Code::lua("function(x) return tostring(x) end"), INT64_MIN + 1)
            .get<std::string>() == "-9223372036854775807LL");
}

TEST_CASE("integration.cluster.endless_job_is_stopped_by_its_time_limit" * doctest::timeout(60)) {
  ServerProcess node({"-w", "1", "--job-timeout", "0.5"}, kSecret);
  pp::Cluster cluster(options_for({node.address()}));
  auto endless = cluster.submit(pp::Code::lua("function() while true do end end"));
  auto after = cluster.submit(kSquare, 12);
  auto t0 = std::chrono::steady_clock::now();
  try {
    endless.get<int>();
    FAIL("the endless job returned");
  } catch (const pp::RemoteError& e) {
    CHECK(e.kind() == "timeout");
    CHECK(e.message().find("time limit") != std::string::npos);
  }
  CHECK(std::chrono::steady_clock::now() - t0 < 20s);
  CHECK(after.get<int>() == 144);  // the respawned worker serves the next job
  CHECK(node.wait_for_log("exceeded its time limit", 2s));
  CHECK(node.alive());
}

TEST_CASE("integration.cluster.ffi_crash_fails_only_that_job" * doctest::timeout(60)) {
  ServerProcess node({"-w", "2"}, kSecret);
  pp::Cluster cluster(options_for({node.address()}));
  std::vector<pp::Job> good;
  for (int i = 0; i < 50; ++i) good.push_back(cluster.submit(kSquare, i));
  auto crash = cluster.submit(pp::Code::lua(
      "function() local ffi = require 'ffi'; return ffi.cast('int*', 0)[0] end"));
  for (int i = 50; i < 100; ++i) good.push_back(cluster.submit(kSquare, i));
  try {
    crash.get<int>();
    FAIL("the crashing job returned");
  } catch (const pp::RemoteError& e) {
    CHECK(e.kind() == "crashed");
    // SIGSEGV, or under a sanitizer its runtime's exit after reporting the fault.
    bool segv = e.message().find("signal 11") != std::string::npos;
    bool sanitizer_exit = e.message().find("exited with status") != std::string::npos;
    CHECK((segv || sanitizer_exit));
    CHECK(e.message().find("while running the job") != std::string::npos);
    // Run again on a fresh worker until it crashed on every executing attempt.
    CHECK(e.message().find("crashed its worker 3 times") != std::string::npos);
  }
  for (int i = 0; i < 100; ++i) CHECK(good[i].get<int>() == i * i);
  CHECK(node.wait_for_log("restarting it", 2s));
  CHECK(node.alive());
  auto stats = cluster.stats();
  REQUIRE(stats.size() == 1);
  CHECK(stats[0].crashes == 3);
  CHECK(stats[0].failures == 1);
  CHECK(stats[0].jobs == 101);
}

TEST_CASE("integration.cluster.memory_bomb_fails_only_that_job" * doctest::timeout(60)) {
  ServerProcess node({"-w", "1", "--worker-memory", "64"}, kSecret);
  pp::Cluster cluster(options_for({node.address()}));
  auto bomb = cluster.submit(pp::Code::lua(
      "function() local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(64) .. i end end"));
  auto after = cluster.submit(kSquare, 5);
  try {
    bomb.get<int>();
    FAIL("the memory bomb returned");
  } catch (const pp::RemoteError& e) {
    CHECK(e.kind() == "out of memory");
    CHECK(e.message().find("64 MB") != std::string::npos);
  }
  CHECK(after.get<int>() == 25);
  CHECK(node.alive());
}

TEST_CASE("integration.cluster.kill9_of_a_node_mid_batch_loses_nothing" * doctest::timeout(120)) {
  ServerProcess a({"-w", "2"}, kSecret);
  ServerProcess b({"-w", "2"}, kSecret);
  pp::Cluster cluster(options_for({a.address(), b.address()}));
  // Jobs long enough that node b is busy when it dies.
  auto code = pp::Code::lua(
      "function(i) local t = os.clock() while os.clock() - t < 0.01 do end return i * 3 end");
  const int n = 400;
  std::vector<pp::Job> jobs;
  for (int i = 0; i < n; ++i) jobs.push_back(cluster.submit(code, i));
  for (int i = 0; i < 40; ++i) jobs[i].wait();
  b.kill9();
  std::set<std::string> nodes_seen;
  long long sum = 0;
  for (int i = 0; i < n; ++i) {
    REQUIRE(jobs[i].get<int>() == i * 3);
    sum += jobs[i].get<int>();
    nodes_seen.insert(jobs[i].node());
  }
  CHECK(sum == 3LL * n * (n - 1) / 2);
  CHECK(nodes_seen.size() == 2);  // both contributed before b died
  uint64_t total = 0;
  for (const auto& s : cluster.stats()) total += s.jobs;
  CHECK(total == static_cast<uint64_t>(n));  // exactly one accepted result per job
}

TEST_CASE("integration.cluster.client_disconnect_stops_its_jobs" * doctest::timeout(60)) {
  ServerProcess node({"-w", "1"}, kSecret);
  {
    pp::Cluster first(options_for({node.address()}));
    auto endless = first.submit(pp::Code::lua("function() while true do end end"));
    for (int i = 0; i < 100; ++i) first.submit(kSquare, i);
    std::this_thread::sleep_for(300ms);  // the endless job is running now
  }  // the client goes away
  CHECK(node.wait_for_log("left", 5s));
  pp::Cluster second(options_for({node.address()}));
  auto t0 = std::chrono::steady_clock::now();
  CHECK(second.submit(kSquare, 7).get<int>() == 49);  // the only worker was freed
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
}

TEST_CASE("integration.cluster.embedded_default_without_any_node" * doctest::timeout(60)) {
  pp::ClusterOptions o;
  o.local_workers = 2;
  pp::Cluster cluster(o);
  std::vector<double> xs = {1, 2, 3, 4};
  auto ys = cluster.map<double>(kSquare, xs);
  CHECK(ys == std::vector<double>{1, 4, 9, 16});
  CHECK(cluster.get_active_nodes().count("local") == 1);
  CHECK(cluster.get_ncpus() == 2);
}

TEST_CASE("integration.cluster.unreachable_node_fails_jobs_with_a_clear_error" * doctest::timeout(30)) {
  auto o = options_for({"127.0.0.1:1"});
  o.no_node_timeout = 1s;
  pp::Cluster cluster(o);
  try {
    cluster.submit(kSquare, 1).get<int>();
    FAIL("a job ran without nodes");
  } catch (const pp::RemoteError& e) {
    CHECK(e.kind() == "lost");
    CHECK(std::string(e.what()).find("127.0.0.1:1") != std::string::npos);
    CHECK(std::string(e.what()).find("refused") != std::string::npos);
  }
}

TEST_CASE("integration.cluster.silent_node_is_dropped_by_heartbeat" * doctest::timeout(120)) {
  ServerProcess a({"-w", "2"}, kSecret);
  ServerProcess b({"-w", "2"}, kSecret);
  auto o = options_for({a.address(), b.address()});
  o.heartbeat = 200ms;  // silent for 1 s: dropped
  pp::Cluster cluster(o);
  auto code = pp::Code::lua(
      "function(i) local t = os.clock() while os.clock() - t < 0.005 do end return i end");
  std::vector<pp::Job> jobs;
  for (int i = 0; i < 300; ++i) jobs.push_back(cluster.submit(code, i));
  for (int i = 0; i < 20; ++i) jobs[i].wait();
  ::kill(b.pid(), SIGSTOP);  // a hung machine: the connection stays up, nothing answers
  for (int i = 0; i < 300; ++i) REQUIRE(jobs[i].get<int>() == i);
  // Checked while b is still stopped: once resumed, the client reconnects to it.
  CHECK(cluster.get_active_nodes().count(b.address()) == 0);
  ::kill(b.pid(), SIGCONT);
  uint64_t total = 0;
  for (const auto& s : cluster.stats()) total += s.jobs;
  CHECK(total == 300);
}

TEST_CASE("integration.cluster.local_workers_do_not_starve_remote_nodes" * doctest::timeout(60)) {
  ServerProcess remote({"-w", "2"}, kSecret);
  auto o = options_for({remote.address()});
  o.local_workers = 1;
  pp::Cluster cluster(o);
  auto code = pp::Code::lua(
      "function(i) local t = os.clock() while os.clock() - t < 0.002 do end return i end");
  std::vector<pp::Job> jobs;
  for (int i = 0; i < 300; ++i) jobs.push_back(cluster.submit(code, i));
  cluster.wait();
  std::map<std::string, uint64_t> by_node;
  for (const auto& s : cluster.stats()) by_node[s.node] = s.jobs;
  CHECK(by_node["local"] > 0);
  CHECK(by_node[remote.address()] > 0);
  CHECK(by_node["local"] + by_node[remote.address()] == 300);
}
