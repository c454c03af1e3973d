// The Scheduler and paused nodes (see "Paused nodes" in the header): a paused node takes
// nothing new, gives back what it has not started, and what runs there gets a copy
// elsewhere at once.
#include "core/sched/scheduler.hpp"

namespace pp::sched {

std::vector<Steal> Scheduler::pause(NodeId id) {
  std::vector<Steal> out;
  Node& n = nodes_.at(id);
  if (!n.stats.active || n.stats.paused) return out;
  n.stats.paused = true;
  n.paused_since = now();
  ++paused_count_;
  // Every copy it may not have started goes back to the queue: the model's started ones
  // too (the node knows better; one it did start stays, answered "started", and gets its
  // backup). Pinned copies stay, as do backups (their job's first copy runs elsewhere).
  for (InFlight& c : n.copies) {
    if (c.backup || c.fixed || c.steal_to != kNone) continue;
    tally(n, c, -1);
    c.steal_to = kToQueue;
    tally(n, c, +1);
    out.push_back({c.job, id, kToQueue});
  }
  touch(id);
  return out;
}

void Scheduler::resume(NodeId id) {
  Node& n = nodes_.at(id);
  if (!n.stats.paused) return;
  end_pause(n);
  promote(n);
  touch(id);
}

void Scheduler::end_pause(Node& n) {
  if (!n.stats.paused) return;
  n.stats.paused = false;
  n.stats.paused_seconds += now() - n.paused_since;
  --paused_count_;
}

double Scheduler::paused_seconds(NodeId id) const {
  const Node& n = nodes_.at(id);
  return n.stats.paused_seconds + (n.stats.paused ? now() - n.paused_since : 0.0);
}

// Each copy running on a paused node gets a backup on the node that would start it
// soonest, before any queued job: it will not finish where it is before the node resumes.
void Scheduler::back_up_paused(std::vector<Assignment>& out) {
  if (paused_count_ == 0) return;
  for (NodeId v = 0; v < nodes_.size(); ++v) {
    const Node& n = nodes_[v];
    if (!n.stats.paused || !n.stats.active) continue;
    for (size_t k = 0; k < n.copies.size(); ++k) {
      const InFlight& c = n.copies[k];
      if (c.started < 0 || c.backup || c.fixed || job(c.job).backed_up) continue;
      const int host = best_node();
      if (host < 0) return;
      place(c.job, static_cast<NodeId>(host), true, out);   // never this node: it has no room
    }
  }
}

}  // namespace pp::sched
