// Integration: what a job leaves behind on its worker. A job's globals last that
// job only, and no job can change the standard library for the jobs after it;
// and nothing a client's jobs leave (globals, library changes made around the
// read-only views, package.loaded entries, FFI declarations, working directory,
// locale) ever reaches another client's jobs on the same worker. Each node here
// has one worker, so every job runs on the same one.
#include <doctest/doctest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "pp/cluster.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::test::ServerProcess;

constexpr char kSecret[] = "isolation-test-secret";

pp::ClusterOptions options_for(const ServerProcess& node) {
  return pp::test::client_options({node.address()}, kSecret, 20s);
}

std::string run(pp::Cluster& cluster, const std::string& source) {
  return cluster.submit(pp::Code::lua(source)).get<std::string>();
}

// The error of a job that must fail.
std::string error_of(pp::Cluster& cluster, const std::string& source) {
  try {
    cluster.submit(pp::Code::lua(source)).get<int>();
  } catch (const pp::RemoteError& e) {
    return e.message();
  }
  FAIL("the job succeeded: " << source);
  return {};
}

// What a job sees of the state earlier jobs may have left, as one line.
constexpr char kLookAround[] = R"(function()
  local ffi = require 'ffi'
  local p = io.popen('pwd -P')
  local pwd = p:read('*l')
  p:close()
  local n = 0
  for _ in pairs(math) do n = n + 1 end
  return table.concat({tostring(leaked), tostring(package.loaded.pp_stash),
    tostring((pcall(ffi.sizeof, 'struct pp_isolation_leak'))), string.rep('a', 2), ('b'):rep(2),
    tostring(math.floor(1.5)), tostring(n > 20), pwd, os.setlocale()}, ' ')
end)";

std::string pristine_view() {
  char dir[4096];
  REQUIRE(getcwd(dir, sizeof dir) != nullptr);   // the node's, as the harness starts it here
  return std::string("nil nil false aa bb 1 true ") + dir + " C";
}

}  // namespace

TEST_CASE("integration.isolation.jobs_of_one_client_start_pristine" * doctest::timeout(60)) {
  ServerProcess node({"-w", "1"}, kSecret);
  pp::Cluster cluster(options_for(node));
  CHECK(run(cluster, "function() leaked = 'yes'; _G.also = 1; return leaked end") == "yes");
  for (const char* change : {"function() string.rep = function() return 'poisoned' end end",
                             "function() math.floor = function() return -1 end end",
                             "function() getmetatable('').__index.rep = print end",
                             "function() local s = require 'string'; s.rep = print end"}) {
    CAPTURE(change);
    std::string e = error_of(cluster, change);
    CHECK(e.find("cannot be changed") != std::string::npos);
  }
  CHECK(error_of(cluster, "function() setmetatable(string, nil) end").find("protected") !=
        std::string::npos);
  CHECK(run(cluster, kLookAround) == pristine_view());
  CHECK(run(cluster, "function() return tostring(also) end") == "nil");
  // Functions shipped with a job share its globals, and they too start afresh.
  auto counter = pp::Code::lua("function() return bump() end",
                               {{"bump", "function() count = (count or 0) + 1 return count end"}});
  for (int i = 0; i < 3; ++i) CHECK(cluster.submit(counter).get<int>() == 1);
  // Iterating a library still works through its read-only view.
  CHECK(run(cluster, "function() local k = next(string) return type(k) end") == "string");
}

TEST_CASE("integration.isolation.another_client_never_sees_what_a_client_left" *
          doctest::timeout(60)) {
  ServerProcess node({"-w", "1"}, kSecret);
  pp::Cluster first(options_for(node));
  pp::Cluster second(options_for(node));
  // Around the read-only views on purpose: through package.loaded and the FFI.
  CHECK(run(first, R"(function()
    leaked = 'first'
    package.loaded.pp_stash = 'first'
    local ffi = require 'ffi'
    ffi.cdef 'struct pp_isolation_leak { int x; }; int chdir(const char *);'
    ffi.C.chdir('/')
    os.setlocale('C.UTF-8')
    package.loaded.string.rep = function() return 'poisoned' end
    return 'done'
  end)") == "done");
  // Modules and package.loaded persist within one client on a worker (documented).
  CHECK(run(first, "function() return package.loaded.pp_stash end") == "first");
  CHECK(run(second, kLookAround) == pristine_view());
  CHECK(run(first, kLookAround) == pristine_view());   // reset again on the way back
}

TEST_CASE("integration.isolation.clients_sharing_a_node_rarely_reset_workers" *
          doctest::timeout(120)) {
  ServerProcess node({"-w", "2", "-d"}, kSecret);
  pp::Cluster first(options_for(node));
  pp::Cluster second(options_for(node));
  auto code = pp::Code::lua(
      "function(i) local t = os.clock() while os.clock() - t < 0.002 do end return i end");
  std::vector<pp::Job> jobs;
  for (int i = 0; i < 200; ++i) {
    jobs.push_back(first.submit(code, i));
    jobs.push_back(second.submit(code, i));
  }
  for (size_t i = 0; i < jobs.size(); ++i) CHECK(jobs[i].get<int>() == static_cast<int>(i / 2));
  // Each client keeps to its own worker: a reset now and then, not one per job.
  size_t resets = node.count_in_log("reset for another client");
  MESSAGE("worker resets for 400 jobs of two clients: ", resets);
  CHECK(resets < 40);
}
