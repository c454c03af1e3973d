// Dependencies: the jobs held back until the jobs they depend on are done, on the io
// thread only (the Dispatcher owns one).
//
// A job depends on its inputs (jobs whose first return value replaces their references
// in its arguments, core/proto/job_ref.hpp) and on its `after` jobs (order only). It is
// held from the moment the Dispatcher takes it until every one of them has finished:
// then it is ready and its inputs' values come out with it; if one fails instead, it
// fails too (and the Dispatcher fails what waits on it in turn). An input that had
// finished before the job came is given to it at once (give); one still running is an
// edge (wait_for). Each edge is touched twice, once made and once settled: a tree of
// 20,000 jobs costs 20,000 edges, nothing quadratic. Cycles cannot happen: a job can
// only name jobs that existed before it. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace pp::client {

class Dependencies {
 public:
  // (input id, its first return value as msgpack), sorted by id: what substitute_job_refs takes.
  using Values = std::vector<std::pair<uint64_t, std::string>>;

  // `job` is held from now (before its edges are added).
  void hold(uint64_t job);
  // `job` waits for the unfinished `input`; with `value`, it needs its first value.
  void wait_for(uint64_t job, uint64_t input, bool value);
  // The input `input` of `job` had already finished: its first value is `value`.
  void give(uint64_t job, uint64_t input, std::string value);
  // Whether the held `job` still waits for a job.
  bool waiting(uint64_t job) const;
  // Whether any held job waits for `input` (a cheap test before finished/failed).
  bool has_waiters(uint64_t input) const { return waiters_.count(input) != 0; }
  // The held `job`, no longer waiting, leaves: its inputs' values, sorted by id.
  Values release(uint64_t job);
  // `input` finished with first value `value`: the held jobs now ready are appended to
  // `ready` (each then to be released).
  void finished(uint64_t input, const std::string& value, std::vector<uint64_t>& ready);
  // `input` failed: the held jobs waiting for it leave and are appended to `failing`.
  void failed(uint64_t input, std::vector<uint64_t>& failing);
  // A held job ends otherwise (cancelled, the cluster closed): its record goes.
  void drop(uint64_t job) { held_.erase(job); }

  size_t held() const { return held_.size(); }
  // f(job) for every job held now (the live figures' per-group count).
  template <typename F>
  void for_each_held(F&& f) const {
    for (const auto& [job, h] : held_) f(job);
  }
  // Edges still waiting (for tests: every one is settled once).
  size_t edges() const;

 private:
  struct Held {
    uint32_t missing = 0;   // edges not yet settled
    Values values;          // inputs' values, as they come
  };
  struct Waiter {
    uint64_t job;
    bool value;
  };
  std::unordered_map<uint64_t, Held> held_;                   // by dependent job
  std::unordered_map<uint64_t, std::vector<Waiter>> waiters_;  // by the job waited for
};

}  // namespace pp::client
