// Integration: a kept value whose node dies is made again (lineage), on real nodes over
// TCP. A two-stage pipeline on two nodes, one killed with -9 while values of stage 1 wait
// there for stage 2: every item comes out once and right. A chain of futures whose holder
// dies before get(): both values are made again, in order, and a later dependent runs on
// the new copy. A value made again more often than its job's retries: lost for good,
// saying so.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <thread>
#include <vector>

#include "pp/cluster.hpp"
#include "pp/pipeline.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::test::ServerProcess;

constexpr char kSecret[] = "lineage-test-secret";
constexpr int kSize = 256 * 1024;   // kept on its node (a small value comes back inline)

// A string of n bytes whose last byte says which item made it.
const pp::Code kMake = pp::Code::lua(
    "function(n, tag) return string.rep('v', n - 1) .. string.char(65 + tag % 26) end");
const pp::Code kAppend = pp::Code::lua("function(s) return s .. 'Z' end");
const pp::Code kLength = pp::Code::lua("function(s) return #s .. ':' .. s:sub(-1) end");

pp::ClusterOptions options_for(std::vector<std::string> servers) {
  return pp::test::client_options(std::move(servers), kSecret, 30s);
}

uint64_t jobs_done(const pp::Cluster& cluster) {
  uint64_t n = 0;
  for (const auto& s : cluster.stats()) n += s.jobs;
  return n;
}

std::string expected(int size, int tag) {
  return std::to_string(size) + ":" + std::string(1, static_cast<char>(65 + tag % 26));
}

}  // namespace

TEST_CASE("integration.lineage.a_pipeline_loses_no_item_to_a_node_killed_mid_stage" *
          doctest::timeout(180)) {
  ServerProcess a({"-w", "2"}, kSecret);
  ServerProcess b({"-w", "2"}, kSecret);
  pp::Cluster cluster(options_for({a.address(), b.address()}));
  cluster.wait_for_workers(4);
  // Stage 2 is the slow one: values of stage 1 wait on their nodes for it.
  const pp::Code make = pp::Code::lua(
      "function(i) return string.rep('v', " + std::to_string(kSize - 1) +
      ") .. string.char(65 + i % 26) end");
  const pp::Code slow_length = pp::Code::lua(
      "function(s) local t = os.clock() while os.clock() - t < 0.1 do end "
      "return #s .. ':' .. s:sub(-1) end");
  pp::Pipeline pl = cluster.pipeline({make, slow_length});
  constexpr int kItems = 40;
  std::vector<int> items;
  for (int i = 0; i < kItems; ++i) items.push_back(i);
  std::map<uint64_t, int> seen;
  for (const pp::PipelineOutput& out : pl.map(items, {.window = 16})) {
    INFO(out.error());
    REQUIRE(out.ok());
    CHECK(out.get<std::string>() == expected(kSize, static_cast<int>(out.index() - 1)));
    if (seen.empty()) b.kill9();   // stage 1 has finished items there by now
    ++seen[out.index()];
  }
  CHECK(seen.size() == kItems);
  for (const auto& [index, times] : seen) {
    CAPTURE(index);
    CHECK(times == 1);   // every item once
  }
  // Each item's two jobs, and the values of stage 1 that were on b made again.
  const uint64_t done = jobs_done(cluster);
  MESSAGE("jobs done: ", done, " for ", 2 * kItems, " stage runs (the rest made values again)");
  CHECK(done > 2 * kItems);
  CHECK(cluster.submit(kLength, std::string("abc")).get<std::string>() == "3:c");
}

TEST_CASE("integration.lineage.a_chain_of_futures_whose_holder_died_is_made_again" *
          doctest::timeout(120)) {
  ServerProcess a({"-w", "2"}, kSecret);
  ServerProcess b({"-w", "2"}, kSecret);
  pp::Cluster cluster(options_for({a.address(), b.address()}));
  cluster.wait_for_workers(4);
  pp::SubmitOptions keep;
  keep.keep = true;
  pp::Job x = cluster.submit(keep, kMake, kSize, 3);
  pp::Job y = cluster.submit(keep, kAppend, x);   // made from x where x stayed
  y.wait();
  REQUIRE(y.status() == pp::JobStatus::kFinished);
  REQUIRE(y.node() == x.node());
  (x.node() == a.address() ? a : b).kill9();   // both values die with it, neither fetched
  pp::Job z = cluster.submit(kLength, y);
  CHECK(z.get<std::string>() == std::to_string(kSize + 1) + ":Z");
  CHECK(y.get<std::string>().size() == static_cast<size_t>(kSize + 1));
  const std::string xs = x.get<std::string>();
  CHECK(xs.size() == static_cast<size_t>(kSize));
  CHECK(xs.back() == 'D');
  // x, y, z, and x and y once more: nothing ran a third time.
  CHECK(jobs_done(cluster) == 5);
}

TEST_CASE("integration.lineage.a_value_made_again_past_its_budget_is_lost_saying_so" *
          doctest::timeout(120)) {
  std::vector<std::unique_ptr<ServerProcess>> nodes;
  std::vector<std::string> addresses;
  for (int i = 0; i < 3; ++i) {
    // -d: a kept value is logged ("data cache") at debug level.
    nodes.push_back(std::make_unique<ServerProcess>(std::vector<std::string>{"-w", "1", "-d"},
                                                    kSecret));
    addresses.push_back(nodes.back()->address());
  }
  pp::Cluster cluster(options_for(addresses));
  cluster.wait_for_workers(3);
  pp::SubmitOptions keep;
  keep.keep = true;
  keep.retries = 1;   // made again at most once
  pp::Job v = cluster.submit(keep, kMake, kSize, 5);
  v.wait();
  REQUIRE(v.status() == pp::JobStatus::kFinished);
  size_t holder = 0;
  while (addresses[holder] != v.node()) ++holder;
  nodes[holder]->kill9();
  // Made again on one of the other two: it keeps the value (its store logs it).
  size_t again = holder;
  for (int tries = 0; tries < 1000 && again == holder; ++tries) {
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (i != holder && nodes[i]->wait_for_log("data cache: 1 values", 10ms)) again = i;
    }
  }
  REQUIRE(again != holder);
  nodes[again]->kill9();
  const std::string lost = "died holding the value of job " + std::to_string(v.id()) +
                           "; made again 1 times";
  CHECK_THROWS_WITH_AS(v.get<std::string>(), doctest::Contains(lost.c_str()), pp::RemoteError);
  pp::Job user = cluster.submit(kLength, v);
  user.wait();
  CHECK(user.status() == pp::JobStatus::kFailed);
  CHECK_THROWS_WITH_AS(user.get<std::string>(), doctest::Contains(lost.c_str()), pp::RemoteError);
  CHECK(cluster.submit(kLength, std::string("abc")).get<std::string>() == "3:c");
}
