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
