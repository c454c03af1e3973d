// Reports side by side (report_compare.hpp): nodes matched by host across reports (a new
// port or address is the same machine), "-" where a node took no part, each report's
// own derived figures, the batch lines, a safe table and a self-contained HTML page.
#include "ppclient/report/report_compare.hpp"

#include <doctest/doctest.h>

#include <string>

#include "ppclient/report/report_text.hpp"
#include "tests/unit/report/report_sample.hpp"

using namespace pp::client::report;

namespace {

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("report.compare: nodes matched by host, each report's own figures") {
  Report first = sample::hand_built();
  Report second = sample::hand_built();
  second.nodes.pop_back();                       // gamma took no part
  second.nodes[1].node = "10.0.0.9:60001";       // beta moved
  second.nodes[1].job_time = 150;                // and did three times the work
  std::vector<NamedReport> rs{{"mon.json", first}, {"tue.json", second}};
  std::string t = to_comparison_table(rs);
  INFO(t);
  CHECK(t.find("Nodes across 2 reports") == 0);
  CHECK(t.find("mon.json") != std::string::npos);
  CHECK(t.find("tue.json") != std::string::npos);
  CHECK(count(t, "beta") == 1);                  // one row for beta despite its move
  const size_t gamma = t.find("gamma");
  REQUIRE(gamma != std::string::npos);
  const std::string gamma_line = t.substr(gamma, t.find('\n', gamma) - gamma);
  CHECK(gamma_line.find(" -") != std::string::npos);
  // Shares: the report's own derive(): beta 50/138 on Monday, 150/198 on Tuesday.
  const size_t beta = t.find("beta");
  const std::string beta_line = t.substr(beta, t.find('\n', beta) - beta);
  CHECK(beta_line.find(detail::percent_text(derive(first, 1).share)) != std::string::npos);
  CHECK(beta_line.find(detail::percent_text(derive(second, 1).share)) != std::string::npos);
  CHECK(count(t, "jobs") >= 2);                  // a batch line per report
}

TEST_CASE("report.compare: the HTML page and hostile names") {
  Report a = sample::hand_built();
  a.nodes[0].host = "<script>alert(1)</script>\x1b[2J";
  std::vector<NamedReport> rs{{"a<b>.json", a}, {"b.json", sample::hand_built()}};
  std::string html = to_comparison_html(rs);
  CHECK(html.find("<!DOCTYPE html>") == 0);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("a&lt;b&gt;.json") != std::string::npos);
  CHECK(count(html, "<svg") == 2);               // relative speed and share
  CHECK(html.find("src=") == std::string::npos);  // nothing outside the file
  CHECK(html.find("href=") == std::string::npos);
  std::string t = to_comparison_table(rs);
  CHECK(t.find('\x1b') == std::string::npos);
  // A single report compares with itself fine, and no report gives just the headings.
  CHECK(to_comparison_table({}).find("Nodes across 0 reports") == 0);
}
