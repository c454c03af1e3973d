// Tests of the Scheduler: windows sized from workers, placement in proportion to workers (a
// local node never starves a remote one), FIFO order, exactly one accepted result per job, jobs
// of a departed node re-run first, and a seeded simulation of nodes joining and leaving while
// results arrive in random order, late and twice.
#include "core/sched/scheduler.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

// Job lists print as lists in failure messages.
template <>
struct doctest::StringMaker<std::vector<pp::sched::JobId>> {
  static String convert(const std::vector<pp::sched::JobId>& v) {
    std::string s = "{";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    return (s + "}").c_str();
  }
};

namespace pp::sched {
namespace {

NodeInfo node(const std::string& name, int workers) { return {name, workers, 1.0}; }

// Submits the next n job ids (ids are dense: 1, 2, 3, ...).
void submit_n(Scheduler& s, JobId& next, size_t n) {
  for (size_t i = 0; i < n; ++i) s.submit(next++);
}

std::vector<JobId> jobs_of(const std::vector<Assignment>& as) {
  std::vector<JobId> out;
  for (const Assignment& a : as) out.push_back(a.job);
  return out;
}

std::vector<JobId> jobs_on(const std::vector<Assignment>& as, NodeId n) {
  std::vector<JobId> out;
  for (const Assignment& a : as)
    if (a.node == n) out.push_back(a.job);
  return out;
}

std::vector<JobId> range(JobId first, JobId last) {
  std::vector<JobId> out;
  for (JobId j = first; j <= last; ++j) out.push_back(j);
  return out;
}

void check_windows(const Scheduler& s) {
  for (NodeId n = 0; n < s.node_count(); ++n) {
    CAPTURE(n);
    CHECK(s.in_flight(n) <= s.window(n));
    if (!s.stats(n).active) CHECK(s.in_flight(n) == 0);
  }
}

TEST_CASE("sched.scheduler.window_from_workers") {
  Scheduler s;  // 4 per worker, at least 2
  NodeId one = s.add_node(node("one", 1));
  NodeId eight = s.add_node(node("eight", 8));
  NodeId zero = s.add_node(node("zero", 0));
  NodeId negative = s.add_node(node("negative", -3));
  CHECK(s.window(one) == 4);
  CHECK(s.window(eight) == 32);
  CHECK(s.window(zero) == 4);  // a node always counts as at least one worker
  CHECK(s.window(negative) == 4);
  CHECK(s.stats(zero).workers == 1);
  CHECK(s.stats(eight).workers == 8);
  CHECK(s.stats(eight).name == "eight");
  CHECK(s.stats(eight).active);
  CHECK(s.node_count() == 4);
  CHECK(s.active_nodes() == 4);
  CHECK(s.active_workers() == 11);

  Scheduler t(SchedulerOptions{.window_per_worker = 1, .min_window = 3});
  CHECK(t.window(t.add_node(node("a", 1))) == 3);  // min_window wins
  CHECK(t.window(t.add_node(node("b", 3))) == 3);
  CHECK(t.window(t.add_node(node("c", 5))) == 5);  // workers * window_per_worker wins

  Scheduler u(SchedulerOptions{.window_per_worker = 2, .min_window = 0});
  CHECK(u.window(u.add_node(node("a", 1))) == 2);
  CHECK(u.window(u.add_node(node("b", 16))) == 32);
}

TEST_CASE("sched.scheduler.fills_windows") {
  Scheduler s;
  NodeId n = s.add_node(node("n", 2));  // window 8
  JobId next = 1;
  submit_n(s, next, 20);
  std::vector<Assignment> as = s.assign();
  CHECK(jobs_of(as) == range(1, 8));
  for (const Assignment& a : as) {
    CHECK(a.node == n);
    CHECK(a.attempt == 0);
  }
  CHECK(s.in_flight(n) == 8);
  CHECK(s.queued() == 12);
  CHECK(s.assign().empty());  // full window: nothing more
  CHECK(s.complete(1, n, 0.1, true) == Outcome::kAccepted);
  CHECK(jobs_of(s.assign()) == std::vector<JobId>{9});
  CHECK(s.complete(2, n, 0.1, true) == Outcome::kAccepted);
  CHECK(s.complete(3, n, 0.1, true) == Outcome::kAccepted);
  CHECK(jobs_of(s.assign()) == std::vector<JobId>{10, 11});
  CHECK(s.in_flight(n) == 8);
  CHECK(s.queued() == 9);
}

TEST_CASE("sched.scheduler.no_node_no_assignment") {
  Scheduler s;
  JobId next = 1;
  submit_n(s, next, 3);
  CHECK(s.assign().empty());
  CHECK(s.queued() == 3);
  CHECK(s.active_nodes() == 0);
  NodeId n = s.add_node(node("n", 1));
  CHECK(jobs_on(s.assign(), n) == range(1, 3));
}

TEST_CASE("sched.scheduler.never_exceeds_any_window") {
  Scheduler s(SchedulerOptions{.window_per_worker = 3, .min_window = 5});
  for (int w : {1, 2, 3, 7, 16}) s.add_node(node("w" + std::to_string(w), w));
  JobId next = 1;
  submit_n(s, next, 1000);
  std::vector<Assignment> as = s.assign();
  check_windows(s);
  size_t total_window = 0;
  for (NodeId n = 0; n < s.node_count(); ++n) {
    total_window += s.window(n);
    CHECK(s.in_flight(n) == s.window(n));  // a deep queue fills every window exactly
    CHECK(jobs_on(as, n).size() == s.window(n));
  }
  CHECK(as.size() == total_window);
  CHECK(s.queued() == 1000 - total_window);
}

TEST_CASE("sched.scheduler.work_in_proportion_to_workers") {
  // Whatever the order the nodes joined in and however short the queue, each node's share
  // follows its workers: the 1-worker node gets about 1 job for every 8 of the 8-worker one.
  for (bool local_first : {true, false}) {
    CAPTURE(local_first);
    for (size_t jobs = 1; jobs <= 36; ++jobs) {
      CAPTURE(jobs);
      Scheduler s;
      NodeId local = local_first ? s.add_node(node("local", 8)) : 0;
      NodeId remote = s.add_node(node("remote", 1));
      if (!local_first) local = s.add_node(node("local", 8));
      JobId next = 1;
      submit_n(s, next, jobs);
      std::vector<Assignment> as = s.assign();
      const auto on_local = static_cast<long>(jobs_on(as, local).size());
      const auto on_remote = static_cast<long>(jobs_on(as, remote).size());
      CHECK(on_local + on_remote == static_cast<long>(jobs));
      CHECK(std::labs(on_local - 8 * on_remote) <= 8);
      if (jobs >= 2) CHECK(on_remote >= 1);
      if (jobs >= 2) CHECK(on_local >= 1);
    }
  }
}

TEST_CASE("sched.scheduler.local_node_never_starves_remote") {
  // Rounds of 9 jobs that both nodes finish at once: greedy first-node placement would give all
  // of them to the big local node. Here the remote node gets its share every round.
  Scheduler s;
  NodeId local = s.add_node(node("local", 8));
  NodeId remote = s.add_node(node("remote", 1));
  JobId next = 1;
  for (int round = 0; round < 50; ++round) {
    CAPTURE(round);
    submit_n(s, next, 9);
    std::vector<Assignment> as = s.assign();
    CHECK(jobs_on(as, local).size() == 8);
    CHECK(jobs_on(as, remote).size() == 1);
    for (const Assignment& a : as)
      REQUIRE(s.complete(a.job, a.node, 0.01, true) == Outcome::kAccepted);
  }
  // With a deep queue each keeps a full window.
  submit_n(s, next, 100);
  s.assign();
  CHECK(s.in_flight(local) == 32);
  CHECK(s.in_flight(remote) == 4);
  CHECK(s.stats(local).jobs_done == 400);
  CHECK(s.stats(remote).jobs_done == 50);
}

TEST_CASE("sched.scheduler.fifo_order") {
  Scheduler s;
  NodeId a = s.add_node(node("a", 2));
  NodeId b = s.add_node(node("b", 3));
  JobId next = 1;
  submit_n(s, next, 50);
  std::vector<Assignment> as = s.assign();
  CHECK(jobs_of(as) == range(1, 20));  // windows 8 + 12, taken from the head in order
  std::vector<JobId> on_a = jobs_on(as, a);
  std::vector<JobId> on_b = jobs_on(as, b);
  // Whoever frees a slot, the oldest waiting job goes next.
  CHECK(s.complete(on_b.back(), b, 0.0, true) == Outcome::kAccepted);
  CHECK(s.complete(on_a.front(), a, 0.0, true) == Outcome::kAccepted);
  CHECK(jobs_of(s.assign()) == std::vector<JobId>{21, 22});
  submit_n(s, next, 5);  // new jobs queue behind the old ones
  CHECK(s.complete(on_a[1], a, 0.0, true) == Outcome::kAccepted);
  CHECK(s.complete(on_b[0], b, 0.0, true) == Outcome::kAccepted);
  CHECK(s.complete(on_b[1], b, 0.0, true) == Outcome::kAccepted);
  CHECK(jobs_of(s.assign()) == std::vector<JobId>{23, 24, 25});
  CHECK(s.queued() == 30);
}

TEST_CASE("sched.scheduler.complete_outcomes") {
  Scheduler s;
  NodeId a = s.add_node(node("a", 1));
  NodeId b = s.add_node(node("b", 1));
  JobId next = 1;
  submit_n(s, next, 4);
  std::vector<Assignment> as = s.assign();
  REQUIRE(as.size() == 4);
  CHECK(s.unfinished() == 4);
  const Assignment first = as[0];
  CHECK_FALSE(s.is_done(first.job));
  CHECK(s.complete(first.job, first.node, 0.5, true) == Outcome::kAccepted);
  CHECK(s.is_done(first.job));
  CHECK(s.unfinished() == 3);
  CHECK(s.in_flight(first.node) == 1);  // its slot is free again
  // Any later copy, from the same node or another, is a duplicate and changes nothing.
  CHECK(s.complete(first.job, first.node, 0.5, true) == Outcome::kDuplicate);
  CHECK(s.complete(first.job, first.node == a ? b : a, 0.5, false) == Outcome::kDuplicate);
  CHECK(s.unfinished() == 3);
  CHECK(s.stats(a).jobs_done + s.stats(b).jobs_done == 1);
  CHECK(s.stats(first.node).job_seconds == doctest::Approx(0.5));
  // Failed jobs are accepted results too, counted as failures.
  const Assignment second = as[1];
  CHECK(s.complete(second.job, second.node, 0.25, false) == Outcome::kAccepted);
  CHECK(s.stats(second.node).failures == 1);
  CHECK(s.stats(second.node).jobs_done >= 1);
  CHECK(s.complete(second.job, second.node, 0.25, true) == Outcome::kDuplicate);
  CHECK(s.stats(second.node).failures == 1);
  // Ids that were never submitted.
  CHECK(s.complete(0, a, 0.1, true) == Outcome::kUnknown);
  CHECK(s.complete(5, a, 0.1, true) == Outcome::kUnknown);
  CHECK(s.complete(UINT64_MAX, a, 0.1, true) == Outcome::kUnknown);
  CHECK_FALSE(s.is_done(0));
  CHECK_FALSE(s.is_done(5));
  CHECK(s.unfinished() == 2);
}

TEST_CASE("sched.scheduler.remove_node_requeues_at_front") {
  Scheduler s;
  NodeId a = s.add_node(node("a", 1));  // window 4
  NodeId b = s.add_node(node("b", 1));  // window 4
  JobId next = 1;
  submit_n(s, next, 12);
  std::vector<Assignment> as = s.assign();
  std::vector<JobId> on_a = jobs_on(as, a);
  std::vector<JobId> on_b = jobs_on(as, b);
  REQUIRE(on_a.size() == 4);
  REQUIRE(on_b.size() == 4);
  CHECK(s.complete(on_a[1], a, 0.1, true) == Outcome::kAccepted);
  std::vector<JobId> expect = {on_a[0], on_a[2], on_a[3]};  // ascending: as assigned

  CHECK(s.remove_node(a) == expect);
  CHECK_FALSE(s.stats(a).active);
  CHECK(s.stats(a).requeued == 3);
  CHECK(s.in_flight(a) == 0);
  CHECK(s.active_nodes() == 1);
  CHECK(s.active_workers() == 1);
  CHECK(s.queued() == 4 + 3);
  CHECK(s.unfinished() == 11);

  for (JobId j : on_b) CHECK(s.complete(j, b, 0.1, true) == Outcome::kAccepted);
  std::vector<Assignment> again = s.assign();
  REQUIRE(again.size() == 4);
  for (size_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK(again[i].job == expect[i]);  // the departed node's jobs first, in id order
    CHECK(again[i].node == b);
    CHECK(again[i].attempt == 1);
  }
  CHECK(again[3].job == 9);  // then the queue as it was
  CHECK(again[3].attempt == 0);
  CHECK(s.assign().empty());
  // A departed node never gets work again.
  for (const Assignment& x : again) s.complete(x.job, b, 0.1, true);
  for (const Assignment& x : s.assign()) CHECK(x.node == b);
  CHECK(s.in_flight(a) == 0);
}

TEST_CASE("sched.scheduler.remove_node_many_jobs_sorted") {
  // In-flight jobs are held in a hash set; what comes back must still be in id order.
  Scheduler s;
  NodeId big = s.add_node(node("big", 50));  // window 200
  JobId next = 1;
  submit_n(s, next, 300);
  REQUIRE(s.assign().size() == 200);
  std::mt19937 rng(3);
  std::set<JobId> left;
  for (JobId j = 1; j <= 200; ++j) {
    if (rng() % 2)
      CHECK(s.complete(j, big, 0.0, true) == Outcome::kAccepted);
    else
      left.insert(j);
  }
  std::vector<JobId> back = s.remove_node(big);
  CHECK(back == std::vector<JobId>(left.begin(), left.end()));
  NodeId fresh = s.add_node(node("fresh", 200));
  std::vector<JobId> order = jobs_of(s.assign());
  std::vector<JobId> expect = back;
  for (JobId j = 201; j <= 300; ++j) expect.push_back(j);
  CHECK(order == expect);
  CHECK(s.in_flight(fresh) == expect.size());
}

TEST_CASE("sched.scheduler.late_joiner_gets_work") {
  Scheduler s;
  NodeId a = s.add_node(node("a", 1));
  JobId next = 1;
  submit_n(s, next, 10);
  CHECK(jobs_on(s.assign(), a) == range(1, 4));
  NodeId b = s.add_node(node("b", 1));
  std::vector<Assignment> as = s.assign();
  CHECK(jobs_on(as, b) == range(5, 8));
  CHECK(jobs_on(as, a).empty());
  NodeId c = s.add_node(node("c", 4));
  CHECK(jobs_on(s.assign(), c) == range(9, 10));
}

TEST_CASE("sched.scheduler.late_result_from_departed_node") {
  SUBCASE("job still queued: the late result is taken and the job leaves the queue") {
    Scheduler s;
    NodeId a = s.add_node(node("a", 1));
    JobId next = 1;
    submit_n(s, next, 2);
    s.assign();
    CHECK(s.remove_node(a) == range(1, 2));
    CHECK(s.queued() == 2);
    CHECK(s.complete(1, a, 0.1, true) == Outcome::kAccepted);
    CHECK(s.queued() == 1);
    CHECK(s.unfinished() == 1);
    NodeId b = s.add_node(node("b", 1));
    CHECK(jobs_on(s.assign(), b) == std::vector<JobId>{2});  // job 1 is not run again
    CHECK(s.complete(1, b, 0.1, true) == Outcome::kDuplicate);
  }
  SUBCASE("job running elsewhere: first result wins and frees the other node's slot") {
    Scheduler s;
    NodeId a = s.add_node(node("a", 1));
    JobId next = 1;
    submit_n(s, next, 1);
    s.assign();
    s.remove_node(a);
    NodeId b = s.add_node(node("b", 1));
    std::vector<Assignment> as = s.assign();
    REQUIRE(as.size() == 1);
    CHECK(as[0].attempt == 1);
    CHECK(s.in_flight(b) == 1);
    CHECK(s.complete(1, a, 0.1, true) == Outcome::kAccepted);
    CHECK(s.in_flight(b) == 0);
    CHECK(s.complete(1, b, 0.1, true) == Outcome::kDuplicate);
    CHECK(s.stats(a).jobs_done == 1);
    CHECK(s.stats(b).jobs_done == 0);
    CHECK(s.unfinished() == 0);
  }
}

TEST_CASE("sched.scheduler.give_back") {
  Scheduler s;
  NodeId a = s.add_node(node("a", 1));
  NodeId b = s.add_node(node("b", 1));
  JobId next = 1;
  submit_n(s, next, 10);
  std::vector<Assignment> as = s.assign();
  std::vector<JobId> on_a = jobs_on(as, a);
  REQUIRE(on_a.size() == 4);
  CHECK(s.queued() == 2);

  s.give_back(on_a[1], a);
  CHECK(s.in_flight(a) == 3);
  CHECK(s.queued() == 3);
  CHECK(s.unfinished() == 10);
  std::vector<Assignment> again = s.assign();
  REQUIRE(again.size() == 1);
  CHECK(again[0].job == on_a[1]);  // ahead of jobs 9 and 10
  CHECK(again[0].attempt == 1);
  CHECK(again[0].node == a);

  // Ignored: from a node that does not hold the job, for a finished job, for a queued job.
  s.give_back(on_a[0], b);
  CHECK(s.in_flight(a) == 4);
  CHECK(s.queued() == 2);
  CHECK(s.complete(on_a[2], a, 0.1, true) == Outcome::kAccepted);
  s.give_back(on_a[2], a);
  CHECK(s.queued() == 2);
  CHECK(s.is_done(on_a[2]));
  s.give_back(10, a);
  CHECK(s.queued() == 2);
}

// A job whose input is being made again goes back to waiting: off its node's window, in
// no queue, until release() queues it; abandon() still ends it.
TEST_CASE("sched.scheduler.hold_again") {
  Scheduler s;
  NodeId a = s.add_node(node("a", 1));
  JobId next = 1;
  submit_n(s, next, 6);
  std::vector<Assignment> as = s.assign();
  std::vector<JobId> on_a = jobs_on(as, a);
  REQUIRE(on_a.size() == 4);
  CHECK(s.queued() == 2);
  CHECK(s.holders(on_a[1]) == std::vector<NodeId>{a});
  CHECK(s.holders(6).empty());     // queued
  CHECK(s.hold_again(on_a[1], a));
  CHECK(s.is_held(on_a[1]));
  CHECK(s.holders(on_a[1]).empty());
  CHECK(s.in_flight(a) == 3);
  CHECK(s.queued() == 2);          // held, not queued
  CHECK(s.unfinished() == 6);
  std::vector<Assignment> more = s.assign();   // its slot goes to the queue's next job
  REQUIRE(more.size() == 1);
  CHECK(more[0].job == 5);
  CHECK_FALSE(s.hold_again(on_a[1], a));   // ignored: no copy there any more
  CHECK(s.is_held(on_a[1]));
  CHECK_FALSE(s.hold_again(on_a[0], a + 1));   // ignored: no such node
  CHECK_FALSE(s.is_held(on_a[0]));
  CHECK(s.in_flight(a) == 4);
  s.release(on_a[1]);
  CHECK_FALSE(s.is_held(on_a[1]));
  CHECK(s.queued() == 2);
  CHECK(s.complete(on_a[0], a, 0.1, true) == Outcome::kAccepted);
  std::vector<Assignment> after = s.assign();
  REQUIRE(after.size() == 1);
  CHECK(after[0].job == 6);        // released to the back of the queue
  s.hold_again(on_a[2], a);
  CHECK(s.abandon(on_a[2]).empty());   // held: no copy out
  CHECK(s.is_done(on_a[2]));
}

TEST_CASE("sched.scheduler.drain_queue") {
  Scheduler s;
  NodeId a = s.add_node(node("a", 1));
  CHECK(s.drain_queue().empty());
  JobId next = 1;
  submit_n(s, next, 10);
  CHECK(jobs_of(s.assign()) == range(1, 4));
  CHECK(s.drain_queue() == range(5, 10));
  CHECK(s.queued() == 0);
  CHECK(s.unfinished() == 4);
  for (JobId j = 5; j <= 10; ++j) CHECK(s.is_done(j));
  CHECK(s.complete(5, a, 0.1, true) == Outcome::kDuplicate);  // ended; a result is too late
  CHECK(s.in_flight(a) == 4);                                 // running jobs are untouched
  for (JobId j = 1; j <= 4; ++j) CHECK(s.complete(j, a, 0.1, true) == Outcome::kAccepted);
  CHECK(s.unfinished() == 0);
  CHECK(s.assign().empty());
  CHECK(s.stats(a).jobs_done == 4);
}

TEST_CASE("sched.scheduler.abandon_ends_one_job") {
  Scheduler s;
  NodeId a = s.add_node(node("a", 1));
  JobId next = 1;
  submit_n(s, next, 6);
  CHECK(jobs_of(s.assign()) == range(1, 4));
  // Queued: it leaves the queue, and the others keep their order.
  CHECK(s.abandon(5).empty());
  CHECK(s.is_done(5));
  CHECK(s.queued() == 1);
  // In flight: its copy is dropped and named, and the window has room for the next job.
  std::vector<Copy> out = s.abandon(2);
  REQUIRE(out.size() == 1);
  CHECK(out[0].job == 2);
  CHECK(out[0].node == a);
  CHECK(s.in_flight(a) == 3);
  CHECK(jobs_of(s.assign()) == std::vector<JobId>{6});
  CHECK(s.abandon(2).empty());  // once
  CHECK(s.complete(2, a, 0.1, true) == Outcome::kDuplicate);  // a late result is not taken
  CHECK(s.unfinished() == 4);
  CHECK(s.stats(a).jobs_done == 0);  // given up by the client, not a result of the node
  for (JobId j : {1, 3, 4, 6}) CHECK(s.complete(j, a, 0.1, true) == Outcome::kAccepted);
  CHECK(s.unfinished() == 0);
}

TEST_CASE("sched.scheduler.all_nodes_gone") {
  Scheduler s;
  NodeId a = s.add_node(node("a", 1));
  NodeId b = s.add_node(node("b", 2));
  JobId next = 1;
  submit_n(s, next, 20);
  REQUIRE(s.assign().size() == 12);  // windows 4 + 8
  std::vector<JobId> from_a = s.remove_node(a);
  std::vector<JobId> from_b = s.remove_node(b);
  CHECK(from_a.size() == 4);
  CHECK(from_b.size() == 8);
  CHECK(s.remove_node(b).empty());  // leaving twice gives nothing back twice
  CHECK(s.stats(b).requeued == 8);
  CHECK(s.active_nodes() == 0);
  CHECK(s.active_workers() == 0);
  CHECK(s.assign().empty());
  CHECK(s.queued() == 20);
  // Each departure puts its jobs at the very front, so the last to leave comes first.
  std::vector<JobId> expect = from_b;
  expect.insert(expect.end(), from_a.begin(), from_a.end());
  for (JobId j = 13; j <= 20; ++j) expect.push_back(j);
  CHECK(s.drain_queue() == expect);
  CHECK(s.unfinished() == 0);
}

TEST_CASE("sched.scheduler.submit_requires_dense_ids") {
  Scheduler s;
  CHECK_THROWS_AS(s.submit(0), std::invalid_argument);
  CHECK_THROWS_AS(s.submit(2), std::invalid_argument);
  s.submit(1);
  CHECK_THROWS_AS(s.submit(1), std::invalid_argument);
  CHECK_THROWS_AS(s.submit(3), std::invalid_argument);
  CHECK(s.queued() == 1);
  CHECK(s.unfinished() == 1);
}

// ---- randomized simulation -------------------------------------------------------------------

// Nodes join and leave, results arrive in random order, some late (from departed nodes), some
// twice, some lost with their node; nodes give jobs back. A model of what each node still owes
// checks every answer of the scheduler along the way.
class Simulation {
 public:
  explicit Simulation(uint32_t seed) : rng_(seed) {}

  void run() {
    add_node();
    add_node();
    long last_progress = 0;
    size_t done_before = 0;
    for (long step = 0; done_ < kJobs; ++step) {
      if (done_ != done_before) done_before = done_, last_progress = step;
      // Normal runs accept a result every few dozen steps; a lost job stalls for good.
      REQUIRE_MESSAGE(step - last_progress < 20000, "no job finished for 20000 steps");
      steps_ = step;
      uint32_t r = pick(20);
      if (r == 0)
        submit_some();
      else if (r == 1 && pick(3) == 0)
        add_node();
      else if (r == 2 && pick(2) == 0)
        remove_node();
      else if (r == 3)
        give_back();
      else if (r < 9)
        assign();
      else
        deliver();
      if (s_.active_nodes() == 0) add_node();
      REQUIRE(s_.unfinished() == submitted_ - done_);
    }
    finish();
  }

 private:
  static constexpr JobId kJobs = 3000;

  uint32_t pick(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }

  void add_node() {
    NodeId id = s_.add_node(node("n" + std::to_string(owes_.size()), 1 + pick(8)));
    REQUIRE(id == owes_.size());
    owes_.emplace_back();
    alive_.push_back(true);
  }

  void submit_some() {
    for (uint32_t n = pick(60); n > 0 && next_ <= kJobs; --n) {
      s_.submit(next_++);
      ++submitted_;
      attempts_.push_back(0);
      accepted_.push_back(0);
      live_holders_.push_back(0);
    }
  }

  // Index of a random node that satisfies `ok`, or -1.
  template <typename F>
  long random_node(F ok) {
    std::vector<NodeId> c;
    for (NodeId n = 0; n < owes_.size(); ++n)
      if (ok(n)) c.push_back(n);
    return c.empty() ? -1 : static_cast<long>(c[pick(static_cast<uint32_t>(c.size()))]);
  }

  void remove_node() {
    long n = random_node([&](NodeId i) { return alive_[i]; });
    if (n < 0) return;
    std::vector<JobId> expect;
    for (JobId j : owes_[n])
      if (!accepted_[j]) expect.push_back(j);
    std::sort(expect.begin(), expect.end());
    CHECK(s_.remove_node(static_cast<NodeId>(n)) == expect);
    requeued_ += expect.size();
    alive_[n] = false;
    for (JobId j : owes_[n]) --live_holders_[j];
    if (pick(2) == 0) owes_[n].clear();  // its results are lost; otherwise they come late
  }

  void give_back() {
    long n = random_node([&](NodeId i) { return alive_[i] && !owes_[i].empty(); });
    if (n < 0) return;
    JobId j = take(static_cast<NodeId>(n));
    --live_holders_[j];
    s_.give_back(j, static_cast<NodeId>(n));
  }

  void assign() {
    std::vector<Assignment> as = s_.assign();
    for (const Assignment& a : as) {
      CAPTURE(a.job);
      REQUIRE(a.node < owes_.size());
      CHECK(alive_[a.node]);
      CHECK_FALSE(accepted_[a.job]);
      CHECK(live_holders_[a.job] == 0);  // never on two live nodes at once
      CHECK(a.attempt == attempts_[a.job]);
      ++attempts_[a.job];
      ++live_holders_[a.job];
      owes_[a.node].push_back(a.job);
    }
    check_windows(s_);
    if (s_.queued() > 0) {  // work-conserving: jobs wait only when every window is full
      for (NodeId n = 0; n < owes_.size(); ++n)
        if (alive_[n]) CHECK(s_.in_flight(n) == s_.window(n));
    }
  }

  void deliver() {
    long n = random_node([&](NodeId i) { return !owes_[i].empty(); });
    if (n < 0) return;
    auto node = static_cast<NodeId>(n);
    JobId j = take(node);
    if (alive_[node]) --live_holders_[j];
    bool ok = pick(10) != 0;
    Outcome expect = accepted_[j] ? Outcome::kDuplicate : Outcome::kAccepted;
    CHECK(s_.complete(j, node, 0.001, ok) == expect);
    if (expect == Outcome::kAccepted) {
      accepted_[j] = 1;
      ++done_;
      failures_ += ok ? 0 : 1;
    }
    if (pick(10) == 0) CHECK(s_.complete(j, node, 0.001, ok) == Outcome::kDuplicate);
  }

  JobId take(NodeId n) {
    std::vector<JobId>& v = owes_[n];
    size_t i = pick(static_cast<uint32_t>(v.size()));
    JobId j = v[i];
    v[i] = v.back();
    v.pop_back();
    return j;
  }

  void finish() {
    CHECK(s_.unfinished() == 0);
    CHECK(s_.queued() == 0);
    CHECK(s_.table_size() == 0);
    uint64_t jobs_done = 0, failures = 0, requeued = 0;
    for (NodeId n = 0; n < owes_.size(); ++n) {
      jobs_done += s_.stats(n).jobs_done;
      failures += s_.stats(n).failures;
      requeued += s_.stats(n).requeued;
      CHECK(s_.in_flight(n) == 0);
    }
    CHECK(jobs_done == kJobs);
    CHECK(failures == failures_);
    CHECK(requeued == requeued_);
    for (JobId j = 1; j <= kJobs; ++j) {
      CHECK(accepted_[j] == 1);
      CHECK(s_.is_done(j));
    }
    // Whatever is still owed can only be a duplicate now.
    for (NodeId n = 0; n < owes_.size(); ++n)
      for (JobId j : owes_[n]) CHECK(s_.complete(j, n, 0.0, true) == Outcome::kDuplicate);
    CHECK(s_.assign().empty());
    MESSAGE("steps " << steps_ << ", nodes " << owes_.size() << ", requeued " << requeued_
                     << ", failures " << failures_);
  }

  std::mt19937 rng_;
  Scheduler s_;
  long steps_ = 0;
  JobId next_ = 1;
  size_t submitted_ = 0;
  size_t done_ = 0;
  uint64_t failures_ = 0;
  uint64_t requeued_ = 0;
  std::vector<std::vector<JobId>> owes_;  // per node: jobs whose result it will still send
  std::vector<bool> alive_;
  std::vector<uint32_t> attempts_ = {0};  // per job (index 0 unused): times assigned
  std::vector<uint8_t> accepted_ = {0};
  std::vector<int> live_holders_ = {0};  // live nodes that owe the job
};

TEST_CASE("sched.scheduler.random_simulation") {
  for (uint32_t seed : {1u, 2u, 3u, 42u, 20240601u}) {
    CAPTURE(seed);
    Simulation(seed).run();
  }
}

TEST_CASE("sched.scheduler.skipped_jobs_are_never_sent") {
  Scheduler s;
  NodeId n = s.add_node({"n", 2, 1.0});
  s.submit(1);
  s.skip(2);  // finished in an earlier run
  s.submit(3);
  CHECK(s.unfinished() == 2);
  CHECK(s.is_done(2));
  auto a = s.assign();
  REQUIRE(a.size() == 2);
  CHECK(a[0].job == 1);
  CHECK(a[1].job == 3);
  CHECK(s.complete(2, n, 0.1, true) == Outcome::kDuplicate);
  CHECK(s.complete(1, n, 0.1, true) == Outcome::kAccepted);
  CHECK(s.complete(3, n, 0.1, true) == Outcome::kAccepted);
  CHECK(s.unfinished() == 0);
  CHECK_THROWS(s.skip(7));  // ids stay dense
}

TEST_CASE("sched.window.short_jobs_hold_a_backlog_of_time") {
  Scheduler s({.round_trip_seconds = 1.0, .short_backlog_seconds = 0.002,
               .max_window_per_worker = 256});
  NodeId n = s.add_node({"n", 2, 1.0});
  CHECK(s.window(n) == 8);  // no job time yet: the usual workers * window_per_worker
  s.submit(1);
  s.assign();
  s.complete(1, n, 0.0001, true);
  CHECK(s.window(n) == 2 * 20);  // 2 ms of 0.1 ms jobs per worker
  s.submit(2);
  s.assign();
  s.complete(2, n, 1e-7, true);  // ewma 0.3 * 1e-7 + 0.7 * 1e-4: still 70 us
  CHECK(s.window(n) == 2 * 28);
  for (uint64_t id = 3; id < 40; ++id) {
    s.submit(id);
    s.assign();
    s.complete(id, n, 1e-7, true);
  }
  CHECK(s.window(n) == 2 * 256);  // microseconds: at most max_window_per_worker each
  for (uint64_t id = 40; id < 60; ++id) {
    s.submit(id);
    s.assign();
    s.complete(id, n, 0.5, true);
  }
  CHECK(s.window(n) <= 8);  // long jobs: within the usual cap again
}

}  // namespace
}  // namespace pp::sched

// A node that announces no speed (it has not calibrated yet) is expected to run a job as
// fast as the cluster's typical node, whether it joined before or after the calibrated
// ones, instead of looking hundreds of times slower than nodes with scores of hundreds.
TEST_CASE("sched.scheduler.uncalibrated_node_takes_the_typical_speed") {
  namespace sched = pp::sched;
  sched::Scheduler s(sched::SchedulerOptions{.clock = [] { return 0.0; }});
  const sched::NodeId early = s.add_node({"early", 2, 0.0});
  CHECK(s.expected_seconds(early) == doctest::Approx(1.0));   // alone: the reference
  const sched::NodeId a = s.add_node({"a", 2, 200.0});
  const sched::NodeId b = s.add_node({"b", 2, 400.0});
  const sched::NodeId late = s.add_node({"late", 2, 0.0});
  CHECK(s.expected_seconds(a) == doctest::Approx(1.0 / 200.0));
  CHECK(s.expected_seconds(b) == doctest::Approx(1.0 / 400.0));
  CHECK(s.expected_seconds(early) == doctest::Approx(1.0 / 300.0));
  CHECK(s.expected_seconds(late) == doctest::Approx(1.0 / 300.0));
}
