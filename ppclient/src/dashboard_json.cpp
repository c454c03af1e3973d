#include "ppclient/src/dashboard_json.hpp"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

namespace pp::client {

namespace {

using json = nlohmann::json;

// JSON has no NaN or infinity: such a figure is "not known", 0.
double finite(double v) { return std::isfinite(v) ? v : 0; }

json counts(const JobCounts& c) {
  return {{"submitted", c.submitted}, {"done", c.done},       {"failed", c.failed},
          {"cancelled", c.cancelled}, {"retried", c.retried}, {"held", c.held},
          {"finished", c.finished()}};
}

json node(const LiveNode& n) {
  const NodeStats& f = n.figures;
  return {{"name", f.node},
          {"host", f.host},
          {"found", n.found},
          {"state", node_state_name(n.state)},
          {"reason", n.reason},
          {"version", n.version},
          {"workers", f.workers},
          {"speed_score", finite(f.speed_score)},
          {"relative_speed", finite(n.derived.relative_speed)},
          {"throughput_per_worker", finite(n.derived.throughput_per_worker)},
          {"mean_job_seconds", finite(n.derived.mean_job_seconds)},
          {"share", finite(n.derived.share)},
          {"load", finite(n.load)},
          {"in_flight", n.in_flight},
          {"jobs_done", f.jobs},
          {"failures", f.failures},
          {"crashes", f.crashes},
          {"busy_seconds", finite(f.busy_time)},
          {"stolen_from", f.stolen_from},
          {"stolen_to", f.stolen_to},
          {"backups_won", f.backups_won},
          {"backups_lost", f.backups_lost},
          {"requeued", f.requeued}};
}

// /api/status says how many runs there are; the runs themselves are /api/stream's.
json tasks(const LiveSnapshot& s) {
  return {{"executions", s.executions}, {"running", s.running.size()}};
}

json batch(const report::Batch& b) {
  report::Report r;
  r.batch = b;
  return {{"wall_seconds", finite(b.wall_seconds)}, {"jobs", b.jobs},
          {"job_seconds", finite(b.job_seconds)},   {"resent", b.resent},
          {"duplicates", b.duplicates},             {"speedup", finite(report::speedup(r))},
          {"bytes_sent", b.bytes_sent},             {"bytes_received", b.bytes_received}};
}

// A pipeline as the report counts it, each stage with its items in flight (reached it,
// not through yet) and its derived figures.
json pipeline(const report::Pipeline& p) {
  json stages = json::array();
  for (size_t k = 0; k < p.stages.size(); ++k) {
    const report::Stage& st = p.stages[k];
    const report::StageDerived d = report::derive(p, k);
    const uint64_t through = st.items_out + st.dropped + st.failed;
    stages.push_back({{"name", st.name},
                      {"items_in", st.items_in},
                      {"items_out", st.items_out},
                      {"dropped", st.dropped},
                      {"failed", st.failed},
                      {"in_flight", st.items_in > through ? st.items_in - through : 0},
                      {"runs", st.runs},
                      {"items_per_second", finite(d.items_per_second)},
                      {"seconds_per_item", finite(d.seconds_per_item)},
                      {"workers", finite(d.workers)}});
  }
  return {{"name", p.name},        {"wall_seconds", finite(p.wall_seconds)},
          {"items", p.items},      {"dropped", p.dropped},
          {"failed", p.failed},    {"stages", std::move(stages)}};
}

json ended_rows(const LiveSnapshot& s, uint64_t since, uint64_t& from) {
  // s.recent is the end of the runs, contiguous: the last one is number s.executions.
  const uint64_t first_kept = s.executions - std::min<uint64_t>(s.executions, s.recent.size()) + 1;
  from = std::max(since + 1, first_kept);
  json rows = json::array();
  for (uint64_t seq = from; seq <= s.executions; ++seq) {
    const report::Execution& e = s.recent[seq - first_kept];
    rows.push_back({e.job, e.node, e.worker, finite(e.start), finite(e.end),
                    report::kind_name(e.kind), report::fate_name(e.fate)});
  }
  return rows;
}

}  // namespace

std::string dashboard_stream_json(const LiveSnapshot& s, uint64_t since, bool final) {
  if (since > s.executions) since = 0;   // a page of an earlier driver: start again
  uint64_t from = 0;
  json ended = ended_rows(s, since, from);
  json running = json::array();
  for (const RunningJob& r : s.running) {
    running.push_back({r.job, r.node, r.worker, finite(r.start), report::kind_name(r.kind)});
  }
  json names = json::array();
  for (const LiveNode& n : s.nodes) names.push_back(n.figures.node);
  json doc = {{"serial", s.serial},
              {"elapsed", finite(s.elapsed)},
              {"final", final},
              {"seq", s.executions},
              {"from", from},
              {"skipped", from - since - 1},
              {"nodes", std::move(names)},
              {"columns", {"job", "node", "worker", "start", "end", "kind", "fate"}},
              {"ended", std::move(ended)},
              {"running_columns", {"job", "node", "worker", "start", "kind"}},
              {"running", std::move(running)},
              {"running_start", "reckoned by the driver: when the copy was sent to a node "
                                "with a free worker, or when a run before it there ended"}};
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string dashboard_json(const LiveSnapshot& s, bool final) {
  json groups = json::array(), nodes = json::array(), failures = json::array(),
       output = json::array();
  for (const GroupCounts& g : s.groups) {
    json c = counts(g.jobs);
    c["name"] = g.name;
    groups.push_back(std::move(c));
  }
  for (const LiveNode& n : s.nodes) nodes.push_back(node(n));
  json pipelines = json::array();
  for (const report::Pipeline& p : s.pipelines) pipelines.push_back(pipeline(p));
  for (const LiveFailure& f : s.failures) {
    failures.push_back({{"job", f.job}, {"node", f.node}, {"status", f.status},
                        {"error", f.error}, {"traceback", f.traceback}, {"at", finite(f.at)}});
  }
  for (const LiveOutput& o : s.output) {
    output.push_back({{"job", o.job}, {"node", o.node}, {"line", o.line}});
  }
  json doc = {{"serial", s.serial},        {"elapsed", finite(s.elapsed)},
              {"final", final},            {"jobs", counts(s.jobs)},
              {"groups", std::move(groups)}, {"nodes", std::move(nodes)},
              {"tasks", tasks(s)},         {"failures", std::move(failures)},
              {"output", std::move(output)}, {"batch", batch(s.batch)},
              {"pipelines", std::move(pipelines)}};
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace pp::client
