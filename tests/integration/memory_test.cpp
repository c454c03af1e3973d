// Integration: the driver's memory over a long stream of jobs. A researcher streams
// far more jobs than fit in memory at once, keeping a bounded number in flight and
// consuming each result as it comes; the driver must then hold a bounded amount of
// state (the scheduler's job table, the job server's tables, the report's execution
// sample), so its memory levels off instead of growing with every finished job.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <sstream>
#include <string>

#include "pp/cluster.hpp"
#include "ppclient/report/execution_sample.hpp"
#include "ppclient/report/report.hpp"
#include "tests/integration/harness.hpp"

#ifdef PP_TEST_SANITIZED
// From the sanitizers' allocator interface (clang ships its header, GCC does not; both
// runtimes, AddressSanitizer's and ThreadSanitizer's, export the function).
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace {

using namespace std::chrono_literals;
using pp::test::ServerProcess;

constexpr char kSecret[] = "memory-test-secret";
#ifdef PP_TEST_SANITIZED
// Sanitized builds run jobs several times slower; their byte count is exact (below), so a
// shorter stream still shows whether memory grows per job.
constexpr long kJobs = 120000;
constexpr long kWarmUp = 40000;
#else
constexpr long kJobs = 200000;
constexpr long kWarmUp = 50000;        // jobs before the baseline: buffers reach their size
#endif
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

pp::ClusterOptions options_for(const ServerProcess& node) {
  return pp::test::client_options({node.address()}, kSecret, 60s);
}

// Streams kJobs trivial jobs with kInFlight outstanding, consuming each result as it
// comes (in order) and sampling the driver's memory every kSampleEvery jobs.
struct Stream {
  long consumed = 0, wrong = 0;
  long baseline = 0;   // memory after kWarmUp jobs
  long peak = 0;       // the most at any later sample
  std::string samples;
};

Stream stream(pp::Cluster& cluster) {
  const pp::Code inc = pp::Code::lua("function(x) return x + 1 end");
  std::deque<pp::Job> window;
  Stream s;
  std::ostringstream samples;
  auto consume_one = [&] {
    const long expected = s.consumed + 1;
    if (window.front().get<long>() != expected) ++s.wrong;
    window.pop_front();
    if (++s.consumed % kSampleEvery != 0) return;
    const long now = driver_bytes();
    samples << s.consumed << ": " << now / 1024 << " KiB\n";
    if (s.consumed == kWarmUp) s.baseline = now;
    if (s.consumed > kWarmUp) s.peak = std::max(s.peak, now);
  };
  for (long i = 0; i < kJobs; ++i) {
    window.push_back(cluster.submit(inc, i));
    if (window.size() >= kInFlight) consume_one();
  }
  while (!window.empty()) consume_one();
  s.samples = samples.str();
  return s;
}

void check_levels_off(const Stream& s) {
  INFO("driver memory every " << kSampleEvery << " jobs:\n" << s.samples);
  CHECK(s.wrong == 0);
  CHECK(s.consumed == kJobs);
  REQUIRE(s.baseline > 0);
  CHECK(s.peak - s.baseline < kMaxGrowthBytes);
}

}  // namespace

TEST_CASE("integration.memory.driver_levels_off_over_a_long_stream" * doctest::timeout(170)) {
  ServerProcess node({"-w", "2"}, kSecret);
  pp::Cluster cluster(options_for(node));
  check_levels_off(stream(cluster));
  // The report still counts every job; its timeline keeps a bounded sample.
  auto report = pp::client::report::from_json(cluster.report_json());
  REQUIRE_MESSAGE(report.has_value(), report.status().to_string());
  REQUIRE(report->nodes.size() == 1);
  CHECK(report->nodes[0].jobs == static_cast<uint64_t>(kJobs));
  CHECK(report->batch.jobs == static_cast<uint64_t>(kJobs));
  CHECK(report->executions.size() + report->executions_dropped == static_cast<uint64_t>(kJobs));
  CHECK(report->executions.size() <= pp::client::report::ExecutionSample::kFirst +
                                         pp::client::report::ExecutionSample::kLast +
                                         pp::client::report::ExecutionSample::kNotable);
  CHECK(report->dropped_to > report->dropped_from);
}

// With a journal every result also goes to disk; the driver keeps no entry per job.
TEST_CASE("integration.memory.driver_levels_off_with_a_journal" * doctest::timeout(170)) {
  // The journal (about 20 MB) goes in a private directory, removed even on failure.
  struct JournalDir {
    std::string path = "/tmp/pp-memory-test-XXXXXX";
    JournalDir() { REQUIRE(mkdtemp(path.data()) != nullptr); }
    ~JournalDir() {
      std::remove((path + "/batch.ppj").c_str());
      rmdir(path.c_str());
    }
  } dir;
  ServerProcess node({"-w", "2"}, kSecret);
  pp::ClusterOptions o = options_for(node);
  o.journal = dir.path + "/batch.ppj";
  pp::Cluster cluster(o);
  check_levels_off(stream(cluster));
}
