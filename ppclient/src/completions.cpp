#include "ppclient/src/completions.hpp"

#include <algorithm>
#include <mutex>
#include <unordered_set>

namespace pp::client {

Completions::Completions(std::shared_ptr<Sync> sync, std::vector<std::shared_ptr<JobState>> jobs)
    : sync_(std::move(sync)) {
  std::unordered_set<const JobState*> seen;
  jobs_.reserve(jobs.size());
  for (auto& job : jobs) {
    if (job && seen.insert(job.get()).second) jobs_.push_back(std::move(job));
  }
  std::lock_guard lock(sync_->mutex);
  for (const auto& job : jobs_) {
    if (job->done) {
      ready_.push_back(job);
    } else {
      sync_->watchers.emplace(job.get(), this);
      ++unfinished_;
    }
  }
  remaining_ = jobs_.size();
}

Completions::~Completions() {
  std::lock_guard lock(sync_->mutex);
  if (unfinished_ == 0) return;
  for (const auto& job : jobs_) {
    if (job->done) continue;
    auto [first, last] = sync_->watchers.equal_range(job.get());
    for (auto it = first; it != last; ++it) {
      if (it->second == this) {
        sync_->watchers.erase(it);
        break;
      }
    }
  }
}

std::shared_ptr<JobState> Completions::next(std::optional<std::chrono::milliseconds> timeout) {
  std::unique_lock lock(sync_->mutex);
  auto any = [this] { return !ready_.empty() || unfinished_ == 0; };
  if ((timeout && timeout->count() <= 0) || any()) {
    // A poll (the Lua driver asks at each call into the library), or one is ready: no
    // clock, no futex.
  } else if (timeout) {
    BlockedWait blocked(*sync_);
    cv_.wait_for(lock, *timeout, any);
  } else {
    BlockedWait blocked(*sync_);
    cv_.wait(lock, any);
  }
  if (ready_.empty()) return nullptr;
  std::shared_ptr<JobState> job = std::move(ready_.front());
  ready_.pop_front();
  --remaining_;
  return job;
}

size_t Completions::remaining() const {
  std::lock_guard lock(sync_->mutex);
  return remaining_;
}

void Completions::finished_locked(Sync& sync, const std::shared_ptr<JobState>& job) {
  if (sync.watchers.empty()) return;
  auto [first, last] = sync.watchers.equal_range(job.get());
  if (first == last) return;
  for (auto it = first; it != last; ++it) {
    Completions& c = *it->second;
    c.ready_.push_back(job);
    --c.unfinished_;
    c.cv_.notify_all();
  }
  sync.watchers.erase(first, last);
}

}  // namespace pp::client
