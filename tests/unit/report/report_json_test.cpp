// The report's JSON: exact round trips (awkward names, extreme numbers) and a reader
// that refuses malformed or hostile input with a clear message and never crashes.
#include "ppclient/report/report.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "tests/unit/report/report_sample.hpp"

using namespace pp::client::report;

namespace {

// `text` with the first `from` replaced by `to` (which must be there).
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, from);
  return text.replace(at, from.size(), to);
}

// The reader's verdict on `text`: "" if it was accepted, else the error message.
std::string error_of(const std::string& text) {
  auto r = from_json(text);
  return r ? std::string() : r.status().message();
}

Report small() {
  Report r;
  r.batch = {2.5, 2, 1.25, 0, 1};
  r.nodes.push_back({"local", "alpha", 4, 1.0, true, 2, 0, 0, 1.25, 1.5, 2.0, 0, 0, 0, 1, 0});
  r.executions = {{1, 0, 2, 0.0, 0.5, Kind::kNormal, Fate::kWon},
                  {2, 0, 3, 0.1, 0.85, Kind::kBackup, Fate::kLost}};
  return r;
}

}  // namespace

TEST_CASE("report.json: round trip of the hand-built and the simulated reports") {
  for (const Report& r : {sample::hand_built(), sample::simulated(300), Report{}}) {
    std::string text = to_json(r);
    auto back = from_json(text);
    REQUIRE_MESSAGE(back.has_value(), back.status().to_string());
    CHECK(*back == r);
    CHECK(to_json(*back) == text);
  }
}

TEST_CASE("report.json: awkward names survive exactly") {
  Report r = sample::hand_built();
  r.nodes[0].node = "quote\" backslash\\ slash/ <a&\"b>";
  static const char kControls[] = "nul\0inside\x01\x1F\x7F tab\t nl\n cr\r";
  r.nodes[0].host = std::string(kControls, sizeof kControls - 1);
  r.nodes[1].node = "\xC3\xBCn\xC3\xAF" "c\xC3\xB6" "d\xC3\xA9 "   // "ünïcödé "
                    "\xE6\x9D\xB1\xE4\xBA\xAC \xF0\x9F\x9A\x80";         // "東京 🚀"
  r.nodes[1].host = "";
  r.nodes[2].host = "\xEF\xBF\xBE\xEF\xBF\xBF U+2028:\xE2\x80\xA8";
  std::string text = to_json(r);
  CHECK(text.find(std::string(1, '\0')) == std::string::npos);
  CHECK(text.find('\x01') == std::string::npos);
  CHECK(text.find("\\u0000") != std::string::npos);
  CHECK(text.find("\\u007f") != std::string::npos);
  auto back = from_json(text);
  REQUIRE_MESSAGE(back.has_value(), back.status().to_string());
  CHECK(back->nodes[0].node == r.nodes[0].node);
  CHECK(back->nodes[0].host == r.nodes[0].host);
  CHECK(*back == r);
}

TEST_CASE("report.json: invalid UTF-8 and non-finite numbers are written as documented") {
  Report r = small();
  r.nodes[0].host = "bad\xFF\xC3";
  r.nodes[0].speed_score = std::numeric_limits<double>::quiet_NaN();
  r.batch.wall_seconds = std::numeric_limits<double>::infinity();
  auto back = from_json(to_json(r));
  REQUIRE_MESSAGE(back.has_value(), back.status().to_string());
  CHECK(back->nodes[0].host == "bad\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(back->nodes[0].speed_score == 0);
  CHECK(back->batch.wall_seconds == 0);
}

TEST_CASE("report.json: extreme numbers round trip exactly") {
  Report r = small();
  r.batch.jobs = std::numeric_limits<uint64_t>::max();
  r.nodes[0].workers = std::numeric_limits<int>::max();
  r.nodes[0].job_time = 0.1 + 0.2;
  r.nodes[0].cpu_time = 5e-324;
  r.nodes[0].busy_time = 1.7976931348623157e308;
  r.nodes[0].speed_score = -0.0;
  r.executions[0].job = std::numeric_limits<uint64_t>::max();
  r.executions[0].worker = std::numeric_limits<uint32_t>::max();
  r.executions[1].start = 1e-7;
  r.executions_dropped = std::numeric_limits<uint64_t>::max();
  r.dropped_from = 0.1 + 0.2;
  r.dropped_to = 1e300;
  auto back = from_json(to_json(r));
  REQUIRE_MESSAGE(back.has_value(), back.status().to_string());
  CHECK(*back == r);
}

TEST_CASE("report.json: documented keys, derived figures written and ignored on reading") {
  Report r = sample::hand_built();
  std::string text = to_json(r);
  for (const char* k : {"\"format\": \"ppcluster-report\"", "\"version\": 1", "\"batch\"",
                        "\"wall_seconds\"", "\"speedup\"", "\"nodes\"", "\"speed_score\"",
                        "\"busy_seconds\"", "\"derived\"", "\"share\"",
                        "\"throughput_per_worker\"", "\"relative_speed\"", "\"mean_job_seconds\"",
                        "\"executions\"", "\"kind\": \"stolen\"", "\"fate\": \"crashed\"",
                        "\"executions_dropped\": 0", "\"dropped_from\": 0",
                        "\"dropped_to\": 0"}) {
    CHECK_MESSAGE(text.find(k) != std::string::npos, k);
  }
  std::string edited = replaced(text, "\"speedup\": 9.2", "\"speedup\": 1234");
  edited = replaced(edited, "\"relative_speed\": 1", "\"relative_speed\": 7");
  auto back = from_json(edited);
  REQUIRE_MESSAGE(back.has_value(), back.status().to_string());
  CHECK(*back == r);
}

TEST_CASE("report.json: keys in any order, unknown keys skipped, BOM and whitespace allowed") {
  std::string text =
      "\xEF\xBB\xBF \r\n\t{ \"executions_dropped\" : 3 , \"future\": {\"a\": [1, -2.5e+3, true, "
      "false, null, \"x\", {}]}, \"executions\": [], \"nodes\": [], \"batch\": {\"duplicates\": "
      "0, \"resent\": 0, \"job_seconds\": 0, \"jobs\": 0, \"wall_seconds\": 1E2}, \"version\": "
      "1, \"format\": \"ppcluster-report\"}\n";
  auto back = from_json(text);
  REQUIRE_MESSAGE(back.has_value(), back.status().to_string());
  CHECK(back->executions_dropped == 3);
  CHECK(back->batch.wall_seconds == 100);
  // dropped_from and dropped_to are optional: reports written before the sample lack them.
  CHECK(back->dropped_from == 0);
  CHECK(back->dropped_to == 0);
}

TEST_CASE("report.json: escapes, including surrogate pairs, decode to UTF-8") {
  std::string text = replaced(to_json(small()), "\"alpha\"",
                              "\"\\u00e9\\u6771\\ud83d\\ude80\\/\\b\\f\\\"\"");
  auto back = from_json(text);
  REQUIRE_MESSAGE(back.has_value(), back.status().to_string());
  CHECK(back->nodes[0].host == "\xC3\xA9\xE6\x9D\xB1\xF0\x9F\x9A\x80/\b\f\"");
}

TEST_CASE("report.json: malformed input is refused with a message that says why") {
  const std::string good = to_json(small());
  REQUIRE(error_of(good).empty());
  struct Case {
    std::string text, expect;
  };
  const Case cases[] = {
      {"", "empty"},
      {" \n ", "empty"},
      {"[]", "expected an object"},
      {"{", "unexpected end"},
      {"nul", "expected an object"},
      {"{\"format\": \"ppcluster-report\",}", "expected a key"},
      {"{\"format\" \"ppcluster-report\"}", "expected ':'"},
      {"{\"a\": 1}", "not a ppcluster report"},
      {replaced(good, "ppcluster-report", "something-else"), "not a ppcluster report"},
      {replaced(good, "\"version\": 1", "\"version\": 2"), "newer than this ppclient reads"},
      {replaced(good, "\"version\": 1", "\"version\": 0"), "version 0"},
      {replaced(good, "\"workers\": 4", "\"workers\": \"4\""), "nodes[0].workers"},
      {replaced(good, "\"workers\": 4", "\"workers\": -1"), "expected an integer from 0"},
      {replaced(good, "\"workers\": 4", "\"workers\": 4.5"), "expected an integer"},
      {replaced(good, "\"workers\": 4", "\"workers\": 2147483648"), "2147483647"},
      {replaced(good, "\"jobs_done\": 2", "\"jobs_done\": 18446744073709551616"), "integer"},
      {replaced(good, "\"jobs_done\": 2", "\"jobs_done\": 02"), "expected ',' or '}'"},
      {replaced(good, "\"jobs_done\": 2", "\"jobs_done\": NaN"), "expected an integer from 0"},
      {replaced(good, "\"job_seconds\": 1.25", "\"job_seconds\": NaN"), "expected a number"},
      {replaced(good, "\"job_seconds\": 1.25", "\"job_seconds\": null"), "expected a number"},
      {replaced(good, "\"jobs_done\": 2", "\"jobs_done\": -"), "digit after '-'"},
      {replaced(good, "\"job_seconds\": 1.25", "\"job_seconds\": 1e999"), "out of range"},
      {replaced(good, "\"job_seconds\": 1.25", "\"job_seconds\": 1."), "digit after '.'"},
      {replaced(good, "\"job_seconds\": 1.25", "\"job_seconds\": 1e+"), "exponent"},
      {replaced(good, "\"connected\": true", "\"connected\": 1"), "expected true or false"},
      {replaced(good, "\"kind\": \"backup\"", "\"kind\": \"sideways\""), "unknown value"},
      {replaced(good, "\"fate\": \"lost\"", "\"fate\": 3"), "expected a string"},
      {replaced(good, "\"node\": 0", "\"node\": 1"), "is not a node index"},
      {replaced(good, "\"worker\": 2", "\"worker\": 2, \"worker\": 2"), "duplicate key"},
      {replaced(good, "\"cpu_seconds\": 1.5, ", ""), "missing key \"cpu_seconds\""},
      {replaced(good, "\"executions_dropped\": 0", "\"executions_dropped\": 0,"), "expected"},
      {replaced(good, "\"dropped_to\": 0", "\"dropped_to\": \"soon\""), "expected a number"},
      {replaced(good, "\"dropped_from\": 0", "\"dropped_from\": 0, \"dropped_from\": 1"),
       "duplicate key"},
      {replaced(good, "\"alpha\"", "\"al\\xpha\""), "unknown escape"},
      {replaced(good, "\"alpha\"", "\"\\ud800\""), "unpaired surrogate"},
      {replaced(good, "\"alpha\"", "\"\\udc00\""), "unpaired surrogate"},
      {replaced(good, "\"alpha\"", "\"\\ud800\\u0041\""), "unpaired surrogate"},
      {replaced(good, "\"alpha\"", "\"\\u12G4\""), "four hex digits"},
      {replaced(good, "\"alpha\"", "\"al\nha\""), "control character"},
      {replaced(good, "\"alpha\"", "\"al\xFFha\""), "invalid UTF-8"},
      {replaced(good, "\"alpha\"", "\"al\xC0\xAF\""), "invalid UTF-8"},
      {replaced(good, "\"alpha\"", "\"alpha"), "expected ',' or '}'"},
      {good + "x", "unexpected text after the report"},
      {good + "{}", "unexpected text after the report"},
      {"// comment\n" + good, "expected an object"},
      {replaced(good, "\"nodes\": [", "\"nodes\": [,"), "expected an object"},
  };
  for (const Case& c : cases) {
    std::string err = error_of(c.text);
    INFO("input: " << c.text.substr(0, 200));
    INFO("error: " << err);
    CHECK(!err.empty());
    CHECK(err.find(c.expect) != std::string::npos);
  }
  auto st = from_json(replaced(good, "\"version\": 1", "\"version\": 9")).status();
  CHECK(st.code() == pp::StatusCode::kIncompatible);
  st = from_json(replaced(good, "\"workers\": 4", "\"workers\": true")).status();
  CHECK(st.code() == pp::StatusCode::kInvalid);
  CHECK(st.message().find("report JSON, line 6, column 51 (at nodes[0].workers): expected an "
                          "integer from 0 to 2147483647") != std::string::npos);
}

TEST_CASE("report.json: every truncation of a valid document is refused") {
  const std::string good = to_json(sample::hand_built());
  size_t last = good.find_last_of('}');
  for (size_t n = 0; n < last; ++n) {
    auto r = from_json(std::string_view(good).substr(0, n));
    CHECK_MESSAGE(!r.has_value(), "prefix of " << n << " bytes was accepted");
  }
  CHECK(from_json(good.substr(0, last + 1)).has_value());
}

TEST_CASE("report.json: deep nesting is refused, not a stack overflow") {
  std::string head = "{\"format\": \"ppcluster-report\", \"version\": 1, \"extra\": ";
  for (const char* open : {"[", "{\"a\":"}) {
    std::string text = head;
    for (int i = 0; i < 200000; ++i) text += open;
    std::string err = error_of(text);
    CHECK(err.find("nesting deeper than 64 levels") != std::string::npos);
  }
  std::string just_deep(100000, '[');
  CHECK(error_of(just_deep).find("expected an object") != std::string::npos);
  std::string ok = head;   // 63 levels inside the root object is still fine
  for (int i = 0; i < 62; ++i) ok += "[";
  for (int i = 0; i < 62; ++i) ok += "]";
  ok += "}";
  CHECK(error_of(ok).find("missing key") != std::string::npos);   // parsed past the nesting
}

TEST_CASE("report.json: garbage and mutated documents never crash the reader") {
  const std::string good = to_json(sample::hand_built());
  sample::internal::Rng rng{12345};
  auto pick = [&](size_t n) { return static_cast<size_t>(rng.next() * static_cast<double>(n)); };
  static const char kBytes[] = "{}[]\":,.-+eE0123456789tfnul\\ \n\xC3\xFF";
  size_t accepted = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string text;
    if (i % 2 == 0) {   // random bytes from JSON's alphabet
      size_t n = pick(300);
      for (size_t k = 0; k < n; ++k) text += kBytes[pick(sizeof kBytes - 1)];
    } else {            // a valid document with a few bytes changed, dropped or doubled
      text = good;
      for (int k = 0, n = 1 + static_cast<int>(pick(4)); k < n; ++k) {
        size_t at = pick(text.size());
        switch (pick(3)) {
          case 0: text[at] = kBytes[pick(sizeof kBytes - 1)]; break;
          case 1: text.erase(at, 1); break;
          default: text.insert(at, 1, text[at]);
        }
      }
    }
    auto r = from_json(text);
    if (r) {
      ++accepted;
      CHECK(from_json(to_json(*r)).has_value());   // whatever it accepts, it can write again
    } else {
      CHECK(r.status().message().rfind("report JSON", 0) == 0);
    }
  }
  MESSAGE("mutated documents still accepted: " << accepted);
}

TEST_CASE("report.json: bytes to and from each node round trip, and may be absent") {
  Report r = small();
  r.nodes[0].bytes_sent = 20'700'123;
  r.nodes[0].bytes_received = std::numeric_limits<uint64_t>::max();
  std::string text = to_json(r);
  CHECK(text.find("\"bytes_sent\": 20700123") != std::string::npos);
  auto back = from_json(text);
  REQUIRE_MESSAGE(back.has_value(), back.status().to_string());
  CHECK(*back == r);
  // A report written before they were counted reads as zero.
  std::string older = replaced(text, ", \"bytes_sent\": 20700123", "");
  older = replaced(older, ", \"bytes_received\": 18446744073709551615", "");
  back = from_json(older);
  REQUIRE_MESSAGE(back.has_value(), back.status().to_string());
  CHECK(back->nodes[0].bytes_sent == 0);
  CHECK(back->nodes[0].bytes_received == 0);
}

TEST_CASE("report.json: paused_seconds per node, optional on reading; the table names it") {
  Report r = small();
  r.nodes[0].paused_time = 12.5;
  std::string text = to_json(r);
  CHECK(text.find("\"paused_seconds\": 12.5") != std::string::npos);
  auto back = from_json(text);
  REQUIRE_MESSAGE(back.has_value(), back.status().to_string());
  CHECK(back->nodes[0].paused_time == 12.5);
  // A report written before the figure existed reads as never paused.
  auto old = from_json(replaced(text, "\"paused_seconds\": 12.5,", ""));
  REQUIRE_MESSAGE(old.has_value(), old.status().to_string());
  CHECK(old->nodes[0].paused_time == 0);
  INFO(to_table(r));
  CHECK(to_table(r).find("Paused by their machines: local 12.5") != std::string::npos);
  CHECK(to_table(small()).find("Paused") == std::string::npos);
  CHECK(to_html(r).find("paused s") != std::string::npos);
}
