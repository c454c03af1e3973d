// Integration: a node's start and end, as the launch of a one-job script sees them. A
// node serves before it knows its speed (it calibrates on a thread of its own after it
// listens, so the first job never waits for it) and gives the calibrated speed in every
// HELLO after; the client's embedded node is gone, reaped, when `ppclient run` exits.
#include <doctest/doctest.h>
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>

#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::test::ServerProcess;

constexpr char kSecret[] = "launch-test-secret";

// The score of the node's "speed score X (calibrated)" log line; -1 without one.
double logged_speed(const ServerProcess& node) {
  std::string log = node.log();
  auto at = log.find("speed score ");
  if (at == std::string::npos) return -1;
  return std::atof(log.c_str() + at + 12);
}

}  // namespace

TEST_CASE("integration.launch.the_calibrated_speed_goes_into_every_later_hello" *
          doctest::timeout(60)) {
  // A node at half a CPU announces half its calibrated score (the log names the score
  // it announces: the share is already in it).
  ServerProcess node({"-w", "1", "--cpu-limit", "50"}, kSecret);
  REQUIRE(node.wait_for_log("speed score", 30s));
  double logged = logged_speed(node);
  REQUIRE(logged > 0);
  for (int i = 0; i < 2; ++i) {
    pp::test::RawConnection c(node.port());
    auto hello = pp::test::handshake(c, kSecret);
    REQUIRE(hello.has_value());
    CHECK(hello->speed == doctest::Approx(logged).epsilon(0.01));
  }
  CHECK(node.count_in_log("speed score") == 1);  // measured once
}

TEST_CASE("integration.launch.ppclient_run_reaps_its_embedded_node_before_it_exits" *
          doctest::timeout(60)) {
  // The script prints its embedded node's pid; once ppclient has exited, that process
  // must be gone (reaped by ppclient, which waited for it), not left behind.
  char dir[] = "/tmp/pp-launch-test-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  std::string script = std::string(dir) + "/one.lua";
  std::ofstream(script) << R"lua(local pp = require "pp"
local js = pp.server{ ncpus = 2 }
print(js:submit(function(x) return x + 1 end, {1})())
local self = io.open("/proc/self/stat"):read("*l"):match("^(%d+)")
local p = io.popen("pgrep -P " .. self .. " -x ppserver")
print("node " .. (p:read("*l") or "none"))
p:close()
)lua";
  auto r = pp::test::run_command(pp::test::bin_dir() + "/ppclient run " + script + " 2>&1");
  std::remove(script.c_str());
  rmdir(dir);
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("2\n") == 0);
  auto at = r.output.find("node ");
  REQUIRE(at != std::string::npos);
  pid_t node = static_cast<pid_t>(std::atol(r.output.c_str() + at + 5));
  REQUIRE(node > 0);
  CHECK((::kill(node, 0) != 0 && errno == ESRCH));
}
