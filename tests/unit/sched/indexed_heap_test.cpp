// Tests of IndexedHeap: the smallest (key, id) on top, ties to the smaller id, and random
// inserts, moves and removals checked against an ordered set after every step.
#include "core/sched/indexed_heap.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <utility>
#include <vector>

namespace pp::sched {
namespace {

TEST_CASE("sched.indexed_heap.order_and_ties") {
  IndexedHeap h;
  CHECK(h.empty());
  h.set(7, 0.5);
  h.set(3, 0.5);
  h.set(9, 0.1);
  CHECK(h.size() == 3);
  CHECK(h.top() == 9);
  CHECK(h.top_key() == 0.1);
  h.erase(9);
  CHECK(h.top() == 3);   // equal keys: the smaller id
  h.set(3, 2.0);         // moved down
  CHECK(h.top() == 7);
  h.set(7, 3.0);
  CHECK(h.top() == 3);
  h.set(7, -1.0);        // moved up
  CHECK(h.top() == 7);
  CHECK(h.key(3) == 2.0);
  h.erase(42);           // never there: no effect
  h.erase(7);
  h.erase(7);
  CHECK(h.size() == 1);
  CHECK_FALSE(h.contains(7));
  CHECK(h.contains(3));
  h.erase(3);
  CHECK(h.empty());
  h.set(0, 1.0);         // ids can come back
  CHECK(h.top() == 0);
}

TEST_CASE("sched.indexed_heap.random_against_a_set") {
  std::mt19937 rng(5);
  IndexedHeap h;
  std::set<std::pair<double, uint32_t>> ref;
  std::vector<double> key(200, -1);   // -1: absent
  for (int step = 0; step < 200000; ++step) {
    const uint32_t id = rng() % 200;
    if (rng() % 3 == 0) {
      if (key[id] >= 0) ref.erase({key[id], id});
      key[id] = -1;
      h.erase(id);
    } else {
      const double k = static_cast<double>(rng() % 50);  // few distinct keys: many ties
      if (key[id] >= 0) ref.erase({key[id], id});
      key[id] = k;
      ref.insert({k, id});
      h.set(id, k);
    }
    REQUIRE(h.size() == ref.size());
    REQUIRE(h.contains(id) == (key[id] >= 0));
    if (!ref.empty()) {
      REQUIRE(h.top() == ref.begin()->second);
      REQUIRE(h.top_key() == ref.begin()->first);
    }
  }
  std::vector<uint32_t> held(h.ids().begin(), h.ids().end());
  std::sort(held.begin(), held.end());
  std::vector<uint32_t> want;
  for (const auto& [k, id] : ref) want.push_back(id);
  std::sort(want.begin(), want.end());
  CHECK(held == want);
}

}  // namespace
}  // namespace pp::sched
