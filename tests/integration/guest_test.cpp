// Integration: --pause-when-busy. Processes other than the node's (a hog of every core,
// forked by the test) pause the node after the grace period, and it resumes after they end.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::test::ServerProcess;

// One spinning process per core: the whole machine busy with other processes.
struct Hog {
  std::vector<pid_t> pids;
  Hog() {
    unsigned n = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < n; ++i) {
      pid_t p = fork();
      if (p == 0) {
        for (volatile unsigned long x = 0;; x = x + 1) {
        }
      }
      if (p > 0) pids.push_back(p);
    }
  }
  void stop() {
    for (pid_t p : pids) ::kill(p, SIGKILL);
    for (pid_t p : pids) ::waitpid(p, nullptr, 0);
    pids.clear();
  }
  ~Hog() { stop(); }
};

}  // namespace

TEST_CASE("integration.guest.a_cpu_hog_pauses_the_node_until_it_ends" * doctest::timeout(120)) {
  // 90 %: the hogs fill the machine whatever else runs beside the test, and it resumes once
  // other processes stay under 80 %, which a machine running other tests also reaches.
  ServerProcess node({"-w", "1", "--pause-when-busy", "90", "--pause-grace", "1", "--pause-min",
                      "2"});
  REQUIRE(node.wait_for_log("pause when busy: other processes over 90 %", 10s));
  Hog hog;
  REQUIRE(hog.pids.size() >= 1);
  CHECK(node.wait_for_log("paused: other processes use", 30s));
  hog.stop();
  // Other engineers' load on a shared machine may delay the resume: a generous limit.
  CHECK(node.wait_for_log("resumed after", 60s));
  CHECK(node.alive());
}
