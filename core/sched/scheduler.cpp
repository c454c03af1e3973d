#include "core/sched/scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace pp::sched {

namespace {
constexpr size_t kRecentTimes = 64;   // job times kept for the median
constexpr double kMaxWeight = 32;     // jobs one node counts for in the reference time
}  // namespace

Scheduler::Scheduler(SchedulerOptions options) : options_(std::move(options)) {}

Scheduler::Job& Scheduler::job(JobId id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) throw std::out_of_range("no unfinished job with this id");
  return it->second;
}

Scheduler::Job* Scheduler::find_job(JobId id) {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second;
}

void Scheduler::finish_job(JobId id) {
  jobs_.erase(id);
  --unfinished_;
}

NodeId Scheduler::add_node(const NodeInfo& info) {
  Node n;
  n.info = info;
  n.info.workers = std::max(1, info.workers);
  if (!(n.info.speed > 0)) n.info.speed = 1.0;
  n.stats.name = info.name;
  n.stats.workers = n.info.workers;
  n.stats.active = true;
  nodes_.push_back(std::move(n));
  return static_cast<NodeId>(nodes_.size() - 1);
}

void Scheduler::busy_edge(Node& n, bool was_empty) {
  if (was_empty && !n.copies.empty()) n.busy_since = now();
  if (!was_empty && n.copies.empty()) n.stats.busy_seconds += now() - n.busy_since;
}

Scheduler::InFlight* Scheduler::find_copy(NodeId node, JobId id) {
  if (node >= nodes_.size()) return nullptr;
  for (InFlight& c : nodes_[node].copies)
    if (c.job == id) return &c;
  return nullptr;
}

void Scheduler::promote(Node& n) {
  const auto workers = static_cast<size_t>(n.info.workers);
  for (InFlight& c : n.copies) {
    if (n.started >= workers) break;
    if (c.started < 0 && c.steal_to == kNone) {
      c.started = now();
      ++n.started;
    }
  }
}

void Scheduler::place(JobId id, NodeId node, bool backup, std::vector<Assignment>& out) {
  Job& j = job(id);
  Node& n = nodes_[node];
  bool was_empty = n.copies.empty();
  n.copies.push_back(InFlight{id, -1, backup, kNone});
  busy_edge(n, was_empty);
  j.state = JobState::kRunning;
  j.holders[backup ? 1 : 0] = node;
  if (!backup) j.holders[1] = kNone;
  if (backup) {
    j.backed_up = true;
    ++backups_;
  }
  out.push_back({id, node, j.attempts, backup});
  ++j.attempts;
  promote(n);
}

bool Scheduler::drop_copy(NodeId node, JobId id) {
  if (node >= nodes_.size()) return false;
  Node& n = nodes_[node];
  auto it = std::find_if(n.copies.begin(), n.copies.end(),
                         [id](const InFlight& c) { return c.job == id; });
  if (it == n.copies.end()) return false;
  if (it->backup) --backups_;
  if (it->steal_to != kNone) --nodes_[it->steal_to].reserved;
  if (it->started >= 0) --n.started;
  n.copies.erase(it);
  busy_edge(n, false);
  Job& j = job(id);
  if (j.holders[1] == node) {
    j.holders[1] = kNone;
  } else if (j.holders[0] == node) {
    j.holders[0] = j.holders[1];
    j.holders[1] = kNone;
  }
  promote(n);
  return true;
}

void Scheduler::requeue_front(JobId id) {
  job(id).state = JobState::kQueued;
  queue_.push_front(id);
}

std::vector<JobId> Scheduler::remove_node(NodeId id) {
  Node& n = nodes_.at(id);
  n.stats.active = false;
  std::vector<JobId> back;
  while (!n.copies.empty()) {
    JobId j = n.copies.back().job;
    drop_copy(id, j);
    if (job(j).holders[0] == kNone && job(j).state == JobState::kRunning) back.push_back(j);
  }
  for (Node& other : nodes_)
    for (InFlight& c : other.copies)
      if (c.steal_to == id) c.steal_to = kNone;  // its answer still comes; stolen() requeues
  n.reserved = 0;
  std::sort(back.begin(), back.end());
  for (auto it = back.rbegin(); it != back.rend(); ++it) requeue_front(*it);
  n.stats.requeued += back.size();
  return back;
}

void Scheduler::submit(JobId id) {
  if (id != last_id_ + 1) throw std::invalid_argument("job ids must be dense and in order");
  last_id_ = id;
  jobs_.emplace(id, Job{});
  queue_.push_back(id);
  ++unfinished_;
}

void Scheduler::skip(JobId id) {
  if (id != last_id_ + 1) throw std::invalid_argument("job ids must be dense and in order");
  last_id_ = id;   // done from the start: it never enters the table
}

double Scheduler::reference_seconds(bool* known) const {
  double sum = 0, weight = 0;
  for (const Node& n : nodes_) {
    if (n.samples == 0) continue;
    double w = std::min(kMaxWeight, static_cast<double>(n.samples));
    sum += w * n.ewma * n.info.speed;
    weight += w;
  }
  if (known) *known = weight > 0;
  return weight > 0 ? sum / weight : 1.0;
}

double Scheduler::expected_seconds(NodeId id) const {
  const Node& n = nodes_.at(id);
  if (n.samples > 0) return n.ewma;
  return reference_seconds(nullptr) / n.info.speed;
}

size_t Scheduler::window(NodeId id) const {
  const Node& n = nodes_.at(id);
  const int w = n.info.workers;
  if (!options_.adaptive) return static_cast<size_t>(w);
  const size_t legacy = static_cast<size_t>(std::max(options_.min_window, w * options_.window_per_worker));
  bool known = false;
  reference_seconds(&known);
  if (options_.round_trip_seconds <= 0 || !known) return legacy;
  double e = std::max(expected_seconds(id), 1e-9);
  double extra = std::min(1e6, std::ceil(w * options_.round_trip_seconds / e));
  size_t timed = static_cast<size_t>(w) + static_cast<size_t>(std::max(1.0, extra));
  size_t cap = legacy;
  if (options_.short_backlog_seconds > 0) {
    double per_worker = std::min(static_cast<double>(options_.max_window_per_worker),
                                 std::floor(options_.short_backlog_seconds / e));
    cap = std::max(cap, static_cast<size_t>(w) * static_cast<size_t>(std::max(0.0, per_worker)));
  }
  return std::max(static_cast<size_t>(w) + 1, std::min(timed, cap));
}

bool Scheduler::has_room(const Node& n, size_t window) const {
  return n.stats.active && n.copies.size() + n.reserved < window;
}

std::vector<Assignment> Scheduler::assign() {
  std::vector<Assignment> out;
  while (!queue_.empty()) {
    // The node that would start the job soonest: what it holds per worker times its job
    // time. With equal speeds every node gets work in proportion to its workers.
    int best = -1;
    double best_score = 0;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      const Node& n = nodes_[i];
      if (!has_room(n, window(static_cast<NodeId>(i)))) continue;
      double load = static_cast<double>(n.copies.size() + n.reserved) / n.info.workers;
      double score = load * expected_seconds(static_cast<NodeId>(i));
      if (best < 0 || score < best_score) {
        best_score = score;
        best = static_cast<int>(i);
      }
    }
    if (best < 0) break;
    JobId id = queue_.front();
    queue_.pop_front();
    place(id, static_cast<NodeId>(best), false, out);
  }
  if (queue_.empty()) plan_backups(out);
  return out;
}

std::vector<Steal> Scheduler::plan_steals() {
  std::vector<Steal> out;
  if (!queue_.empty() || !options_.adaptive) return out;
  std::vector<NodeId> thieves;
  for (NodeId i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    if (n.stats.active && n.copies.size() + n.reserved < static_cast<size_t>(n.info.workers))
      thieves.push_back(i);
  }
  std::stable_sort(thieves.begin(), thieves.end(), [this](NodeId a, NodeId b) {
    return expected_seconds(a) < expected_seconds(b);
  });
  for (NodeId t : thieves) {
    Node& thief = nodes_[t];
    const double et = expected_seconds(t);
    while (thief.copies.size() + thief.reserved < window(t)) {
      // The victim: the largest expected backlog of jobs not started.
      int victim = -1;
      double best_backlog = 0;
      size_t victim_load = 0;
      for (NodeId v = 0; v < nodes_.size(); ++v) {
        const Node& n = nodes_[v];
        if (v == t || !n.stats.active) continue;
        size_t waiting = 0, leaving = 0;
        for (const InFlight& c : n.copies) {
          leaving += c.steal_to != kNone ? 1 : 0;
          waiting += c.started < 0 && c.steal_to == kNone && !c.backup ? 1 : 0;
        }
        double backlog = static_cast<double>(waiting) * expected_seconds(v) / n.info.workers;
        if (waiting > 0 && backlog > best_backlog) {
          best_backlog = backlog;
          victim = static_cast<int>(v);
          victim_load = n.copies.size() - leaving;
        }
      }
      if (victim < 0) break;
      // Steal only if the job at the back of the victim would finish sooner on the thief.
      const Node& v = nodes_[static_cast<size_t>(victim)];
      double rounds_t = std::ceil(static_cast<double>(thief.copies.size() + thief.reserved + 1) /
                                  thief.info.workers);
      double rounds_v = std::ceil(static_cast<double>(victim_load) / v.info.workers);
      if (!(rounds_t * et < rounds_v * expected_seconds(static_cast<NodeId>(victim)))) break;
      auto& copies = nodes_[static_cast<size_t>(victim)].copies;
      for (auto it = copies.rbegin(); it != copies.rend(); ++it) {
        if (it->started < 0 && it->steal_to == kNone && !it->backup) {
          it->steal_to = t;
          ++thief.reserved;
          out.push_back({it->job, static_cast<NodeId>(victim), t});
          break;
        }
      }
    }
  }
  return out;
}

std::optional<Assignment> Scheduler::stolen(JobId id, NodeId from) {
  InFlight* c = find_copy(from, id);
  if (c == nullptr) return std::nullopt;
  NodeId thief = c->steal_to;
  drop_copy(from, id);
  nodes_[from].stats.stolen_from++;
  Job* j = find_job(id);
  if (j == nullptr || j->holders[0] != kNone) return std::nullopt;
  if (thief == kNone || !nodes_[thief].stats.active) {
    requeue_front(id);
    return std::nullopt;
  }
  std::vector<Assignment> one;
  place(id, thief, false, one);
  nodes_[thief].stats.stolen_to++;
  return one.front();
}

void Scheduler::started(JobId id, NodeId node) {
  InFlight* c = find_copy(node, id);
  if (c == nullptr) return;
  if (c->steal_to != kNone) {
    --nodes_[c->steal_to].reserved;
    c->steal_to = kNone;
  }
  if (c->started < 0) {
    c->started = now();
    ++nodes_[node].started;
  }
}

void Scheduler::measure(Node& n, double seconds) {
  if (!(seconds >= 0)) return;
  n.ewma = n.samples == 0 ? seconds
                          : options_.ewma_alpha * seconds + (1 - options_.ewma_alpha) * n.ewma;
  ++n.samples;
  if (recent_.size() < kRecentTimes) {
    recent_.push_back(seconds);
  } else {
    recent_[recent_next_] = seconds;
    recent_next_ = (recent_next_ + 1) % kRecentTimes;
  }
}

double Scheduler::median_seconds() const {
  if (recent_.empty()) return 0;
  std::vector<double> v = recent_;
  auto mid = v.begin() + static_cast<long>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

Completion Scheduler::complete(JobId id, NodeId node_id, double job_seconds, bool ok, bool crashed) {
  Completion c;
  if (id == 0 || id > last_id_ || node_id >= nodes_.size()) return c;
  Job* live = find_job(id);
  if (live == nullptr) {   // finished: no copy of it is left anywhere
    c.outcome = Outcome::kDuplicate;
    return c;
  }
  Job& j = *live;
  Node& n = nodes_[node_id];
  InFlight* mine = find_copy(node_id, id);
  const bool was_backup = mine != nullptr && mine->backup;
  if (mine != nullptr) drop_copy(node_id, id);
  c.crashes = j.crashes;
  if (crashed) {
    c.crashes = ++j.crashes;
    n.stats.crashes++;
    if (j.crashes < options_.max_attempts) {
      if (j.state == JobState::kRunning && j.holders[0] == kNone) requeue_front(id);
      c.outcome = Outcome::kRetry;
      return c;
    }
    c.failed_for_good = true;
    ok = false;
  }
  if (ok) measure(n, job_seconds);
  if (j.state == JobState::kQueued) queue_.erase(std::find(queue_.begin(), queue_.end(), id));
  // First result wins: every other copy is cancelled.
  while (j.holders[0] != kNone) {
    NodeId h = j.holders[0];
    InFlight* other = find_copy(h, id);
    if (other != nullptr && other->backup) nodes_[h].stats.backups_lost++;
    c.cancel.push_back({id, h});
    drop_copy(h, id);
  }
  if (was_backup) n.stats.backups_won++;
  finish_job(id);
  n.stats.jobs_done++;
  n.stats.job_seconds += job_seconds;
  if (!ok) n.stats.failures++;
  c.outcome = Outcome::kAccepted;
  return c;
}

void Scheduler::give_back(JobId id, NodeId node_id) {
  Job* j = find_job(id);
  if (j == nullptr || j->state != JobState::kRunning || !drop_copy(node_id, id)) return;
  if (j->holders[0] == kNone) requeue_front(id);
}

std::vector<JobId> Scheduler::drain_queue() {
  std::vector<JobId> out(queue_.begin(), queue_.end());
  queue_.clear();
  for (JobId id : out) finish_job(id);
  return out;
}

std::vector<Copy> Scheduler::abandon(JobId id) {
  std::vector<Copy> out;
  Job* j = find_job(id);
  if (j == nullptr) return out;   // finished (or never submitted): nothing to end
  if (j->state == JobState::kQueued) queue_.erase(std::find(queue_.begin(), queue_.end(), id));
  const NodeId holders[2] = {j->holders[0], j->holders[1]};
  for (NodeId h : holders) {
    if (h == kNone) continue;
    out.push_back({id, h});
    drop_copy(h, id);
  }
  finish_job(id);
  return out;
}

bool Scheduler::anything_stealable() const {
  for (const Node& n : nodes_) {
    if (!n.stats.active) continue;
    for (const InFlight& c : n.copies)
      if (c.started < 0 && !c.backup) return true;
  }
  return false;
}

void Scheduler::plan_backups(std::vector<Assignment>& out) {
  if (!options_.adaptive || options_.max_backups <= 0 || !queue_.empty() || anything_stealable()) {
    return;
  }
  const double median = median_seconds();
  if (median <= 0) return;
  const double t = now();
  std::vector<NodeId> idle;
  for (NodeId i = 0; i < nodes_.size(); ++i) idle.push_back(i);
  std::stable_sort(idle.begin(), idle.end(), [this](NodeId a, NodeId b) {
    return expected_seconds(a) < expected_seconds(b);
  });
  for (NodeId i : idle) {
    Node& spare = nodes_[i];
    const double ei = expected_seconds(i);
    while (spare.stats.active && spare.copies.size() + spare.reserved < static_cast<size_t>(spare.info.workers) &&
           backups_ < static_cast<size_t>(options_.max_backups)) {
      JobId pick = 0;
      double latest = 0;
      for (NodeId v = 0; v < nodes_.size(); ++v) {
        const Node& n = nodes_[v];
        if (v == i || !n.stats.active) continue;
        const double ev = expected_seconds(v);
        for (const InFlight& c : n.copies) {
          if (c.started < 0 || c.backup || job(c.job).backed_up) continue;
          const double e = t - c.started;
          if (!(e > options_.backup_multiplier * median)) continue;
          const double d = std::max(ev, e);  // an overrun job is assumed about to finish
          if (!(d * ei / ev < d - e)) continue;
          if (pick == 0 || c.started + d > latest) {
            pick = c.job;
            latest = c.started + d;
          }
        }
      }
      if (pick == 0) break;
      place(pick, i, true, out);
    }
  }
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
  return id >= 1 && id <= last_id_ && !jobs_.contains(id);
}

}  // namespace pp::sched
