// JobQueue: the fair choice between sessions, requeue to the front, cancel and
// steal by id, per-session limits and dropping a session, with plain calls. The
// workers are a fake that answers as WorkerPool does (idle workers that served
// the same client first; pipeline slots only behind the same client's job).
#include "ppserver/job_queue.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <vector>

namespace {

using pp::server::JobQueue;
using pp::server::NodeJob;

class FakeWorkers : public JobQueue::Workers {
 public:
  FakeWorkers(int workers, size_t depth) : workers_(static_cast<size_t>(workers)), depth_(depth) {}

  size_t assigned(uint64_t session) const override {
    size_t n = 0;
    for (const auto& w : workers_) {
      n += static_cast<size_t>(
          std::count_if(w.pipeline.begin(), w.pipeline.end(),
                        [&](const NodeJob& j) { return j.session_id == session; }));
    }
    return n;
  }
  int idle_worker(uint64_t session) const override {
    int best = -1, best_rank = 3;
    for (size_t i = 0; i < workers_.size(); ++i) {
      const auto& w = workers_[i];
      if (!w.pipeline.empty()) continue;
      int rank = w.last == session ? 0 : w.last == 0 ? 1 : 2;
      if (rank < best_rank) {
        best = static_cast<int>(i);
        best_rank = rank;
      }
    }
    return best;
  }
  int pipeline_slot(const NodeJob& job) const override {
    const uint64_t session = job.session_id;
    int best = -1;
    size_t best_len = depth_;
    for (size_t i = 0; i < workers_.size(); ++i) {
      const auto& w = workers_[i];
      if (w.pipeline.empty() || w.pipeline.back().session_id != session) continue;
      if (w.pipeline.size() >= best_len) continue;
      best = static_cast<int>(i);
      best_len = w.pipeline.size();
    }
    return best;
  }

  bool is_idle(int worker) const override {
    return worker >= 0 && static_cast<size_t>(worker) < workers_.size() &&
           workers_[static_cast<size_t>(worker)].pipeline.empty();
  }

  void assign(int worker, NodeJob job) {
    if (job.worker >= 0) CHECK(job.worker == worker);   // a placed job goes to its worker only
    auto& w = workers_.at(static_cast<size_t>(worker));
    if (w.last != 0 && w.last != job.session_id) ++resets;
    w.last = job.session_id;
    w.pipeline.push_back(std::move(job));
  }
  // The head job of `worker` finishes; returns it.
  NodeJob finish(int worker) {
    auto& w = workers_.at(static_cast<size_t>(worker));
    NodeJob job = std::move(w.pipeline.front());
    w.pipeline.pop_front();
    return job;
  }
  size_t pipeline_length(int worker) const {
    return workers_.at(static_cast<size_t>(worker)).pipeline.size();
  }
  uint64_t last_session(int worker) const { return workers_.at(static_cast<size_t>(worker)).last; }

  int resets = 0;

 private:
  struct Worker {
    std::deque<NodeJob> pipeline;
    uint64_t last = 0;
  };
  std::vector<Worker> workers_;
  size_t depth_;
};

NodeJob job(uint64_t session, uint64_t id) {
  NodeJob j;
  j.session_id = session;
  j.client_job_id = id;
  return j;
}

// A job of `session` placed on `worker` (0-based).
NodeJob placed(uint64_t session, uint64_t id, int worker) {
  NodeJob j = job(session, id);
  j.worker = worker;
  return j;
}

// What Node::dispatch does: grants until none can go.
void dispatch(JobQueue& q, FakeWorkers& w) {
  while (auto g = q.next(w)) w.assign(g->worker, std::move(g->job));
}

// Pushes `n` jobs of `session` (ids from `first`), dispatching after each as a session does.
void submit(JobQueue& q, FakeWorkers& w, uint64_t session, uint64_t first, int n) {
  for (int i = 0; i < n; ++i) {
    REQUIRE(q.push(job(session, first + static_cast<uint64_t>(i))));
    dispatch(q, w);
  }
}

// Takes every queued job out through next(); returns the ids of `session`'s, in order.
std::vector<uint64_t> ids_in_order(JobQueue& q, uint64_t session) {
  std::vector<uint64_t> out;
  FakeWorkers idle(1, 1);  // stays idle: each job is taken out and not run
  while (auto g = q.next(idle)) {
    if (g->job.session_id == session) out.push_back(g->job.client_job_id);
  }
  return out;
}

}  // namespace

TEST_CASE("node.job_queue.idle_workers_go_to_the_client_with_fewest_jobs_in_workers") {
  JobQueue q(100);
  FakeWorkers w(4, 1);
  submit(q, w, 1, 1, 10);  // the first client takes every worker
  submit(q, w, 2, 100, 10);
  CHECK(w.assigned(1) == 4);
  CHECK(w.assigned(2) == 0);
  // Each freed worker goes to the second client until both hold as many.
  for (int worker = 0; worker < 2; ++worker) {
    w.finish(worker);
    dispatch(q, w);
    CHECK(w.last_session(worker) == 2);
  }
  CHECK(w.assigned(1) == 2);
  CHECK(w.assigned(2) == 2);
  // Then a freed worker goes back to the client it just served: no reset.
  int resets = w.resets;
  for (int round = 0; round < 6; ++round) {
    int worker = round % 4;
    w.finish(worker);
    dispatch(q, w);
  }
  CHECK(w.resets == resets);
  CHECK(w.assigned(1) == 2);
  CHECK(w.assigned(2) == 2);
}

TEST_CASE("node.job_queue.round_robin_among_equals") {
  JobQueue q(100);
  FakeWorkers none(0, 1);
  for (uint64_t s = 1; s <= 3; ++s) {
    for (uint64_t i = 0; i < 3; ++i) REQUIRE(q.push(job(s, s * 10 + i)));
  }
  dispatch(q, none);  // no worker: nothing goes
  CHECK(q.size() == 9);
  // One worker that finishes each job at once: every client holds 0, so they take turns.
  FakeWorkers one(1, 1);
  std::vector<uint64_t> order;
  while (auto g = q.next(one)) {
    order.push_back(g->job.session_id);
    one.assign(g->worker, std::move(g->job));
    one.finish(0);
  }
  CHECK(order == std::vector<uint64_t>{1, 2, 3, 1, 2, 3, 1, 2, 3});
}

TEST_CASE("node.job_queue.no_pipeline_slot_while_a_client_with_queued_jobs_has_no_worker") {
  JobQueue q(100);
  FakeWorkers w(1, 2);
  submit(q, w, 1, 1, 1);  // runs on the only worker
  REQUIRE(q.push(job(2, 100)));
  REQUIRE(q.push(job(1, 2)));  // could wait behind job 1 in the pipeline, but must not
  dispatch(q, w);
  CHECK(w.pipeline_length(0) == 1);
  CHECK(q.size() == 2);
  // The client without a worker takes the next worker to go idle.
  w.finish(0);
  dispatch(q, w);
  CHECK(w.last_session(0) == 2);
  CHECK(q.queued(1) == 1);
}

TEST_CASE("node.job_queue.pipeline_slots_only_behind_the_same_client") {
  JobQueue q(100);
  FakeWorkers w(2, 2);
  submit(q, w, 1, 1, 1);
  submit(q, w, 2, 100, 1);
  REQUIRE(w.last_session(0) == 1);
  REQUIRE(w.last_session(1) == 2);
  submit(q, w, 1, 2, 3);
  submit(q, w, 2, 101, 3);
  // Each worker holds its client's running job and one waiting behind it.
  CHECK(w.pipeline_length(0) == 2);
  CHECK(w.pipeline_length(1) == 2);
  CHECK(w.assigned(1) == 2);
  CHECK(w.assigned(2) == 2);
  CHECK(w.resets == 0);
  CHECK(q.queued(1) == 2);
  CHECK(q.queued(2) == 2);
}

TEST_CASE("node.job_queue.requeue_goes_to_the_front") {
  JobQueue q(2);
  REQUIRE(q.push(job(1, 1)));
  REQUIRE(q.push(job(1, 2)));
  q.requeue(job(1, 7));  // beyond the limit: it was admitted once
  CHECK(q.queued(1) == 3);
  CHECK(ids_in_order(q, 1) == std::vector<uint64_t>{7, 1, 2});
}

TEST_CASE("node.job_queue.cancel_by_id_takes_only_that_sessions_job") {
  JobQueue q(100);
  for (uint64_t i = 1; i <= 3; ++i) REQUIRE(q.push(job(1, i)));
  REQUIRE(q.push(job(2, 2)));
  CHECK_FALSE(q.cancel(1, 9).has_value());
  CHECK_FALSE(q.cancel(3, 2).has_value());
  auto taken = q.cancel(1, 2);
  REQUIRE(taken.has_value());
  CHECK(taken->session_id == 1);
  CHECK(taken->client_job_id == 2);
  CHECK_FALSE(q.cancel(1, 2).has_value());
  CHECK(q.queued(2) == 1);
  CHECK(ids_in_order(q, 1) == std::vector<uint64_t>{1, 3});
}

TEST_CASE("node.job_queue.steal_takes_queued_ids_in_queue_order") {
  JobQueue q(100);
  for (uint64_t i = 1; i <= 5; ++i) REQUIRE(q.push(job(1, i)));
  REQUIRE(q.push(job(2, 4)));
  std::vector<uint64_t> wanted{5, 2, 9, 2, 4};
  CHECK(q.steal(1, wanted) == std::vector<uint64_t>{2, 4, 5});
  CHECK(q.steal(3, wanted).empty());
  CHECK(q.queued(2) == 1);  // another session's job of the same id stays
  CHECK(ids_in_order(q, 1) == std::vector<uint64_t>{1, 3});
}

TEST_CASE("node.job_queue.each_session_is_held_to_its_own_limit") {
  JobQueue q(2);
  CHECK(q.has_room(1));
  CHECK(q.push(job(1, 1)));
  CHECK(q.push(job(1, 2)));
  CHECK_FALSE(q.has_room(1));
  CHECK_FALSE(q.push(job(1, 3)));
  CHECK(q.queued(1) == 2);
  CHECK(q.push(job(2, 1)));  // another client is not held by the first one's queue
  FakeWorkers w(1, 1);
  dispatch(q, w);
  CHECK(q.has_room(1));
}

TEST_CASE("node.job_queue.a_dropped_session_leaves_nothing") {
  JobQueue q(100);
  for (uint64_t i = 1; i <= 3; ++i) REQUIRE(q.push(job(1, i)));
  REQUIRE(q.push(job(2, 1)));
  q.drop(1);
  CHECK(q.queued(1) == 0);
  CHECK(q.size() == 1);
  q.requeue(job(1, 4));  // a job its worker never started comes back after the close
  CHECK(q.queued(1) == 0);
  CHECK_FALSE(q.cancel(1, 2).has_value());
  CHECK(ids_in_order(q, 2) == std::vector<uint64_t>{1});
}

// A placed job (js:run) goes to its worker once that worker is idle, after what it runs
// now, before the queued jobs of any session, and never to another worker.
TEST_CASE("node.job_queue.placed_job_waits_for_its_own_worker") {
  JobQueue q(100);
  FakeWorkers w(3, 1);     // no pipelining: a worker holds one job
  submit(q, w, 1, 1, 3);   // every worker busy with session 1
  REQUIRE(q.push(placed(2, 50, 1)));
  REQUIRE(q.push(job(1, 4)));
  dispatch(q, w);
  CHECK(q.size() == 2);
  w.finish(0);   // another worker frees: it takes the plain job, never the placed one
  dispatch(q, w);
  CHECK(w.pipeline_length(0) == 1);
  CHECK(w.last_session(0) == 1);
  CHECK(q.size() == 1);
  REQUIRE(q.push(job(1, 5)));
  w.finish(1);   // its own worker frees: the placed job goes first
  dispatch(q, w);
  CHECK(w.last_session(1) == 2);
  CHECK(w.finish(1).client_job_id == 50);
  dispatch(q, w);
  CHECK(w.last_session(1) == 1);   // then the session queue's job
  CHECK(q.size() == 0);
}

TEST_CASE("node.job_queue.placed_jobs_one_per_worker_each_reach_their_worker") {
  JobQueue q(100);
  FakeWorkers w(4, 1);
  for (int k = 0; k < 4; ++k) REQUIRE(q.push(placed(7, 100 + static_cast<uint64_t>(k), k)));
  dispatch(q, w);
  for (int k = 0; k < 4; ++k) {
    NodeJob j = w.finish(k);
    CHECK(j.client_job_id == 100 + static_cast<uint64_t>(k));
    CHECK(j.worker == k);
  }
}

// Placed jobs count against their session's limit, are never stolen, can be cancelled,
// go back to their own worker's queue when requeued, and go with a dropped session.
TEST_CASE("node.job_queue.placed_jobs_cancel_steal_requeue_drop") {
  JobQueue q(3);
  FakeWorkers w(2, 1);
  submit(q, w, 9, 1, 2);   // both workers busy
  REQUIRE(q.push(placed(1, 10, 0)));
  REQUIRE(q.push(placed(1, 11, 1)));
  REQUIRE(q.push(job(1, 12)));
  CHECK(q.queued(1) == 3);
  CHECK_FALSE(q.has_room(1));
  const std::vector<uint64_t> ask{10, 11, 12};
  CHECK(q.steal(1, ask) == std::vector<uint64_t>{12});   // never a placed job
  CHECK_FALSE(q.cancel(2, 10).has_value());               // another session's id
  auto cancelled = q.cancel(1, 10);
  REQUIRE(cancelled.has_value());
  CHECK(cancelled->worker == 0);
  CHECK(q.queued(1) == 1);
  q.requeue(std::move(*cancelled));                       // back to worker 0's queue
  CHECK(q.queued(1) == 2);
  w.finish(1);
  dispatch(q, w);
  CHECK(w.finish(1).client_job_id == 11);
  w.finish(0);
  dispatch(q, w);
  CHECK(w.finish(0).client_job_id == 10);
  submit(q, w, 9, 20, 2);   // both busy again
  REQUIRE(q.push(placed(1, 13, 1)));
  REQUIRE(q.push(placed(2, 14, 1)));
  q.drop(1);
  CHECK(q.queued(1) == 0);
  CHECK(q.size() == 1);
}
