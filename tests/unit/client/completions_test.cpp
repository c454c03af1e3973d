// Tests of Completions: jobs handed back in the order they finish (finished ones first),
// a job given twice counted once, a time limit, an early drop leaving no watcher behind,
// and a waiter on another thread woken by a finish.
#include "ppclient/src/completions.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace pp::client {
namespace {

using namespace std::chrono_literals;

struct Jobs {
  std::shared_ptr<Sync> sync = std::make_shared<Sync>();
  std::vector<std::shared_ptr<JobState>> all;

  explicit Jobs(int n) {
    for (int i = 1; i <= n; ++i) {
      auto s = std::make_shared<JobState>();
      s->id = static_cast<uint64_t>(i);
      s->sync = sync;
      all.push_back(s);
    }
  }
  // What the engine does when a job gets its outcome.
  void finish(int i) {
    std::lock_guard lock(sync->mutex);
    all[i]->done = true;
    all[i]->phase = JobPhase::kDone;
    Completions::finished_locked(*sync, all[i]);
  }
};

TEST_CASE("client.completions.in_the_order_they_finish") {
  Jobs j(4);
  j.finish(2);
  Completions c(j.sync, j.all);
  CHECK(c.remaining() == 4);
  CHECK(c.next(0ms)->id == 3);   // finished before the watch
  CHECK(c.next(0ms) == nullptr);  // nothing more yet: the time limit
  j.finish(3);
  j.finish(0);
  CHECK(c.next(0ms)->id == 4);
  CHECK(c.next(std::nullopt)->id == 1);
  j.finish(1);
  CHECK(c.next(std::nullopt)->id == 2);
  CHECK(c.remaining() == 0);
  CHECK(c.next(std::nullopt) == nullptr);   // every job handed out: no wait
  CHECK(j.sync->watchers.empty());
}

TEST_CASE("client.completions.a_job_twice_counts_once_and_two_watches_share_a_job") {
  Jobs j(2);
  Completions a(j.sync, {j.all[0], j.all[0], j.all[1], nullptr});
  Completions b(j.sync, {j.all[1]});
  CHECK(a.remaining() == 2);
  j.finish(1);
  CHECK(a.next(0ms)->id == 2);
  CHECK(b.next(0ms)->id == 2);
  CHECK(b.remaining() == 0);
  j.finish(0);
  CHECK(a.next(0ms)->id == 1);
  CHECK(a.next(0ms) == nullptr);
}

TEST_CASE("client.completions.dropped_early_leaves_no_watcher") {
  Jobs j(3);
  {
    Completions c(j.sync, j.all);
    CHECK(j.sync->watchers.size() == 3);
  }
  CHECK(j.sync->watchers.empty());
  j.finish(0);   // nobody to hand it to
}

TEST_CASE("client.completions.a_waiting_thread_is_woken" * doctest::timeout(30)) {
  Jobs j(1);
  Completions c(j.sync, j.all);
  std::shared_ptr<JobState> got;
  std::thread waiter([&] { got = c.next(std::nullopt); });
  std::this_thread::sleep_for(20ms);   // most likely asleep by now; either way it must get it
  j.finish(0);
  waiter.join();
  REQUIRE(got != nullptr);
  CHECK(got->id == 1);
}

TEST_CASE("client.completions.status_names") {
  JobState s;
  CHECK(std::string(status_name(s)) == "pending");
  s.phase = JobPhase::kRunning;
  CHECK(std::string(status_name(s)) == "running");
  s.done = true;
  CHECK(std::string(status_name(s)) == "finished");
  s.status = proto::JobStatus::kCancelled;
  CHECK(std::string(status_name(s)) == "cancelled");
  s.status = proto::JobStatus::kTimeout;
  CHECK(std::string(status_name(s)) == "failed");
}

}  // namespace
}  // namespace pp::client
