// JobTable: records by dense id, in chunks freed as their last record goes, so a long
// stream holds only the chunks of its unfinished jobs.
#include "core/sched/job_table.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace pp::sched {
namespace {

constexpr uint64_t kChunk = JobTable<int>::kChunk;

TEST_CASE("sched.job_table.records_by_id") {
  JobTable<std::string> t;
  t.emplace(1, "one");
  t.emplace(2, "two");
  t.emplace(5, "five");   // 3 and 4 skipped: never present
  CHECK(t.size() == 3);
  REQUIRE(t.find(2) != nullptr);
  CHECK(*t.find(2) == "two");
  CHECK(*t.find(5) == "five");
  CHECK(t.find(3) == nullptr);
  CHECK(t.find(0) == nullptr);
  CHECK(t.find(6) == nullptr);
  CHECK(t.find(UINT64_MAX) == nullptr);
  CHECK(t.erase(2));
  CHECK_FALSE(t.erase(2));
  CHECK_FALSE(t.erase(4));
  CHECK(t.find(2) == nullptr);
  CHECK(t.size() == 2);
  std::vector<uint64_t> seen;
  t.for_each([&](uint64_t id, std::string& s) {
    seen.push_back(id);
    s += "!";
  });
  CHECK(seen == std::vector<uint64_t>{1, 5});
  CHECK(*t.find(1) == "one!");
  CHECK_THROWS_AS(t.emplace(5, "again"), std::invalid_argument);
  CHECK_THROWS_AS(t.emplace(3, "back"), std::invalid_argument);
  CHECK(*t.find(5) == "five!");
}

TEST_CASE("sched.job_table.records_are_destroyed") {
  auto probe = std::make_shared<int>(0);
  {
    JobTable<std::shared_ptr<int>> t;
    for (uint64_t id = 1; id <= 3 * kChunk; ++id) t.emplace(id, probe);
    CHECK(probe.use_count() == static_cast<long>(3 * kChunk + 1));
    for (uint64_t id = 1; id <= kChunk; ++id) t.erase(id);
    CHECK(probe.use_count() == static_cast<long>(2 * kChunk + 1));
  }
  CHECK(probe.use_count() == 1);   // the rest went with the table
}

TEST_CASE("sched.job_table.a_stream_holds_only_its_unfinished_chunks") {
  // A straggler (id 1) stays while a million more flow through 100 at a time: the table
  // holds the straggler's chunk and the one or two of the window, never more.
  JobTable<uint64_t> t;
  t.emplace(1, 1);
  uint64_t next = 2, oldest = 2;
  size_t most = 0;
  while (next <= 1000000) {
    while (next - oldest < 100) {
      t.emplace(next, next);
      ++next;
    }
    REQUIRE(*t.find(oldest) == oldest);
    t.erase(oldest++);
    most = std::max(most, t.chunks());
  }
  CHECK(most <= 3);
  CHECK(t.size() == 1 + (next - oldest));
  CHECK(*t.find(1) == 1);
  while (oldest < next) t.erase(oldest++);
  CHECK(t.erase(1));
  CHECK(t.size() == 0);
  CHECK(t.chunks() <= 1);   // the chunk the next id lands in may stay
  t.emplace(next, 7);       // and ids go on from there
  CHECK(*t.find(next) == 7);
}

TEST_CASE("sched.job_table.one_at_a_time_stays_flat") {
  // Each job done before the next: a chunk empties while later ids could still land in
  // it, and is freed when the ids move on.
  JobTable<int> t;
  for (uint64_t id = 1; id <= 10 * kChunk; ++id) {
    t.emplace(id, 1);
    CHECK(t.chunks() == 1);
    t.erase(id);
  }
  CHECK(t.chunks() <= 1);
}

TEST_CASE("sched.job_table.skipped_chunks_cost_nothing") {
  // Jobs settled at submit (a journal's) never enter: a million skipped ids hold no chunk.
  JobTable<int> t;
  t.emplace(1000000, 1);
  CHECK(t.chunks() == 1);
  CHECK(t.find(999999) == nullptr);
  CHECK(t.find(1) == nullptr);
}

}  // namespace
}  // namespace pp::sched
