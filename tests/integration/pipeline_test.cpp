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
#include "ppclient/report/report.hpp"
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

// The contribution report lists every pipeline with its stages (one count with
// Pipeline::stats), and the bytes through the driver beside each node's.
TEST_CASE("integration.pipeline.report_lists_the_stages" * doctest::timeout(120)) {
  ServerProcess node({"-w", "2"}, kSecret);
  pp::Cluster cluster(pp::test::client_options({node.address()}, kSecret, 30s));
  pp::Pipeline three = cluster.pipeline({kTriple, kSquare, kMinusOne});
  std::vector<int> items;
  for (int i = 1; i <= 60; ++i) items.push_back(i);
  size_t outputs = 0;
  for (const pp::PipelineOutput& out : three.map(items, {.window = 8})) outputs += out.ok();
  CHECK(outputs == 48);
  pp::Pipeline two = cluster.pipeline({kTriple, kPickyAbout12});
  size_t failures = 0;
  for (const pp::PipelineOutput& out : two.map(std::vector<int>{1, 2, 3, 4, 5}, {.window = 2})) {
    failures += !out.ok();
  }
  CHECK(failures == 1);

  auto report = pp::client::report::from_json(cluster.report_json());
  REQUIRE_MESSAGE(report.has_value(), report.status().to_string());
  REQUIRE(report->pipelines.size() == 2);
  const auto& p = report->pipelines[0];
  CHECK(p.name == "pipeline 1");
  CHECK(p.items == 60);
  CHECK(p.dropped == 12);
  CHECK(p.failed == 0);
  CHECK(p.wall_seconds > 0);
  REQUIRE(p.stages.size() == 3);
  // Stage 2 drops the multiples of 5 among the tripled values: 12 of 60.
  const uint64_t in[] = {60, 60, 48}, out[] = {60, 48, 48}, dropped[] = {0, 12, 0};
  for (size_t k = 0; k < 3; ++k) {
    INFO("stage " << k + 1);
    CHECK(p.stages[k].items_in == in[k]);
    CHECK(p.stages[k].items_out == out[k]);
    CHECK(p.stages[k].dropped == dropped[k]);
    CHECK(p.stages[k].failed == 0);
    CHECK(p.stages[k].runs == 60);   // stage 3 ran for the dropped ones too (nil passed on)
    CHECK(p.stages[k].job_seconds > 0);
  }
  const auto& q = report->pipelines[1];
  REQUIRE(q.stages.size() == 2);
  CHECK(q.items == 5);
  CHECK(q.failed == 1);
  CHECK(q.stages[1].items_in == 5);
  CHECK(q.stages[1].items_out == 4);
  CHECK(q.stages[1].failed == 1);

  // pl.stats() reads the same figures.
  pp::PipelineStats s = three.stats();
  CHECK(s.items == p.items);
  REQUIRE(s.stages.size() == 3);
  CHECK(s.stages[1].dropped == 12);
  CHECK(s.stages[2].items_in == 48);

  // Through the driver: every node's bytes summed, in the table and the JSON.
  uint64_t sent = 0, received = 0;
  for (const auto& n : report->nodes) sent += n.bytes_sent, received += n.bytes_received;
  CHECK(report->batch.bytes_sent == sent);
  CHECK(report->batch.bytes_received == received);
  CHECK(sent > 0);
  const std::string table = pp::client::report::to_table(*report);
  INFO(table);
  CHECK(table.find("Through the driver: ") != std::string::npos);
  CHECK(table.find("pipeline 1: 60 items") != std::string::npos);
  CHECK(table.find("3 stage 3") != std::string::npos);
}
