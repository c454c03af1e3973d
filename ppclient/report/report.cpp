// The report's figures, the text table and write_file. JSON lives in
// report_json.cpp, the pictures in report_svg.cpp.
#include "ppclient/report/report.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <limits>

#include "ppclient/report/report_text.hpp"

namespace pp::client::report {

namespace detail {

size_t utf8_sequence(std::string_view s) {
  if (s.empty()) return 0;
  auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char c = b(0);
  if (c < 0x80) return 1;
  size_t len;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2, cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3, cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4, cp = c & 0x07;
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  for (size_t i = 1; i < len; ++i) {
    if ((b(i) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i) & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    size_t n = utf8_sequence(s);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      n = 1;
    } else {
      out.append(s.data(), n);
    }
    s.remove_prefix(n);
  }
  return out;
}

size_t utf8_chars(std::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

namespace {

uint32_t code_point(std::string_view s, size_t len) {
  static constexpr unsigned char kLeadMask[] = {0, 0x7F, 0x1F, 0x0F, 0x07};
  uint32_t cp = static_cast<unsigned char>(s[0]) & kLeadMask[len];
  for (size_t i = 1; i < len; ++i) cp = (cp << 6) | (static_cast<unsigned char>(s[i]) & 0x3F);
  return cp;
}

// Terminal columns of one code point: 0 for combining marks, 2 for East Asian wide
// and fullwidth forms and pictographs, else 1 (the common ranges, not all of Unicode).
size_t columns(uint32_t cp) {
  if ((cp >= 0x300 && cp <= 0x36F) || (cp >= 0x200B && cp <= 0x200F) ||
      (cp >= 0xFE00 && cp <= 0xFE0F)) {
    return 0;
  }
  if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF && cp != 0x303F) ||
      (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
      (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
      (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
      (cp >= 0x1F900 && cp <= 0x1F9FF) || (cp >= 0x20000 && cp <= 0x3FFFD)) {
    return 2;
  }
  return 1;
}

}  // namespace

size_t display_width(std::string_view s) {
  size_t width = 0;
  while (!s.empty()) {
    size_t n = utf8_sequence(s);
    width += n ? columns(code_point(s, n)) : 1;
    s.remove_prefix(n ? n : 1);
  }
  return width;
}

std::string fit(std::string_view s, size_t max_width) {
  std::string v = valid_utf8(s);
  if (display_width(v) <= max_width) return v;
  if (max_width == 0) return {};
  std::string_view rest = v;
  size_t width = 0, keep = 0;
  while (!rest.empty()) {
    size_t n = utf8_sequence(rest);
    size_t w = columns(code_point(rest, n));
    if (width + w > max_width - 1) break;
    width += w, keep += n;
    rest.remove_prefix(n);
  }
  v.resize(keep);
  return v + "\xE2\x80\xA6";
}

std::string node_label(const NodeRow& row) {
  if (row.host.empty()) return row.node;
  if (row.node.empty() || row.node == row.host) return row.host;
  return row.host + " (" + row.node + ")";
}

std::string format(const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return {};
  if (static_cast<size_t>(n) < sizeof buf) return std::string(buf, static_cast<size_t>(n));
  std::string out(static_cast<size_t>(n) + 1, '\0');
  va_start(ap, fmt);
  std::vsnprintf(out.data(), out.size(), fmt, ap);
  va_end(ap);
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string seconds_text(double s) {
  if (!std::isfinite(s)) return "?";
  double a = std::fabs(s);
  if (a == 0) return "0";
  if (a < 0.01) return format("%.4f", s);
  if (a < 10) return format("%.2f", s);
  if (a < 1000) return format("%.1f", s);
  return format("%.0f", s);
}

std::string rate_text(double r) {
  if (!std::isfinite(r)) return "?";
  double a = std::fabs(r);
  if (a == 0) return "-";
  if (a >= 100) return format("%.0f", r);
  if (a >= 10) return format("%.1f", r);
  if (a >= 1) return format("%.2f", r);
  if (a >= 0.001) return format("%.3f", r);
  return format("%.1e", r);
}

std::string percent_text(double fraction) {
  if (!std::isfinite(fraction)) return "?";
  return format("%.1f%%", 100.0 * fraction);
}

// Control characters would break the table's lines (or drive the terminal): shown as '?'.
std::string printable(std::string_view s) {
  std::string out = valid_utf8(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  }
  return out;
}

std::string bytes_text(uint64_t bytes) {
  const double b = static_cast<double>(bytes);
  if (bytes < 1024) return format("%llu B", static_cast<unsigned long long>(bytes));
  if (b < 1024.0 * 1024) return format("%.1f KiB", b / 1024);
  if (b < 1024.0 * 1024 * 1024) return format("%.1f MiB", b / (1024.0 * 1024));
  return format("%.2f GiB", b / (1024.0 * 1024 * 1024));
}

std::string driver_bytes_text(const Batch& b) {
  return "Through the driver: " + bytes_text(b.bytes_sent) + " sent to nodes, " +
         bytes_text(b.bytes_received) + " received from them";
}

}  // namespace detail

namespace {

double ratio(double a, double b) {
  return b > 0 && std::isfinite(a) && std::isfinite(b) ? a / b : 0.0;
}

double mean_job(const NodeRow& n) {
  return n.jobs ? ratio(n.job_time, static_cast<double>(n.jobs)) : 0.0;
}

}  // namespace

Derived derive(const Report& report, size_t node_index) {
  Derived d;
  if (node_index >= report.nodes.size()) return d;
  const NodeRow& n = report.nodes[node_index];
  double total = 0, fastest = std::numeric_limits<double>::infinity();
  for (const NodeRow& other : report.nodes) {
    if (std::isfinite(other.job_time) && other.job_time > 0) total += other.job_time;
    double m = mean_job(other);
    if (m > 0) fastest = std::min(fastest, m);
  }
  d.share = n.job_time > 0 ? ratio(n.job_time, total) : 0.0;
  d.mean_job_seconds = mean_job(n);
  if (n.workers > 0) {
    d.throughput_per_worker =
        ratio(ratio(static_cast<double>(n.jobs), n.busy_time), n.workers);
  }
  d.relative_speed = d.mean_job_seconds > 0 ? ratio(fastest, d.mean_job_seconds) : 0.0;
  return d;
}

double speedup(const Report& report) {
  return ratio(report.batch.job_seconds, report.batch.wall_seconds);
}

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::kNormal: return "normal";
    case Kind::kStolen: return "stolen";
    case Kind::kBackup: return "backup";
  }
  return "normal";
}

const char* fate_name(Fate fate) {
  switch (fate) {
    case Fate::kWon: return "won";
    case Fate::kLost: return "lost";
    case Fate::kFailed: return "failed";
    case Fate::kCrashed: return "crashed";
  }
  return "won";
}

namespace {

using detail::format;

constexpr size_t kNodeColumn = 26;

using detail::printable;

// `s` left-aligned in `width` columns (counted in code points).
std::string pad(const std::string& s, size_t width) {
  size_t n = detail::display_width(s);
  return n >= width ? s : s + std::string(width - n, ' ');
}

std::string node_cell(const NodeRow& n) {
  std::string label = printable(detail::node_label(n));
  if (label.empty()) label = "?";
  if (n.connected) return pad(detail::fit(label, kNodeColumn), kNodeColumn);
  return pad(detail::fit(label, kNodeColumn - 7) + " (gone)", kNodeColumn);
}

std::string failures_cell(uint64_t failures, uint64_t crashes) {
  if (!crashes) return format("%llu", static_cast<unsigned long long>(failures));
  return format("%llu (%llu)", static_cast<unsigned long long>(failures),
                static_cast<unsigned long long>(crashes));
}

std::string speed_cell(double relative_speed) {
  return relative_speed > 0 ? format("%.2f", relative_speed) : "-";
}

unsigned long long ull(uint64_t v) { return static_cast<unsigned long long>(v); }

}  // namespace

std::string to_table(const Report& report) {
  std::string out = "Job execution statistics:\n";
  out += format("%-*s %34s %7s %8s %6s %11s %11s %s\n", static_cast<int>(kNodeColumn), "",
                "CPU", "busy", "jobs/s", "rel.", "stolen", "backups", "failed");
  out += format("%-*s %3s %6s %7s %7s %7s %7s %8s %6s %5s %5s %5s %5s %s\n",
                static_cast<int>(kNodeColumn), "node", "wrk", "score", "jobs", "share",
                "seconds", "seconds", "/worker", "speed", "from", "to", "won", "lost",
                "(crashes)");
  NodeRow total;
  for (size_t i = 0; i < report.nodes.size(); ++i) {
    const NodeRow& n = report.nodes[i];
    Derived d = derive(report, i);
    out += node_cell(n);
    out += format(" %3d %6.2f %7llu %7s %7s %7s %8s %6s %5llu %5llu %5llu %5llu %s\n", n.workers,
                  n.speed_score, ull(n.jobs), detail::percent_text(d.share).c_str(),
                  detail::seconds_text(n.cpu_time).c_str(),
                  detail::seconds_text(n.busy_time).c_str(),
                  detail::rate_text(d.throughput_per_worker).c_str(),
                  speed_cell(d.relative_speed).c_str(), ull(n.stolen_from),
                  ull(n.stolen_to), ull(n.backups_won), ull(n.backups_lost),
                  failures_cell(n.failures, n.crashes).c_str());
    total.workers += n.workers;
    total.jobs += n.jobs;
    total.job_time += n.job_time;
    total.cpu_time += n.cpu_time;
    total.stolen_from += n.stolen_from;
    total.stolen_to += n.stolen_to;
    total.backups_won += n.backups_won;
    total.backups_lost += n.backups_lost;
    total.failures += n.failures;
    total.crashes += n.crashes;
  }
  if (report.nodes.empty()) out += "(no node took part)\n";
  if (report.nodes.size() > 1) {
    out += format("%-*s %3d %6s %7llu %7s %7s %7s %8s %6s %5llu %5llu %5llu %5llu %s\n",
                  static_cast<int>(kNodeColumn), "total", total.workers, "", ull(total.jobs),
                  total.job_time > 0 ? "100.0%" : "-",
                  detail::seconds_text(total.cpu_time).c_str(), "", "", "",
                  ull(total.stolen_from), ull(total.stolen_to), ull(total.backups_won),
                  ull(total.backups_lost), failures_cell(total.failures, total.crashes).c_str());
  }
  std::string paused;
  for (const NodeRow& n : report.nodes) {
    if (n.paused_time <= 0) continue;
    paused += (paused.empty() ? " " : ", ") + n.node + " " + detail::seconds_text(n.paused_time) +
              " s" + (n.paused ? " (still paused)" : "");
  }
  if (!paused.empty()) out += "Paused by their machines:" + paused + "\n";
  const Batch& b = report.batch;
  out += format("Wall time (first submit to last result): %s s\n",
                detail::seconds_text(b.wall_seconds).c_str());
  out += format("Sum of job times (%llu jobs): %s s\n", ull(b.jobs),
                detail::seconds_text(b.job_seconds).c_str());
  out += format("Speedup over serial: %.2fx\n", speedup(report));
  out += format("Re-sent jobs (their node went away or crashed): %llu\n", ull(b.resent));
  out += format("Duplicate executions (result not used): %llu\n", ull(b.duplicates));
  out += detail::driver_bytes_text(b) + "\n";
  // Per node, as many to a line as fit in the table's width.
  std::string line = "  per node, sent / received:";
  for (const NodeRow& n : report.nodes) {
    std::string cell = " " + printable(n.node) + " " + detail::bytes_text(n.bytes_sent) + " / " +
                       detail::bytes_text(n.bytes_received) + ";";
    if (detail::display_width(line) + detail::display_width(cell) > 118) {
      out += line + "\n";
      line = "   ";
    }
    line += cell;
  }
  if (!report.nodes.empty()) out += line.substr(0, line.size() - 1) + "\n";
  if (report.executions_dropped) {
    out += format("Executions left out of the timeline's sample (the figures count them): %llu\n",
                  ull(report.executions_dropped));
  }
  out += detail::pipelines_table(report);
  return out;
}

namespace {

std::string lower_extension(const std::string& path) {
  size_t slash = path.find_last_of('/');
  size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return {};
  std::string ext = path.substr(dot);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

}  // namespace

pp::Status write_file(const Report& report, const std::string& path) {
  std::string ext = lower_extension(path);
  std::string text;
  if (ext == ".json") {
    text = to_json(report);
  } else if (ext == ".html" || ext == ".htm") {
    text = to_html(report);
  } else if (ext == ".svg") {
    text = to_svg(report);
  } else {
    text = to_table(report);
  }
  auto fail = [&](int err) {
    return pp::Status(pp::StatusCode::kIo, "cannot write the report to '" + path +
                                               "': " + std::strerror(err));
  };
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return fail(errno);
  size_t written = std::fwrite(text.data(), 1, text.size(), f);
  int err = written == text.size() ? 0 : errno;
  if (std::fflush(f) != 0 && !err) err = errno;
  if (std::fclose(f) != 0 && !err) err = errno;
  if (written != text.size() && !err) err = EIO;
  return err ? fail(err) : pp::Status::ok();
}

}  // namespace pp::client::report
