// The report as one self-contained HTML page: inline CSS and inline SVG, no scripts,
// fonts or links to anything outside the file, so it reads the same offline.
#include "ppclient/report/report.hpp"
#include "ppclient/report/report_svg.hpp"
#include "ppclient/report/report_text.hpp"

namespace pp::client::report {

namespace {

using detail::format;
using detail::xml_text;

constexpr const char* kStyle = R"(body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;
margin:24px;color:#222;background:#fff;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
p.summary{color:#444;margin:0 0 12px}
table{border-collapse:collapse;font-size:12.5px}
th,td{padding:3px 6px;border-bottom:1px solid #e1e4e8;text-align:right;white-space:nowrap}
th{background:#f3f4f6;font-weight:600;vertical-align:bottom}
td.node,th.node{text-align:left}
tr.gone td{color:#888}
table.batch td:first-child{text-align:left;color:#444}
span.swatch{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}
svg{max-width:100%;height:auto;display:block}
.scroll{overflow-x:auto}
dl{font-size:13px;color:#444}dt{font-weight:600;margin-top:6px}dd{margin-left:16px}
)";

std::string u(uint64_t v) { return format("%llu", static_cast<unsigned long long>(v)); }

void batch_table(std::string& out, const Report& r) {
  const Batch& b = r.batch;
  auto row = [&](const char* what, const std::string& value) {
    out += "<tr><td>";
    out += what;
    out += "</td><td>" + xml_text(value) + "</td></tr>\n";
  };
  out += "<table class=\"batch\">\n";
  row("Jobs with a result", u(b.jobs));
  row("Wall time (first submit to last result)", detail::seconds_text(b.wall_seconds) + " s");
  row("Sum of job times", detail::seconds_text(b.job_seconds) + " s");
  row("Speedup over serial", format("%.2f\xC3\x97", speedup(r)));
  row("Re-sent jobs (their node went away or crashed)", u(b.resent));
  row("Duplicate executions (result not used)", u(b.duplicates));
  row("Bytes through the driver: sent to nodes / received from them",
      detail::bytes_text(b.bytes_sent) + " / " + detail::bytes_text(b.bytes_received));
  if (r.executions_dropped) {
    row("Executions left out of the timeline's sample (counted above)", u(r.executions_dropped));
  }
  out += "</table>\n";
}

void node_table(std::string& out, const Report& r) {
  static constexpr const char* kHeads[] = {
      "workers",      "speed<br/>score", "jobs<br/>done",   "share",
      "job s",        "mean<br/>job s",  "CPU s",           "busy s",
      "jobs/s per<br/>worker", "relative<br/>speed", "stolen<br/>from / to",
      "backups<br/>won / lost", "failures<br/>(crashes)", "re-<br/>queued", "paused s",
      "bytes sent /<br/>received"};
  out += "<div class=\"scroll\"><table class=\"nodes\">\n<tr><th class=\"node\">node</th>";
  for (const char* h : kHeads) out += std::string("<th>") + h + "</th>";
  out += "</tr>\n";
  for (size_t i = 0; i < r.nodes.size(); ++i) {
    const NodeRow& n = r.nodes[i];
    Derived d = derive(r, i);
    out += n.connected ? "<tr>" : "<tr class=\"gone\">";
    out += std::string("<td class=\"node\"><span class=\"swatch\" style=\"background:") +
           detail::node_colour(i) + "\"></span>" + xml_text(detail::node_label(n)) +
           (n.connected ? "" : " (gone)") + "</td>";
    const std::string cells[] = {
        format("%d", n.workers),
        format("%.2f", n.speed_score),
        u(n.jobs),
        detail::percent_text(d.share),
        detail::seconds_text(n.job_time),
        detail::seconds_text(d.mean_job_seconds),
        detail::seconds_text(n.cpu_time),
        detail::seconds_text(n.busy_time),
        detail::rate_text(d.throughput_per_worker),
        d.relative_speed > 0 ? format("%.2f", d.relative_speed) : "-",
        u(n.stolen_from) + " / " + u(n.stolen_to),
        u(n.backups_won) + " / " + u(n.backups_lost),
        n.crashes ? u(n.failures) + " (" + u(n.crashes) + ")" : u(n.failures),
        u(n.requeued),
        n.paused_time > 0 ? detail::seconds_text(n.paused_time) : "-",
        detail::bytes_text(n.bytes_sent) + " / " + detail::bytes_text(n.bytes_received)};
    for (const std::string& c : cells) out += "<td>" + xml_text(c) + "</td>";
    out += "</tr>\n";
  }
  out += "</table></div>\n";
}

void glossary(std::string& out) {
  out += R"(<h2>What the figures mean</h2>
<dl>
<dt>share</dt><dd>the node's job time as a part of all nodes' job time</dd>
<dt>jobs/s per worker</dt><dd>jobs done / seconds with a job in flight there / workers</dd>
<dt>relative speed</dt><dd>the fastest node's mean job time / this node's (1.00 = fastest)</dd>
<dt>stolen from / to</dt><dd>jobs not yet started taken off the node's queue for another
node / received that way</dd>
<dt>backups won / lost</dt><dd>backup copies run there whose result came first / that were
cancelled or came second</dd>
<dt>paused s</dt><dd>seconds the node was paused by its machine (its owner wanted it back)
while the batch used it: its queued jobs were taken back, its running ones copied elsewhere</dd>
<dt>speedup over serial</dt><dd>sum of job times / wall time</dd>
<dt>bytes sent / received</dt><dd>bytes the driver wrote to the node / read from it (code,
jobs, values, results); the batch's are all nodes' together, everything through the driver</dd>
<dt>stage: items in / out / dropped / failed</dt><dd>items that reached the stage / that it
passed on / for which it returned nil / for which it raised an error</dd>
<dt>stage: s per item, workers</dt><dd>the mean of its jobs' run times; its run time over the
pipeline's wall time, how many workers it kept busy on average</dd>
</dl>
)";
}

}  // namespace

std::string to_html(const Report& r) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
      "<title>ppcluster contribution report</title>\n<style>";
  out += kStyle;
  out += "</style>\n</head>\n<body>\n<h1>ppcluster contribution report</h1>\n";
  out += "<p class=\"summary\">" + xml_text(detail::summary_line(r)) + "</p>\n";
  batch_table(out, r);

  std::string svg;
  double h = detail::draw_shares(svg, r, 4, false);
  out += "<h2>Share of the work (by job time)</h2>\n";
  out += detail::svg_open(detail::kSvgWidth, h, " role=\"img\" aria-label=\"share of the work\"");
  out += svg + "</svg>\n";

  out += "<h2>Nodes</h2>\n";
  node_table(out, r);
  detail::pipelines_html(out, r);

  svg.clear();
  h = detail::draw_timeline(svg, r, 4, false);
  out += "<h2>Timeline: one lane per worker";
  if (r.executions_dropped) {
    out += format(" (a sample: %llu of %llu executions)",
                  static_cast<unsigned long long>(r.executions.size()),
                  static_cast<unsigned long long>(r.executions.size() + r.executions_dropped));
  }
  out += "</h2>\n";
  out += detail::svg_open(detail::kSvgWidth, h, " role=\"img\" aria-label=\"timeline\"");
  out += svg + "</svg>\n";

  glossary(out);
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace pp::client::report
