// SubmitExtras: what a job submitted with options carries beyond its code, arguments and
// time limit (retries, placement, group, dependencies). Few jobs of a batch have any, so a
// plain job's Submission holds a null pointer rather than these fields.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ppclient/src/job_state.hpp"
#include "ppclient/src/scatter.hpp"

namespace pp::client {

struct SubmitExtras {
  uint32_t retries = 0;       // more runs allowed after a Lua error, a crash or a timeout
  std::string node;           // "host:port": only that node runs it ("" = any node)
  uint32_t worker = 0;        // with `node`: only its worker of this number (1..) runs it
  std::string group;          // the group it was submitted under ("" = none)
  // A pipeline's stage job: its pipeline (LiveFigures::add_pipeline; 0 = none) and its
  // stage there (0-based), for the live figures.
  uint32_t pipeline = 0;
  uint32_t stage = 0;
  // Jobs whose first return value replaces their references inside `args`.
  std::vector<std::shared_ptr<JobState>> inputs;
  // Jobs that must finish first; their values are not passed.
  std::vector<std::shared_ptr<JobState>> after;
  // Scattered values its arguments name (scatter.hpp): held until its result is in,
  // and sent (DATA) to a node before the job, once per connection.
  std::vector<std::shared_ptr<const SharedData>> data;
  // Its result stays on the node that makes it (dispatcher_keep.cpp): the jobs that
  // depend on it take it there through its handle, and the user's get fetches it once.
  bool keep = false;
  // A pipeline's intermediate (implies keep): only the next stage's job takes it, so it
  // is released once that job did, whether or not the user still holds this job.
  bool intermediate = false;
  // Kept results its arguments name (their hashes), once its inputs are in: released
  // when the last job naming one ends.
  std::vector<std::string> kept;
};

}  // namespace pp::client
