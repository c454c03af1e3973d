// CPU usage: the parsers of /proc and cgroup text, the process tree sum, and the shares.
#include "ppserver/guest/cpu_usage.hpp"

#include <doctest/doctest.h>
#include <unistd.h>
#include <time.h>

#include <chrono>

namespace {

using namespace pp::server::guest;

TEST_CASE("node.cpu_usage.proc_stat") {
  auto m = parse_proc_stat("cpu  100 5 50 800 20 3 2 10 0 0\ncpu0 1 2 3 4 5 6 7 8\n");
  REQUIRE(m);
  CHECK(m->total == 990);
  CHECK(m->busy == 170);
  CHECK_FALSE(parse_proc_stat("cpu0 1 2 3 4\n"));
  CHECK_FALSE(parse_proc_stat("cpu 1 x 3 4\n"));
  CHECK_FALSE(parse_proc_stat(""));
}

TEST_CASE("node.cpu_usage.pid_stat_with_spaces_and_parentheses_in_the_name") {
  auto p = parse_pid_stat(
      "42 (a (b) c) S 7 42 42 0 -1 4194560 100 0 0 0 11 22 33 44 20 0 1 0 5 0 0");
  REQUIRE(p);
  CHECK(p->pid == 42);
  CHECK(p->ppid == 7);
  CHECK(p->ticks == 110);
  CHECK(p->own == 33);   // utime + stime without the reaped children's
  CHECK_FALSE(parse_pid_stat("42 (x) S 7 1 2"));
  CHECK_FALSE(parse_pid_stat("garbage"));
}

TEST_CASE("node.cpu_usage.cgroup_text") {
  CHECK(parse_cgroup_usage_usec("usage_usec 123456\nuser_usec 1\nsystem_usec 2\n") == 123456u);
  CHECK_FALSE(parse_cgroup_usage_usec("user_usec 1\n"));
  CHECK(parse_cgroup_v2_path("1:cpu:/\n0::/system.slice/ppserver.service\n") ==
        std::string("/system.slice/ppserver.service"));
  CHECK_FALSE(parse_cgroup_v2_path("1:cpu:/\n"));
}

TEST_CASE("node.cpu_usage.tree_sums_descendants_only") {
  std::vector<ProcessTicks> all{{1, 0, 1000}, {10, 1, 5}, {11, 10, 7}, {12, 11, 3}, {20, 1, 100}};
  CHECK(tree_ticks(10, all) == 15);
  CHECK(tree_ticks(11, all) == 10);
  CHECK(tree_ticks(99, all) == 0);
}

TEST_CASE("node.cpu_usage.shares_of_the_whole_machine") {
  // 4 CPUs, 1 s at 100 ticks/s: 400 ticks; 300 busy of which the node used 1 CPU-second.
  LoadShares s = load_shares({0, 0}, {400, 300}, 1.0, 100);
  CHECK(s.own == doctest::Approx(0.25));
  CHECK(s.other == doctest::Approx(0.5));
  LoadShares clamped = load_shares({0, 0}, {400, 100}, 2.0, 100);  // own read later than busy
  CHECK(clamped.own == doctest::Approx(0.25));
  CHECK(clamped.other == doctest::Approx(0.0));
  LoadShares none = load_shares({400, 0}, {400, 0}, 1.0, 100);
  CHECK(none.own == 0);
  CHECK(none.other == 0);
}

TEST_CASE("node.cpu_usage.meter_reads_this_process") {
  CpuMeter meter(getpid());
  CHECK_FALSE(meter.source().empty());
  meter.sample();
  volatile double x = 0;
  for (int i = 0; i < 20000000; ++i) x = x + i * 0.5;
  LoadShares s = meter.sample();
  CHECK(s.own >= 0);
  CHECK(s.own <= 1.0);
  CHECK(s.other >= 0);
  CHECK(s.other <= 1.0);
}

// Burns CPU until `ms` of this process's CPU time are used (a CPU-time loop: nothing timed).
void burn_cpu_ms(long ms) {
  timespec t0{}, t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
  volatile double x = 0;
  do {
    for (int i = 0; i < 100000; ++i) x = x + i * 0.5;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

TEST_CASE("node.cpu_usage.process_ticks_and_shared_meter") {
  const uint64_t before = process_cpu_ticks(getpid());
  CpuMeter meter(getpid());
  CHECK(meter.cpus() >= 1);
  LoadShares first = meter.recent(std::chrono::hours(1));   // no sample yet: takes one
  CHECK(first.own == 0);
  burn_cpu_ms(200);
  CHECK(process_cpu_ticks(getpid()) > before);
  CHECK(process_cpu_ticks(-1) == 0);
  // Fresh enough: the last sample, not a new one (the busy watch's interval stays whole).
  LoadShares same = meter.recent(std::chrono::hours(1));
  CHECK(same.own == first.own);
  LoadShares now = meter.recent(std::chrono::milliseconds(0));
  CHECK(now.own > 0);   // 200 ms of this process's CPU since the first sample
  CHECK(now.own <= 1.0);
  CHECK(meter.last().own == now.own);
}

}  // namespace
