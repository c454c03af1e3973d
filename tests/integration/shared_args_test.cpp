// Integration: scattered values (pp::Shared) on the worker side and through the C++
// calls that take many arguments at once. A released value leaves the worker itself,
// not only the node's store (a job sees it gone: a weak reference to it is cleared and
// the worker's Lua heap shrinks); Cluster::map hands every item's job the shared value,
// given as a trailing argument or inside the items; Cluster::run takes one too.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "pp/cluster.hpp"
#include "pp/shared.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::test::ServerProcess;

constexpr char kSecret[] = "shared-args-test-secret";

pp::ClusterOptions options_for(std::vector<std::string> servers) {
  return pp::test::client_options(std::move(servers), kSecret, 30s);
}

// Keeps a weak reference to the value in worker.state (it does not hold the value).
const pp::Code kKeepWeak = pp::Code::lua(R"(function(t)
  worker.state.weak = setmetatable({ t }, { __mode = 'v' })
  return #t
end)");
// After full collections: whether the weak reference still finds the value, and the
// worker's Lua heap in KiB.
const pp::Code kStillThere = pp::Code::lua(R"(function()
  collectgarbage('collect')
  collectgarbage('collect')
  local w = worker.state.weak
  return { w ~= nil and w[1] ~= nil, collectgarbage('count') }
end)");

}  // namespace

TEST_CASE("integration.shared.a_released_value_leaves_the_worker" * doctest::timeout(120)) {
  // One worker: every job sees the same one; -d: releases are logged at debug level.
  ServerProcess node({"-w", "1", "-d"}, kSecret);
  pp::Cluster cluster(options_for({node.address()}));
  cluster.wait_for_workers(1);
  pp::Shared shared = cluster.scatter(std::vector<int>(500'000, 7));
  CHECK(cluster.submit(kKeepWeak, shared).get<int>() == 500'000);

  // Held: the worker keeps its decoded value between jobs (the check can fail).
  auto held = cluster.submit(kStillThere).get<std::tuple<bool, double>>();
  CHECK(std::get<0>(held));
  CHECK(node.count_in_log("data cache: 0 values") == 0);

  shared.release();
  REQUIRE(node.wait_for_log("data cache: 0 values, 0 of", 10s));
  auto gone = cluster.submit(kStillThere).get<std::tuple<bool, double>>();
  CHECK_FALSE(std::get<0>(gone));
  // 500,000 numbers are at least 4 MB of Lua array: the heap lost them.
  INFO("Lua heap held " << std::get<1>(held) << " KiB, after release " << std::get<1>(gone));
  CHECK(std::get<1>(held) - std::get<1>(gone) > 3000);
}

TEST_CASE("integration.shared.map_hands_each_item_the_shared_value" * doctest::timeout(120)) {
  ServerProcess a({"-w", "2"}, kSecret), b({"-w", "2"}, kSecret);
  pp::Cluster cluster(options_for({a.address(), b.address()}));
  cluster.wait_for_workers(4);
  std::vector<int> table(100'000);
  for (size_t i = 0; i < table.size(); ++i) table[i] = static_cast<int>(i) * 3;
  pp::Shared shared = cluster.scatter(table);
  std::vector<int> items;
  for (int i = 1; i <= 200; ++i) items.push_back(i);

  SUBCASE("as a trailing argument of every item's job") {
    auto pick = pp::Code::lua("function(i, t) return t[i] + #t end");
    std::vector<int> out = cluster.map<int>(pick, items, shared);
    REQUIRE(out.size() == items.size());
    for (size_t k = 0; k < items.size(); ++k) CHECK(out[k] == (items[k] - 1) * 3 + 100'000);
    // Sent once to each node that ran a job, not once a job.
    for (const auto& s : cluster.stats()) {
      if (s.jobs > 0) CHECK(s.bytes_sent < shared.size() * 12 / 10 + 200 * 1024);
    }
  }
  SUBCASE("inside the items") {
    std::vector<std::tuple<int, pp::Shared>> pairs;
    for (int i : items) pairs.emplace_back(i, shared);
    auto pick = pp::Code::lua("function(p) return p[2][p[1]] end");
    std::vector<int> out = cluster.map<int>(pick, pairs);
    REQUIRE(out.size() == items.size());
    for (size_t k = 0; k < items.size(); ++k) CHECK(out[k] == (items[k] - 1) * 3);
  }
  SUBCASE("items that are jobs still wait for them, with a shared value beside") {
    auto twice = pp::Code::lua("function(x) return 2 * x end");
    std::vector<pp::Job> firsts;
    for (int i = 1; i <= 5; ++i) firsts.push_back(cluster.submit(twice, i));
    auto pick = pp::Code::lua("function(x, t) return t[x] end");
    std::vector<int> out = cluster.map<int>(pick, firsts, shared);
    for (int i = 1; i <= 5; ++i) CHECK(out[i - 1] == (2 * i - 1) * 3);
  }
  SUBCASE("run on every worker with it") {
    auto size = pp::Code::lua("function(t) return #t end");
    std::map<std::string, int> sizes = cluster.run<int>(size, shared);
    CHECK(sizes.size() == 4);
    for (const auto& [id, n] : sizes) CHECK(n == 100'000);
  }
}
