// The Dispatcher's side of dependencies between jobs (dependencies.hpp): a job that
// names other jobs (inputs whose first value it takes, or `after` jobs) is held at take,
// started when they are done, with each reference in its arguments replaced by its
// input's value (core/proto/job_ref.hpp), and failed when one of them fails.
#include <mutex>

#include "core/proto/job_ref.hpp"
#include "ppclient/src/dispatcher.hpp"

namespace pp::client {
namespace {

Outcome failure(proto::JobStatus status, std::string error) {
  Outcome o;
  o.status = status;
  o.error = std::move(error);
  return o;
}

std::string input_failed(uint64_t input, proto::JobStatus status, const std::string& error) {
  return "input job " + std::to_string(input) + " failed (" + proto::job_status_name(status) +
         "): " + error;
}

}  // namespace

// Registers the edges of the newly taken job `id`; returns why it fails at once (an
// input already failed), "" otherwise. An input that is done has its JobState filled:
// JobServer hands outcomes over before it hands jobs in, and a state is only ever filled
// on this thread (or at submit, for a job that was never sent).
std::string Dispatcher::hold(uint64_t id, SubmitExtras& x) {
  deps_.hold(id);
  std::vector<uint64_t> running;   // inputs whose value it takes, not done yet
  auto edge = [&](const JobState& in, bool value) -> std::string {
    std::lock_guard lock(in.sync->mutex);
    if (!in.done) {
      if (jobs_.find(in.id) == nullptr) {
        return "input job " + std::to_string(in.id) + " is neither done nor known here";
      }
      deps_.wait_for(id, in.id, value);
      if (value) running.push_back(in.id);
      return "";
    }
    if (in.status != proto::JobStatus::kOk) return input_failed(in.id, in.status, in.error());
    if (!value) return "";
    Result<std::string> v = proto::first_element(in.value);
    if (!v) return "the value of input job " + std::to_string(in.id) + ": " + v.status().message();
    deps_.give(id, in.id, std::move(*v));
    return "";
  };
  for (const auto& in : x.inputs) {
    if (std::string why = edge(*in, true); !why.empty()) return why;
  }
  for (const auto& in : x.after) {
    if (std::string why = edge(*in, false); !why.empty()) return why;
  }
  // An input already sent without `keep` keeps its value after all (late_keep).
  for (uint64_t in : running) late_keep(in);
  return "";
}

// The held job `id` no longer waits: its arguments get their inputs' values and it
// enters the scheduler's queue (or takes its result from the journal).
void Dispatcher::start_held(uint64_t id) {
  Dependencies::Values values = deps_.release(id);
  Job* job = jobs_.find(id);
  if (job == nullptr) return;
  Submission& sub = job->sub;
  Result<std::string> args = proto::substitute_job_refs(sub.args, values);
  if (!args) {
    end_held(id, failure(proto::JobStatus::kRejected,
                         "job " + std::to_string(id) + ": " + args.status().message()));
    return;
  }
  sub.args = std::move(*args);
  count_kept(id, sub.args, *sub.extras);
  // The inputs' states are no longer needed here: a tree of jobs lets go of its leaves.
  sub.extras->inputs = {};
  sub.extras->after = {};
  if (recall_) {
    if (std::optional<Outcome> earlier = recall_(sub)) {
      sub.settled = true;   // not kept again
      end_held(id, std::move(*earlier));
      return;
    }
  }
  sched_.release(id);
}

// Ends the held (never sent) job `id` with `o`. Its outcome may end more held jobs in
// turn (they fail with it, or a journal has theirs): all are worked off here in a loop,
// not by recursion, so a chain of ten thousand ends in one pass at constant depth.
void Dispatcher::end_held(uint64_t id, Outcome&& o) {
  ending_.emplace_back(id, std::move(o));
  if (cascading_) return;
  cascading_ = true;
  while (!ending_.empty()) {
    auto [next, outcome] = std::move(ending_.front());
    ending_.pop_front();
    sched_.abandon(next);   // held: no copy is out
    finish(next, std::move(outcome));
  }
  cascading_ = false;
}

// The job `id` just got its outcome: the held jobs waiting for it move on, or fail with
// it.
void Dispatcher::settle_dependents(uint64_t id, const Outcome& o) {
  if (!deps_.has_waiters(id)) return;
  std::string why;
  if (o.status == proto::JobStatus::kOk) {
    Result<std::string> v = proto::first_element(o.value);
    if (v) {
      std::vector<uint64_t> ready;
      deps_.finished(id, *v, ready);
      for (uint64_t r : ready) start_held(r);
      return;
    }
    why = "the value of input job " + std::to_string(id) + ": " + v.status().message();
  } else {
    why = input_failed(id, o.status, o.error);
  }
  std::vector<uint64_t> failing;
  deps_.failed(id, failing);
  for (uint64_t f : failing) end_held(f, failure(proto::JobStatus::kDependency, why));
}

}  // namespace pp::client
