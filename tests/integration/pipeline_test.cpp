// Integration: Cluster::pipeline against a real ppserver over TCP: three stages in input
// order with dropped items, an endless range stopped by a break (then cancel), outputs
// as they finish, a stage error as an output and with OnError::kStop, and the stats.
#include <doctest/doctest.h>

#include <chrono>
#include <ranges>
#include <set>
#include <string>
#include <vector>

#include "pp/cluster.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::test::ServerProcess;

constexpr char kSecret[] = "pipeline-test-secret";

const pp::Code kTriple = pp::Code::lua("function(x) return x * 3 end");
// Drops multiples of 5 (of the tripled value).
const pp::Code kSquare = pp::Code::lua(
    "function(x) if x % 5 == 0 then return nil end return x * x end");
const pp::Code kMinusOne = pp::Code::lua("function(x) return x - 1 end");
const pp::Code kPickyAbout12 = pp::Code::lua(
    "function(x) if x == 12 then error('twelve is not allowed') end return x end");

}  // namespace

TEST_CASE("integration.pipeline.stages_in_order_dropped_items_and_stats" * doctest::timeout(120)) {
  ServerProcess node({"-w", "2"}, kSecret);
  pp::Cluster cluster(pp::test::client_options({node.address()}, kSecret, 30s));
  pp::Pipeline pl = cluster.pipeline({kTriple, kSquare, kMinusOne});
  std::vector<int> items;
  for (int i = 1; i <= 60; ++i) items.push_back(i);
  std::vector<std::pair<uint64_t, long>> got;
  for (const pp::PipelineOutput& out : pl.map(items, {.window = 8})) {
    REQUIRE(out.ok());
    got.emplace_back(out.index(), out.get<long>());
  }
  std::vector<std::pair<uint64_t, long>> want;
  for (int i = 1; i <= 60; ++i) {
    if ((3 * i) % 5 != 0) want.emplace_back(i, 9L * i * i - 1);
  }
  CHECK(got == want);
  pp::PipelineStats s = pl.stats();
  CHECK(s.items == 60);
  CHECK(s.dropped == 12);
  CHECK(s.failed == 0);
  REQUIRE(s.stages.size() == 3);
  CHECK(s.stages[2].runs == 60);

  SUBCASE("an endless range, as they finish, stopped by a break") {
    std::set<uint64_t> seen;
    for (const pp::PipelineOutput& out :
         pl.map(std::views::iota(1), {.ordered = false, .window = 16})) {
      CHECK(out.get<long>() == 9L * static_cast<long>(out.index() * out.index()) - 1);
      seen.insert(out.index());
      if (seen.size() == 200) break;
    }
    CHECK(seen.size() == 200);
    CHECK(pl.cancel() <= 16);   // no more than the window was in flight
  }
}

TEST_CASE("integration.pipeline.stage_errors" * doctest::timeout(120)) {
  ServerProcess node({"-w", "2"}, kSecret);
  pp::Cluster cluster(pp::test::client_options({node.address()}, kSecret, 30s));
  pp::Pipeline pl = cluster.pipeline({kTriple, kPickyAbout12, kMinusOne});
  const std::vector<int> items{1, 2, 3, 4, 5, 6};
  int ok = 0, failed = 0;
  for (const pp::PipelineOutput& out : pl.map(items, {.window = 2})) {
    if (out.ok()) {
      ++ok;
      continue;
    }
    ++failed;
    CHECK(out.index() == 4);
    CHECK(out.failed_stage() == 2);
    CHECK_THROWS_WITH_AS(out.get<long>(), doctest::Contains("stage 2 of item 4: "),
                         pp::PipelineError);
    CHECK(out.error().find("twelve is not allowed") != std::string::npos);
  }
  CHECK(ok == 5);
  CHECK(failed == 1);
  int before = 0;
  try {
    for (const pp::PipelineOutput& out :
         pl.map(items, {.window = 2, .on_error = pp::MapOptions::OnError::kStop})) {
      CHECK(out.ok());
      ++before;
    }
    FAIL("kStop did not throw");
  } catch (const pp::PipelineError& e) {
    CHECK(e.stage() == 2);
    CHECK(e.item() == 4);
  }
  CHECK(before == 3);
}
