// The report's pipelines (Report::pipelines): their stages' derived figures and how the
// text table and the HTML page show them. The figures are counted by the live figures
// (ppclient/src/live_figures.hpp); here they are only derived and drawn.
#include "ppclient/report/report.hpp"
#include "ppclient/report/report_svg.hpp"
#include "ppclient/report/report_text.hpp"

namespace pp::client::report {

namespace {

unsigned long long ull(uint64_t v) { return static_cast<unsigned long long>(v); }

constexpr size_t kStageColumn = 28;

using detail::printable;

std::string pipeline_summary(const Pipeline& p) {
  const double rate = p.wall_seconds > 0 ? static_cast<double>(p.items) / p.wall_seconds : 0;
  return detail::format("%s: %llu items in %s s (%s items/s), %llu dropped, %llu failed",
                        printable(p.name).c_str(), ull(p.items), detail::seconds_text(p.wall_seconds).c_str(),
                        detail::rate_text(rate).c_str(), ull(p.dropped), ull(p.failed));
}

}  // namespace

StageDerived derive(const Pipeline& p, size_t k) {
  StageDerived d;
  if (k >= p.stages.size()) return d;
  const Stage& s = p.stages[k];
  if (s.runs > 0) d.seconds_per_item = s.job_seconds / static_cast<double>(s.runs);
  if (p.wall_seconds > 0) {
    d.items_per_second = static_cast<double>(s.runs) / p.wall_seconds;
    d.workers = s.job_seconds / p.wall_seconds;
  }
  return d;
}

namespace detail {

std::string pipelines_table(const Report& r) {
  std::string out;
  for (const Pipeline& p : r.pipelines) {
    out += pipeline_summary(p) + "\n";
    out += format("  %-*s %8s %8s %8s %7s %8s %8s %8s\n", static_cast<int>(kStageColumn),
                  "stage", "in", "out", "dropped", "failed", "items/s", "s/item", "workers");
    for (size_t k = 0; k < p.stages.size(); ++k) {
      const Stage& s = p.stages[k];
      const StageDerived d = derive(p, k);
      std::string label = fit(format("%zu %s", k + 1, printable(s.name).c_str()), kStageColumn);
      const size_t width = display_width(label);
      if (width < kStageColumn) label.append(kStageColumn - width, ' ');
      out += "  " + label;
      out += format(" %8llu %8llu %8llu %7llu %8s %8s %8.2f\n", ull(s.items_in), ull(s.items_out),
                    ull(s.dropped), ull(s.failed), rate_text(d.items_per_second).c_str(),
                    seconds_text(d.seconds_per_item).c_str(), d.workers);
    }
  }
  return out;
}

void pipelines_html(std::string& out, const Report& r) {
  if (r.pipelines.empty()) return;
  out += "<h2>Pipelines</h2>\n";
  static constexpr const char* kHeads[] = {"items in", "items out", "dropped (nil)", "failed",
                                           "items/s",  "s per item", "workers"};
  for (const Pipeline& p : r.pipelines) {
    out += "<p class=\"summary\">" + xml_text(pipeline_summary(p)) + "</p>\n";
    out += "<div class=\"scroll\"><table class=\"stages\">\n<tr><th class=\"node\">stage</th>";
    for (const char* h : kHeads) out += std::string("<th>") + h + "</th>";
    out += "</tr>\n";
    for (size_t k = 0; k < p.stages.size(); ++k) {
      const Stage& s = p.stages[k];
      const StageDerived d = derive(p, k);
      out += "<tr><td class=\"node\">" + xml_text(format("%zu %s", k + 1, printable(s.name).c_str())) +
             "</td>";
      const std::string cells[] = {format("%llu", ull(s.items_in)), format("%llu", ull(s.items_out)),
                                   format("%llu", ull(s.dropped)),  format("%llu", ull(s.failed)),
                                   rate_text(d.items_per_second),   seconds_text(d.seconds_per_item),
                                   format("%.2f", d.workers)};
      for (const std::string& c : cells) out += "<td>" + xml_text(c) + "</td>";
      out += "</tr>\n";
    }
    out += "</table></div>\n";
  }
}

}  // namespace detail

}  // namespace pp::client::report
