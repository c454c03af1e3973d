// JobServer's futures side: cancel, watching jobs finish (Completions), waiting for
// workers, and groups. Every call here is on a user thread; what the io thread owns
// (the Dispatcher, the node table) is reached by posting to it.
#include <algorithm>

#include "ppclient/src/dispatcher.hpp"
#include "ppclient/src/job_server.hpp"
#include "ppclient/src/node_table.hpp"

namespace pp::client {

void JobServer::finished_locked(const std::shared_ptr<JobState>& state) {
  state->phase = JobPhase::kDone;
  ++finished_count_;
  Completions::finished_locked(*sync_, state);
}

bool JobServer::cancel(const std::shared_ptr<JobState>& job) {
  if (!job) return false;
  {
    std::lock_guard lock(sync_->mutex);
    if (job->done) return false;
    job->done = true;
    job->status = proto::JobStatus::kCancelled;
    job->set_failure(cancelled_error(job->id), "");
    finished_locked(job);
  }
  sync_->cv.notify_all();
  // The io thread forgets it: off the queue, or CANCEL to each node holding a copy. It
  // may still wait among the submissions not handed over: those go over first.
  asio::post(io_, [this, id = job->id] {
    drain_incoming();
    dispatcher_->cancel(id);
  });
  return true;
}

std::shared_ptr<Completions> JobServer::watch(std::vector<std::shared_ptr<JobState>> jobs) {
  return std::make_shared<Completions>(sync_, std::move(jobs));
}

Status JobServer::wait_for_workers(int n, std::chrono::milliseconds timeout) {
  if (active_.wait_for_workers(n, timeout)) return Status::ok();
  std::string have;
  int workers = 0;
  for (const auto& [name, w] : active_.copy()) {
    have += (have.empty() ? "" : ", ") + name + " (" + std::to_string(w) + ")";
    workers += w;
  }
  std::string why = on_io([this] { return why_no_node(); });
  return Status(StatusCode::kTimeout,
                "waited " + std::to_string(timeout.count()) + " ms for " + std::to_string(n) +
                    " workers; " + std::to_string(workers) + " connected" +
                    (have.empty() ? "" : ": " + have) + ". Nodes: " + why);
}

// Under sync_->mutex. Collected jobs leave when the list doubled since it was pruned.
void JobServer::add_to_group(const std::string& group, const std::shared_ptr<JobState>& state) {
  Group& g = groups_[group];
  g.jobs.push_back(state);
  if (g.jobs.size() < g.prune_at) return;
  std::erase_if(g.jobs, [](const std::weak_ptr<JobState>& w) { return w.expired(); });
  g.prune_at = std::max<size_t>(64, 2 * g.jobs.size());
}

std::vector<std::shared_ptr<JobState>> JobServer::jobs_in_group(const std::string& name) const {
  std::vector<std::shared_ptr<JobState>> out;
  std::lock_guard lock(sync_->mutex);
  auto it = groups_.find(name);
  if (it == groups_.end()) return out;
  Group& g = it->second;
  std::erase_if(g.jobs, [&](const std::weak_ptr<JobState>& w) {
    auto job = w.lock();
    if (!job) return true;
    out.push_back(std::move(job));
    return false;
  });
  if (g.jobs.empty()) groups_.erase(it);
  return out;
}

}  // namespace pp::client
