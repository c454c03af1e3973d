// Tests of the dependency table (ppclient/src/dependencies.hpp): a job waits for each
// edge once, gets its inputs' values sorted by id, fails (once) when an input fails,
// and a tree of 20,000 jobs settles every edge exactly once.
#include "ppclient/src/dependencies.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace pp::client {

TEST_CASE("dependencies.a_job_is_ready_when_its_last_input_finishes") {
  Dependencies d;
  d.hold(3);
  d.wait_for(3, 2, true);
  d.wait_for(3, 1, true);
  d.give(3, 0, "zero");        // finished before job 3 came
  CHECK(d.waiting(3));
  std::vector<uint64_t> ready;
  d.finished(2, "two", ready);
  CHECK(ready.empty());
  CHECK(d.waiting(3));
  d.finished(1, "one", ready);
  REQUIRE(ready == std::vector<uint64_t>{3});
  CHECK_FALSE(d.waiting(3));
  Dependencies::Values v = d.release(3);
  REQUIRE(v.size() == 3);
  CHECK(v[0] == std::pair<uint64_t, std::string>{0, "zero"});
  CHECK(v[1] == std::pair<uint64_t, std::string>{1, "one"});
  CHECK(v[2] == std::pair<uint64_t, std::string>{2, "two"});
  CHECK(d.held() == 0);
  CHECK(d.edges() == 0);
}

TEST_CASE("dependencies.after_edges_order_without_values") {
  Dependencies d;
  d.hold(5);
  d.wait_for(5, 4, false);
  std::vector<uint64_t> ready;
  d.finished(4, "ignored", ready);
  REQUIRE(ready == std::vector<uint64_t>{5});
  CHECK(d.release(5).empty());
}

TEST_CASE("dependencies.a_failed_input_fails_each_waiter_once") {
  Dependencies d;
  d.hold(3);
  d.wait_for(3, 1, true);
  d.wait_for(3, 1, true);       // referenced twice
  d.wait_for(3, 2, true);
  d.hold(4);
  d.wait_for(4, 1, false);
  std::vector<uint64_t> failing;
  d.failed(1, failing);
  CHECK(failing == std::vector<uint64_t>{3, 4});
  CHECK(d.held() == 0);
  // Input 2 finishing later finds nobody waiting any more.
  std::vector<uint64_t> ready;
  d.finished(2, "x", ready);
  CHECK(ready.empty());
  CHECK(d.edges() == 0);
}

TEST_CASE("dependencies.a_dropped_job_is_forgotten") {
  Dependencies d;
  d.hold(2);
  d.wait_for(2, 1, true);
  d.drop(2);
  std::vector<uint64_t> ready;
  d.finished(1, "x", ready);
  CHECK(ready.empty());
  CHECK(d.held() == 0);
}

TEST_CASE("dependencies.a_tree_of_twenty_thousand_jobs_settles_each_edge_once") {
  // Leaves 1..10000 are plain jobs; each pair of jobs gets a parent, up to one root.
  Dependencies d;
  std::vector<uint64_t> level;
  uint64_t next = 0;
  for (int i = 0; i < 10000; ++i) level.push_back(++next);
  size_t edges = 0;
  std::vector<std::pair<uint64_t, std::pair<uint64_t, uint64_t>>> parents;
  while (level.size() > 1) {
    std::vector<uint64_t> up;
    for (size_t i = 0; i + 1 < level.size(); i += 2) {
      uint64_t p = ++next;
      d.hold(p);
      d.wait_for(p, level[i], true);
      d.wait_for(p, level[i + 1], true);
      edges += 2;
      parents.push_back({p, {level[i], level[i + 1]}});
      up.push_back(p);
    }
    if (level.size() % 2 == 1) up.push_back(level.back());
    level = std::move(up);
  }
  CHECK(d.edges() == edges);
  CHECK(d.held() == 9999);
  // Finish every job in id order, each value being the sum of its inputs' values.
  std::vector<uint64_t> value(next + 1, 0);
  for (uint64_t leaf = 1; leaf <= 10000; ++leaf) value[leaf] = leaf;
  std::vector<uint64_t> ready;
  uint64_t released = 0;
  for (uint64_t id = 1; id <= next; ++id) {
    if (id > 10000) {
      REQUIRE_FALSE(d.waiting(id));
      auto v = d.release(id);
      REQUIRE(v.size() == 2);
      value[id] = std::stoull(v[0].second) + std::stoull(v[1].second);
      ++released;
    }
    d.finished(id, std::to_string(value[id]), ready);
  }
  CHECK(released == 9999);
  CHECK(ready.size() == 9999);
  CHECK(value[next] == 10000ULL * 10001 / 2);
  CHECK(d.held() == 0);
  CHECK(d.edges() == 0);
}

}  // namespace pp::client
