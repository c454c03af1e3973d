// The report as JSON (schema in docs/report.md) on nlohmann-json, the writing half:
// to_json builds the document and lays it out one record per line. Reading it back is
// report_json.cpp's.
#include "ppclient/report/report.hpp"

#include <charconv>
#include <cmath>

#include <nlohmann/json.hpp>

#include "ppclient/report/report_json_reader.hpp"
#include "ppclient/report/report_text.hpp"

namespace pp::client::report {

namespace {

using json = nlohmann::json;
using ordered = nlohmann::ordered_json;

using detail::kFormat;
using detail::kVersion;

// ---------------------------------------------------------------- writing

ordered node_json(const Report& r, size_t i) {
  const NodeRow& n = r.nodes[i];
  Derived d = derive(r, i);
  return ordered{{"name", detail::valid_utf8(n.node)},
                 {"host", detail::valid_utf8(n.host)},
                 {"workers", n.workers},
                 {"speed_score", n.speed_score},
                 {"connected", n.connected},
                 {"jobs_done", n.jobs},
                 {"failures", n.failures},
                 {"crashes", n.crashes},
                 {"job_seconds", n.job_time},
                 {"cpu_seconds", n.cpu_time},
                 {"busy_seconds", n.busy_time},
                 {"stolen_from", n.stolen_from},
                 {"stolen_to", n.stolen_to},
                 {"backups_won", n.backups_won},
                 {"backups_lost", n.backups_lost},
                 {"requeued", n.requeued},
                 {"bytes_sent", n.bytes_sent},
                 {"bytes_received", n.bytes_received},
                 {"paused_seconds", n.paused_time},
                 {"derived",
                  ordered{{"share", d.share},
                          {"throughput_per_worker", d.throughput_per_worker},
                          {"relative_speed", d.relative_speed},
                          {"mean_job_seconds", d.mean_job_seconds}}}};
}

ordered execution_json(const Execution& e) {
  return ordered{{"job", e.job},         {"node", e.node},
                 {"worker", e.worker},   {"start", e.start},
                 {"end", e.end},         {"kind", kind_name(e.kind)},
                 {"fate", fate_name(e.fate)}};
}

ordered pipeline_json(const Pipeline& p) {
  ordered stages = ordered::array();
  for (size_t k = 0; k < p.stages.size(); ++k) {
    const Stage& s = p.stages[k];
    const StageDerived d = derive(p, k);
    stages.push_back(ordered{{"name", detail::valid_utf8(s.name)},
                             {"items_in", s.items_in},
                             {"items_out", s.items_out},
                             {"dropped", s.dropped},
                             {"failed", s.failed},
                             {"runs", s.runs},
                             {"job_seconds", s.job_seconds},
                             {"derived",
                              ordered{{"items_per_second", d.items_per_second},
                                      {"seconds_per_item", d.seconds_per_item},
                                      {"workers", d.workers}}}});
  }
  return ordered{{"name", detail::valid_utf8(p.name)}, {"wall_seconds", p.wall_seconds},
                 {"items", p.items},   {"dropped", p.dropped},
                 {"failed", p.failed}, {"stages", std::move(stages)}};
}

ordered document(const Report& r) {
  ordered nodes = ordered::array(), executions = ordered::array(), pipelines = ordered::array();
  for (size_t i = 0; i < r.nodes.size(); ++i) nodes.push_back(node_json(r, i));
  for (const Pipeline& p : r.pipelines) pipelines.push_back(pipeline_json(p));
  for (const Execution& e : r.executions) executions.push_back(execution_json(e));
  return ordered{{"format", kFormat},
                 {"version", kVersion},
                 {"batch",
                  ordered{{"wall_seconds", r.batch.wall_seconds},
                          {"jobs", r.batch.jobs},
                          {"job_seconds", r.batch.job_seconds},
                          {"resent", r.batch.resent},
                          {"duplicates", r.batch.duplicates},
                          {"bytes_sent", r.batch.bytes_sent},
                          {"bytes_received", r.batch.bytes_received},
                          {"speedup", speedup(r)}}},
                 {"nodes", std::move(nodes)},
                 {"executions", std::move(executions)},
                 {"executions_dropped", r.executions_dropped},
                 {"dropped_from", r.dropped_from},
                 {"dropped_to", r.dropped_to},
                 {"pipelines", std::move(pipelines)}};
}

// nlohmann escapes control characters but leaves DEL as it is; the format has always
// escaped it too, so that no viewer meets a raw control byte.
void put_string(std::string& out, const std::string& s) {
  for (char c : json(s).dump()) {
    if (c == '\x7F') {
      out += "\\u007f";
    } else {
      out += c;
    }
  }
}

// The shortest text that reads back as the same double, "1" rather than nlohmann's
// "1.0" (reports have always been written so); non-finite numbers as 0.
void put_double(std::string& out, double v) {
  if (!std::isfinite(v)) v = 0;
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void put_inline(std::string& out, const ordered& v) {
  if (v.is_object()) {
    out += '{';
    const char* sep = "";
    for (const auto& [k, x] : v.items()) {
      out += sep, put_string(out, k), out += ": ", put_inline(out, x), sep = ", ";
    }
    out += '}';
  } else if (v.is_array()) {
    out += '[';
    const char* sep = "";
    for (const ordered& x : v) out += sep, put_inline(out, x), sep = ", ";
    out += ']';
  } else if (v.is_string()) {
    put_string(out, v.get_ref<const std::string&>());
  } else if (v.is_number_float()) {
    put_double(out, v.get<double>());
  } else {
    out += v.dump();
  }
}

}  // namespace

std::string to_json(const Report& r) {
  ordered doc = document(r);
  std::string out;
  out.reserve(512 + r.nodes.size() * 512 + r.executions.size() * 112);
  out += "{\n";
  const char* sep = "";
  for (const auto& [key, value] : doc.items()) {
    out += sep, out += "  ", put_string(out, key), out += ": ", sep = ",\n";
    if (!value.is_array() || value.empty()) {
      put_inline(out, value);
      continue;
    }
    // One node, execution or pipeline per line.
    const char* item_sep = "[\n    ";
    for (const ordered& item : value) out += item_sep, put_inline(out, item), item_sep = ",\n    ";
    out += "\n  ]";
  }
  out += "\n}\n";
  return out;
}

}  // namespace pp::client::report
