// `ppclient stats`: saved reports shown again, or compared.
#include "ppclient/src/stats_main.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/util/command_line.hpp"
#include "ppclient/report/report.hpp"
#include "ppclient/report/report_compare.hpp"

namespace pp::client {
namespace {

bool read_file(const std::string& path, std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    std::fprintf(stderr, "ppclient stats: cannot open %s: %s\n", path.c_str(),
                 std::strerror(errno));
    return false;
  }
  char buf[65536];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  std::fclose(f);
  return true;
}

bool ends_with(std::string s, const std::string& suffix) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int write_text(const std::string& text, const std::string& out) {
  if (out.empty()) {
    std::fputs(text.c_str(), stdout);
    return 0;
  }
  std::FILE* f = std::fopen(out.c_str(), "wb");
  bool ok = f != nullptr && std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (f != nullptr) ok = std::fclose(f) == 0 && ok;
  if (!ok) {
    std::fprintf(stderr, "ppclient stats: cannot write %s: %s\n", out.c_str(), std::strerror(errno));
    return 1;
  }
  return 0;
}

}  // namespace

int run_stats(const std::vector<std::string>& in, const std::string& out) {
  const bool html = ends_with(out, ".html") || ends_with(out, ".htm");
  if (in.size() > 1 && !out.empty() && !html &&
      (ends_with(out, ".json") || ends_with(out, ".svg"))) {
    std::fprintf(stderr, "ppclient stats: several reports are compared as text or .html, not %s\n",
                 out.c_str());
    return pp::kExitUsage;
  }
  std::vector<report::NamedReport> reports;
  for (const std::string& path : in) {
    std::string text;
    if (!read_file(path, text)) return 1;
    auto rep = report::from_json(text);
    if (!rep) {
      std::fprintf(stderr, "ppclient stats: %s is not a ppcluster report: %s\n", path.c_str(),
                   rep.status().message().c_str());
      return 1;
    }
    reports.push_back({path.substr(path.find_last_of('/') + 1), std::move(*rep)});
  }
  if (reports.size() == 1) {
    if (out.empty()) return write_text(report::to_table(reports[0].report), out);
    pp::Status st = report::write_file(reports[0].report, out);
    if (!st) {
      std::fprintf(stderr, "ppclient stats: %s\n", st.message().c_str());
      return 1;
    }
    return 0;
  }
  return write_text(html ? report::to_comparison_html(reports)
                         : report::to_comparison_table(reports),
                    out);
}

}  // namespace pp::client
