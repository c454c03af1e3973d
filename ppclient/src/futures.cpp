// Waiting on many jobs from C++: pp::as_completed, Cluster::wait, wait_for_workers and
// groups, over JobServer's Completions (see pp/futures.hpp).
#include "pp/futures.hpp"

#include <mutex>
#include <stdexcept>

#include "pp/cluster.hpp"
#include "ppclient/src/completions.hpp"
#include "ppclient/src/job_server.hpp"

namespace pp {
namespace {

using Clock = std::chrono::steady_clock;

// The states of `jobs`, which must all belong to the cluster whose jobs share `sync`
// (the first job's when null).
std::vector<std::shared_ptr<client::JobState>> states_of(const std::vector<Job>& jobs,
                                                         const client::Sync* sync) {
  std::vector<std::shared_ptr<client::JobState>> out;
  out.reserve(jobs.size());
  for (const Job& j : jobs) {
    if (!j.state()) throw std::invalid_argument("waiting on an empty pp::Job");
    if (sync == nullptr) sync = j.state()->sync.get();
    if (j.state()->sync.get() != sync) {
      throw std::invalid_argument("waiting on jobs of different clusters at once");
    }
    out.push_back(j.state());
  }
  return out;
}

// What is left of a limit that ends at `deadline` (none: nullopt), at least 0.
std::optional<std::chrono::milliseconds> left(const std::optional<Clock::time_point>& deadline) {
  if (!deadline) return std::nullopt;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now());
  return std::max(ms, std::chrono::milliseconds(0));
}

}  // namespace

AsCompleted::AsCompleted(const std::vector<Job>& jobs,
                         std::optional<std::chrono::milliseconds> timeout) {
  if (timeout) deadline_ = Clock::now() + *timeout;
  if (jobs.empty()) return;
  auto states = states_of(jobs, nullptr);
  server_ = jobs.front().server_;
  completions_ = std::make_shared<client::Completions>(states.front()->sync, std::move(states));
}

size_t AsCompleted::remaining() const { return completions_ ? completions_->remaining() : 0; }

bool AsCompleted::next(Job& out) {
  if (!completions_ || completions_->remaining() == 0) return false;
  auto state = completions_->next(left(deadline_));
  if (!state) {
    throw TimeoutError("as_completed: " + std::to_string(completions_->remaining()) +
                       " jobs had not finished when the time limit ran out");
  }
  out = Job(std::move(state), server_);
  return true;
}

AsCompleted::iterator& AsCompleted::iterator::operator++() {
  if (owner_ != nullptr && !owner_->next(current_)) owner_ = nullptr;
  return *this;
}

AsCompleted as_completed(const std::vector<Job>& jobs,
                         std::optional<std::chrono::milliseconds> timeout) {
  return AsCompleted(jobs, timeout);
}

WaitResult Cluster::wait(const std::vector<Job>& jobs, ReturnWhen when,
                         std::optional<std::chrono::milliseconds> timeout) {
  WaitResult out;
  if (jobs.empty()) return out;
  std::optional<Clock::time_point> deadline;
  if (timeout) deadline = Clock::now() + *timeout;
  auto watch = server_->watch(states_of(jobs, &server_->sync()));
  while (watch->remaining() > 0) {
    auto job = watch->next(left(deadline));
    if (!job) break;   // the time ran out
    if (when == ReturnWhen::kFirstCompleted) break;
    // Handed out by next(): done, so its status is final and read without the lock.
    if (when == ReturnWhen::kFirstException && job->status != proto::JobStatus::kOk) break;
  }
  std::lock_guard lock(jobs.front().state()->sync->mutex);
  for (const Job& j : jobs) (j.state()->done ? out.done : out.not_done).push_back(j);
  return out;
}

void Cluster::wait_for_workers(int n, std::chrono::milliseconds timeout) {
  Status st = server_->wait_for_workers(n, timeout);
  if (!st) throw TimeoutError(st.message());
}

std::vector<Job> Cluster::group(const std::string& group) const {
  std::vector<Job> out;
  for (auto& state : server_->jobs_in_group(group)) out.push_back(Job(std::move(state), server_));
  return out;
}

size_t Cluster::cancel(const std::string& group) {
  size_t cancelled = 0;
  for (const auto& state : server_->jobs_in_group(group)) cancelled += server_->cancel(state) ? 1 : 0;
  return cancelled;
}

}  // namespace pp
