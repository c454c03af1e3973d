// JobState: one job's outcome as the user sees it, the future behind pp::Job and a
// Lua job object. The io thread fills it once (JobServer::deliver) and wakes waiters;
// user threads read it. Every field is guarded by sync->mutex, one mutex per
// JobServer shared by all its jobs (one lock per result on the hot path).
//
// There is one per job submitted and not yet collected (a million for a batch of a
// million), so it holds what every job needs and keeps what few jobs have (a failure's
// error and traceback, what a job printed) behind pointers.
//
// Its life: kPending while in the driver (waiting for a node, or for its inputs),
// kRunning once a copy was sent to a node, kDone once `done` (result, error or cancel).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/proto/messages.hpp"

namespace pp::client {

class Completions;
struct JobState;

// Told when a user thread starts and stops blocking on a server's jobs (the progress
// bar draws only while someone waits). Called under Sync::mutex; must not take it.
class WaitObserver {
 public:
  virtual ~WaitObserver() = default;
  virtual void wait_begins() = 0;
  virtual void wait_ends() = 0;
};

struct Sync {
  std::mutex mutex;
  std::condition_variable cv;
  // Lua job handles that still hold their job's state (pp.core's c:held()): counted
  // here, in what they share anyway, rather than through a pointer of their own.
  std::atomic<size_t> lua_handles{0};
  // Jobs some Completions waits for (JobServer::watch), with who waits: the one who
  // finishes a job hands it over in O(1). Few entries, and none without a watch.
  std::unordered_multimap<const void*, Completions*> watchers;
  // The server's progress bar, if it has one (set and cleared under mutex by its owner).
  WaitObserver* observer = nullptr;
  // Asks the server's io thread for a kept result's value (JobState::kept); set and
  // cleared under mutex by the server, so a job outliving its cluster is told so.
  std::function<void(std::shared_ptr<JobState>)> fetch_kept;
};

// A user thread blocked on jobs of `sync`, for its observer: made under sync.mutex just
// before the wait, which must not return with the lock released for good before it ends.
class BlockedWait {
 public:
  explicit BlockedWait(Sync& sync) : observer_(sync.observer) {
    if (observer_ != nullptr) observer_->wait_begins();
  }
  ~BlockedWait() {
    if (observer_ != nullptr) observer_->wait_ends();
  }
  BlockedWait(const BlockedWait&) = delete;
  BlockedWait& operator=(const BlockedWait&) = delete;

 private:
  WaitObserver* observer_;
};

// Where a job is (see the life above); read under sync->mutex.
enum class JobPhase : uint8_t { kPending, kRunning, kDone };

struct JobFailure {
  std::string error;
  std::string traceback;
};

struct JobState {
  uint64_t id = 0;
  std::shared_ptr<Sync> sync;
  bool done = false;
  bool waited = false;
  // Its first value stayed on the node that made it (a kept result): `value` holds its
  // handle there until the user asks for it (resolve_kept fetches it once).
  bool kept = false;
  JobPhase phase = JobPhase::kPending;
  proto::JobStatus status = proto::JobStatus::kOk;
  // Runs started on nodes, retries included, losing backup copies not.
  uint16_t attempts = 0;
  double elapsed = 0;         // seconds the winning run took on its node
  std::string value;          // msgpack array of returned values
  std::string node;
  std::unique_ptr<JobFailure> failure;   // set when status is not kOk and there is a text
  std::unique_ptr<std::string> output;   // what the job printed; null when nothing (most jobs)

  const std::string& error() const { return failure ? failure->error : kNone; }
  const std::string& traceback() const { return failure ? failure->traceback : kNone; }
  // Keeps an error and its traceback (nothing when both are empty).
  void set_failure(std::string error, std::string traceback) {
    if (error.empty() && traceback.empty()) {
      failure.reset();
      return;
    }
    failure = std::make_unique<JobFailure>(JobFailure{std::move(error), std::move(traceback)});
  }

 private:
  static inline const std::string kNone;
};

// "pending" | "running" | "finished" | "failed" | "cancelled": the job's status as the
// user sees it (failed for any status but ok and cancelled). Under sync->mutex.
// The error of a job the driver cancelled (its own outcome, and what its dependents quote).
inline std::string cancelled_error(uint64_t id) {
  return "job " + std::to_string(id) + " was cancelled by the driver";
}

// Under `lock` (of job->sync->mutex), the job done: a kept value is fetched from its
// node and put in place of its handle before anyone reads `value`.
inline void resolve_kept(const std::shared_ptr<JobState>& job, std::unique_lock<std::mutex>& lock) {
  if (!job->kept) return;
  Sync& sync = *job->sync;
  if (!sync.fetch_kept) {
    job->kept = false;
    job->status = proto::JobStatus::kLost;
    job->set_failure("job " + std::to_string(job->id) + "'s value stayed on its node, and the "
                     "cluster was closed before it was asked for", "");
    return;
  }
  sync.fetch_kept(job);
  BlockedWait blocked(sync);
  sync.cv.wait(lock, [&] { return !job->kept; });
}

inline const char* status_name(const JobState& job) {
  if (!job.done) return job.phase == JobPhase::kRunning ? "running" : "pending";
  if (job.status == proto::JobStatus::kOk) return "finished";
  return job.status == proto::JobStatus::kCancelled ? "cancelled" : "failed";
}

}  // namespace pp::client
