#include "ppserver/job_queue.hpp"

#include <algorithm>
#include <unordered_set>

namespace pp::server {

bool JobQueue::push(NodeJob job) {
  if (!has_room(job.session_id)) return false;
  if (job.worker >= 0) {
    queues_.try_emplace(job.session_id);   // the session's entry: drop() and requeue() see it
    placed_[job.worker].push_back(std::move(job));
    return true;
  }
  queues_[job.session_id].push_back(std::move(job));
  return true;
}

void JobQueue::requeue(NodeJob job) {
  auto it = queues_.find(job.session_id);
  if (it == queues_.end()) return;
  if (job.worker >= 0) {
    placed_[job.worker].push_front(std::move(job));
  } else {
    it->second.push_front(std::move(job));
  }
}

namespace {

// Takes the job of `session` with `client_job_id` out of `jobs`, if it is there.
std::optional<NodeJob> take_out(std::deque<NodeJob>& jobs, uint64_t session,
                                uint64_t client_job_id) {
  auto it = std::find_if(jobs.begin(), jobs.end(), [&](const NodeJob& j) {
    return j.session_id == session && j.client_job_id == client_job_id;
  });
  if (it == jobs.end()) return std::nullopt;
  NodeJob job = std::move(*it);
  jobs.erase(it);
  return job;
}

}  // namespace

std::optional<NodeJob> JobQueue::cancel(uint64_t session, uint64_t client_job_id) {
  auto q = queues_.find(session);
  if (q == queues_.end()) return std::nullopt;
  if (auto job = take_out(q->second, session, client_job_id)) return job;
  for (auto it = placed_.begin(); it != placed_.end(); ++it) {
    if (auto job = take_out(it->second, session, client_job_id)) {
      if (it->second.empty()) placed_.erase(it);
      return job;
    }
  }
  return std::nullopt;
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

void JobQueue::drop(uint64_t session) {
  queues_.erase(session);
  for (auto it = placed_.begin(); it != placed_.end();) {
    std::erase_if(it->second, [&](const NodeJob& j) { return j.session_id == session; });
    it = it->second.empty() ? placed_.erase(it) : std::next(it);
  }
}

// Placed jobs are few (one per worker per js:run): counting them by a walk is cheap.
size_t JobQueue::queued(uint64_t session) const {
  auto it = queues_.find(session);
  size_t n = it == queues_.end() ? 0 : it->second.size();
  for (const auto& [worker, jobs] : placed_) {
    n += static_cast<size_t>(std::count_if(
        jobs.begin(), jobs.end(), [&](const NodeJob& j) { return j.session_id == session; }));
  }
  return n;
}

size_t JobQueue::size() const {
  size_t n = 0;
  for (const auto& [id, jobs] : queues_) n += jobs.size();
  for (const auto& [worker, jobs] : placed_) n += jobs.size();
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

// The first placed job whose worker is idle (or down), taken out of its worker's queue.
std::optional<JobQueue::Grant> JobQueue::next_placed(const Workers& workers) {
  for (auto it = placed_.begin(); it != placed_.end(); ++it) {
    if (!workers.is_idle(it->first) && !workers.is_down(it->first)) continue;
    Grant grant{it->first, std::move(it->second.front())};
    it->second.pop_front();
    if (it->second.empty()) placed_.erase(it);
    return grant;
  }
  return std::nullopt;
}

std::optional<JobQueue::Grant> JobQueue::next(const Workers& workers) {
  if (!placed_.empty()) {
    if (auto grant = next_placed(workers)) return grant;
  }
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
