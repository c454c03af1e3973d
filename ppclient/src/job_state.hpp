// JobState: one job's outcome as the user sees it, the future behind pp::Job and a
// Lua job object. The io thread fills it once (JobServer::deliver) and wakes waiters;
// user threads read it. Every field is guarded by sync->mutex, one mutex per
// JobServer shared by all its jobs (one lock per result on the hot path).
//
// There is one per job submitted and not yet collected (a million for a batch of a
// million), so it holds what every job needs and keeps what few jobs have (a failure's
// error and traceback, what a job printed) behind pointers: 112 bytes, not 200.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "core/proto/messages.hpp"

namespace pp::client {

struct Sync {
  std::mutex mutex;
  std::condition_variable cv;
  // Lua job handles that still hold their job's state (pp.core's c:held()): counted
  // here, in what they share anyway, rather than through a pointer of their own.
  std::atomic<size_t> lua_handles{0};
};

struct JobFailure {
  std::string error;
  std::string traceback;
};

struct JobState {
  uint64_t id = 0;
  std::shared_ptr<Sync> sync;
  bool done = false;
  bool waited = false;
  proto::JobStatus status = proto::JobStatus::kOk;
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

}  // namespace pp::client
