#include "core/sched/scheduler.hpp"

#include <algorithm>
#include <stdexcept>

namespace pp::sched {

Scheduler::Job& Scheduler::job(JobId id) {
  if (id == 0 || id > jobs_.size()) throw std::out_of_range("unknown job id");
  return jobs_[id - 1];
}

NodeId Scheduler::add_node(const NodeInfo& info) {
  Node n;
  n.info = info;
  n.info.workers = std::max(1, info.workers);
  n.stats.name = info.name;
  n.stats.workers = n.info.workers;
  n.stats.active = true;
  nodes_.push_back(std::move(n));
  return static_cast<NodeId>(nodes_.size() - 1);
}

std::vector<JobId> Scheduler::remove_node(NodeId id) {
  Node& n = nodes_.at(id);
  n.stats.active = false;
  std::vector<JobId> back(n.in_flight.begin(), n.in_flight.end());
  std::sort(back.begin(), back.end());
  for (auto it = back.rbegin(); it != back.rend(); ++it) {
    Job& j = job(*it);
    j.state = JobState::kQueued;
    queue_.push_front(*it);
  }
  n.stats.requeued += back.size();
  n.in_flight.clear();
  return back;
}

void Scheduler::submit(JobId id) {
  if (id != jobs_.size() + 1) throw std::invalid_argument("job ids must be dense and in order");
  jobs_.push_back(Job{});
  queue_.push_back(id);
  ++unfinished_;
}

size_t Scheduler::window(NodeId id) const {
  const Node& n = nodes_.at(id);
  return static_cast<size_t>(std::max(options_.min_window, n.info.workers * options_.window_per_worker));
}

std::vector<Assignment> Scheduler::assign() {
  std::vector<Assignment> out;
  while (!queue_.empty()) {
    // The node whose window is least full, relative to its size: every node,
    // local or remote, gets work in proportion to its workers.
    int best = -1;
    double best_fill = 1.0;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      const Node& n = nodes_[i];
      if (!n.stats.active) continue;
      double fill = static_cast<double>(n.in_flight.size()) / static_cast<double>(window(static_cast<NodeId>(i)));
      if (fill < best_fill) {
        best_fill = fill;
        best = static_cast<int>(i);
      }
    }
    if (best < 0) break;
    JobId id = queue_.front();
    queue_.pop_front();
    Job& j = job(id);
    j.state = JobState::kRunning;
    j.node = static_cast<NodeId>(best);
    out.push_back({id, j.node, j.attempts});
    ++j.attempts;
    nodes_[static_cast<size_t>(best)].in_flight.insert(id);
  }
  return out;
}

Outcome Scheduler::complete(JobId id, NodeId node_id, double job_seconds, bool ok) {
  if (id == 0 || id > jobs_.size() || node_id >= nodes_.size()) return Outcome::kUnknown;
  Job& j = job(id);
  Node& n = nodes_.at(node_id);
  bool was_here = n.in_flight.erase(id) > 0;
  if (j.state == JobState::kDone) return Outcome::kDuplicate;
  if (!was_here && j.state == JobState::kQueued) {
    // A node that was given up on answered after all: take its result.
    queue_.erase(std::find(queue_.begin(), queue_.end(), id));
  } else if (!was_here && j.node != node_id) {
    // Running elsewhere now; first result wins, the other copy becomes a duplicate.
    nodes_.at(j.node).in_flight.erase(id);
  }
  j.state = JobState::kDone;
  --unfinished_;
  n.stats.jobs_done++;
  n.stats.job_seconds += job_seconds;
  if (!ok) n.stats.failures++;
  return Outcome::kAccepted;
}

void Scheduler::give_back(JobId id, NodeId node_id) {
  Job& j = job(id);
  if (j.state != JobState::kRunning || j.node != node_id) return;
  nodes_.at(node_id).in_flight.erase(id);
  j.state = JobState::kQueued;
  queue_.push_front(id);
}

std::vector<JobId> Scheduler::drain_queue() {
  std::vector<JobId> out(queue_.begin(), queue_.end());
  queue_.clear();
  for (JobId id : out) {
    job(id).state = JobState::kDone;
    --unfinished_;
  }
  return out;
}

size_t Scheduler::active_nodes() const {
  return static_cast<size_t>(std::count_if(nodes_.begin(), nodes_.end(),
                                           [](const Node& n) { return n.stats.active; }));
}

int Scheduler::active_workers() const {
  int w = 0;
  for (const Node& n : nodes_) w += n.stats.active ? n.info.workers : 0;
  return w;
}

bool Scheduler::is_done(JobId id) const {
  return id >= 1 && id <= jobs_.size() && jobs_[id - 1].state == JobState::kDone;
}

}  // namespace pp::sched
