// A job as the node holds it: queued in the JobQueue (its session's queue), then in a worker's
// pipeline. Plain data; the code blob is shared with the session's code cache.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace pp::server {

struct NodeJob {
  uint64_t session_id = 0;
  uint64_t client_job_id = 0;
  uint64_t key = 0;                               // node-unique, names it to workers
  std::string hash;
  std::shared_ptr<const std::string> blob;
  // Shared with the WORKER_RUN being written, which sends them from here (no copy).
  std::shared_ptr<const std::string> args;
  // The scattered values its arguments name (hash, bytes shared with the node's
  // DataStore): its worker gets each once (WORKER_DATA) before the job.
  struct Data {
    std::string hash;
    std::shared_ptr<const std::string> bytes;
  };
  std::vector<Data> data;
  std::chrono::milliseconds timeout{0};           // 0 = none
  bool cancelled = false;
  // Placed (SUBMIT's worker): the only worker that may run it, 0-based; -1 = any worker.
  int worker = -1;
  // In a worker's pipeline: its code's mean time when it was given (JobTimes), or -1
  // when that was not known to be short.
  double expected_seconds = -1;
};

}  // namespace pp::server
