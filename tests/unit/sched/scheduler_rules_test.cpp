// Tests of the Scheduler's job rules: a job pinned to a node runs there only, waits for
// it, is never stolen or backed up, and ends when its node stays away too long; a job
// with retries runs again after a retryable failure, on a node it did not fail on when
// one is active, and gives up after its retries; cancelling queued jobs skips them.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/sched/scheduler.hpp"

namespace pp::sched {
namespace {

NodeInfo node(const std::string& name, int workers) { return {name, workers, 1.0}; }

std::vector<JobId> jobs_on(const std::vector<Assignment>& as, NodeId n) {
  std::vector<JobId> out;
  for (const Assignment& a : as)
    if (a.node == n) out.push_back(a.job);
  return out;
}

TEST_CASE("sched.rules.pinned_job_runs_only_on_its_node") {
  double t = 0;
  Scheduler s(SchedulerOptions{.clock = [&] { return t; }});
  NodeId a = s.add_node(node("a", 4));
  s.submit(1, JobRules{.only_node = "b"});
  s.submit(2);
  std::vector<Assignment> first = s.assign();
  CHECK(jobs_on(first, a) == std::vector<JobId>{2});   // a had room, but 1 is b's
  CHECK(s.queued() == 1);
  CHECK(s.queued_for_any() == 0);
  NodeId b = s.add_node(node("b", 1));
  CHECK(jobs_on(s.assign(), b) == std::vector<JobId>{1});
  CHECK(s.complete(1, b, 0.1, true) == Outcome::kAccepted);
  CHECK(s.is_done(1));
}

TEST_CASE("sched.rules.pinned_jobs_are_never_stolen") {
  Scheduler s;
  NodeId a = s.add_node(node("a", 1));
  for (JobId id = 1; id <= 4; ++id) s.submit(id, JobRules{.only_node = "a"});
  CHECK(jobs_on(s.assign(), a).size() == 4);
  CHECK(s.complete(1, a, 0.5, true) == Outcome::kAccepted);   // a has a measured time
  s.add_node(node("thief", 4));
  CHECK(s.assign().empty());
  CHECK(s.plan_steals().empty());   // 3 wait on a, none may leave it
}

TEST_CASE("sched.rules.pinned_job_ends_when_its_node_stays_away") {
  double t = 0;
  Scheduler s(SchedulerOptions{.clock = [&] { return t; }});
  s.add_node(node("a", 1));
  s.submit(1, JobRules{.only_node = "gone:1"});
  s.submit(2, JobRules{.only_node = "a"});
  CHECK(s.assign().size() == 1);   // job 2 on a
  t = 5;
  CHECK(s.jobs_without_node(10).empty());
  t = 11;
  auto ended = s.jobs_without_node(10);
  REQUIRE(ended.size() == 1);
  CHECK(ended[0].first == 1);
  CHECK(ended[0].second == "gone:1");
  CHECK(s.is_done(1));
  CHECK(s.queued() == 0);
  CHECK(s.unfinished() == 1);
}

TEST_CASE("sched.rules.pinned_job_waits_for_its_node_to_come_back") {
  double t = 0;
  Scheduler s(SchedulerOptions{.clock = [&] { return t; }});
  NodeId a = s.add_node(node("a", 1));
  s.submit(1, JobRules{.only_node = "a"});
  CHECK(jobs_on(s.assign(), a) == std::vector<JobId>{1});
  CHECK(s.remove_node(a) == std::vector<JobId>{1});
  CHECK(s.queued() == 1);
  t = 3;
  NodeId again = s.add_node(node("a", 1));   // reconnected: a new id, the same name
  CHECK(jobs_on(s.assign(), again) == std::vector<JobId>{1});
  t = 100;
  CHECK(s.jobs_without_node(10).empty());
}

TEST_CASE("sched.rules.retry_goes_to_another_node") {
  Scheduler s;
  NodeId a = s.add_node(node("a", 4));
  s.submit(1, JobRules{.only_node = "", .retries = 1});
  REQUIRE(jobs_on(s.assign(), a) == std::vector<JobId>{1});
  NodeId b = s.add_node(node("b", 1));
  Completion c = s.complete(1, a, 0.1, false, false, true);
  CHECK(c == Outcome::kRetry);
  CHECK(c.retries_left == 0);
  CHECK(s.queued() == 1);
  std::vector<Assignment> again = s.assign();
  CHECK(jobs_on(again, b) == std::vector<JobId>{1});   // a has more room, but it failed there
  REQUIRE(again.size() == 1);
  CHECK(again[0].attempt == 1);
  // Its retries are used up: the next failure is its outcome.
  c = s.complete(1, b, 0.1, false, false, true);
  CHECK(c == Outcome::kAccepted);
  CHECK(s.is_done(1));
  CHECK(s.stats(b).failures == 1);
}

TEST_CASE("sched.rules.retry_on_the_same_node_when_it_is_the_only_one") {
  Scheduler s;
  NodeId a = s.add_node(node("a", 1));
  s.submit(1, JobRules{.only_node = "", .retries = 2});
  REQUIRE(s.assign().size() == 1);
  CHECK(s.complete(1, a, 0.1, false, false, true) == Outcome::kRetry);
  CHECK(jobs_on(s.assign(), a) == std::vector<JobId>{1});
  CHECK(s.complete(1, a, 0.1, false, true, true) == Outcome::kRetry);   // a crash counts too
  CHECK(jobs_on(s.assign(), a) == std::vector<JobId>{1});
  Completion last = s.complete(1, a, 0.1, false, false, true);
  CHECK(last == Outcome::kAccepted);
  CHECK(s.unfinished() == 0);
}

TEST_CASE("sched.rules.failures_not_retryable_and_plain_jobs_end_at_once") {
  Scheduler s;
  NodeId a = s.add_node(node("a", 2));
  s.submit(1, JobRules{.only_node = "", .retries = 3});
  s.submit(2, JobRules{});   // no rules: a plain job
  REQUIRE(s.assign().size() == 2);
  CHECK(s.complete(1, a, 0.1, false, false, false) == Outcome::kAccepted);
  CHECK(s.complete(2, a, 0.1, false, false, true) == Outcome::kAccepted);
}

TEST_CASE("sched.rules.retried_job_waits_for_the_other_node_when_it_is_full") {
  Scheduler s(SchedulerOptions{.window_per_worker = 1, .min_window = 1});
  NodeId a = s.add_node(node("a", 1));
  NodeId b = s.add_node(node("b", 1));
  s.submit(1, JobRules{.only_node = "", .retries = 1});
  s.submit(2);
  auto first = s.assign();
  REQUIRE(first.size() == 2);
  const NodeId on = jobs_on(first, a) == std::vector<JobId>{1} ? a : b;
  const NodeId other = on == a ? b : a;
  CHECK(s.complete(1, on, 0.1, false, false, true) == Outcome::kRetry);
  CHECK(s.assign().empty());   // the other node is busy with job 2: job 1 waits for it
  CHECK(s.complete(2, other, 0.1, true) == Outcome::kAccepted);
  CHECK(jobs_on(s.assign(), other) == std::vector<JobId>{1});
}

TEST_CASE("sched.rules.abandoned_queued_jobs_are_skipped") {
  Scheduler s;
  JobId next = 1;
  for (; next <= 10; ++next) s.submit(next);
  for (JobId id = 2; id <= 9; ++id) CHECK(s.abandon(id).empty());
  CHECK(s.queued() == 2);
  CHECK(s.unfinished() == 2);
  CHECK(s.is_done(5));
  NodeId a = s.add_node(node("a", 4));
  CHECK(jobs_on(s.assign(), a) == std::vector<JobId>{1, 10});
  CHECK(s.queued() == 0);
  // A running job abandoned: its copy is returned, to be cancelled, and its slot frees.
  std::vector<Copy> out = s.abandon(1);
  REQUIRE(out.size() == 1);
  CHECK(out[0].node == a);
  CHECK(s.in_flight(a) == 1);
  CHECK(s.complete(1, a, 0.1, true) == Outcome::kDuplicate);   // its late answer
}

TEST_CASE("sched.rules.drain_queue_takes_pinned_and_retried_jobs") {
  Scheduler s;
  NodeId a = s.add_node(node("a", 1));
  s.submit(1, JobRules{.only_node = "", .retries = 1});
  s.submit(2, JobRules{.only_node = "b"});
  s.submit(3);
  REQUIRE(jobs_on(s.assign(), a).size() == 2);   // 1 and 3
  CHECK(s.complete(1, a, 0.1, false, false, true) == Outcome::kRetry);
  s.remove_node(a);
  auto drained = s.drain_queue();
  CHECK(drained.size() == 3);
  CHECK(s.unfinished() == 0);
  CHECK(s.queued() == 0);
}

}  // namespace
}  // namespace pp::sched

namespace pp::sched {

// prefer(): a job whose inputs stay on a node goes there while that node has room, or
// beyond its window while the job would start there before its inputs could move
// elsewhere; otherwise wherever it would start soonest. Placed there, it is not stolen.
TEST_CASE("sched.rules.preferred_node_takes_the_job_while_it_has_room_soon") {
  Scheduler s;   // no clock, no job time: a job is expected to take 1 s
  const NodeId a = s.add_node({"a:1", 2, 1.0});
  const NodeId b = s.add_node({"b:1", 2, 1.0});
  const size_t w = s.window(a);
  JobId next = 1;
  auto held_preferring_a = [&](size_t n, double move_seconds) {
    for (size_t i = 0; i < n; ++i, ++next) {
      s.hold(next);
      s.prefer(next, a, move_seconds);
      s.release(next);
    }
  };
  // Moving costs nothing: a takes its window, the rest go to b.
  held_preferring_a(w + 3, 0);
  std::vector<Assignment> out = s.assign();
  CHECK(jobs_on(out, a).size() == w);
  CHECK(jobs_on(out, b).size() == 3);
  std::vector<JobId> on_b = jobs_on(out, b);
  // Moving costs 4 s: a job waits there while it would start within 4 s (2 workers,
  // 1 s a job: up to 8 copies ahead of it beyond the running two).
  held_preferring_a(3, 4.0);
  out = s.assign();
  CHECK(jobs_on(out, a).size() == 10 - w);
  CHECK(jobs_on(out, b).size() == 3 - (10 - w));
  CHECK(s.in_flight(a) == 10);
  // b finishes all it has and idles: the jobs waiting on a stay (their inputs are there).
  for (JobId id : jobs_on(out, b)) on_b.push_back(id);
  REQUIRE(on_b.size() == 4);
  for (JobId id : on_b) CHECK(s.complete(id, b, 0.01, true) == Outcome::kAccepted);
  CHECK(s.in_flight(b) == 0);
  CHECK(s.plan_steals().empty());
}

}  // namespace pp::sched
