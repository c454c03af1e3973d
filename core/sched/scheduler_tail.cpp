// The Scheduler at the tail of a batch: work stealing and backup copies (see the header's
// comment for the rules). Every choice here is the one a scan of every node in id order
// would make; the indices (ready_, victims_, idle_ and the counts per node) only spare
// the scans.
#include <algorithm>
#include <cmath>

#include "core/sched/scheduler.hpp"

namespace pp::sched {

std::vector<NodeId> Scheduler::idle_by_speed() const {
  std::span<const uint32_t> ids = idle_.ids();
  std::vector<std::pair<double, NodeId>> keyed;
  keyed.reserve(ids.size());
  for (NodeId i : ids) keyed.emplace_back(expected_seconds(i), i);
  std::sort(keyed.begin(), keyed.end());
  std::vector<NodeId> out;
  out.reserve(keyed.size());
  for (const auto& [e, i] : keyed) out.push_back(i);
  return out;
}

// The victim for `thief`: the largest expected backlog of jobs waiting (not started, not
// promised, no backup), the smallest id among equals; never the thief itself.
int Scheduler::best_victim(NodeId thief) const {
  int best = -1;
  double best_backlog = 0;
  if (!victims_.empty()) {
    NodeId top = victims_.top();
    if (top == thief) {
      // The second best: the larger of the top's children is not enough in a heap with
      // ties, so take it out, look, and put it back.
      auto& heap = const_cast<IndexedHeap&>(victims_);
      const double key = heap.key(thief);
      heap.erase(thief);
      if (!heap.empty()) {
        best = static_cast<int>(heap.top());
        best_backlog = -heap.top_key();
      }
      heap.set(thief, key);
    } else {
      best = static_cast<int>(top);
      best_backlog = -victims_.top_key();
    }
  }
  for (NodeId v : unsampled_) {
    const Node& n = nodes_[v];
    if (v == thief || n.waiting == 0) continue;
    double backlog = static_cast<double>(n.waiting) * expected_seconds(v) / n.info.workers;
    if (backlog > best_backlog || (best >= 0 && backlog == best_backlog && static_cast<int>(v) < best)) {
      best_backlog = backlog;
      best = static_cast<int>(v);
    }
  }
  return best;
}

// One steal for thief t, if a victim exists and the job at its back would finish sooner
// on the thief. false: none (the thief is done).
bool Scheduler::plan_one_steal(NodeId t, std::vector<Steal>& out) {
  Node& thief = nodes_[t];
  const int victim = best_victim(t);
  if (victim < 0) return false;
  const auto vid = static_cast<NodeId>(victim);
  Node& v = nodes_[vid];
  double rounds_t = std::ceil(static_cast<double>(thief.copies.size() + thief.reserved + 1) /
                              thief.info.workers);
  double rounds_v = std::ceil(static_cast<double>(v.copies.size() - v.leaving) / v.info.workers);
  if (!(rounds_t * expected_seconds(t) < rounds_v * expected_seconds(vid))) return false;
  for (auto it = v.copies.rbegin(); it != v.copies.rend(); ++it) {
    if (it->started < 0 && it->steal_to == kNone && !it->backup) {
      tally(v, *it, -1);
      it->steal_to = t;
      tally(v, *it, +1);
      ++thief.reserved;
      out.push_back({it->job, vid, t});
      break;
    }
  }
  touch(vid);
  touch(t);
  return true;
}

std::vector<Steal> Scheduler::plan_steals() {
  std::vector<Steal> out;
  if (queued() > 0 || !options_.adaptive || waiting_ == 0) return out;
  // Thieves by expected job time. A thief's first steal compares its one round against
  // the best victim's; when that fails for a thief that is no victim itself, it fails for
  // every slower thief that is no victim either, until a steal changes the victims.
  bool hopeless = false;
  for (NodeId t : idle_by_speed()) {
    Node& thief = nodes_[t];
    if (hopeless && thief.waiting == 0) continue;
    bool first = true;
    while (thief.copies.size() + thief.reserved < window(t)) {
      if (!plan_one_steal(t, out)) {
        if (first && thief.waiting == 0) hopeless = true;
        break;
      }
      hopeless = false;
      first = false;
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
  if (!is_thief(thief) || !nodes_[thief].stats.active) {
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
  Node& n = nodes_[node];
  const NodeId thief = c->steal_to;
  tally(n, *c, -1);
  if (is_thief(thief)) --nodes_[thief].reserved;
  c->steal_to = kNone;
  if (c->started < 0) c->started = now();
  tally(n, *c, +1);
  touch(node);
  if (is_thief(thief)) touch(thief);
}

double Scheduler::median_seconds() const {
  if (recent_.empty()) return 0;
  std::vector<double> v = recent_;
  auto mid = v.begin() + static_cast<long>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

// A running copy that has run longer than the trigger and whose node is expected to need
// more time: the fields of the trigger's test, which depends on the idle node only
// through its expected time.
struct Scheduler::Candidate {
  double finish;   // started + d: the latest expected finish is backed up first
  double d, e, ev;
  JobId job;
  NodeId node;
};

std::vector<Scheduler::Candidate> Scheduler::backup_candidates(double t, double median) const {
  std::vector<Candidate> out;
  for (NodeId v = 0; v < nodes_.size(); ++v) {
    const Node& n = nodes_[v];
    if (!n.stats.active || n.copies.empty()) continue;
    const double ev = expected_seconds(v);
    for (const InFlight& c : n.copies) {
      if (c.started < 0 || c.backup || jobs_.find(c.job)->backed_up) continue;
      const double e = t - c.started;
      if (!(e > options_.backup_multiplier * median)) continue;
      const double d = std::max(ev, e);  // an overrun job is assumed about to finish
      if (!(d - e > 0)) continue;        // then no copy can finish first
      out.push_back({c.started + d, d, e, ev, c.job, v});
    }
  }
  // The latest expected finish first; among equals, the first in node and queue order.
  std::stable_sort(out.begin(), out.end(),
                   [](const Candidate& a, const Candidate& b) { return a.finish > b.finish; });
  return out;
}

void Scheduler::plan_backups(std::vector<Assignment>& out) {
  const size_t most = static_cast<size_t>(std::max(0, options_.max_backups));
  if (!options_.adaptive || most == 0 || backups_ >= most || queued() > 0 || stealable_ > 0) {
    return;
  }
  const double median = median_seconds();
  if (median <= 0 || idle_.empty()) return;
  const std::vector<Candidate> candidates = backup_candidates(now(), median);
  if (candidates.empty()) return;
  for (NodeId i : idle_by_speed()) {
    const Node& spare = nodes_[i];
    const double ei = expected_seconds(i);
    while (has_idle_worker(spare) && backups_ < most) {
      const Candidate* pick = nullptr;
      for (const Candidate& c : candidates) {
        if (c.node == i || jobs_.find(c.job)->backed_up) continue;
        if (c.d * ei / c.ev < c.d - c.e) {
          pick = &c;
          break;
        }
      }
      if (pick == nullptr) break;
      place(pick->job, i, true, out);
    }
    if (backups_ >= most) break;
  }
}

}  // namespace pp::sched
