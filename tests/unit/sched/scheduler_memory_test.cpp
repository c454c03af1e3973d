// The Scheduler's job table over a long stream: finished jobs leave it, so it holds
// only what is unfinished, while the per-node figures still count every job exactly.
#include "core/sched/scheduler.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace pp::sched {
namespace {

NodeInfo node(const std::string& name, int workers) { return {name, workers, 1.0}; }

TEST_CASE("sched.scheduler.finished_jobs_leave_the_table") {
  // A long stream with a bounded number in flight, results arriving out of order, some
  // failures, crashes and one straggler that runs through the whole stream: the table
  // holds only what is unfinished, while the figures count every job exactly.
  Scheduler s;
  NodeId a = s.add_node(node("a", 2));
  NodeId b = s.add_node(node("b", 2));
  constexpr JobId kJobs = 100000;
  JobId next = 1;
  std::vector<Assignment> out;   // sent, result not yet in
  uint64_t failures = 0, crashes = 0;
  size_t most = 0;
  Assignment straggler{};
  auto refill = [&] {
    while (next <= kJobs && s.unfinished() < 64) s.submit(next++);
    for (const Assignment& x : s.assign()) out.push_back(x);
  };
  refill();
  straggler = out.front();
  out.erase(out.begin());
  while (!out.empty()) {
    // The second oldest first, then the oldest: out of order, never all at once.
    size_t i = out.size() > 1 ? 1 : 0;
    Assignment x = out[i];
    out.erase(out.begin() + static_cast<long>(i));
    const bool crash = x.job % 997 == 0 && x.attempt == 0;
    const bool ok = x.job % 101 != 0;
    Completion c = s.complete(x.job, x.node, 0.25, ok, crash);
    if (crash) {
      CHECK(c == Outcome::kRetry);
      ++crashes;
    } else {
      REQUIRE(c == Outcome::kAccepted);
      failures += ok ? 0 : 1;
      CHECK(s.is_done(x.job));
      CHECK(s.complete(x.job, x.node, 0.25, ok) == Outcome::kDuplicate);
    }
    most = std::max(most, s.table_size());
    refill();
  }
  CHECK(most <= 64);
  CHECK(s.table_size() == 1);   // the straggler
  CHECK(s.complete(straggler.job, straggler.node, 0.25, true) == Outcome::kAccepted);
  CHECK(s.table_size() == 0);
  CHECK(s.unfinished() == 0);
  const NodeStats& sa = s.stats(a);
  const NodeStats& sb = s.stats(b);
  CHECK(sa.jobs_done + sb.jobs_done == kJobs);
  CHECK(sa.failures + sb.failures == failures);
  CHECK(failures == kJobs / 101);
  CHECK(sa.crashes + sb.crashes == crashes);
  CHECK(sa.job_seconds + sb.job_seconds == 0.25 * kJobs);   // exact in binary
  for (JobId j : {JobId{1}, straggler.job, kJobs / 2, kJobs}) CHECK(s.is_done(j));
  CHECK(s.complete(kJobs / 2, a, 0.25, true) == Outcome::kDuplicate);
  CHECK(s.complete(kJobs + 1, a, 0.25, true) == Outcome::kUnknown);
  CHECK_FALSE(s.is_done(kJobs + 1));
  s.give_back(kJobs / 2, a);   // a finished job: nothing to give back, no effect
  CHECK(s.queued() == 0);
  CHECK_FALSE(s.stolen(kJobs / 2, a).has_value());
}

}  // namespace
}  // namespace pp::sched
