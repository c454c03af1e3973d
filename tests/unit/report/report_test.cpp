// The report's figures (derive, speedup), the text table, and write_file.
#include "ppclient/report/report.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ppclient/report/report_text.hpp"
#include "tests/unit/report/report_sample.hpp"

using namespace pp::client::report;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The line of the table that starts with `label`.
std::string row_of(const std::string& table, const std::string& label) {
  for (const std::string& line : lines_of(table)) {
    if (line.rfind(label, 0) == 0) return line;
  }
  return {};
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/pp-report-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::string cmd = "rm -rf '" + path + "'";
    if (std::system(cmd.c_str()) != 0) MESSAGE("could not remove " << path);
  }
};

}  // namespace

TEST_CASE("report.derive: shares, speeds and throughput of two fast nodes and a slow one") {
  Report r = sample::hand_built();
  Derived a = derive(r, 0), b = derive(r, 1), c = derive(r, 2);
  CHECK(a.share == doctest::Approx(48.0 / 138.0));
  CHECK(b.share == doctest::Approx(50.0 / 138.0));
  CHECK(c.share == doctest::Approx(40.0 / 138.0));
  CHECK(a.share + b.share + c.share == doctest::Approx(1.0));
  CHECK(a.mean_job_seconds == doctest::Approx(0.48));
  CHECK(b.mean_job_seconds == doctest::Approx(0.50));
  CHECK(c.mean_job_seconds == doctest::Approx(2.00));
  CHECK(a.relative_speed == doctest::Approx(1.0));
  CHECK(b.relative_speed == doctest::Approx(0.96));
  CHECK(c.relative_speed == doctest::Approx(0.24));
  CHECK(a.throughput_per_worker == doctest::Approx(100.0 / 12.5 / 4));   // 2 jobs/s/worker
  CHECK(c.throughput_per_worker == doctest::Approx(20.0 / 20.0 / 2));    // 0.5
  CHECK(speedup(r) == doctest::Approx(138.0 / 15.0));
}

TEST_CASE("report.derive: what cannot be measured is 0, never a division by zero") {
  Report r = sample::hand_built();
  r.nodes[1].jobs = 0, r.nodes[1].job_time = 0, r.nodes[1].busy_time = 0;
  r.nodes[2].workers = 0;
  Derived b = derive(r, 1), c = derive(r, 2);
  CHECK(b.share == 0);
  CHECK(b.mean_job_seconds == 0);
  CHECK(b.relative_speed == 0);
  CHECK(b.throughput_per_worker == 0);
  CHECK(c.throughput_per_worker == 0);
  CHECK(derive(r, 0).share == doctest::Approx(48.0 / 88.0));
  Derived none = derive(r, 3);
  CHECK(none.share == 0);
  CHECK(none.relative_speed == 0);
  r.batch.wall_seconds = 0;
  CHECK(speedup(r) == 0);
  CHECK(derive(Report{}, 0).share == 0);
}

TEST_CASE("report.table: one row per node with its figures, then the batch lines") {
  Report r = sample::hand_built();
  std::string t = to_table(r);
  INFO(t);
  CHECK(t.rfind("Job execution statistics", 0) == 0);
  std::string a = row_of(t, "alpha (local)");
  std::string b = row_of(t, "beta (10.0.0.2:60000)");
  std::string c = row_of(t, "gamma (10.0.0.3:60\xE2\x80\xA6 (gone)");   // cut to make room
  REQUIRE(!a.empty());
  REQUIRE(!b.empty());
  REQUIRE(!c.empty());
  CHECK(a.find(" 34.8% ") != std::string::npos);   // 48 / 138
  CHECK(a.find(" 1.00 ") != std::string::npos);    // speed score and relative speed
  CHECK(a.find(" 2.00 ") != std::string::npos);    // jobs/s per worker
  CHECK(a.find(" 47.5 ") != std::string::npos);    // CPU seconds
  CHECK(b.find(" 0.96 ") != std::string::npos);
  CHECK(c.find("(gone)") != std::string::npos);
  CHECK(a.find("(gone)") == std::string::npos);
  CHECK(c.find(" 29.0% ") != std::string::npos);   // 40 / 138
  CHECK(c.find(" 0.24 ") != std::string::npos);
  CHECK(c.find(" 0.500 ") != std::string::npos);
  CHECK(c.find(" 2 (1)") != std::string::npos);    // failures (crashes)
  std::string total = row_of(t, "total");
  CHECK(total.find(" 220 ") != std::string::npos);
  CHECK(total.find("100.0%") != std::string::npos);
  CHECK(t.find("Speedup over serial: 9.20x") != std::string::npos);
  CHECK(t.find("Re-sent jobs (their node went away or crashed): 3") != std::string::npos);
  CHECK(t.find("Duplicate executions (result not used): 4") != std::string::npos);
  CHECK(t.find("Wall time (first submit to last result): 15.0 s") != std::string::npos);
  CHECK(t.find("timeline's sample") == std::string::npos);
  r.executions_dropped = 12;
  CHECK(to_table(r).find("Executions left out of the timeline's sample (the figures count them): 12") !=
        std::string::npos);
}

TEST_CASE("report.table: columns line up and lines stay within 120 columns") {
  Report r = sample::simulated(300);
  r.nodes[0].host = "a-very-long-host-name-that-does-not-fit.example.org";
  r.nodes[1].host = "t\xC3\xB6kyo-\xE6\x9D\xB1\xE4\xBA\xAC";   // wide characters take 2 columns
  std::string t = to_table(r);
  INFO(t);
  auto lines = lines_of(t);
  size_t width = 0;
  for (const std::string& line : lines) {
    CHECK(detail::display_width(line) <= 120);
    if (line.find("%") != std::string::npos && line.find("share") == std::string::npos) {
      size_t w = detail::display_width(line.substr(0, line.find('%')));
      if (width == 0) width = w;
      CHECK(w == width);   // the share column ends at the same place on every row
    }
  }
  CHECK(width > 0);
  CHECK(t.find("a-very-long-host-name-tha\xE2\x80\xA6 ") != std::string::npos);
}

TEST_CASE("report.table: control characters in names cannot break lines or drive the terminal") {
  Report r = sample::hand_built();
  r.nodes[0].host = "evil\n\x1B[2Jhost\r";
  std::string t = to_table(r);
  CHECK(t.find('\x1B') == std::string::npos);
  CHECK(t.find('\r') == std::string::npos);
  CHECK(!row_of(t, "evil??[2Jhost? (local)").empty());
  CHECK(lines_of(t).size() == lines_of(to_table(sample::hand_built())).size());
}

TEST_CASE("report.table: an empty report still reads") {
  std::string t = to_table(Report{});
  CHECK(t.find("(no node took part)") != std::string::npos);
  CHECK(t.find("Speedup over serial: 0.00x") != std::string::npos);
}

TEST_CASE("report.text: invalid UTF-8 is repaired and cuts keep whole characters") {
  using detail::fit;
  using detail::valid_utf8;
  CHECK(valid_utf8("ok \xC3\xA9") == "ok \xC3\xA9");
  CHECK(valid_utf8("a\xFFz") == "a\xEF\xBF\xBDz");
  CHECK(valid_utf8("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");   // overlong '/'
  CHECK(valid_utf8("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");   // surrogate
  CHECK(valid_utf8("\xF4\x90\x80\x80").find("\xF4") == std::string::npos);  // > U+10FFFF
  CHECK(valid_utf8("\xE6\x9D") == "\xEF\xBF\xBD\xEF\xBF\xBD");   // truncated
  // Wide characters take two columns each.
  CHECK(detail::display_width("\xE6\x9D\xB1\xE4\xBA\xAC") == 4);
  CHECK(fit("\xE6\x9D\xB1\xE4\xBA\xAC\xE6\x9D\xB1", 3) == "\xE6\x9D\xB1\xE2\x80\xA6");
  CHECK(fit("\xE6\x9D\xB1\xE4\xBA\xAC\xE6\x9D\xB1", 6) == "\xE6\x9D\xB1\xE4\xBA\xAC\xE6\x9D\xB1");
  CHECK(fit("e\xCC\x81t\xC3\xA9", 3) == "e\xCC\x81t\xC3\xA9");   // a combining accent takes none
  CHECK(fit("short", 5) == "short");
  CHECK(fit("longer", 5) == "long\xE2\x80\xA6");
}

TEST_CASE("report.write_file: the extension picks the format") {
  TempDir dir;
  Report r = sample::simulated(60);
  for (const char* name : {"r.json", "r.JSON"}) {
    std::string path = dir.path + "/" + name;
    REQUIRE(write_file(r, path).is_ok());
    auto back = from_json(slurp(path));
    REQUIRE_MESSAGE(back.has_value(), back.status().to_string());
    CHECK(*back == r);
  }
  for (const char* name : {"r.html", "r.HTM"}) {
    REQUIRE(write_file(r, dir.path + "/" + name).is_ok());
    CHECK(slurp(dir.path + "/" + name) == to_html(r));
  }
  REQUIRE(write_file(r, dir.path + "/r.svg").is_ok());
  CHECK(slurp(dir.path + "/r.svg") == to_svg(r));
  for (const char* name : {"r.txt", "report", "dir.json.d/../r.out"}) {
    std::string path = dir.path + "/" + name;
    if (std::string(name).find('/') != std::string::npos) {
      REQUIRE(std::system(("mkdir -p '" + dir.path + "/dir.json.d'").c_str()) == 0);
    }
    REQUIRE(write_file(r, path).is_ok());
    CHECK(slurp(path) == to_table(r));
  }
}

TEST_CASE("report.write_file: a clear error when the file cannot be written") {
  TempDir dir;
  Report r = sample::hand_built();
  std::string missing = dir.path + "/no/such/dir/r.json";
  pp::Status st = write_file(r, missing);
  CHECK(st.code() == pp::StatusCode::kIo);
  CHECK(st.message().find(missing) != std::string::npos);
  CHECK(st.message().find("No such file or directory") != std::string::npos);

  st = write_file(r, dir.path);   // a directory
  CHECK(st.code() == pp::StatusCode::kIo);
  CHECK(st.message().find("Is a directory") != std::string::npos);

  if (access("/dev/full", W_OK) == 0) {   // every write fails with ENOSPC
    st = write_file(r, "/dev/full");
    CHECK(st.code() == pp::StatusCode::kIo);
    CHECK(st.message().find("No space left") != std::string::npos);
  }
}
