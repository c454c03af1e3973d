// The report's pipelines and the bytes through the driver: JSON round trips (and older
// reports without them still read), the stages' derived figures, the text table and
// the HTML page naming them.
#include <doctest/doctest.h>

#include <string>

#include "ppclient/report/report.hpp"
#include "tests/unit/report/report_sample.hpp"

using namespace pp::client::report;

namespace {

// Three stages, 200 items in 4 s: the second drops 20 (nil) and fails one.
Pipeline three_stages() {
  Pipeline p;
  p.name = "pipeline 1";
  p.wall_seconds = 4.0;
  p.items = 200;
  p.dropped = 20;
  p.failed = 1;
  p.stages = {{"add_one", 200, 200, 0, 0, 200, 0.5},
              {"double \"unless\" tenth", 200, 179, 20, 1, 200, 12.0},
              {"minus_one", 179, 179, 0, 0, 179, 0.25}};
  return p;
}

Report with_pipelines() {
  Report r = sample::hand_built();
  r.batch.bytes_sent = 21'000'000;
  r.batch.bytes_received = 1'234'567;
  r.pipelines = {three_stages(), Pipeline{"pipeline 2", 0, 0, 0, 0, {{"only", 0, 0, 0, 0, 0, 0}}}};
  return r;
}

std::string without(std::string text, const std::string& part) {
  size_t at = text.find(part);
  REQUIRE_MESSAGE(at != std::string::npos, part);
  return text.erase(at, part.size());
}

}  // namespace

TEST_CASE("report.pipelines: stages and the bytes through the driver round trip in JSON") {
  const Report r = with_pipelines();
  const std::string text = to_json(r);
  CHECK(text.find("\"bytes_sent\": 21000000, \"bytes_received\": 1234567") != std::string::npos);
  CHECK(text.find("\"name\": \"pipeline 1\"") != std::string::npos);
  CHECK(text.find("\"items_in\": 200, \"items_out\": 179, \"dropped\": 20, \"failed\": 1") !=
        std::string::npos);
  auto back = from_json(text);
  REQUIRE_MESSAGE(back.has_value(), back.status().to_string());
  CHECK(*back == r);
  CHECK(to_json(*back) == text);
}

TEST_CASE("report.pipelines: an older report without pipelines or driver bytes still reads") {
  Report r = sample::hand_built();
  std::string text = to_json(r);
  text = without(text, ",\n  \"pipelines\": []");
  text = without(text, ", \"bytes_sent\": 0, \"bytes_received\": 0");
  auto back = from_json(text);
  REQUIRE_MESSAGE(back.has_value(), back.status().to_string());
  CHECK(back->pipelines.empty());
  CHECK(back->batch.bytes_sent == 0);
  CHECK(*back == r);
}

TEST_CASE("report.pipelines: a malformed stage is refused with where it is") {
  std::string text = to_json(with_pipelines());
  const std::string bad = [&] {
    std::string t = text;
    size_t at = t.find("\"items_out\": 179");
    REQUIRE(at != std::string::npos);
    return t.replace(at, 16, "\"items_out\": -3");
  }();
  auto back = from_json(bad);
  REQUIRE_FALSE(back.has_value());
  CHECK(back.status().message().find("pipelines[0].stages[1].items_out") != std::string::npos);
  auto missing = from_json(without(text, "\"runs\": 179, "));
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.status().message().find("missing key \"runs\"") != std::string::npos);
}

TEST_CASE("report.pipelines: a stage's items/s, time per item and share of the workers") {
  const Pipeline p = three_stages();
  StageDerived slow = derive(p, 1);
  CHECK(slow.items_per_second == doctest::Approx(50.0));   // 200 runs in 4 s
  CHECK(slow.seconds_per_item == doctest::Approx(0.06));   // 12 s over 200 runs
  CHECK(slow.workers == doctest::Approx(3.0));             // 12 s of run time in 4 s
  CHECK(derive(p, 0).workers == doctest::Approx(0.125));
  StageDerived none = derive(p, 3);
  CHECK(none.items_per_second == 0);
  CHECK(derive(Pipeline{"empty", 0, 0, 0, 0, {{"s", 0, 0, 0, 0, 0, 0}}}, 0).seconds_per_item == 0);
}

TEST_CASE("report.pipelines: the table and the page show every stage and the driver's bytes") {
  const Report r = with_pipelines();
  const std::string table = to_table(r);
  INFO(table);
  CHECK(table.find("Through the driver: 20.0 MiB sent to nodes, 1.2 MiB received from them") !=
        std::string::npos);
  CHECK(table.find("per node, sent / received: local 0 B / 0 B;") != std::string::npos);
  CHECK(table.find("pipeline 1: 200 items in 4.00 s (50.0 items/s), 20 dropped, 1 failed") !=
        std::string::npos);
  CHECK(table.find("1 add_one") != std::string::npos);
  CHECK(table.find("2 double \"unless\" tenth") != std::string::npos);
  CHECK(table.find("3 minus_one") != std::string::npos);
  CHECK(table.find("3.00\n") != std::string::npos);   // the slow stage's workers
  const std::string html = to_html(r);
  CHECK(html.find("<h2>Pipelines</h2>") != std::string::npos);
  CHECK(html.find("2 double &quot;unless&quot; tenth") != std::string::npos);
  CHECK(html.find("20.0 MiB / 1.2 MiB") != std::string::npos);
  CHECK(to_table(sample::hand_built()).find("pipeline") == std::string::npos);
  CHECK(to_html(sample::hand_built()).find("Pipelines") == std::string::npos);
}

TEST_CASE("report.pipelines: control characters in stage names cannot break the table") {
  Report r;
  Pipeline p = three_stages();
  p.name = "evil\nname";
  p.stages[0].name = "bell\a\x1b[2J";
  r.pipelines = {p};
  const std::string table = to_table(r);
  CHECK(table.find('\a') == std::string::npos);
  CHECK(table.find('\x1b') == std::string::npos);
  CHECK(table.find("evil?name") != std::string::npos);
}
