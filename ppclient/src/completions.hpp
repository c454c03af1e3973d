// Completions: a set of jobs handed back in the order they finish (as_completed,
// wait for any). Made by JobServer::watch; the one who finishes a watched job (the
// io thread's hand-over, or a cancel) passes it here in O(1) through Sync::watchers,
// and next() sleeps on a condition variable of its own until one is there: no
// polling, no rescan of the whole set on each wake-up.
//
// Holds its jobs until it is dropped (a job it waits for cannot be collected, so its
// address stays its key). Thread-safe, under the jobs' sync->mutex; one reader at a
// time is the expected use. Safe to drop early: it leaves Sync::watchers.
//
//   auto c = server.watch(jobs);
//   while (auto job = c->next(std::nullopt)) use(*job);
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "ppclient/src/job_state.hpp"

namespace pp::client {

class Completions {
 public:
  // Watches `jobs` (all of one JobServer; a job given twice counts once).
  Completions(std::shared_ptr<Sync> sync, std::vector<std::shared_ptr<JobState>> jobs);
  ~Completions();
  Completions(const Completions&) = delete;
  Completions& operator=(const Completions&) = delete;

  // The next finished job (those finished before the watch first, in any order), or
  // null when `timeout` passed first or every job was handed out. nullopt: no limit.
  std::shared_ptr<JobState> next(std::optional<std::chrono::milliseconds> timeout);
  // Jobs not handed out by next() yet.
  size_t remaining() const;

  // `job` just finished (done is set): every Completions waiting for it takes it.
  // Under sync.mutex, by whoever finished it.
  static void finished_locked(Sync& sync, const std::shared_ptr<JobState>& job);

 private:
  std::shared_ptr<Sync> sync_;
  std::vector<std::shared_ptr<JobState>> jobs_;   // every job watched, kept alive
  std::deque<std::shared_ptr<JobState>> ready_;   // finished, not handed out yet
  size_t unfinished_ = 0;                         // still in Sync::watchers for this
  size_t remaining_ = 0;
  std::condition_variable cv_;
};

}  // namespace pp::client
