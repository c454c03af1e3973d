// The Scheduler and a paused node (core/sched/scheduler_pause.cpp): nothing new goes
// there, what it has not started is stolen back to the queue, what runs there gets a
// backup elsewhere at once, every job still has exactly one accepted result, and the
// time paused is counted. Driven by hand on a fake clock.
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "core/sched/scheduler.hpp"

namespace pp::sched {
namespace {

std::vector<JobId> jobs_on(const std::vector<Assignment>& as, NodeId node, bool backup = false) {
  std::vector<JobId> out;
  for (const Assignment& a : as)
    if (a.node == node && a.backup == backup) out.push_back(a.job);
  return out;
}

TEST_CASE("sched.pause.queued_jobs_stolen_back_running_ones_backed_up") {
  double t = 0;
  Scheduler s({.clock = [&] { return t; }});   // windows of 4 per worker
  NodeId a = s.add_node({"a", 1, 1.0});
  NodeId b = s.add_node({"b", 1, 1.0});
  for (JobId j = 1; j <= 8; ++j) s.submit(j);
  std::vector<Assignment> first = s.assign();
  std::vector<JobId> on_b = jobs_on(first, b);
  REQUIRE(on_b.size() == 4);   // b runs on_b[0]; the rest wait there
  t = 1;
  std::vector<Steal> st = s.pause(b);
  CHECK(s.paused(b));
  CHECK(s.paused_nodes() == 1);
  REQUIRE(st.size() == 4);   // all of them: the node says which ones it did start
  for (const Steal& x : st) {
    CHECK(x.from == b);
    CHECK(x.to == kToQueue);
  }
  CHECK(s.pause(b).empty());   // already paused: nothing more
  CHECK(s.assign().empty());   // a's window is full: nothing can go yet
  // b takes two off its queue; the third had started there meanwhile (too late).
  CHECK_FALSE(s.stolen(on_b[3], b).has_value());   // back to the queue
  CHECK_FALSE(s.stolen(on_b[2], b).has_value());
  s.started(on_b[1], b);
  s.started(on_b[0], b);
  CHECK(s.queued() == 2);
  CHECK(s.assign().empty());
  // a finishes one job: what runs on b is backed up first, before the queued jobs.
  std::vector<JobId> own = jobs_on(first, a);
  CHECK(s.complete(own[0], a, 1.0, true) == Outcome::kAccepted);
  std::vector<Assignment> now = s.assign();
  REQUIRE(now.size() == 1);
  CHECK(now[0].job == on_b[0]);
  CHECK(now[0].node == a);
  CHECK(now[0].backup);
  // The rest of a's jobs finish: the one b started gets its backup, the stolen ones go to
  // a, never to the paused b.
  std::vector<Assignment> moved;
  for (size_t k = 1; k < own.size(); ++k) {
    CHECK(s.complete(own[k], a, 1.0, true) == Outcome::kAccepted);
    for (const Assignment& x : s.assign()) moved.push_back(x);
  }
  for (const Assignment& x : moved) CHECK(x.node == a);
  REQUIRE(moved.size() == 3);
  CHECK(moved[0].job == on_b[1]);
  CHECK(moved[0].backup);
  CHECK(jobs_on(moved, a).size() == 2);
  CHECK(s.assign().empty());
  // The backup's result wins and b's copy is cancelled; b's late result is a duplicate.
  Completion c = s.complete(on_b[0], a, 1.0, true);
  CHECK(c == Outcome::kAccepted);
  REQUIRE(c.cancel.size() == 1);
  CHECK(c.cancel[0].node == b);
  CHECK(s.stats(a).backups_won == 1);
  CHECK(s.complete(on_b[0], b, 1.0, true) == Outcome::kDuplicate);
  t = 11;
  CHECK(s.paused_seconds(b) == doctest::Approx(10.0));
  s.resume(b);
  CHECK_FALSE(s.paused(b));
  CHECK(s.paused_nodes() == 0);
  CHECK(s.stats(b).paused_seconds == doctest::Approx(10.0));
  t = 20;
  CHECK(s.paused_seconds(b) == doctest::Approx(10.0));
  // Used again: new jobs go to b too.
  for (JobId j = 9; j <= 12; ++j) s.submit(j);
  std::vector<Assignment> later = s.assign();
  CHECK_FALSE(jobs_on(later, b).empty());
}

TEST_CASE("sched.pause.no_job_goes_to_a_paused_node") {
  Scheduler s;
  NodeId a = s.add_node({"a", 2, 1.0});
  s.pause(a);
  for (JobId j = 1; j <= 3; ++j) s.submit(j);
  CHECK(s.assign().empty());
  CHECK(s.plan_steals().empty());
  CHECK(s.queued() == 3);
  NodeId b = s.add_node({"b", 1, 1.0});
  std::vector<Assignment> as = s.assign();
  CHECK(as.size() == 3);
  for (const Assignment& x : as) CHECK(x.node == b);
  s.resume(a);
  for (JobId j = 4; j <= 6; ++j) s.submit(j);
  as = s.assign();
  CHECK_FALSE(jobs_on(as, a).empty());
}

TEST_CASE("sched.pause.pinned_jobs_stay_and_a_leaving_node_ends_its_pause") {
  double t = 0;
  Scheduler s({.clock = [&] { return t; }});
  NodeId a = s.add_node({"a", 1, 1.0});
  NodeId b = s.add_node({"b", 1, 1.0});
  s.submit(1, JobRules{.only_node = "b"});
  s.submit(2, JobRules{.only_node = "b"});
  REQUIRE(s.assign().size() == 2);
  t = 2;
  // Neither pinned copy is stolen or backed up: they can run nowhere else.
  CHECK(s.pause(b).empty());
  CHECK(s.assign().empty());
  t = 5;
  std::vector<JobId> back = s.remove_node(b);
  CHECK(s.stats(b).paused_seconds == doctest::Approx(3.0));
  CHECK(s.paused_nodes() == 0);
  CHECK(back.size() == 2);
  (void)a;
}

TEST_CASE("sched.pause.a_job_backed_up_once_is_not_backed_up_again") {
  double t = 0;
  Scheduler s({.clock = [&] { return t; }});
  NodeId a = s.add_node({"a", 1, 1.0});
  NodeId b = s.add_node({"b", 1, 1.0});
  NodeId c = s.add_node({"c", 1, 1.0});
  s.submit(1);
  std::vector<Assignment> as = s.assign();
  REQUIRE(as.size() == 1);
  const NodeId first = as[0].node;
  s.pause(first);
  std::vector<Assignment> backup = s.assign();
  REQUIRE(backup.size() == 1);
  CHECK(backup[0].backup);
  CHECK(backup[0].node != first);
  s.resume(first);
  s.pause(first);
  CHECK(s.assign().empty());
  // The paused node's result still counts when it comes first.
  Completion done = s.complete(1, first, 1.0, true);
  CHECK(done == Outcome::kAccepted);
  CHECK(done.cancel.size() == 1);
  (void)a, (void)b, (void)c;
}

}  // namespace
}  // namespace pp::sched
