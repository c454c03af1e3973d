// The report's pictures: per-node share bars and a timeline with one lane per worker,
// as one standalone SVG (to_svg) or inside a self-contained HTML page (to_html, in
// report_html.cpp). Every piece of text goes through xml_text(); nothing refers to
// anything outside the document.
#include "ppclient/report/report_svg.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "ppclient/report/report_text.hpp"

namespace pp::client::report {

namespace detail {

std::string xml_text(std::string_view s) {
  std::string v = valid_utf8(s), out;
  out.reserve(v.size() + 16);
  for (size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        // XML 1.0 forbids control characters (even as references) and U+FFFE, U+FFFF.
        if (u < 0x20 || u == 0x7F) {
          out += "\xEF\xBF\xBD";
        } else if (u == 0xEF && v.compare(i, 2, "\xEF\xBF") == 0 && i + 2 < v.size() &&
                   (v[i + 2] == '\xBE' || v[i + 2] == '\xBF')) {
          out += "\xEF\xBF\xBD";
          i += 2;
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string coord(double v) {
  if (!std::isfinite(v)) v = 0;
  std::string s = format("%.1f", v);
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  return s == "-0" ? "0" : s;
}

const char* node_colour(size_t node) {
  // Distinct, colour-blind-friendlier hues; reds and oranges stay free for failures.
  static constexpr const char* kPalette[] = {"#4e79a7", "#59a14f", "#b07aa1", "#76b7b2",
                                             "#9c755f", "#1f3b73", "#8cd17d", "#a0cbe8",
                                             "#d4a6c8", "#79706e"};
  return kPalette[node % (sizeof kPalette / sizeof kPalette[0])];
}

std::string summary_line(const Report& r) {
  const Batch& b = r.batch;
  return format("%llu jobs \xC2\xB7 wall time %s s \xC2\xB7 sum of job times %s s \xC2\xB7 "
                "speedup over serial %.2f\xC3\x97 \xC2\xB7 re-sent %llu \xC2\xB7 "
                "duplicate executions %llu",
                static_cast<unsigned long long>(b.jobs), seconds_text(b.wall_seconds).c_str(),
                seconds_text(b.job_seconds).c_str(), speedup(r),
                static_cast<unsigned long long>(b.resent),
                static_cast<unsigned long long>(b.duplicates));
}

namespace {

constexpr double kLabelWidth = 210;  // left column: node and worker labels
constexpr double kPlotWidth = 750;   // the timeline's time axis
constexpr double kBarWidth = 440;    // a share bar at 100%
constexpr double kRowHeight = 22;    // one share bar
constexpr size_t kLabelChars = 28;
constexpr size_t kMaxIdleLanes = 256;   // lanes drawn per node for workers that ran nothing
constexpr size_t kMarkedLimit = 5000;   // special copies drawn one by one when merging
constexpr const char* kFailedColour = "#f28e2b";
constexpr const char* kCrashedColour = "#d62728";

// `s` cut at spaces into lines of at most `width` characters (longer words stay whole).
std::vector<std::string> wrap(const std::string& s, size_t width) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (s.size() - start > width) {
    size_t cut = s.rfind(' ', start + width);
    if (cut == std::string::npos || cut <= start) cut = s.find(' ', start + width);
    if (cut == std::string::npos) break;
    lines.push_back(s.substr(start, cut - start));
    start = cut + 1;
  }
  lines.push_back(s.substr(start));
  return lines;
}

std::string label_of(const NodeRow& n) {
  std::string s = fit(node_label(n), n.connected ? kLabelChars : kLabelChars - 7);
  if (s.empty()) s = "?";
  return n.connected ? s : s + " (gone)";
}

void text(std::string& out, double x, double y, std::string_view content, const char* attrs) {
  out += "<text x=\"" + coord(x) + "\" y=\"" + coord(y) + "\" " + attrs + ">";
  out += xml_text(content);
  out += "</text>\n";
}

void rect(std::string& out, double x, double y, double w, double h, const char* fill,
          const std::string& extra = {}) {
  out += "<rect x=\"" + coord(x) + "\" y=\"" + coord(y) + "\" width=\"" + coord(w) +
         "\" height=\"" + coord(h) + "\" fill=\"" + fill + "\"" + extra + "/>";
}

// A step of 1, 2 or 5 times a power of ten giving about `count` ticks over `span`.
double tick_step(double span, double count) {
  double raw = span / count;
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0}) {
    if (m * mag >= raw) return m * mag;
  }
  return 10 * mag;
}

struct Lane {
  uint32_t node, worker;
  double y;
};

struct Layout {
  std::vector<Lane> lanes;
  std::vector<std::map<uint32_t, size_t>> lane_of;  // per node: worker -> lane index
  double lane_height = 14, top = 0, bottom = 0, span = 1;
  size_t unknown_node = 0;                           // executions naming no node
};

Layout lay_out(const Report& r, double top) {
  Layout l;
  std::vector<std::set<uint32_t>> workers(r.nodes.size());
  for (size_t i = 0; i < r.nodes.size(); ++i) {
    size_t idle = std::min<size_t>(static_cast<size_t>(std::max(r.nodes[i].workers, 0)),
                                   kMaxIdleLanes);
    for (size_t w = 0; w < idle; ++w) workers[i].insert(static_cast<uint32_t>(w));
  }
  double end = r.batch.wall_seconds;
  for (const Execution& e : r.executions) {
    if (e.node >= r.nodes.size()) {
      ++l.unknown_node;
      continue;
    }
    workers[e.node].insert(e.worker);
    if (std::isfinite(e.end)) end = std::max(end, e.end);
  }
  l.span = std::isfinite(end) && end > 0 ? end : 1.0;
  size_t total = 0;
  for (const auto& w : workers) total += w.size();
  l.lane_height = total <= 40 ? 14 : std::max(3.0, 560.0 / static_cast<double>(total));
  double gap = l.lane_height < 8 ? 3 : 6;
  l.lane_of.resize(r.nodes.size());
  double y = top;
  for (size_t i = 0; i < r.nodes.size(); ++i) {
    if (workers[i].empty()) continue;
    for (uint32_t w : workers[i]) {
      l.lane_of[i][w] = l.lanes.size();
      l.lanes.push_back({static_cast<uint32_t>(i), w, y});
      y += l.lane_height;
    }
    y += gap;
  }
  l.top = top;
  l.bottom = l.lanes.empty() ? top + 20 : y - gap;
  return l;
}

double x_of(const Layout& l, double t) {
  double f = std::isfinite(t) ? std::clamp(t / l.span, 0.0, 1.0) : 0.0;
  return kLabelWidth + f * kPlotWidth;
}

void hatch_defs(std::string& out) {
  out += "<defs><pattern id=\"pp-hatch\" width=\"5\" height=\"5\" patternUnits=\"userSpaceOnUse\""
         " patternTransform=\"rotate(45)\"><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"5\""
         " stroke=\"#ffffff\" stroke-width=\"2.2\" stroke-opacity=\"0.9\"/></pattern></defs>\n";
}

// One execution's rectangle(s): colour by node, warning colours for failed and crashed
// copies, faded when lost, outlined when stolen, hatched when a backup copy.
void draw_copy(std::string& out, double x, double y, double w, double h, size_t node, Kind kind,
               Fate fate, const std::string& title) {
  const char* fill = fate == Fate::kFailed    ? kFailedColour
                     : fate == Fate::kCrashed ? kCrashedColour
                                              : node_colour(node);
  std::string extra;
  if (fate == Fate::kLost) extra += " fill-opacity=\"0.3\"";
  if (kind == Kind::kStolen) extra += " stroke=\"#111111\" stroke-width=\"0.9\"";
  out += "<g><title>" + xml_text(title) + "</title>";
  rect(out, x, y, w, h, fill, extra);
  if (kind == Kind::kBackup) {
    rect(out, x, y, w, h, "url(#pp-hatch)",
         fate == Fate::kLost ? " fill-opacity=\"0.3\"" : std::string());
  }
  out += "</g>\n";
}

double legend(std::string& out, double y) {
  struct Item {
    Kind kind;
    Fate fate;
    const char* label;
  };
  static constexpr Item kItems[] = {{Kind::kNormal, Fate::kWon, "job (its node's colour)"},
                                    {Kind::kStolen, Fate::kWon, "stolen from another node"},
                                    {Kind::kBackup, Fate::kWon, "backup copy"},
                                    {Kind::kNormal, Fate::kLost, "lost copy (not used)"},
                                    {Kind::kNormal, Fate::kFailed, "failed"},
                                    {Kind::kNormal, Fate::kCrashed, "crashed its worker"}};
  double x = 16;
  for (const Item& it : kItems) {
    double w = 21 + 6.3 * static_cast<double>(utf8_chars(it.label)) + 14;
    if (x + w > kSvgWidth - 8) x = 16, y += 16;
    draw_copy(out, x, y, 16, 10, 0, it.kind, it.fate, it.label);
    text(out, x + 21, y + 9, it.label, "font-size=\"11\" fill=\"#333333\"");
    x += w;
  }
  return y + 18;
}

void axis(std::string& out, const Layout& l) {
  double step = tick_step(l.span, 8);
  int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  double axis_y = l.bottom + 6;
  out += "<line x1=\"" + coord(kLabelWidth) + "\" y1=\"" + coord(axis_y) + "\" x2=\"" +
         coord(kLabelWidth + kPlotWidth) + "\" y2=\"" + coord(axis_y) +
         "\" stroke=\"#333333\" stroke-width=\"1\"/>\n";
  for (int k = 0; k <= 1000; ++k) {
    double t = k * step;
    if (t > l.span * (1 + 1e-9)) break;
    double x = x_of(l, t);
    out += "<line x1=\"" + coord(x) + "\" y1=\"" + coord(l.top - 2) + "\" x2=\"" + coord(x) +
           "\" y2=\"" + coord(axis_y) + "\" stroke=\"#000000\" stroke-opacity=\"0.12\"/>";
    out += "<line x1=\"" + coord(x) + "\" y1=\"" + coord(axis_y) + "\" x2=\"" + coord(x) +
           "\" y2=\"" + coord(axis_y + 5) + "\" stroke=\"#333333\"/>\n";
    text(out, x, axis_y + 17, format("%.*f", decimals, t),
         "font-size=\"11\" text-anchor=\"middle\" fill=\"#333333\"");
  }
  text(out, kLabelWidth + kPlotWidth / 2, axis_y + 33, "seconds since the batch started",
       "font-size=\"11\" text-anchor=\"middle\" fill=\"#555b66\"");
}

void lane_labels(std::string& out, const Report& r, const Layout& l) {
  const Lane* group = nullptr;
  double next_label = -1e9;   // node labels need 12 px each when lanes are thin
  for (const Lane& lane : l.lanes) {
    if (!group || group->node != lane.node) {
      group = &lane;
      const Lane* last = &lane;
      while (last + 1 != l.lanes.data() + l.lanes.size() && (last + 1)->node == lane.node) ++last;
      double height = last->y + l.lane_height - lane.y;
      rect(out, kLabelWidth, lane.y, kPlotWidth, height, "#f3f4f6");
      rect(out, 4, lane.y, 4, height, node_colour(lane.node));
      out += '\n';
      if (lane.y >= next_label) {
        text(out, 12, lane.y + 11, label_of(r.nodes[lane.node]),
             "font-size=\"11\" fill=\"#222222\"");
        next_label = lane.y + 12;
      }
    }
    if (l.lane_height >= 9) {
      text(out, kLabelWidth - 5, lane.y + l.lane_height - 3, format("w%u", lane.worker),
           "font-size=\"9\" text-anchor=\"end\" fill=\"#777777\"");
    }
  }
}

// Whether the report says when its dropped executions ran (reports from before the
// sample, or with no finite times, do not).
bool has_dropped_range(const Report& r) {
  return r.executions_dropped > 0 && r.dropped_to >= r.dropped_from &&
         (r.dropped_from != 0 || r.dropped_to != 0);
}

// A report whose executions are a sample: the stretch where executions were left out
// is shaded across every lane (so its gaps are not read as idle workers).
void shade_dropped(std::string& out, const Report& r, const Layout& l) {
  if (!has_dropped_range(r) || l.lanes.empty()) return;
  double x0 = x_of(l, r.dropped_from), x1 = x_of(l, r.dropped_to);
  std::string title = format("%llu executions that ran between %s and %s s are not drawn",
                             static_cast<unsigned long long>(r.executions_dropped),
                             seconds_text(r.dropped_from).c_str(),
                             seconds_text(r.dropped_to).c_str());
  out += "<g><title>" + xml_text(title) + "</title>";
  rect(out, x0, l.top - 2, std::max(x1 - x0, 1.0), l.bottom - l.top + 4, "#8a8f98",
       " fill-opacity=\"0.22\" stroke=\"#8a8f98\" stroke-dasharray=\"3 2\"");
  out += "</g>\n";
}

// What a sampled timeline leaves out, for the note under it.
std::string sample_note(const Report& r) {
  const unsigned long long kept = r.executions.size(), dropped = r.executions_dropped;
  std::string note = format("This timeline shows a sample: %llu of %llu executions. ", kept,
                            kept + dropped);
  if (has_dropped_range(r)) {
    note += format("Outside the shaded stretch (%s\xE2\x80\x93%s s) every execution is drawn; "
                   "inside it %llu are not (stolen, backup, lost, failed and crashed copies are "
                   "kept first). ",
                   seconds_text(r.dropped_from).c_str(), seconds_text(r.dropped_to).c_str(),
                   dropped);
  } else {
    note += format("%llu are not drawn. ", dropped);
  }
  return note + "The figures above count every execution.";
}

std::string copy_title(const Report& r, const Execution& e) {
  std::string s = format("job %llu \xC2\xB7 %s w%u \xC2\xB7 %s\xE2\x80\x93%s s (%s s)",
                         static_cast<unsigned long long>(e.job),
                         fit(node_label(r.nodes[e.node]), 40).c_str(), e.worker,
                         seconds_text(e.start).c_str(), seconds_text(e.end).c_str(),
                         seconds_text(e.end - e.start).c_str());
  if (e.kind != Kind::kNormal) s += std::string(" \xC2\xB7 ") + kind_name(e.kind);
  if (e.fate != Fate::kWon) s += std::string(" \xC2\xB7 ") + fate_name(e.fate);
  return s;
}

void draw_execution(std::string& out, const Report& r, const Layout& l, const Execution& e) {
  const Lane& lane = l.lanes[l.lane_of[e.node].at(e.worker)];
  double x0 = x_of(l, e.start), x1 = x_of(l, e.end);
  double pad = l.lane_height >= 8 ? 1.5 : 0.5;
  // A hairline gap at the end keeps back-to-back jobs on one worker apart.
  double w = x1 - x0 > 2.5 ? x1 - x0 - 0.8 : std::max(x1 - x0, 0.7);
  draw_copy(out, x0, lane.y + pad, w, l.lane_height - 2 * pad, e.node, e.kind, e.fate,
            copy_title(r, e));
}

// Beyond kTimelineDetailLimit: each lane's plain jobs merge into busy spans (gaps under a
// pixel closed); special copies stay individual up to kMarkedLimit. Returns the note.
std::string draw_merged(std::string& out, const Report& r, const Layout& l) {
  std::vector<const Execution*> special;
  std::vector<std::vector<std::pair<double, double>>> plain(l.lanes.size());
  for (const Execution& e : r.executions) {
    if (e.node >= r.nodes.size()) continue;
    if (e.kind != Kind::kNormal || e.fate != Fate::kWon) {
      special.push_back(&e);
    } else {
      plain[l.lane_of[e.node].at(e.worker)].push_back({e.start, e.end});
    }
  }
  auto longer = [](const Execution* a, const Execution* b) {
    return a->end - a->start > b->end - b->start;
  };
  size_t merged_special = 0;
  if (special.size() > kMarkedLimit) {
    std::stable_sort(special.begin(), special.end(), longer);
    for (size_t i = kMarkedLimit; i < special.size(); ++i) {
      const Execution& e = *special[i];
      plain[l.lane_of[e.node].at(e.worker)].push_back({e.start, e.end});
    }
    merged_special = special.size() - kMarkedLimit;
    special.resize(kMarkedLimit);
  }
  double pixel = l.span / kPlotWidth;
  double pad = l.lane_height >= 8 ? 1.5 : 0.5;
  size_t spans = 0;
  for (size_t i = 0; i < plain.size(); ++i) {
    auto& runs = plain[i];
    std::sort(runs.begin(), runs.end());
    for (size_t a = 0; a < runs.size();) {
      size_t b = a + 1;
      double end = runs[a].second;
      while (b < runs.size() && runs[b].first <= end + pixel) end = std::max(end, runs[b++].second);
      double x0 = x_of(l, runs[a].first), x1 = x_of(l, end);
      std::string title = format("%zu jobs \xC2\xB7 %s\xE2\x80\x93%s s", b - a,
                                 seconds_text(runs[a].first).c_str(), seconds_text(end).c_str());
      out += "<g><title>" + xml_text(title) + "</title>";
      rect(out, x0, l.lanes[i].y + pad, std::max(x1 - x0, 0.7), l.lane_height - 2 * pad,
           node_colour(l.lanes[i].node));
      out += "</g>\n";
      ++spans, a = b;
    }
  }
  for (const Execution* e : special) draw_execution(out, r, l, *e);
  std::string note = format("%zu executions: each worker's jobs are merged into %zu busy spans "
                            "(gaps under a pixel closed); %zu stolen, backup, lost, failed or "
                            "crashed copies are drawn one by one",
                            r.executions.size(), spans, special.size());
  if (merged_special) note += format(" (%zu shorter ones are merged in)", merged_special);
  return note + ".";
}

}  // namespace

double draw_header(std::string& out, const Report& r, double y) {
  text(out, 16, y + 24, "ppcluster contribution report",
       "font-size=\"18\" font-weight=\"bold\" fill=\"#111111\"");
  text(out, 16, y + 44, summary_line(r), "font-size=\"12\" fill=\"#444444\"");
  return y + 56;
}

double draw_shares(std::string& out, const Report& r, double y, bool heading) {
  if (heading) {
    text(out, 16, y + 16, "Share of the work (by job time)",
         "font-size=\"13\" font-weight=\"bold\" fill=\"#111111\"");
    y += 26;
  }
  for (size_t i = 0; i < r.nodes.size(); ++i, y += kRowHeight) {
    const NodeRow& n = r.nodes[i];
    Derived d = derive(r, i);
    text(out, 16, y + 12.5, label_of(n), "font-size=\"12\" fill=\"#222222\"");
    rect(out, kLabelWidth, y, kBarWidth, 16, "#eceef2");
    const char* workers = n.workers == 1 ? "worker" : "workers";
    std::string title = format("%s: %s of the job time, %llu jobs on %d %s",
                               node_label(n).c_str(), percent_text(d.share).c_str(),
                               static_cast<unsigned long long>(n.jobs), n.workers, workers);
    out += "<g><title>" + xml_text(title) + "</title>";
    double w = d.share * kBarWidth;
    rect(out, kLabelWidth, y, d.share > 0 ? std::max(w, 1.0) : 0, 16, node_colour(i));
    out += "</g>\n";
    std::string after = format("%s \xC2\xB7 %llu jobs \xC2\xB7 %d %s",
                               percent_text(d.share).c_str(),
                               static_cast<unsigned long long>(n.jobs), n.workers, workers);
    if (d.relative_speed > 0) after += format(" \xC2\xB7 rel. speed %.2f", d.relative_speed);
    text(out, kLabelWidth + kBarWidth + 8, y + 12.5, after, "font-size=\"12\" fill=\"#333333\"");
  }
  if (r.nodes.empty()) {
    text(out, kLabelWidth, y + 12, "No node took part.", "font-size=\"12\" fill=\"#555b66\"");
    y += kRowHeight;
  }
  return y + 4;
}

double draw_timeline(std::string& out, const Report& r, double y, bool heading) {
  hatch_defs(out);
  if (heading) {
    text(out, 16, y + 16, "Timeline: one lane per worker",
         "font-size=\"13\" font-weight=\"bold\" fill=\"#111111\"");
    y += 26;
  }
  y = legend(out, y);
  Layout l = lay_out(r, y + 6);
  lane_labels(out, r, l);
  shade_dropped(out, r, l);
  axis(out, l);
  std::vector<std::string> notes;
  if (r.executions_dropped) notes.push_back(sample_note(r));
  if (r.executions.size() > kTimelineDetailLimit) {
    notes.push_back(draw_merged(out, r, l));
  } else {
    for (const Execution& e : r.executions) {
      if (e.node < r.nodes.size()) draw_execution(out, r, l, e);
    }
  }
  if (r.executions.empty() && !r.executions_dropped) notes.push_back("No executions were recorded.");
  if (l.unknown_node) {
    notes.push_back(l.unknown_node == 1
                        ? std::string("1 execution names no node of this report and is not shown.")
                        : format("%zu executions name no node of this report and are not shown.",
                                 l.unknown_node));
  }
  y = l.bottom + 48;
  for (const std::string& note : notes) {
    for (const std::string& line : wrap(note, 150)) {
      text(out, 16, y + 12, line, "font-size=\"11\" fill=\"#8a4b00\"");
      y += 15;
    }
  }
  return y + 8;
}

std::string svg_open(double width, double height, const char* extra) {
  return format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%s\" height=\"%s\" "
                "viewBox=\"0 0 %s %s\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\""
                "%s>\n",
                coord(width).c_str(), coord(height).c_str(), coord(width).c_str(),
                coord(height).c_str(), extra);
}

}  // namespace detail

std::string to_svg(const Report& r) {
  std::string body;
  double y = detail::draw_header(body, r, 0);
  y = detail::draw_shares(body, r, y + 6, true);
  y = detail::draw_timeline(body, r, y + 10, true);
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += detail::svg_open(detail::kSvgWidth, y, "");
  out += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
  out += body;
  out += "</svg>\n";
  return out;
}

}  // namespace pp::client::report
