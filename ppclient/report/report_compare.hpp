// Several saved reports side by side, per node (`ppclient stats a.json b.json ...`): what
// each machine did in each batch, so an old machine can be weighed against a new one
// over several batches. Per node and report: jobs/s per worker, relative speed, share
// (report::derive's figures, the same as each report's own table).
//
// A node is matched across reports by its host name (its address and port may change
// between batches; "local" is the driver's own machine), else by its node name. Pure:
// reports in, text out.
//
//   std::vector<NamedReport> rs{{"monday.json", a}, {"tuesday.json", b}};
//   std::fputs(to_comparison_table(rs).c_str(), stdout);
#pragma once

#include <string>
#include <vector>

#include "ppclient/report/report.hpp"

namespace pp::client::report {

struct NamedReport {
  std::string name;   // how the report is called in the output (its file name)
  Report report;
};

// One row per node across the reports (in the order first seen), one column group per
// report: "jobs/s/worker  rel.speed  share" ("-" where the node did not take part), then
// each report's batch line (jobs, wall time, speedup). Names are shown safe for a terminal.
std::string to_comparison_table(const std::vector<NamedReport>& reports);
// One self-contained HTML page: the same table and, per node, a bar per report for its
// relative speed and its share (inline SVG, no scripts, nothing outside the file).
std::string to_comparison_html(const std::vector<NamedReport>& reports);

}  // namespace pp::client::report
