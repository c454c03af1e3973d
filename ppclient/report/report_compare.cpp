#include "ppclient/report/report_compare.hpp"

#include <algorithm>
#include <map>

#include "ppclient/report/report_svg.hpp"
#include "ppclient/report/report_text.hpp"

namespace pp::client::report {
namespace {

using detail::format;

// A node's figures in one report.
struct Cell {
  bool present = false;
  Derived d;
  uint64_t jobs = 0;
};

// The nodes across the reports: one row each, a cell per report.
struct Grid {
  std::vector<std::string> nodes;           // labels, in the order first seen
  std::vector<std::vector<Cell>> cells;     // [node][report]
};

std::string key_of(const NodeRow& n) { return n.host.empty() ? n.node : n.host; }

Grid grid_of(const std::vector<NamedReport>& reports) {
  Grid g;
  std::map<std::string, size_t> row_of;
  for (size_t r = 0; r < reports.size(); ++r) {
    const Report& rep = reports[r].report;
    for (size_t i = 0; i < rep.nodes.size(); ++i) {
      auto [it, fresh] = row_of.try_emplace(key_of(rep.nodes[i]), g.nodes.size());
      if (fresh) {
        g.nodes.push_back(detail::node_label(rep.nodes[i]));
        g.cells.emplace_back(reports.size());
      }
      Cell& c = g.cells[it->second][r];
      if (c.present) {   // the same host twice in one report (two nodes on it): add up
        c.jobs += rep.nodes[i].jobs;
        c.d.share += derive(rep, i).share;
        continue;
      }
      c.present = true;
      c.d = derive(rep, i);
      c.jobs = rep.nodes[i].jobs;
    }
  }
  return g;
}

constexpr size_t kNodeWidth = 24;
constexpr size_t kGroupWidth = 26;

std::string pad(std::string s, size_t width) {
  size_t w = detail::display_width(s);
  if (w < width) s.append(width - w, ' ');
  return s;
}

std::string cell_text(const Cell& c) {
  if (!c.present) return format("%8s %6s %8s", "-", "-", "-");
  return format("%8s %6s %8s", detail::rate_text(c.d.throughput_per_worker).c_str(),
                detail::rate_text(c.d.relative_speed).c_str(),
                detail::percent_text(c.d.share).c_str());
}

}  // namespace

std::string to_comparison_table(const std::vector<NamedReport>& reports) {
  const Grid g = grid_of(reports);
  std::string out = format("Nodes across %zu reports: jobs/s per worker, relative speed, share\n\n",
                           reports.size());
  auto add = [&out](std::string line) {
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  std::string names = pad("node", kNodeWidth), heads = pad("", kNodeWidth);
  for (const auto& r : reports) {
    names += "  " + pad(detail::fit(r.name, kGroupWidth), kGroupWidth);
    heads += "  " + pad(format("%8s %6s %8s", "jobs/s/w", "speed", "share"), kGroupWidth);
  }
  add(names);
  add(heads);
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    std::string line = pad(detail::fit(g.nodes[n], kNodeWidth), kNodeWidth);
    for (const Cell& c : g.cells[n]) line += "  " + pad(cell_text(c), kGroupWidth);
    add(line);
  }
  out += "\n";
  for (const auto& r : reports) {
    out += detail::fit(r.name, kGroupWidth) + ": " + detail::summary_line(r.report) + "\n";
  }
  return out;
}

namespace {

constexpr const char* kStyle = R"(body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;
margin:24px;color:#222;background:#fff;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
table{border-collapse:collapse;font-size:12.5px}
th,td{padding:3px 6px;border-bottom:1px solid #e1e4e8;text-align:right;white-space:nowrap}
th{background:#f3f4f6;font-weight:600}td.node,th.node{text-align:left}
svg{max-width:100%;height:auto;display:block}
)";

void html_table(std::string& out, const std::vector<NamedReport>& reports, const Grid& g) {
  out += "<table>\n<tr><th class=\"node\" rowspan=\"2\">node</th>";
  for (const auto& r : reports) out += "<th colspan=\"3\">" + detail::xml_text(r.name) + "</th>";
  out += "</tr>\n<tr>";
  for (size_t r = 0; r < reports.size(); ++r) {
    out += "<th>jobs/s per worker</th><th>relative speed</th><th>share</th>";
  }
  out += "</tr>\n";
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    out += "<tr><td class=\"node\">" + detail::xml_text(g.nodes[n]) + "</td>";
    for (const Cell& c : g.cells[n]) {
      if (!c.present) {
        out += "<td>-</td><td>-</td><td>-</td>";
        continue;
      }
      out += "<td>" + detail::rate_text(c.d.throughput_per_worker) + "</td><td>" +
             detail::rate_text(c.d.relative_speed) + "</td><td>" +
             detail::percent_text(c.d.share) + "</td>";
    }
    out += "</tr>\n";
  }
  out += "</table>\n";
}

// Per node, a bar per report for one figure in [0, 1] (relative speed, share).
void html_bars(std::string& out, const std::vector<NamedReport>& reports, const Grid& g,
               double Derived::*figure) {
  constexpr double kLabel = 220, kBar = 14, kGap = 10, kRight = 60;
  const double width = detail::kSvgWidth, span = width - kLabel - kRight;
  const double height = static_cast<double>(g.nodes.size()) *
                            (static_cast<double>(reports.size()) * kBar + kGap) + kGap;
  out += detail::svg_open(width, height, " role=\"img\"");
  double y = kGap;
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    out += "<text x=\"0\" y=\"" + detail::coord(y + kBar * 0.8) + "\" font-size=\"12\">" +
           detail::xml_text(detail::fit(g.nodes[n], 30)) + "</text>\n";
    for (size_t r = 0; r < reports.size(); ++r) {
      const Cell& c = g.cells[n][r];
      const double v = c.present ? std::clamp(c.d.*figure, 0.0, 1.0) : 0;
      out += "<rect x=\"" + detail::coord(kLabel) + "\" y=\"" + detail::coord(y) +
             "\" width=\"" + detail::coord(std::max(0.5, v * span)) + "\" height=\"" +
             detail::coord(kBar - 2) + "\" fill=\"" + detail::node_colour(r) + "\"><title>" +
             detail::xml_text(reports[r].name) + "</title></rect>\n";
      out += "<text x=\"" + detail::coord(kLabel + v * span + 4) + "\" y=\"" +
             detail::coord(y + kBar * 0.75) + "\" font-size=\"10\">" +
             (c.present ? detail::xml_text(detail::rate_text(c.d.*figure)) : "-") + "</text>\n";
      y += kBar;
    }
    y += kGap;
  }
  out += "</svg>\n";
}

}  // namespace

std::string to_comparison_html(const std::vector<NamedReport>& reports) {
  const Grid g = grid_of(reports);
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
      "<title>ppcluster: reports compared</title>\n<style>";
  out += kStyle;
  out += "</style>\n</head>\n<body>\n<h1>ppcluster: " + format("%zu", reports.size()) +
         " reports compared, per node</h1>\n<p>Bars: one per report, in this order: ";
  for (size_t r = 0; r < reports.size(); ++r) {
    out += std::string(r ? ", " : "") + "<span style=\"color:" + detail::node_colour(r) +
           "\">&#9632;</span> " + detail::xml_text(reports[r].name);
  }
  out += ".</p>\n";
  html_table(out, reports, g);
  out += "<h2>Relative speed (1 = the fastest node of that batch)</h2>\n";
  html_bars(out, reports, g, &Derived::relative_speed);
  out += "<h2>Share of the work (by job time)</h2>\n";
  html_bars(out, reports, g, &Derived::share);
  out += "<h2>Batches</h2>\n<ul>\n";
  for (const auto& r : reports) {
    out += "<li>" + detail::xml_text(r.name) + ": " +
           detail::xml_text(detail::summary_line(r.report)) + "</li>\n";
  }
  out += "</ul>\n</body>\n</html>\n";
  return out;
}

}  // namespace pp::client::report
