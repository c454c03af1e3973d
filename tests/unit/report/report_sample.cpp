// report_sample: writes the simulated sample report (report_sample.hpp) to each path
// given, in the format its extension names (.json, .html, .svg, else the table).
//   report_sample docs/report-example.svg
#include <cstdio>
#include <cstdlib>

#include "ppclient/report/report.hpp"
#include "tests/unit/report/report_sample.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE... (.json, .html, .svg or text)\n", argv[0]);
    return 2;
  }
  auto report = pp::client::report::sample::simulated(300);
  for (int i = 1; i < argc; ++i) {
    pp::Status st = pp::client::report::write_file(report, argv[i]);
    if (!st) {
      std::fprintf(stderr, "%s\n", st.to_string().c_str());
      return 1;
    }
  }
  return 0;
}
