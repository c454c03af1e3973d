#include "ppserver/job_queue.hpp"

#include <algorithm>
#include <unordered_set>

namespace pp::server {

bool JobQueue::push(NodeJob job) {
  if (!has_room(job.session_id)) return false;
  queues_[job.session_id].push_back(std::move(job));
  return true;
}

void JobQueue::requeue(NodeJob job) {
  auto it = queues_.find(job.session_id);
  if (it != queues_.end()) it->second.push_front(std::move(job));
}

std::optional<NodeJob> JobQueue::cancel(uint64_t session, uint64_t client_job_id) {
  auto q = queues_.find(session);
  if (q == queues_.end()) return std::nullopt;
  auto& jobs = q->second;
  auto it = std::find_if(jobs.begin(), jobs.end(),
                         [&](const NodeJob& j) { return j.client_job_id == client_job_id; });
  if (it == jobs.end()) return std::nullopt;
  NodeJob job = std::move(*it);
  jobs.erase(it);
  return job;
}

std::vector<uint64_t> JobQueue::steal(uint64_t session, std::span<const uint64_t> client_job_ids) {
  std::vector<uint64_t> taken;
  auto q = queues_.find(session);
  if (q == queues_.end()) return taken;
  std::unordered_set<uint64_t> wanted(client_job_ids.begin(), client_job_ids.end());
  auto& jobs = q->second;
  for (auto it = jobs.begin(); it != jobs.end() && !wanted.empty();) {
    if (wanted.erase(it->client_job_id) > 0) {
      taken.push_back(it->client_job_id);
      it = jobs.erase(it);
    } else {
      ++it;
    }
  }
  return taken;
}

void JobQueue::drop(uint64_t session) { queues_.erase(session); }

size_t JobQueue::queued(uint64_t session) const {
  auto it = queues_.find(session);
  return it == queues_.end() ? 0 : it->second.size();
}

size_t JobQueue::size() const {
  size_t n = 0;
  for (const auto& [id, jobs] : queues_) n += jobs.size();
  return n;
}

// Of the sessions with queued jobs, the one with the fewest jobs in workers,
// ties broken round robin from the session after the last one served.
JobQueue::Queues::iterator JobQueue::fairest(const Workers& workers) {
  auto best = queues_.end();
  size_t best_assigned = 0;
  auto it = queues_.upper_bound(rr_cursor_);
  for (size_t n = 0; n < queues_.size(); ++n, ++it) {
    if (it == queues_.end()) it = queues_.begin();
    if (it->second.empty()) continue;
    size_t assigned = workers.assigned(it->first);
    if (best == queues_.end() || assigned < best_assigned) {
      best = it;
      best_assigned = assigned;
      if (assigned == 0) break;
    }
  }
  return best;
}

// With no idle worker: the first session in round-robin order with queued jobs
// and a pipeline slot behind its own job (`worker`), or end().
JobQueue::Queues::iterator JobQueue::behind_own_client(const Workers& workers, int& worker) {
  auto it = queues_.upper_bound(rr_cursor_);
  for (size_t n = 0; n < queues_.size(); ++n, ++it) {
    if (it == queues_.end()) it = queues_.begin();
    if (it->second.empty()) continue;
    worker = workers.pipeline_slot(it->second.front());
    if (worker >= 0) return it;
  }
  return queues_.end();
}

std::optional<JobQueue::Grant> JobQueue::next(const Workers& workers) {
  auto chosen = fairest(workers);
  if (chosen == queues_.end()) return std::nullopt;
  int worker = workers.idle_worker(chosen->first);
  if (worker < 0) {
    // A client with queued jobs and no worker at all waits for the next idle one;
    // no other client's job may take a pipeline slot before it.
    if (workers.assigned(chosen->first) == 0) return std::nullopt;
    chosen = behind_own_client(workers, worker);
    if (chosen == queues_.end()) return std::nullopt;
  }
  Grant grant{worker, std::move(chosen->second.front())};
  chosen->second.pop_front();
  rr_cursor_ = chosen->first;
  return grant;
}

}  // namespace pp::server
