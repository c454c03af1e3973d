// /api/status and /api/stream: a LiveSnapshot as the page reads it. Every figure the page shows is
// there under its name; awkward text (invalid UTF-8, markup, control characters) and
// non-finite numbers still make valid JSON.
#include "ppclient/src/dashboard_json.hpp"

#include <doctest/doctest.h>

#include <limits>
#include <string>

#include <nlohmann/json.hpp>

namespace pp::client {
namespace {

using json = nlohmann::json;

LiveSnapshot sample() {
  LiveSnapshot s;
  s.serial = 7;
  s.elapsed = 2.5;
  s.jobs = {10, 6, 1, 1, 2, 0};
  s.groups.push_back({"stage one", {4, 3, 1, 0, 0, 0}});
  LiveNode& n = s.nodes.emplace_back();
  n.figures.node = "10.0.0.1:60000";
  n.figures.host = "alpha";
  n.figures.workers = 2;
  n.figures.speed_score = 3.5;
  n.figures.jobs = 6;
  n.figures.failures = 1;
  n.derived.share = 0.75;
  n.derived.relative_speed = 1;
  n.found = "broadcast";
  n.state = NodeState::kWorking;
  n.load = 0.25;
  n.version = "0.1.0";
  n.in_flight = 3;
  LiveNode& r = s.nodes.emplace_back();
  r.figures.node = "10.0.0.2:60000";
  r.state = NodeState::kRefused;
  r.reason = "incompatible: protocol 9";
  s.recent.push_back({4, 0, 1, 0.5, 0.75, report::Kind::kStolen, report::Fate::kWon});
  s.recent.push_back({5, 0, 0, 0.5, 0.8, report::Kind::kBackup, report::Fate::kLost});
  s.executions = 12;
  s.running.push_back({9, 0, 1, 2.0, report::Kind::kBackup});
  s.failures.push_back({3, "10.0.0.1:60000", "lua error", "boom", "stack traceback:\n\t[C]: in ?", 1.25});
  s.output.push_back({2, "10.0.0.1:60000", "hello <b>world</b>"});
  s.batch.wall_seconds = 2;
  s.batch.jobs = 7;
  s.batch.job_seconds = 5;
  return s;
}

TEST_CASE("dashboard.json: every figure of the snapshot under its name") {
  json j = json::parse(dashboard_json(sample(), false));
  CHECK(j["serial"] == 7);
  CHECK(j["final"] == false);
  CHECK(j["elapsed"] == 2.5);
  CHECK(j["jobs"]["submitted"] == 10);
  CHECK(j["jobs"]["finished"] == 8);
  CHECK(j["jobs"]["retried"] == 2);
  CHECK(j["groups"][0]["name"] == "stage one");
  CHECK(j["groups"][0]["done"] == 3);
  REQUIRE(j["nodes"].size() == 2);
  const json& n = j["nodes"][0];
  CHECK(n["name"] == "10.0.0.1:60000");
  CHECK(n["host"] == "alpha");
  CHECK(n["found"] == "broadcast");
  CHECK(n["state"] == "working");
  CHECK(n["workers"] == 2);
  CHECK(n["speed_score"] == 3.5);
  CHECK(n["relative_speed"] == 1.0);
  CHECK(n["share"] == 0.75);
  CHECK(n["load"] == 0.25);
  CHECK(n["in_flight"] == 3);
  CHECK(n["jobs_done"] == 6);
  CHECK(n["failures"] == 1);
  CHECK(j["nodes"][1]["state"] == "refused");
  CHECK(j["nodes"][1]["reason"] == "incompatible: protocol 9");
  CHECK(j["tasks"]["executions"] == 12);
  CHECK(j["tasks"]["running"] == 1);
  CHECK(!j["tasks"].contains("recent"));   // the runs are /api/stream's
  CHECK(j["failures"][0]["job"] == 3);
  CHECK(j["failures"][0]["node"] == "10.0.0.1:60000");
  CHECK(j["failures"][0]["traceback"] == "stack traceback:\n\t[C]: in ?");
  CHECK(j["output"][0]["line"] == "hello <b>world</b>");
  CHECK(j["batch"]["speedup"] == 2.5);
  CHECK(json::parse(dashboard_json(sample(), true))["final"] == true);
}

TEST_CASE("dashboard.json: awkward text and numbers still make valid JSON") {
  LiveSnapshot s = sample();
  s.output[0].line = std::string("bad \xFF\xC3 utf-8, nul \0 and \x1b[31m", 26);
  s.failures[0].error = "\"quoted\" \\ </script>";
  s.nodes[0].load = std::numeric_limits<double>::quiet_NaN();
  s.elapsed = std::numeric_limits<double>::infinity();
  std::string text = dashboard_json(s, false);
  json j = json::parse(text);   // throws (failing the test) if it were not valid
  CHECK(j["output"][0]["line"].get<std::string>().find("\xEF\xBF\xBD") != std::string::npos);
  CHECK(j["output"][0]["line"].get<std::string>().find(std::string(1, '\0')) != std::string::npos);
  CHECK(j["failures"][0]["error"] == "\"quoted\" \\ </script>");
  CHECK(j["nodes"][0]["load"] == 0.0);
  CHECK(j["elapsed"] == 0.0);
  CHECK(text.find('\x1b') == std::string::npos);   // control characters are escaped
}

TEST_CASE("dashboard.json: an empty snapshot (before the first job) is complete") {
  json j = json::parse(dashboard_json(LiveSnapshot{}, false));
  for (const char* key : {"serial", "elapsed", "final", "jobs", "groups", "nodes", "tasks",
                          "failures", "output", "batch"}) {
    CHECK_MESSAGE(j.contains(key), key);
  }
  CHECK(j["nodes"].is_array());
  CHECK(j["tasks"]["executions"] == 0);
  CHECK(j["batch"]["speedup"] == 0.0);
}

TEST_CASE("dashboard.stream: the runs after `since`, each once, and the running ones") {
  LiveSnapshot s = sample();   // runs 11 and 12 kept (s.recent), 12 in all
  json j = json::parse(dashboard_stream_json(s, 0, false));
  CHECK(j["seq"] == 12);
  CHECK(j["from"] == 11);
  CHECK(j["skipped"] == 10);   // runs 1..10 are no longer in the snapshot
  CHECK(j["columns"] == json::array({"job", "node", "worker", "start", "end", "kind", "fate"}));
  REQUIRE(j["ended"].size() == 2);
  CHECK(j["ended"][0] == json::array({4, 0, 1, 0.5, 0.75, "stolen", "won"}));
  CHECK(j["ended"][1][5] == "backup");
  CHECK(j["ended"][1][6] == "lost");
  CHECK(j["running_columns"] == json::array({"job", "node", "worker", "start", "kind"}));
  CHECK(j["running"] == json::array({json::array({9, 0, 1, 2.0, "backup"})}));
  CHECK(j["running_start"].get<std::string>().find("reckoned") != std::string::npos);
  CHECK(j["nodes"] == json::array({"10.0.0.1:60000", "10.0.0.2:60000"}));
  CHECK(j["final"] == false);

  j = json::parse(dashboard_stream_json(s, 11, false));   // the page saw run 11
  CHECK(j["from"] == 12);
  CHECK(j["skipped"] == 0);
  REQUIRE(j["ended"].size() == 1);
  CHECK(j["ended"][0][0] == 5);
  CHECK(j["running"].size() == 1);   // running copies come every time

  j = json::parse(dashboard_stream_json(s, 12, true));    // nothing new
  CHECK(j["ended"].empty());
  CHECK(j["skipped"] == 0);
  CHECK(j["final"] == true);

  j = json::parse(dashboard_stream_json(s, 40, false));   // a page of another driver
  CHECK(j["ended"].size() == 2);
  CHECK(j["from"] == 11);
}

TEST_CASE("dashboard.stream: an empty snapshot and a full one stay small") {
  json j = json::parse(dashboard_stream_json(LiveSnapshot{}, 0, false));
  CHECK(j["seq"] == 0);
  CHECK(j["ended"].empty());
  CHECK(j["running"].empty());
  CHECK(j["skipped"] == 0);
  LiveSnapshot s;
  s.executions = 1000000;   // a long batch: only what the snapshot holds is sent
  for (size_t i = 0; i < LiveFigures::kRecentExecutions; ++i) {
    s.recent.push_back({i, 0, 0, 1.0, 2.0, report::Kind::kNormal, report::Fate::kWon});
  }
  j = json::parse(dashboard_stream_json(s, 0, false));
  CHECK(j["ended"].size() == LiveFigures::kRecentExecutions);
  CHECK(j["from"] == 1000000 - LiveFigures::kRecentExecutions + 1);
  CHECK(j["skipped"] == 1000000 - LiveFigures::kRecentExecutions);
}

}  // namespace
}  // namespace pp::client

namespace pp::client {
namespace {

TEST_CASE("dashboard.json: pipelines with each stage's progress, and the driver's bytes") {
  LiveSnapshot s = sample();
  s.batch.bytes_sent = 4096;
  s.batch.bytes_received = 512;
  report::Pipeline p;
  p.name = "pipeline 1";
  p.wall_seconds = 2;
  p.items = 10;
  p.dropped = 2;
  p.stages = {{"generate", 20, 18, 2, 0, 18, 1.0}, {"square", 18, 10, 0, 0, 10, 3.0}};
  s.pipelines.push_back(p);
  json j = json::parse(dashboard_json(s, false));
  CHECK(j["batch"]["bytes_sent"] == 4096);
  CHECK(j["batch"]["bytes_received"] == 512);
  REQUIRE(j["pipelines"].size() == 1);
  const json& q = j["pipelines"][0];
  CHECK(q["name"] == "pipeline 1");
  CHECK(q["items"] == 10);
  REQUIRE(q["stages"].size() == 2);
  CHECK(q["stages"][0]["name"] == "generate");
  CHECK(q["stages"][0]["in_flight"] == 0);
  CHECK(q["stages"][1]["items_in"] == 18);
  CHECK(q["stages"][1]["items_out"] == 10);
  CHECK(q["stages"][1]["in_flight"] == 8);
  CHECK(q["stages"][1]["workers"] == 1.5);
  CHECK(q["stages"][1]["seconds_per_item"] == 0.3);
  CHECK(json::parse(dashboard_json(LiveSnapshot{}, false))["pipelines"].is_array());
}

}  // namespace
}  // namespace pp::client
