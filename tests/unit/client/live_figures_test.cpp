// Tests of LiveFigures, the counted part of the live figures: jobs per batch and per
// group by final status, bounded failures (cut texts) and output lines (the last ones of
// a long output), the group limit, and what a snapshot copy carries over.
#include "ppclient/src/live_figures.hpp"

#include <doctest/doctest.h>

#include <string>

namespace pp::client {
namespace {

using proto::JobStatus;

TEST_CASE("client.live_figures.counts_by_status_and_group") {
  LiveFigures f;
  for (int i = 0; i < 5; ++i) f.submitted("");
  for (int i = 0; i < 3; ++i) f.submitted("g");
  f.finished(JobStatus::kOk, "");
  f.finished(JobStatus::kOk, "g");
  f.finished(JobStatus::kLuaError, "g");
  f.finished(JobStatus::kCancelled, "");
  f.finished(JobStatus::kCrashed, "");
  CHECK(f.jobs().submitted == 8);
  CHECK(f.jobs().done == 2);
  CHECK(f.jobs().failed == 2);
  CHECK(f.jobs().cancelled == 1);
  CHECK(f.jobs().finished() == 5);
  CHECK(f.jobs().unfinished() == 3);

  LiveSnapshot s;
  s.jobs.retried = 4;   // the Dispatcher's, kept by copy_to
  s.jobs.held = 2;
  f.copy_to(s);
  CHECK(s.jobs.submitted == 8);
  CHECK(s.jobs.retried == 4);
  CHECK(s.jobs.held == 2);
  REQUIRE(s.groups.size() == 1);
  CHECK(s.groups[0].name == "g");
  CHECK(s.groups[0].jobs.submitted == 3);
  CHECK(s.groups[0].jobs.done == 1);
  CHECK(s.groups[0].jobs.failed == 1);
  CHECK(s.groups[0].jobs.unfinished() == 1);
}

TEST_CASE("client.live_figures.failures_are_the_last_ones_cut") {
  LiveFigures f;
  const std::string huge(LiveFigures::kTextLimit * 3, 'x');
  for (uint64_t id = 1; id <= LiveFigures::kFailureLimit + 5; ++id) {
    f.failure(id, "h:1", JobStatus::kLuaError, "boom " + std::to_string(id),
              id == LiveFigures::kFailureLimit + 5 ? huge : "tb", 1.5);
  }
  LiveSnapshot s;
  f.copy_to(s);
  REQUIRE(s.failures.size() == LiveFigures::kFailureLimit);
  CHECK(s.failures.front().job == 6);
  CHECK(s.failures.back().job == LiveFigures::kFailureLimit + 5);
  CHECK(s.failures.back().status == std::string("lua error"));
  CHECK(s.failures.back().node == "h:1");
  CHECK(s.failures.back().at == 1.5);
  CHECK(s.failures.back().traceback.size() < huge.size());
  CHECK(s.failures.back().traceback.find("[...]") != std::string::npos);
}

TEST_CASE("client.live_figures.output_keeps_the_last_lines") {
  LiveFigures f;
  f.output(1, "n", "one\ntwo\n");
  f.output(2, "n", "no newline");
  f.output(3, "n", "\n");
  LiveSnapshot s;
  f.copy_to(s);
  REQUIRE(s.output.size() == 4);
  CHECK(s.output[0].line == "one");
  CHECK(s.output[1].line == "two");
  CHECK(s.output[2].line == "no newline");
  CHECK(s.output[2].job == 2);
  CHECK(s.output[3].line == "");

  // A long output: only its last kOutputLimit lines, in order, the long line cut.
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "line " + std::to_string(i) + "\n";
  text += std::string(LiveFigures::kLineLimit * 2, 'y') + "\n";
  f.output(9, "m", text);
  f.copy_to(s);
  REQUIRE(s.output.size() == LiveFigures::kOutputLimit);
  CHECK(s.output.front().line == "line " + std::to_string(1000 - LiveFigures::kOutputLimit + 1));
  CHECK(s.output[s.output.size() - 2].line == "line 999");
  CHECK(s.output.back().line.size() < LiveFigures::kLineLimit * 2);
  CHECK(s.output.back().job == 9);
}

TEST_CASE("client.live_figures.groups_stay_bounded") {
  LiveFigures f;
  for (size_t i = 0; i < LiveFigures::kGroupLimit + 10; ++i) {
    f.submitted("g" + std::to_string(i));
    f.finished(JobStatus::kOk, "g" + std::to_string(i));
  }
  LiveSnapshot s;
  f.copy_to(s);
  CHECK(s.groups.size() == LiveFigures::kGroupLimit + 1);
  uint64_t total = 0;
  for (const auto& g : s.groups) total += g.jobs.done;
  CHECK(total == LiveFigures::kGroupLimit + 10);
  bool other = false;
  for (const auto& g : s.groups) other = other || (g.name == "(other)" && g.jobs.done == 10);
  CHECK(other);
}

TEST_CASE("client.live_figures.node_counts") {
  LiveSnapshot s;
  s.nodes.resize(4);
  s.nodes[0].state = NodeState::kWorking;
  s.nodes[1].state = NodeState::kIdle;
  s.nodes[2].state = NodeState::kLost;
  s.nodes[3].state = NodeState::kRefused;
  CHECK(s.nodes_connected() == 2);
  CHECK(s.nodes_working() == 1);
  CHECK(std::string(node_state_name(NodeState::kRefused)) == "refused");
}

}  // namespace
}  // namespace pp::client

namespace pp::client {
namespace {

// Three stages, 10 items: stage 2 drops items 3 and 7 (nil, passed on by stage 3) and
// fails item 5 (stage 3's job for it never runs); item 9 is cancelled before it ran.
TEST_CASE("client.live_figures.pipeline_stages_from_their_jobs") {
  LiveFigures f;
  const uint32_t id = f.add_pipeline({"gen", "filter", "out"});
  CHECK(id == 1);
  CHECK(f.add_pipeline({"other"}) == 2);
  for (uint32_t item = 1; item <= 10; ++item) {
    for (uint32_t k = 0; k < 3; ++k) f.stage_submitted(id, k, 100.0 + item);
  }
  double t = 110;
  for (uint32_t item = 1; item <= 10; ++item) {
    if (item == 9) {
      for (uint32_t k = 0; k < 3; ++k) f.stage_finished(id, k, JobStatus::kCancelled, false, 0, t);
      continue;
    }
    f.stage_finished(id, 0, JobStatus::kOk, false, 0.5, t += 1);
    if (item == 5) {
      f.stage_finished(id, 1, JobStatus::kLuaError, false, 0.25, t += 1);
      f.stage_finished(id, 2, JobStatus::kDependency, false, 0, t);
      continue;
    }
    const bool drop = item == 3 || item == 7;
    f.stage_finished(id, 1, JobStatus::kOk, drop, 2.0, t += 1);
    f.stage_finished(id, 2, JobStatus::kOk, drop, 0.1, t += 1);
  }
  f.stage_submitted(7, 0, 0);    // unknown pipeline or stage: not counted, no harm
  f.stage_finished(id, 3, JobStatus::kOk, false, 1, 0);
  const report::Pipeline p = f.pipeline(id);
  CHECK(p.name == "pipeline 1");
  CHECK(p.wall_seconds == doctest::Approx(t - 101));
  CHECK(p.items == 9);
  CHECK(p.dropped == 2);
  CHECK(p.failed == 1);
  REQUIRE(p.stages.size() == 3);
  CHECK(p.stages[0].name == "gen");
  CHECK(p.stages[0].items_in == 9);
  CHECK(p.stages[0].items_out == 9);
  CHECK(p.stages[0].runs == 9);
  CHECK(p.stages[1].items_in == 9);
  CHECK(p.stages[1].items_out == 6);
  CHECK(p.stages[1].dropped == 2);
  CHECK(p.stages[1].failed == 1);
  CHECK(p.stages[1].runs == 9);
  CHECK(p.stages[1].job_seconds == doctest::Approx(8 * 2.0 + 0.25));
  CHECK(p.stages[2].items_in == 6);
  CHECK(p.stages[2].items_out == 6);
  CHECK(p.stages[2].dropped == 0);   // the nils it passed on were stage 2's drops
  CHECK(p.stages[2].runs == 8);
  LiveSnapshot s;
  f.copy_to(s);
  REQUIRE(s.pipelines.size() == 2);
  CHECK(s.pipelines[0] == p);
  CHECK(s.pipelines[1].stages.size() == 1);
  CHECK(f.pipeline(99).stages.empty());
}

TEST_CASE("client.live_figures.pipelines_stay_bounded") {
  LiveFigures f;
  uint32_t last = 0;
  for (size_t i = 0; i < LiveFigures::kPipelineLimit + 5; ++i) last = f.add_pipeline({"s"});
  CHECK(f.pipelines().size() == LiveFigures::kPipelineLimit);
  CHECK(f.pipelines().back().name == "pipeline " + std::to_string(last));
  CHECK(f.pipeline(1).stages.empty());   // the oldest were forgotten
}

}  // namespace
}  // namespace pp::client
