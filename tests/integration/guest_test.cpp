// Integration: --pause-when-busy. Processes other than the node's (a hog of every core,
// forked by the test) pause the node after the grace period, and it resumes after they end;
// a hog shorter than the grace period does not pause it; the node's own jobs filling every
// core never do. These tests measure the whole machine's CPU: they run alone (RUN_SERIAL,
// tests/integration/serial.cmake), as any other test beside them counts as other processes.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <sstream>
#include <string>
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
        volatile unsigned long x = 0;
        for (;;) x = x + 1;
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


// The node's "busy sample" debug lines (-d): the own and other shares it measured, in %.
struct Sample {
  double other = 0, own = 0;
};
std::vector<Sample> samples_of(const ServerProcess& node) {
  std::vector<Sample> out;
  std::istringstream log(node.log());
  for (std::string line; std::getline(log, line);) {
    auto at = line.find("busy sample: other processes ");
    if (at == std::string::npos) continue;
    Sample s;
    if (std::sscanf(line.c_str() + at, "busy sample: other processes %lf %%, the node %lf %%",
                    &s.other, &s.own) == 2) {
      out.push_back(s);
    }
  }
  return out;
}

// Waits until the node has logged `n` more samples than `seen`.
bool wait_samples(const ServerProcess& node, size_t seen, size_t n, std::chrono::seconds limit) {
  return pp::test::wait_until([&] { return samples_of(node).size() >= seen + n; }, limit);
}

constexpr char kSecret[] = "guest-test-secret";

// The node cannot tell another user's build from the test's hog: a test that needs other
// processes to leave the machine mostly idle waits up to a minute for three samples in a
// row under `calm` %, and is skipped (exit 77, with the reason) if that never comes.
void need_calm_machine(ServerProcess& node, double calm) {
  const auto until = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < until) {
    std::vector<Sample> s = samples_of(node);
    if (s.size() >= 3 && std::all_of(s.end() - 3, s.end(),
                                      [&](const Sample& x) { return x.other < calm; })) {
      return;
    }
    std::this_thread::sleep_for(200ms);
  }
  std::vector<Sample> s = samples_of(node);
  std::printf("SKIP: other processes kept over %.0f %% of the machine for a minute (last sample "
              "%.0f %%): this test needs a mostly idle machine\n",
              calm, s.empty() ? 0.0 : s.back().other);
  std::fflush(stdout);
  node.terminate();
  std::_Exit(77);
}

}  // namespace


TEST_CASE("integration.guest.a_cpu_hog_pauses_the_node_until_it_ends" * doctest::timeout(120)) {
  // 90 %: the hogs fill the machine whatever else runs beside the test, and it resumes once
  // other processes stay under 80 %, which a machine running other tests also reaches.
  ServerProcess node({"-w", "1", "-d", "--pause-when-busy", "90", "--pause-grace", "1",
                      "--pause-min", "2"});
  REQUIRE(node.wait_for_log("pause when busy: other processes over 90 %", 10s));
  need_calm_machine(node, 60);
  Hog hog;
  REQUIRE(hog.pids.size() >= 1);
  CHECK(node.wait_for_log("paused: other processes use", 30s));
  hog.stop();
  // Other engineers' load on a shared machine may delay the resume: a generous limit.
  CHECK(node.wait_for_log("resumed after", 60s));
  CHECK(node.alive());
}

TEST_CASE("integration.guest.a_short_spike_does_not_pause" * doctest::timeout(120)) {
  // A hog of every core that lasts a second or two, against a grace period of 6 s: the node
  // sees other processes over the limit, and does not pause.
  ServerProcess node({"-w", "1", "-d", "--pause-when-busy", "90", "--pause-grace", "6",
                      "--pause-min", "1"});
  REQUIRE(node.wait_for_log("pause when busy: other processes over 90 %", 10s));
  need_calm_machine(node, 60);
  {
    const size_t over_before = node.count_in_log("(over the limit)");
    Hog hog;
    REQUIRE(hog.pids.size() >= 1);
    // Ends as soon as the node has seen it over the limit: well within the grace period.
    REQUIRE(pp::test::wait_until(
        [&] { return node.count_in_log("(over the limit)") > over_before; }, 30s));
  }
  const size_t at_end = samples_of(node).size();
  // Twice the grace period of samples after the spike: a pause, had it come, would be logged.
  REQUIRE(wait_samples(node, at_end, 12, 60s));
  CHECK(node.count_in_log("paused:") == 0);
  CHECK(node.alive());
}

TEST_CASE("integration.guest.own_jobs_never_pause" * doctest::timeout(120)) {
  // The node's own workers fill every core for several grace periods with --pause-when-busy
  // 95: counted as other processes' load, they alone would be over the limit. Beside other
  // users' processes the workers keep a fair share, so their load stays under 95 % without
  // them: this one holds on a busy machine too.
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  ServerProcess node({"-w", std::to_string(cores), "-d", "--nice", "0", "--pause-when-busy", "95",
                      "--pause-grace", "3", "--pause-min", "1"},
                     kSecret);
  REQUIRE(node.wait_for_log("pause when busy: other processes over 95 %", 10s));
  pp::Cluster cluster(pp::test::client_options({node.address()}, kSecret, 30s));
  cluster.wait_for_workers(static_cast<int>(cores));
  const pp::Code spin = pp::Code::lua(R"(function(i, cpu_s)
    local t0 = os.clock()
    local x = 0
    while os.clock() - t0 < cpu_s do x = x + 1 end
    return i
  end)");
  const size_t before = samples_of(node).size();
  std::vector<pp::Job> jobs;
  for (unsigned i = 0; i < cores; ++i) {
    jobs.push_back(cluster.submit({.timeout = 100s}, spin, static_cast<int>(i), 8.0));
  }
  for (unsigned i = 0; i < cores; ++i) CHECK(jobs[i].get<int>() == static_cast<int>(i));
  std::vector<Sample> during(samples_of(node));
  during.erase(during.begin(), during.begin() + static_cast<long>(before));
  // Samples where the machine was full and the node's own share alone would have tipped it
  // over the limit, had it been counted as other processes'.
  size_t would_pause = 0;
  for (const Sample& s : during) would_pause += s.own >= 10 && s.own + s.other > 95 ? 1 : 0;
  INFO("samples while the jobs ran: " << during.size());
  CHECK(would_pause >= 3);
  CHECK(node.count_in_log("paused:") == 0);
}
