// Integration: the driver's memory over a long stream of jobs. A researcher streams
// far more jobs than fit in memory at once, keeping a bounded number in flight and
// consuming each result as it comes; the driver must then hold a bounded amount of
// state (the scheduler's job table, the job server's tables, the report's execution
// sample), so its memory levels off instead of growing with every finished job.
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <sstream>
#include <string>

#include "pp/cluster.hpp"
#include "ppclient/src/execution_sample.hpp"
#include "ppclient/src/report.hpp"
#include "tests/integration/harness.hpp"

#ifdef PP_TEST_SANITIZED
#include <sanitizer/allocator_interface.h>
#endif

namespace {

using namespace std::chrono_literals;
using pp::test::ServerProcess;

constexpr char kSecret[] = "memory-test-secret";
constexpr long kJobs = 200000;
constexpr long kWarmUp = 50000;        // jobs before the baseline: buffers reach their size
constexpr long kSampleEvery = 10000;
constexpr size_t kInFlight = 2000;     // outstanding jobs the driver keeps
constexpr long kMaxGrowthBytes = 2L << 20;

// The driver's memory, in bytes. The plain build reads its resident set. Under the
// sanitizers resident memory says nothing about the program (AddressSanitizer keeps
// freed blocks in a quarantine of up to 256 MiB, ThreadSanitizer grows shadow memory),
// so there the sanitizer's own count of live heap bytes is used: it excludes the
// quarantine and is exact, so the same bound holds.
long driver_bytes() {
#ifdef PP_TEST_SANITIZED
  return static_cast<long>(__sanitizer_get_current_allocated_bytes());
#else
  return pp::test::rss_kib(getpid()) * 1024;
#endif
}

}  // namespace

TEST_CASE("integration.memory.driver_levels_off_over_a_long_stream" * doctest::timeout(170)) {
  ServerProcess node({"-w", "2"}, kSecret);
  pp::ClusterOptions o;
  o.servers = {node.address()};
  o.local_workers = 0;
  o.secret = kSecret;
  o.no_node_timeout = 60s;
  pp::Cluster cluster(o);
  const pp::Code inc = pp::Code::lua("function(x) return x + 1 end");

  std::deque<pp::Job> window;
  long consumed = 0, wrong = 0, baseline = 0, peak = 0;
  std::ostringstream samples;
  auto consume_one = [&] {
    const long expected = consumed + 1;
    if (window.front().get<long>() != expected) ++wrong;
    window.pop_front();
    if (++consumed % kSampleEvery != 0) return;
    const long now = driver_bytes();
    samples << consumed << ": " << now / 1024 << " KiB\n";
    if (consumed == kWarmUp) baseline = now;
    if (consumed > kWarmUp) peak = std::max(peak, now);
  };
  for (long i = 0; i < kJobs; ++i) {
    window.push_back(cluster.submit(inc, i));
    if (window.size() >= kInFlight) consume_one();
  }
  while (!window.empty()) consume_one();

  INFO("driver memory every " << kSampleEvery << " jobs:\n" << samples.str());
  CHECK(wrong == 0);
  CHECK(consumed == kJobs);
  REQUIRE(baseline > 0);
  CHECK(peak - baseline < kMaxGrowthBytes);
  // The report still counts every job; its timeline keeps a bounded sample.
  auto report = pp::client::report::from_json(cluster.report_json());
  REQUIRE_MESSAGE(report.has_value(), report.status().to_string());
  REQUIRE(report->nodes.size() == 1);
  CHECK(report->nodes[0].jobs_done == static_cast<uint64_t>(kJobs));
  CHECK(report->batch.jobs == static_cast<uint64_t>(kJobs));
  CHECK(report->executions.size() + report->executions_dropped == static_cast<uint64_t>(kJobs));
  CHECK(report->executions.size() <= pp::client::report::ExecutionSample::kFirst +
                                         pp::client::report::ExecutionSample::kLast +
                                         pp::client::report::ExecutionSample::kNotable);
  CHECK(report->dropped_to > report->dropped_from);
}
