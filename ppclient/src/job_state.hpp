// JobState: one job's outcome as the user sees it, the future behind pp::Job and a
// Lua job object. The io thread fills it once (JobServer::deliver) and wakes waiters;
// user threads read it. Every field is guarded by sync->mutex, one mutex per
// JobServer shared by all its jobs (one lock per result on the hot path).
#pragma once

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
};

struct JobState {
  uint64_t id = 0;
  std::shared_ptr<Sync> sync;
  bool done = false;
  bool waited = false;
  proto::JobStatus status = proto::JobStatus::kOk;
  std::string value;          // msgpack array of returned values
  std::string error;
  std::string traceback;
  std::string node;
  double wall_seconds = 0;
};

}  // namespace pp::client
