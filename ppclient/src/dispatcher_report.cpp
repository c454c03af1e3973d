// Dispatcher's report half: the scheduler's counters and the Dispatcher's own figures
// folded into one row per node name, the batch figures, and the timeline's sample.
#include "ppclient/src/dispatcher.hpp"

#include <algorithm>
#include <map>

#include "ppclient/src/live_figures.hpp"
#include "ppclient/src/node_link.hpp"

namespace pp::client {

// The one fold of per-node figures: the scheduler's counters of each scheduler node
// plus the Dispatcher's own (host, speed, CPU time), one row per node name (a node
// that reconnected got a new scheduler id but keeps its row).
std::vector<NodeStats> Dispatcher::node_stats(std::vector<uint32_t>* row_by_node) const {
  std::vector<NodeStats> rows;
  std::map<std::string, uint32_t> row_of;
  if (row_by_node != nullptr) row_by_node->assign(sched_.node_count(), 0);
  for (size_t i = 0; i < sched_.node_count(); ++i) {
    const auto& s = sched_.stats(static_cast<sched::NodeId>(i));
    auto [it, fresh] = row_of.try_emplace(s.name, static_cast<uint32_t>(rows.size()));
    if (fresh) rows.emplace_back().node = s.name;
    if (row_by_node != nullptr) (*row_by_node)[i] = it->second;
    NodeStats& row = rows[it->second];
    if (i < members_.size()) {
      row.host = members_[i].host;
      row.speed_score = members_[i].speed;
      row.cpu_time += members_[i].cpu_seconds;
      const NodeLink* l = members_[i].link;
      row.bytes_sent += members_[i].bytes_sent + (l ? l->bytes_sent() : 0);
      row.bytes_received += members_[i].bytes_received + (l ? l->bytes_received() : 0);
    }
    row.workers = std::max(row.workers, s.workers);
    row.connected = row.connected || s.active;
    row.jobs += s.jobs_done;
    row.failures += s.failures;
    row.crashes += s.crashes;
    row.job_time += s.job_seconds;
    row.busy_time += sched_.busy_seconds(static_cast<sched::NodeId>(i));   // with its open span
    row.stolen_from += s.stolen_from;
    row.stolen_to += s.stolen_to;
    row.backups_won += s.backups_won;
    row.backups_lost += s.backups_lost;
    row.requeued += s.requeued;
    row.paused_time += sched_.paused_seconds(static_cast<sched::NodeId>(i));
    row.paused = row.paused || (s.active && s.paused);
  }
  return rows;
}

void Dispatcher::batch_figures(report::Report& rep) const {
  for (size_t i = 0; i < sched_.node_count(); ++i) {
    const auto& s = sched_.stats(static_cast<sched::NodeId>(i));
    rep.batch.jobs += s.jobs_done;
    rep.batch.job_seconds += s.job_seconds;
  }
  if (first_submit_ >= 0) {
    double end = sched_.unfinished() > 0 ? now() : last_result_;
    rep.batch.wall_seconds = std::max(0.0, end - first_submit_);
  }
  rep.batch.resent = resent_;
  rep.batch.duplicates = duplicates_;
  // Everything through the driver: the nodes' rows (node_stats, taken first) summed.
  for (const NodeStats& n : rep.nodes) {
    rep.batch.bytes_sent += n.bytes_sent;
    rep.batch.bytes_received += n.bytes_received;
  }
}

// Executions as the report shows them: node by row, times from the first submit.
static void to_rows(std::vector<report::Execution>& list, const std::vector<uint32_t>& row_by_node,
                    double origin) {
  for (auto& e : list) {
    e.node = row_by_node.at(e.node);
    e.start = std::max(0.0, e.start - origin);
    e.end = std::max(0.0, e.end - origin);
  }
}

report::Report Dispatcher::report(bool timeline) const {
  report::Report rep;
  std::vector<uint32_t> row_by_node;
  rep.nodes = node_stats(&row_by_node);
  double origin = std::max(0.0, first_submit_);
  if (timeline) {
    rep.executions = executions_.kept();
    to_rows(rep.executions, row_by_node, origin);
  }
  rep.executions_dropped = executions_.dropped();
  if (rep.executions_dropped > 0) {
    rep.dropped_from = std::max(0.0, executions_.dropped_from() - origin);
    rep.dropped_to = std::max(0.0, executions_.dropped_to() - origin);
  }
  batch_figures(rep);
  return rep;
}

// Only a grouped job's resend is looked up (resends are rare: a lost node, a retry).
void Dispatcher::count_resent(uint64_t id) {
  const Job* job = jobs_.find(id);
  if (job == nullptr || !job->sub.extras || job->sub.extras->group.empty()) return;
  const std::string& group = job->sub.extras->group;
  if (resent_by_group_.size() >= LiveFigures::kGroupLimit && !resent_by_group_.count(group)) {
    ++resent_by_group_["(other)"];
    return;
  }
  ++resent_by_group_[group];
}

void Dispatcher::group_figures(std::vector<GroupCounts>& groups) const {
  if (groups.empty()) return;
  std::unordered_map<std::string_view, uint64_t> held;
  deps_.for_each_held([&](uint64_t id) {
    const Job* job = jobs_.find(id);
    if (job != nullptr && job->sub.extras && !job->sub.extras->group.empty()) {
      ++held[job->sub.extras->group];
    }
  });
  for (GroupCounts& g : groups) {
    auto r = resent_by_group_.find(g.name);
    g.jobs.retried = r != resent_by_group_.end() ? r->second : 0;
    auto h = held.find(g.name);
    g.jobs.held = h != held.end() ? h->second : 0;
  }
}

void Dispatcher::live(LiveSnapshot& out) const {
  report::Report rep;
  std::vector<uint32_t> row_by_node;
  rep.nodes = node_stats(&row_by_node);
  batch_figures(rep);
  out.nodes.clear();
  out.nodes.resize(rep.nodes.size());
  for (size_t i = 0; i < rep.nodes.size(); ++i) {
    out.nodes[i].figures = rep.nodes[i];
    out.nodes[i].derived = report::derive(rep, i);
  }
  for (size_t i = 0; i < sched_.node_count(); ++i) {
    const auto id = static_cast<sched::NodeId>(i);
    if (sched_.stats(id).active) {
      out.nodes[row_by_node[i]].in_flight += static_cast<uint32_t>(sched_.in_flight(id));
    }
  }
  out.batch = rep.batch;
  out.elapsed = batch_seconds();
  out.jobs.retried = resent_;
  out.jobs.held = deps_.held();
  out.recent = executions_.recent(LiveFigures::kRecentExecutions);
  to_rows(out.recent, row_by_node, std::max(0.0, first_submit_));
  out.executions = executions_.added();
  out.running = running_.running();
  for (RunningJob& r : out.running) {
    r.node = row_by_node.at(r.node);
    r.start = std::max(0.0, r.start - std::max(0.0, first_submit_));
  }
}

}  // namespace pp::client
