// RunningJobs: the driver's reckoning of which copies run now, where and since when.
#include "ppclient/src/running_jobs.hpp"

#include <doctest/doctest.h>

#include <vector>

namespace pp::client {
namespace {

using report::Kind;

RunningJob at(uint64_t job, uint32_t node, uint32_t worker, double start,
              Kind kind = Kind::kNormal) {
  return RunningJob{job, node, worker, start, kind};
}

TEST_CASE("client.running: free slots start at the send, the rest when a slot frees") {
  RunningJobs r;
  r.enable();
  r.add_node(0, 2);
  r.sent(0, 1, Kind::kNormal, 1.0);
  r.sent(0, 2, Kind::kNormal, 1.0);
  r.sent(0, 3, Kind::kNormal, 1.0);   // both workers busy: it waits on the node
  CHECK(r.running() == std::vector<RunningJob>{at(1, 0, 0, 1.0), at(2, 0, 1, 1.0)});
  CHECK(r.waiting(0) == 1);
  r.ended(0, 1, 0, 2.5);              // worker 0 is free: job 3 starts there, then
  CHECK(r.running() == std::vector<RunningJob>{at(3, 0, 0, 2.5), at(2, 0, 1, 1.0)});
  CHECK(r.waiting(0) == 0);
  r.ended(0, 2, 1, 3.0);
  r.ended(0, 3, 0, 3.5);
  CHECK(r.running().empty());
}

TEST_CASE("client.running: a RESULT's worker corrects the reckoning") {
  RunningJobs r;
  r.enable();
  r.add_node(0, 2);
  r.sent(0, 1, Kind::kNormal, 1.0);   // reckoned on slot 0
  r.sent(0, 2, Kind::kNormal, 1.2);   // reckoned on slot 1
  r.sent(0, 3, Kind::kNormal, 1.4);
  // Job 1 ran on worker 1: job 2 was on worker 0 (keeping its start), and worker 1,
  // the free one, takes the next job.
  r.ended(0, 1, 1, 2.0);
  CHECK(r.running() == std::vector<RunningJob>{at(2, 0, 0, 1.2), at(3, 0, 1, 2.0)});
}

TEST_CASE("client.running: cancelled, taken back, nodes gone; kinds kept; unknown ignored") {
  RunningJobs r;
  r.enable();
  r.add_node(0, 1);
  r.add_node(1, 1);
  r.sent(0, 1, Kind::kNormal, 0.0);
  r.sent(0, 2, Kind::kNormal, 0.0);   // waits
  r.sent(1, 1, Kind::kBackup, 0.5);   // a backup copy of job 1 on node 1
  r.ended(0, 2, -1, 0.7);             // stolen back before it started
  CHECK(r.waiting(0) == 0);
  CHECK(r.running() == std::vector<RunningJob>{at(1, 0, 0, 0.0), at(1, 1, 0, 0.5, Kind::kBackup)});
  r.ended(1, 1, 0, 0.9);              // the backup won; the original is cancelled
  r.ended(0, 1, -1, 0.9);
  CHECK(r.running().empty());
  r.ended(0, 1, 0, 1.0);              // its late answer: nothing to end
  r.ended(7, 1, 0, 1.0);              // a node never added
  r.sent(0, 5, Kind::kStolen, 1.1);
  r.sent(0, 6, Kind::kNormal, 1.1);
  r.node_gone(0);
  CHECK(r.running().empty());
  CHECK(r.waiting(0) == 0);
  r.sent(0, 8, Kind::kNormal, 2.0);   // a gone node takes nothing
  CHECK(r.running().empty());
}

TEST_CASE("client.running: answers out of send order (many jobs per worker) keep it right") {
  RunningJobs r;
  r.enable();
  r.add_node(0, 1);
  // A node running short jobs many per worker answers jobs the reckoning has waiting.
  for (uint64_t id = 1; id <= 100000; ++id) {
    r.sent(0, id, Kind::kNormal, 0.0);
    if (id > 2) r.ended(0, id - 1, 0, 0.0);
  }
  CHECK(r.running().size() == 1);
  CHECK(r.running()[0].job == 1);
  CHECK(r.waiting(0) == 1);           // job 100000
  r.ended(0, 1, 0, 1.0);
  CHECK(r.running() == std::vector<RunningJob>{at(100000, 0, 0, 1.0)});
}

TEST_CASE("client.running: off until enabled") {
  RunningJobs r;
  r.add_node(0, 2);
  r.sent(0, 1, Kind::kNormal, 1.0);
  CHECK(r.running().empty());
  r.enable();
  r.sent(0, 2, Kind::kNormal, 2.0);
  r.ended(0, 1, 0, 2.5);   // sent while off: unknown, ignored
  CHECK(r.running() == std::vector<RunningJob>{at(2, 0, 0, 2.0)});
}

}  // namespace
}  // namespace pp::client
