// The report's pictures (to_svg) and page (to_html): well-formed markup, all text
// escaped, nothing loaded from outside, every kind of copy drawn as the legend says,
// and the merged timeline beyond kTimelineDetailLimit executions.
#include "ppclient/report/report.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ppclient/report/execution_sample.hpp"
#include "tests/unit/report/report_sample.hpp"

using namespace pp::client::report;

namespace {

bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == ':' || c == '-' || c == '_';
}

// "" if `s` at `i` starts a character or entity reference these renderers may write.
bool entity_at(std::string_view s, size_t i) {
  for (const char* e : {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"}) {
    if (s.compare(i, std::string_view(e).size(), e) == 0) return true;
  }
  return false;
}

// Well-formedness as far as these renderers go: elements nest and close, one root,
// attribute values quoted without '<', every '&' an entity, no control characters
// XML cannot carry. Counts elements by name into `counts`. Returns "" or the fault.
std::string check_markup(std::string_view d, std::map<std::string, int>* counts = nullptr) {
  std::vector<std::string> stack;
  int roots = 0;
  for (size_t i = 0; i < d.size();) {
    auto u = static_cast<unsigned char>(d[i]);
    if (u < 0x20 && d[i] != '\n' && d[i] != '\t' && d[i] != '\r') {
      return "control character at " + std::to_string(i);
    }
    if (d[i] == '&') {
      if (!entity_at(d, i)) return "bare '&' at " + std::to_string(i);
      ++i;
      continue;
    }
    if (d[i] != '<') {
      ++i;
      continue;
    }
    auto skip_to = [&](std::string_view end) {
      size_t j = d.find(end, i);
      return j == std::string_view::npos ? d.size() + 1 : j + end.size();
    };
    if (d.compare(i, 2, "<?") == 0) {
      i = skip_to("?>");
    } else if (d.compare(i, 4, "<!--") == 0) {
      i = skip_to("-->");
    } else if (d.compare(i, 9, "<!DOCTYPE") == 0) {
      i = skip_to(">");
    } else if (d.compare(i, 2, "</") == 0) {
      size_t j = i + 2;
      while (j < d.size() && name_char(d[j])) ++j;
      std::string name(d.substr(i + 2, j - i - 2));
      if (j >= d.size() || d[j] != '>') return "bad end tag at " + std::to_string(i);
      if (stack.empty() || stack.back() != name) {
        return "</" + name + "> does not close <" + (stack.empty() ? "" : stack.back()) + ">";
      }
      stack.pop_back();
      i = j + 1;
    } else {
      size_t j = i + 1;
      while (j < d.size() && name_char(d[j])) ++j;
      std::string name(d.substr(i + 1, j - i - 1));
      if (name.empty()) return "bare '<' at " + std::to_string(i);
      if (counts) ++(*counts)[name];
      for (;;) {
        while (j < d.size() && (d[j] == ' ' || d[j] == '\n')) ++j;
        if (j >= d.size()) return "unterminated <" + name + ">";
        if (d.compare(j, 2, "/>") == 0) {
          if (stack.empty()) ++roots;
          j += 2;
          break;
        }
        if (d[j] == '>') {
          if (stack.empty()) ++roots;
          stack.push_back(name);
          ++j;
          break;
        }
        size_t k = j;
        while (k < d.size() && name_char(d[k])) ++k;
        if (k == j || d.compare(k, 2, "=\"") != 0) {
          return "bad attribute in <" + name + "> at " + std::to_string(j);
        }
        size_t end = d.find('"', k + 2);
        if (end == std::string_view::npos) return "unterminated attribute in <" + name + ">";
        std::string_view value = d.substr(k + 2, end - k - 2);
        if (value.find('<') != std::string_view::npos) return "'<' in an attribute of " + name;
        for (size_t a = value.find('&'); a != std::string_view::npos; a = value.find('&', a + 1)) {
          if (!entity_at(value, a)) return "bare '&' in an attribute of <" + name + ">";
        }
        j = end + 1;
      }
      i = j;
    }
  }
  if (!stack.empty()) return "<" + stack.back() + "> is never closed";
  if (roots != 1) return std::to_string(roots) + " root elements";
  return {};
}

size_t count(std::string_view s, std::string_view what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string_view::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

// Copies drawn one by one: their tooltips start "job N".
size_t drawn_copies(std::string_view svg) {
  size_t n = 0;
  for (size_t at = svg.find("<g><title>job "); at != std::string_view::npos;
       at = svg.find("<g><title>job ", at + 1)) {
    n += std::isdigit(static_cast<unsigned char>(svg[at + 14])) != 0;
  }
  return n;
}

// The <g> group drawn for the copy whose tooltip starts with `title`.
std::string group_of(const std::string& svg, const std::string& title) {
  size_t at = svg.find("<g><title>" + title);
  if (at == std::string::npos) return {};
  return svg.substr(at, svg.find("</g>", at) - at);
}

}  // namespace

TEST_CASE("report.svg: the checker itself refuses broken markup") {
  CHECK(check_markup("<svg><g></g></svg>").empty());
  CHECK(check_markup("<svg><rect x=\"1\"/><text>a &amp; b</text></svg>").empty());
  CHECK(!check_markup("<svg><g></svg>").empty());
  CHECK(!check_markup("<svg><g>").empty());
  CHECK(!check_markup("<svg>a & b</svg>").empty());
  CHECK(!check_markup("<svg><text>a<b</text></svg>").empty());
  CHECK(!check_markup("<svg x=\"<\"></svg>").empty());
  CHECK(!check_markup("<svg></svg><svg></svg>").empty());
  CHECK(!check_markup("<svg>\x01</svg>").empty());
}

TEST_CASE("report.svg: a standalone, well-formed picture of shares and timeline") {
  Report r = sample::simulated(300);
  std::string svg = to_svg(r);
  std::map<std::string, int> counts;
  CHECK(check_markup(svg, &counts) == "");
  CHECK(svg.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=", 0) == 0);
  CHECK(counts["svg"] == 1);
  CHECK(counts["rect"] >= static_cast<int>(r.executions.size()));
  CHECK(drawn_copies(svg) == r.executions.size());
  CHECK(counts["pattern"] == 1);
  CHECK(svg.find("Share of the work") != std::string::npos);
  CHECK(svg.find("ws-new (10.0.0.12:60000)") != std::string::npos);
  CHECK(svg.find("old-pc (10.0.0.7:60000)") != std::string::npos);
  CHECK(svg.find(">w7</text>") != std::string::npos);    // ws-new's eighth worker
  CHECK(svg.find(">w8</text>") == std::string::npos);
  CHECK(svg.find("seconds since the batch started") != std::string::npos);
  for (const char* legend : {"stolen from another node", "backup copy", "lost copy", "failed",
                             "crashed its worker"}) {
    CHECK_MESSAGE(svg.find(legend) != std::string::npos, legend);
  }
  for (size_t i = 0; i < r.nodes.size(); ++i) {
    char pct[32];
    std::snprintf(pct, sizeof pct, "%.1f%%", 100 * derive(r, i).share);
    CHECK_MESSAGE(svg.find(pct) != std::string::npos, pct);
  }
  CHECK(svg.find("nan") == std::string::npos);
  CHECK(svg.find("merged") == std::string::npos);
}

TEST_CASE("report.svg: each kind of copy is drawn as the legend says") {
  Report r = sample::hand_built();
  std::string svg = to_svg(r);
  REQUIRE(check_markup(svg) == "");
  std::string normal = group_of(svg, "job 1 ");
  std::string stolen = group_of(svg, "job 2 ");
  std::string lost = group_of(svg, "job 3 \xC2\xB7 gamma");
  std::string backup = group_of(svg, "job 3 \xC2\xB7 alpha");
  std::string crashed = group_of(svg, "job 4 ");
  std::string failed = group_of(svg, "job 5 ");
  CHECK(normal.find("fill=\"#4e79a7\"") != std::string::npos);   // node 0's colour
  CHECK(normal.find("stroke") == std::string::npos);
  CHECK(stolen.find("stroke=\"#111111\"") != std::string::npos);
  CHECK(stolen.find("\xC2\xB7 stolen") != std::string::npos);
  CHECK(lost.find("fill-opacity=\"0.3\"") != std::string::npos);
  CHECK(backup.find("url(#pp-hatch)") != std::string::npos);
  CHECK(backup.find("fill-opacity") == std::string::npos);
  CHECK(crashed.find("fill=\"#d62728\"") != std::string::npos);
  CHECK(failed.find("fill=\"#f28e2b\"") != std::string::npos);
}

TEST_CASE("report.svg: names are escaped everywhere, in the SVG and in the HTML") {
  Report r = sample::hand_built();
  r.nodes[0].host = "<a&\"b>";
  r.nodes[1].node = "<a&\"b>";
  r.nodes[2].host = "ctl\x01\x1B[0m \xEF\xBF\xBE 'q'";
  for (const std::string& doc : {to_svg(r), to_html(r)}) {
    CHECK(check_markup(doc) == "");
    CHECK(doc.find("<a&\"b>") == std::string::npos);
    CHECK(doc.find("&lt;a&amp;&quot;b&gt;") != std::string::npos);
    CHECK(doc.find('\x1B') == std::string::npos);
    CHECK(doc.find("\xEF\xBF\xBE") == std::string::npos);   // not a character XML allows
    CHECK(doc.find("&#39;q&#39;") != std::string::npos);
  }
}

TEST_CASE("report.html: one self-contained page with the figures, bars, table and timeline") {
  Report r = sample::simulated(300);
  r.nodes[2].connected = false;
  std::string html = to_html(r);
  std::map<std::string, int> counts;
  CHECK(check_markup(html, &counts) == "");
  CHECK(html.rfind("<!DOCTYPE html>\n<html lang=\"en\">", 0) == 0);
  CHECK(counts["svg"] == 2);
  CHECK(counts["h1"] == 1);
  CHECK(counts["table"] == 2);
  CHECK(counts["tr"] == 7 + 1 + static_cast<int>(r.nodes.size()));   // batch rows, header, nodes
  CHECK(counts["script"] == 0);
  CHECK(counts["link"] == 0);
  CHECK(counts["img"] == 0);
  CHECK(html.find("src=") == std::string::npos);
  CHECK(html.find("href=") == std::string::npos);
  CHECK(html.find("@import") == std::string::npos);
  CHECK(count(html, "url(") == count(html, "url(#pp-hatch)"));
  CHECK(count(html, "http") == count(html, "xmlns=\"http://www.w3.org/2000/svg\""));
  CHECK(html.find("<tr class=\"gone\">") != std::string::npos);
  CHECK(html.find("old-pc (10.0.0.7:60000) (gone)") != std::string::npos);
  CHECK(html.find("Speedup over serial") != std::string::npos);
}

TEST_CASE("report.svg: beyond the detail limit each worker's jobs merge into spans; it says so") {
  Report r = sample::simulated(kTimelineDetailLimit + 5000);
  REQUIRE(r.executions.size() > kTimelineDetailLimit);
  size_t special = 0;
  for (const Execution& e : r.executions) {
    special += e.kind != Kind::kNormal || e.fate != Fate::kWon;
  }
  REQUIRE(special > 0);
  std::string svg = to_svg(r);
  std::map<std::string, int> counts;
  CHECK(check_markup(svg, &counts) == "");
  CHECK(counts["rect"] < static_cast<int>(r.executions.size() / 4));
  CHECK(svg.find("each worker&#39;s jobs are merged into") != std::string::npos);
  CHECK(drawn_copies(svg) == special);   // special copies stay one by one
  CHECK(svg.find("shorter ones are merged in") == std::string::npos);
  CHECK(svg.size() < 4u * 1024 * 1024);

  // More special copies than are drawn one by one: the longest are kept, and it says so.
  Report many = sample::hand_built();
  many.executions.clear();
  for (uint64_t j = 0; j < kTimelineDetailLimit + 1000; ++j) {
    double start = static_cast<double>(j % 1000) * 0.01;
    many.executions.push_back({j, 1, static_cast<uint32_t>(j / 1000 % 4), start,
                               start + 0.001 * static_cast<double>(j % 7 + 1), Kind::kStolen,
                               Fate::kWon});
  }
  svg = to_svg(many);
  CHECK(check_markup(svg) == "");
  CHECK(drawn_copies(svg) == 5000);
  CHECK(svg.find("shorter ones are merged in") != std::string::npos);
}

TEST_CASE("report.svg: odd reports draw without crashing and say what is missing") {
  Report empty;
  std::string svg = to_svg(empty);
  CHECK(check_markup(svg) == "");
  CHECK(svg.find("No executions were recorded.") != std::string::npos);
  CHECK(svg.find("No node took part.") != std::string::npos);
  CHECK(check_markup(to_html(empty)) == "");

  Report odd = sample::hand_built();
  odd.executions_dropped = 77;
  odd.executions.push_back({9, 17, 0, 0.1, 0.2, Kind::kNormal, Fate::kWon});   // no such node
  odd.executions.push_back({10, 0, 4000000000u, 1.0, 0.5, Kind::kNormal, Fate::kWon});
  odd.executions.push_back({11, 1, 2, -5.0, std::numeric_limits<double>::quiet_NaN(),
                            Kind::kBackup, Fate::kLost});
  odd.executions.push_back({12, 1, 2, 1.0, std::numeric_limits<double>::infinity(),
                            Kind::kNormal, Fate::kWon});
  odd.nodes[1].workers = 1000000000;   // idle lanes are capped
  odd.nodes[0].job_time = std::numeric_limits<double>::quiet_NaN();
  for (const std::string& doc : {to_svg(odd), to_html(odd)}) {
    CHECK(check_markup(doc) == "");
    CHECK(doc.find("This timeline shows a sample: 10 of 87 executions. 77 are not drawn.") !=
          std::string::npos);
    CHECK(doc.find("1 execution names no node of this report") != std::string::npos);
    CHECK(doc.find("nan") == std::string::npos);
    CHECK(doc.find("inf") == std::string::npos);
    CHECK(doc.size() < 1024 * 1024);
  }
}

TEST_CASE("report.svg: a timeline drawn from a sample shades what it left out and says so") {
  const Report full = sample::simulated(3000);
  ExecutionSample s(400, 400, 10);
  for (const Execution& e : full.executions) s.add(e);
  Report r = full;
  r.executions = s.kept();
  r.executions_dropped = s.dropped();
  r.dropped_from = s.dropped_from();
  r.dropped_to = s.dropped_to();
  REQUIRE(r.executions_dropped > 0);
  const std::string total = std::to_string(full.executions.size());
  const std::string kept = std::to_string(r.executions.size());
  std::string svg = to_svg(r);
  CHECK(check_markup(svg) == "");
  CHECK(drawn_copies(svg) == r.executions.size());
  CHECK(svg.find("This timeline shows a sample: " + kept + " of " + total + " executions.") !=
        std::string::npos);
  CHECK(svg.find("Outside the shaded stretch") != std::string::npos);
  CHECK(svg.find("The figures above count every execution.") != std::string::npos);
  std::string shade = group_of(svg, std::to_string(r.executions_dropped) + " executions that ran between");
  CHECK(shade.find("stroke-dasharray") != std::string::npos);
  std::string html = to_html(r);
  CHECK(check_markup(html) == "");
  CHECK(html.find("<h2>Timeline: one lane per worker (a sample: " + kept + " of " + total +
                  " executions)</h2>") != std::string::npos);
  CHECK(html.find("Executions left out of the timeline's sample (counted above)") != std::string::npos);
  // The same report in full says nothing of the kind.
  for (const std::string& doc : {to_svg(full), to_html(full)}) {
    CHECK(doc.find("sample") == std::string::npos);
    CHECK(doc.find("stroke-dasharray") == std::string::npos);
  }
}
