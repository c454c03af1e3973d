// The Scheduler's jobs with rules (JobRules, see the header): pinned to a node name, or
// run again after a failure on another node than the ones they failed on. They wait in
// queues of their own, served before the main queue; plain jobs never pay for them.
#include <algorithm>
#include <stdexcept>

#include "core/sched/scheduler.hpp"

namespace pp::sched {

void Scheduler::submit(JobId id, const JobRules& rules) {
  if (rules.only_node.empty() && rules.retries == 0) return submit(id);
  admit_ruled(id, rules);
  enqueue(id);
}

void Scheduler::admit_ruled(JobId id, const JobRules& rules) {
  if (id != last_id_ + 1) throw std::invalid_argument("job ids must be dense and in order");
  last_id_ = id;
  Job& j = jobs_.emplace(id, Job{});
  j.ruled = true;
  // A pinned job has nowhere else to go: no backup copy elsewhere.
  j.backed_up = !rules.only_node.empty();
  rules_.emplace(id, Rules{rules.only_node, rules.retries, {}});
  ++unfinished_;
}

void Scheduler::enqueue(JobId id) {
  const Rules* r = job(id).ruled ? rules_of(id) : nullptr;
  if (r == nullptr || r->only_node.empty()) {
    queue_.push_back(id);
    return;
  }
  Pinned& p = pinned_[r->only_node];
  // Its node's absence counts from now for a job that is the first to wait for it.
  if (p.jobs.empty()) p.away_since = active_by_name_.contains(r->only_node) ? -1 : now();
  p.jobs.push_back(id);
  ++pinned_count_;
}

Scheduler::Rules* Scheduler::rules_of(JobId id) {
  auto it = rules_.find(id);
  return it == rules_.end() ? nullptr : &it->second;
}

void Scheduler::node_came(NodeId id) {
  const std::string& name = nodes_[id].info.name;
  active_by_name_[name] = id;
  if (auto it = pinned_.find(name); it != pinned_.end()) it->second.away_since = -1;
}

void Scheduler::node_left(NodeId id) {
  const std::string& name = nodes_[id].info.name;
  if (auto it = active_by_name_.find(name); it != active_by_name_.end() && it->second == id) {
    active_by_name_.erase(it);
    if (auto p = pinned_.find(name); p != pinned_.end()) p->second.away_since = now();
  }
}

// Takes a queued job out of whichever queue holds it. The main queue may be long: there
// it is only marked, and skipped when reached; the others are short.
void Scheduler::unqueue(JobId id, Job& j) {
  Rules* r = j.ruled ? rules_of(id) : nullptr;
  if (r != nullptr && !r->only_node.empty()) {
    auto& q = pinned_[r->only_node].jobs;
    if (auto it = std::find(q.begin(), q.end(), id); it != q.end()) {
      q.erase(it);
      --pinned_count_;
    }
    return;
  }
  if (r != nullptr && !r->failed_on.empty()) {
    if (auto it = std::find(retried_.begin(), retried_.end(), id); it != retried_.end()) {
      retried_.erase(it);
    }
    return;
  }
  dropped_.insert(id);
}

// A failed run of a job with retries left: it runs again (when no other copy of it is
// still out), and the node it failed on is avoided while another is active.
bool Scheduler::retry(JobId id, Job& j, const Node& n, Completion& c) {
  Rules* r = j.ruled ? rules_of(id) : nullptr;
  if (r == nullptr || r->retries_left == 0) return false;
  c.retries_left = --r->retries_left;
  if (std::find(r->failed_on.begin(), r->failed_on.end(), n.info.name) == r->failed_on.end()) {
    r->failed_on.push_back(n.info.name);
  }
  if (j.state == JobState::kRunning && j.holders[0] == kNone) requeue_front(id);
  c.outcome = Outcome::kRetry;
  return true;
}

void Scheduler::assign_ruled(std::vector<Assignment>& out) {
  if (pinned_count_ > 0) {
    for (auto& [name, p] : pinned_) {
      auto it = active_by_name_.find(name);
      if (p.jobs.empty() || it == active_by_name_.end()) continue;
      const NodeId node = it->second;
      while (!p.jobs.empty() && has_room(nodes_[node], window(node))) {
        const JobId id = p.jobs.front();
        p.jobs.pop_front();
        --pinned_count_;
        place(id, node, false, out);
      }
    }
  }
  if (!retried_.empty()) assign_retried(out);
}

void Scheduler::assign_retried(std::vector<Assignment>& out) {
  std::deque<JobId> still;
  for (JobId id : retried_) {
    const int best = best_node_avoiding(rules_of(id)->failed_on);
    if (best < 0) {
      still.push_back(id);
    } else {
      place(id, static_cast<NodeId>(best), false, out);
    }
  }
  retried_.swap(still);
}

// The node with room that would start the job soonest among the active nodes not named
// in `avoid`; when every active node is in `avoid`, among all. -1: none has room (the
// job waits for a node it did not fail on, if one is active).
int Scheduler::best_node_avoiding(const std::vector<std::string>& avoid) const {
  int best = -1;
  double best_score = 0;
  bool other_active = false;
  for (const auto& [name, id] : active_by_name_) {
    if (std::find(avoid.begin(), avoid.end(), name) != avoid.end()) continue;
    other_active = true;
    const Node& n = nodes_[id];
    if (!has_room(n, window(id))) continue;
    const double score = load(n) * expected_seconds(id);
    if (best < 0 || score < best_score || (score == best_score && static_cast<int>(id) < best)) {
      best = static_cast<int>(id);
      best_score = score;
    }
  }
  return other_active ? best : best_node();
}

void Scheduler::prefer(JobId id, NodeId node, double move_seconds) {
  if (find_job(id) != nullptr && node < nodes_.size()) preferred_[id] = {node, move_seconds};
}

double Scheduler::move_seconds(JobId id, NodeId from) const {
  if (preferred_.empty()) return 0;
  auto it = preferred_.find(id);
  return it != preferred_.end() && it->second.node == from ? it->second.move_seconds : 0;
}

// The preferred node takes the job when it has room, or will soon: when the job would
// start there (the copies ahead of it, per worker, at its job time) before its inputs
// could be moved elsewhere; never more than four windows' worth.
int Scheduler::preferred_node(JobId id) const {
  if (preferred_.empty()) return -1;
  auto it = preferred_.find(id);
  if (it == preferred_.end()) return -1;
  const NodeId at = it->second.node;
  const Node& n = nodes_[at];
  const size_t w = window(at);
  if (has_room(n, w)) return static_cast<int>(at);
  if (!has_room(n, 4 * w)) return -1;
  const double workers = n.info.workers;
  const double ahead = static_cast<double>(n.copies.size() + n.reserved) + 1 - workers;
  const double wait = ahead * expected_seconds(at) / workers;
  return wait <= it->second.move_seconds ? static_cast<int>(at) : -1;
}

std::vector<std::pair<JobId, std::string>> Scheduler::jobs_without_node(double seconds) {
  std::vector<std::pair<JobId, std::string>> out;
  if (pinned_count_ == 0) return out;
  const double t = now();
  for (auto& [name, p] : pinned_) {
    if (p.jobs.empty() || p.away_since < 0 || t - p.away_since < seconds) continue;
    for (JobId id : p.jobs) out.emplace_back(id, name);
    pinned_count_ -= p.jobs.size();
    p.jobs.clear();
  }
  for (const auto& [id, name] : out) finish_job(id);
  return out;
}

}  // namespace pp::sched
