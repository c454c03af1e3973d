// `ppclient stats REPORT.json... [--report OUT]` (see stats_main.cpp).
#pragma once

#include <string>
#include <vector>

namespace pp::client {

// One report: its table, or written to `out` in the format its extension names. Several:
// side by side per node (report_compare.hpp), as text, or as HTML when `out` ends in
// .html / .htm. 0, 1 for a file that cannot be read or is not a report, 2 for an output
// format a comparison does not have.
int run_stats(const std::vector<std::string>& in, const std::string& out);

}  // namespace pp::client
