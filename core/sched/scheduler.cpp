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
  Job* j = jobs_.find(id);
  if (j == nullptr) throw std::out_of_range("no unfinished job with this id");
  return *j;
}

Scheduler::Job* Scheduler::find_job(JobId id) {
  return jobs_.find(id);
}

void Scheduler::finish_job(JobId id) {
  if (Job* j = jobs_.find(id); j != nullptr && j->ruled) rules_.erase(id);
  if (!preferred_.empty()) preferred_.erase(id);
  jobs_.erase(id);
  --unfinished_;
}

NodeId Scheduler::add_node(const NodeInfo& info) {
  Node n;
  n.info = info;
  n.info.workers = std::max(1, info.workers);
  // A node that has not calibrated yet (speed 0) counts as one of the cluster's typical
  // nodes until its first job times are measured, never as a slow outlier.
  n.speed_guessed = !(n.info.speed > 0);
  if (n.speed_guessed) n.info.speed = typical_speed();
  n.stats.name = info.name;
  n.stats.workers = n.info.workers;
  n.stats.active = true;
  nodes_.push_back(std::move(n));
  const auto id = static_cast<NodeId>(nodes_.size() - 1);
  unsampled_.push_back(id);
  node_came(id);
  if (!nodes_[id].speed_guessed) regauge_guessed();
  touch(id);
  return id;
}

double Scheduler::typical_speed() const {
  double sum = 0;
  size_t count = 0;
  for (const Node& n : nodes_) {
    if (n.stats.active && !n.speed_guessed) {
      sum += n.info.speed;
      ++count;
    }
  }
  return count > 0 ? sum / static_cast<double>(count) : 1.0;
}

void Scheduler::regauge_guessed() {
  const double typical = typical_speed();
  for (NodeId id = 0; id < nodes_.size(); ++id) {
    Node& n = nodes_[id];
    if (n.stats.active && n.speed_guessed && n.info.speed != typical) {
      n.info.speed = typical;
      touch(id);
    }
  }
}

void Scheduler::set_round_trip(double seconds) {
  options_.round_trip_seconds = seconds;
  for (NodeId id = 0; id < nodes_.size(); ++id) touch(id);   // every window changes
}

void Scheduler::tally(Node& n, const InFlight& c, int sign) {
  const bool unstarted = c.started < 0 && !c.backup && !c.fixed;
  const bool waiting = unstarted && c.steal_to == kNone;
  n.unstarted += unstarted ? sign : 0;
  n.waiting += waiting ? sign : 0;
  n.leaving += c.steal_to != kNone ? sign : 0;
  n.started += c.started >= 0 ? sign : 0;
  stealable_ += unstarted ? sign : 0;
  waiting_ += waiting ? sign : 0;
}

void Scheduler::touch(NodeId id) {
  const Node& n = nodes_[id];
  const bool measured = n.stats.active && n.samples > 0;
  if (measured && has_room(n, window(id))) {
    ready_.set(id, load(n) * n.ewma);
  } else {
    ready_.erase(id);
  }
  // The same backlog plan_steals() compares: jobs waiting there times their expected time.
  const double backlog = static_cast<double>(n.waiting) * n.ewma / n.info.workers;
  if (measured && n.waiting > 0 && backlog > 0) {
    victims_.set(id, -backlog);
  } else {
    victims_.erase(id);
  }
  if (has_idle_worker(n)) {
    idle_.set(id, 0);
  } else {
    idle_.erase(id);
  }
}

void Scheduler::busy_edge(Node& n, bool was_empty) {
  if (was_empty && !n.copies.empty()) n.busy_since = now();
  if (!was_empty && n.copies.empty()) n.stats.busy_seconds += now() - n.busy_since;
}

double Scheduler::busy_seconds(NodeId id) const {
  const Node& n = nodes_.at(id);
  return n.stats.busy_seconds + (n.copies.empty() ? 0.0 : now() - n.busy_since);
}

Scheduler::InFlight* Scheduler::find_copy(NodeId node, JobId id) {
  if (node >= nodes_.size()) return nullptr;
  for (InFlight& c : nodes_[node].copies)
    if (c.job == id) return &c;
  return nullptr;
}

void Scheduler::promote(Node& n) {
  if (n.stats.paused) return;   // its workers are stopped: nothing starts there
  const auto workers = static_cast<size_t>(n.info.workers);
  for (InFlight& c : n.copies) {
    if (n.started >= workers) break;
    if (c.started < 0 && c.steal_to == kNone) {
      tally(n, c, -1);
      c.started = now();
      tally(n, c, +1);
    }
  }
}

void Scheduler::place(JobId id, NodeId node, bool backup, std::vector<Assignment>& out) {
  Job& j = job(id);
  Node& n = nodes_[node];
  bool was_empty = n.copies.empty();
  // A job on the node holding its inputs stays there: a steal would move them.
  bool at_inputs = false;
  if (!preferred_.empty()) {
    auto p = preferred_.find(id);
    at_inputs = p != preferred_.end() && p->second.node == node;
  }
  n.copies.push_back(InFlight{id, -1, backup, j.ruled || at_inputs, kNone});
  tally(n, n.copies.back(), +1);
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
  touch(node);
}

bool Scheduler::drop_copy(NodeId node, JobId id) {
  if (node >= nodes_.size()) return false;
  Node& n = nodes_[node];
  auto it = std::find_if(n.copies.begin(), n.copies.end(),
                         [id](const InFlight& c) { return c.job == id; });
  if (it == n.copies.end()) return false;
  if (it->backup) --backups_;
  const NodeId thief = it->steal_to;
  if (is_thief(thief)) --nodes_[thief].reserved;
  tally(n, *it, -1);
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
  touch(node);
  if (is_thief(thief)) touch(thief);
  return true;
}

void Scheduler::requeue_front(JobId id) {
  Job& j = job(id);
  j.state = JobState::kQueued;
  if (Rules* r = j.ruled ? rules_of(id) : nullptr) {
    if (!r->only_node.empty()) {
      pinned_[r->only_node].jobs.push_front(id);
      ++pinned_count_;
      return;
    }
    if (!r->failed_on.empty()) {
      retried_.push_front(id);
      return;
    }
  }
  queue_.push_front(id);
}

std::vector<JobId> Scheduler::remove_node(NodeId id) {
  Node& n = nodes_.at(id);
  end_pause(n);
  n.stats.active = false;
  node_left(id);
  std::vector<JobId> back;
  while (!n.copies.empty()) {
    JobId j = n.copies.back().job;
    drop_copy(id, j);
    if (job(j).holders[0] == kNone && job(j).state == JobState::kRunning) back.push_back(j);
  }
  for (NodeId o = 0; o < nodes_.size(); ++o) {
    Node& other = nodes_[o];
    if (other.leaving == 0) continue;
    for (InFlight& c : other.copies) {
      if (c.steal_to != id) continue;
      tally(other, c, -1);
      c.steal_to = kNone;  // its answer still comes; stolen() requeues
      tally(other, c, +1);
    }
    touch(o);
  }
  n.reserved = 0;
  std::erase(unsampled_, id);
  touch(id);
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

void Scheduler::hold(JobId id, const JobRules& rules) {
  if (rules.only_node.empty() && rules.retries == 0) {
    submit(id);
    queue_.pop_back();
  } else {
    admit_ruled(id, rules);   // its rules now, its place in a queue at release()
  }
  job(id).state = JobState::kHeld;
}

void Scheduler::release(JobId id) {
  Job& j = job(id);
  if (j.state != JobState::kHeld) throw std::invalid_argument("release of a job not held");
  j.state = JobState::kQueued;
  enqueue(id);
}

void Scheduler::skip(JobId id) {
  if (id != last_id_ + 1) throw std::invalid_argument("job ids must be dense and in order");
  last_id_ = id;   // done from the start: it never enters the table
}

// Recomputed in full (not kept as a running sum) so it is exactly the same number whatever
// the order of measurements; only nodes without a job time ask for it, and after a
// measurement at most once.
double Scheduler::reference_seconds(bool* known) const {
  if (known) *known = sampled_ > 0;
  if (!reference_dirty_) return reference_;
  double sum = 0, weight = 0;
  for (const Node& n : nodes_) {
    if (n.samples == 0) continue;
    double w = std::min(kMaxWeight, static_cast<double>(n.samples));
    sum += w * n.ewma * n.info.speed;
    weight += w;
  }
  reference_ = weight > 0 ? sum / weight : 1.0;
  reference_dirty_ = false;
  return reference_;
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
  if (options_.round_trip_seconds <= 0 || sampled_ == 0) return legacy;
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
  return n.stats.active && !n.stats.paused && n.copies.size() + n.reserved < window;
}

// The node that would start a job soonest: what it holds per worker times its job time,
// the smallest (score, id). With equal speeds every node gets work in proportion to its
// workers. Measured nodes come from ready_; the others are scored here.
int Scheduler::best_node() const {
  int best = -1;
  double best_score = 0;
  if (!ready_.empty()) {
    best = static_cast<int>(ready_.top());
    best_score = ready_.top_key();
  }
  for (NodeId i : unsampled_) {
    const Node& n = nodes_[i];
    if (!has_room(n, window(i))) continue;
    double score = load(n) * expected_seconds(i);
    if (best < 0 || score < best_score || (score == best_score && static_cast<int>(i) < best)) {
      best_score = score;
      best = static_cast<int>(i);
    }
  }
  return best;
}

std::vector<Assignment> Scheduler::assign() {
  std::vector<Assignment> out;
  back_up_paused(out);
  assign_ruled(out);
  while (!queue_.empty()) {
    if (dropped_.erase(queue_.front()) > 0) {   // cancelled while queued
      queue_.pop_front();
      continue;
    }
    const JobId id = queue_.front();
    int best = preferred_node(id);
    if (best < 0) best = best_node();
    if (best < 0) break;
    queue_.pop_front();
    place(id, static_cast<NodeId>(best), false, out);
  }
  if (queued() == 0) plan_backups(out);
  return out;
}

void Scheduler::measure(Node& n, double seconds) {
  if (!(seconds >= 0)) return;
  n.ewma = n.samples == 0 ? seconds
                          : options_.ewma_alpha * seconds + (1 - options_.ewma_alpha) * n.ewma;
  const auto id = static_cast<NodeId>(&n - nodes_.data());
  if (n.samples++ == 0) {
    ++sampled_;
    std::erase(unsampled_, id);
  }
  reference_dirty_ = true;
  touch(id);
  if (recent_.size() < kRecentTimes) {
    recent_.push_back(seconds);
  } else {
    recent_[recent_next_] = seconds;
    recent_next_ = (recent_next_ + 1) % kRecentTimes;
  }
}

void Scheduler::count_crash(NodeId node) {
  if (node < nodes_.size()) nodes_[node].stats.crashes++;
}

Completion Scheduler::complete(JobId id, NodeId node_id, double job_seconds, bool ok, bool crashed,
                               bool retryable) {
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
  }
  if (!ok && (crashed || retryable) && retry(id, j, n, c)) return c;
  if (crashed) {
    if (j.crashes < options_.max_attempts) {
      if (j.state == JobState::kRunning && j.holders[0] == kNone) requeue_front(id);
      c.outcome = Outcome::kRetry;
      return c;
    }
    c.failed_for_good = true;
    ok = false;
  }
  if (ok) measure(n, job_seconds);
  if (j.state == JobState::kQueued) unqueue(id, j);
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

bool Scheduler::hold_again(JobId id, NodeId node_id) {
  Job* j = find_job(id);
  if (j == nullptr || j->state != JobState::kRunning || !drop_copy(node_id, id)) return false;
  if (j->holders[0] == kNone) j->state = JobState::kHeld;
  return j->state == JobState::kHeld;
}

std::vector<NodeId> Scheduler::holders(JobId id) const {
  std::vector<NodeId> out;
  if (const Job* j = jobs_.find(id)) {
    for (NodeId h : j->holders) {
      if (h != kNone) out.push_back(h);
    }
  }
  return out;
}

bool Scheduler::is_held(JobId id) const {
  const Job* j = jobs_.find(id);
  return j != nullptr && j->state == JobState::kHeld;
}

std::vector<JobId> Scheduler::drain_queue() {
  std::vector<JobId> out;
  out.reserve(queued());
  for (JobId id : queue_) {
    if (!dropped_.contains(id)) out.push_back(id);
  }
  queue_.clear();
  dropped_.clear();
  out.insert(out.end(), retried_.begin(), retried_.end());
  retried_.clear();
  for (auto& [name, p] : pinned_) {
    out.insert(out.end(), p.jobs.begin(), p.jobs.end());
    p.jobs.clear();
  }
  pinned_count_ = 0;
  for (JobId id : out) finish_job(id);
  return out;
}

std::vector<Copy> Scheduler::abandon(JobId id) {
  std::vector<Copy> out;
  Job* j = find_job(id);
  if (j == nullptr) return out;   // finished (or never submitted): nothing to end
  if (j->state == JobState::kQueued) unqueue(id, *j);
  const NodeId holders[2] = {j->holders[0], j->holders[1]};
  for (NodeId h : holders) {
    if (h == kNone) continue;
    out.push_back({id, h});
    drop_copy(h, id);
  }
  finish_job(id);
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
  return id >= 1 && id <= last_id_ && jobs_.find(id) == nullptr;
}

}  // namespace pp::sched
