#include "ppclient/src/running_jobs.hpp"

#include <utility>

namespace pp::client {

RunningJobs::Node* RunningJobs::find(uint32_t node) {
  return node < nodes_.size() ? &nodes_[node] : nullptr;
}

void RunningJobs::add_node(uint32_t node, uint32_t workers) {
  if (nodes_.size() <= node) nodes_.resize(node + 1);
  Node& n = nodes_[node];
  n = Node{};
  n.slots.assign(workers, 0);
  n.taken.assign(workers, false);
  n.since.assign(workers, 0.0);
}

void RunningJobs::sent(uint32_t node, uint64_t job, report::Kind kind, double t) {
  if (!enabled_) return;
  Node* n = find(node);
  if (n == nullptr) return;
  // A copy sent again to the node that holds one (it should not be) stays one copy.
  if (!n->copies.try_emplace(job, Copy{kind, kWaiting}).second) return;
  n->queue.push_back(job);
  promote(*n, t, -1);
}

void RunningJobs::free_slot(Node& n, int32_t slot) {
  n.taken[static_cast<size_t>(slot)] = false;
  --n.busy;
}

void RunningJobs::ended(uint32_t node, uint64_t job, int64_t worker, double t) {
  if (!enabled_) return;
  Node* n = find(node);
  if (n == nullptr) return;
  auto it = n->copies.find(job);
  if (it == n->copies.end()) return;
  const int32_t slot = it->second.slot;
  n->copies.erase(it);
  const bool known = worker >= 0 && static_cast<size_t>(worker) < n->slots.size();
  if (slot != kWaiting) {
    free_slot(*n, slot);
    // It ran on `worker`, not on the slot reckoned: the copy reckoned on that worker
    // was on the freed slot instead (keeping its start), and `worker` is the idle one.
    const auto w = static_cast<size_t>(worker);
    if (known && static_cast<int32_t>(worker) != slot && n->taken[w]) {
      const auto s = static_cast<size_t>(slot);
      std::swap(n->slots[s], n->slots[w]);
      std::swap(n->since[s], n->since[w]);
      n->taken[s] = true;
      n->taken[w] = false;
      n->copies[n->slots[s]].slot = slot;
    }
  }
  // The queue skips ended ids lazily; a node that answers out of send order (its short
  // jobs run many per worker) could leave many behind the front: drop them in one pass.
  if (n->queue.size() > 2 * n->copies.size() + 64) {
    std::erase_if(n->queue, [n](uint64_t id) {
      auto c = n->copies.find(id);
      return c == n->copies.end() || c->second.slot != kWaiting;
    });
  }
  promote(*n, t, known ? worker : -1);
}

void RunningJobs::promote(Node& n, double t, int64_t prefer) {
  while (n.busy < n.slots.size() && !n.queue.empty()) {
    const uint64_t id = n.queue.front();
    n.queue.pop_front();
    auto it = n.copies.find(id);
    if (it == n.copies.end() || it->second.slot != kWaiting) continue;
    size_t s = 0;
    if (prefer >= 0 && static_cast<size_t>(prefer) < n.slots.size() &&
        !n.taken[static_cast<size_t>(prefer)]) {
      s = static_cast<size_t>(prefer);
    } else {
      while (n.taken[s]) ++s;   // busy < size: one is free
    }
    prefer = -1;
    n.slots[s] = id;
    n.taken[s] = true;
    n.since[s] = t;
    ++n.busy;
    it->second.slot = static_cast<int32_t>(s);
  }
}

void RunningJobs::node_gone(uint32_t node) {
  Node* n = find(node);
  if (n == nullptr) return;
  *n = Node{};
}

std::vector<RunningJob> RunningJobs::running() const {
  std::vector<RunningJob> out;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    for (size_t s = 0; s < n.slots.size(); ++s) {
      if (!n.taken[s]) continue;
      auto it = n.copies.find(n.slots[s]);
      out.push_back(RunningJob{n.slots[s], static_cast<uint32_t>(i), static_cast<uint32_t>(s),
                               n.since[s],
                               it != n.copies.end() ? it->second.kind : report::Kind::kNormal});
    }
  }
  return out;
}

size_t RunningJobs::waiting(uint32_t node) const {
  if (node >= nodes_.size()) return 0;
  const Node& n = nodes_[node];
  return n.copies.size() - n.busy;
}

}  // namespace pp::client
