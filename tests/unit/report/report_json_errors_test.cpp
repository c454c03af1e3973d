// The report reader's messages on nlohmann-json: where they point (line, column, key
// path), what a malformed value had to be, and the strictness added on top of the grammar.
#include "ppclient/report/report.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "tests/unit/report/report_sample.hpp"

using namespace pp::client::report;

namespace {

std::string error_of(const std::string& text) {
  auto r = from_json(text);
  return r ? std::string() : r.status().message();
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, from);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("report.json.errors: a wrong value deep in the document is found by line, column and path") {
  const std::string good = to_json(sample::hand_built());
  REQUIRE(error_of(good).empty());
  // The last execution's kind, on the document's second to last record line.
  size_t at = good.rfind("\"kind\": \"");
  REQUIRE(at != std::string::npos);
  std::string bad = good.substr(0, at) + "\"kind\": 7" + good.substr(good.find(',', at));
  size_t line = 1 + static_cast<size_t>(std::count(bad.begin(), bad.begin() + at, '\n'));
  size_t column = at - bad.rfind('\n', at) + 8;   // the value after `"kind": `
  auto r = from_json(bad);
  REQUIRE(!r.has_value());
  std::string expect = "report JSON, line " + std::to_string(line) + ", column " +
                       std::to_string(column) + " (at executions[" +
                       std::to_string(sample::hand_built().executions.size() - 1) +
                       "].kind): expected a string";
  CHECK(r.status().message() == expect);
}

TEST_CASE("report.json.errors: a malformed value is named by what the schema wanted there") {
  const std::string good = to_json(sample::hand_built());
  CHECK(error_of(replaced(good, "\"connected\": true", "\"connected\": yes"))
            .find("(at nodes[0].connected): expected true or false") != std::string::npos);
  CHECK(error_of(replaced(good, "\"host\": \"", "\"host\": '"))
            .find("(at nodes[0].host): expected a string") != std::string::npos);
  CHECK(error_of(replaced(good, "\"batch\": {", "\"batch\": {}, \"x\": {"))
            .find("missing key \"wall_seconds\"") != std::string::npos);
  CHECK(error_of(replaced(good, "\"version\": 1", "\"version\": 1, \"extra\": [1, +2]"))
            .find("(at extra[1]): expected a value") != std::string::npos);
}

TEST_CASE("report.json.errors: any key given twice is refused, known or not") {
  const std::string good = to_json(sample::hand_built());
  CHECK(error_of(replaced(good, "\"version\": 1", "\"version\": 1, \"x\": 1, \"x\": 2"))
            .find("duplicate key \"x\"") != std::string::npos);
  CHECK(error_of(replaced(good, "\"version\": 1", "\"version\": 1, \"x\": {}, \"y\": {}"))
            .empty());
}
