// ExecutionSample: the executions a report keeps for its timeline, bounded however
// long the batch runs. The report's figures never come from here (the job server
// counts those exactly, per node); this only decides which executions are drawn.
//
// What is kept: the first `first` executions, the last `last` ones, and from the
// ones in between the stolen, backup, lost, failed and crashed copies (up to
// `notable`); the rest are counted, with the time range they ran in. Why not a
// uniform (reservoir) sample: the timeline's point is when each worker was busy, and
// a gap in a lane means an idle worker. A uniform sample thins every lane everywhere,
// so the whole picture would show idle workers that were not. Keeping everything at
// the start (connections, windows filling, first speed estimates) and at the end
// (stragglers, steals, backup copies) keeps those stretches exact, and the middle of
// a long stream, where the cluster is in its steady state, is marked as not drawn.
// docs/report.md says the same for readers of the report.
//
// Executions must be added in the order they end (the job server records each one
// when its result arrives). Memory: at most first + last + notable executions
// (about 1 MB with the defaults). A plain value; not thread-safe.
//
//   ExecutionSample s;                      // or ExecutionSample(2, 2, 1) in tests
//   for (const Execution& e : results) s.add(e);
//   report.executions = s.kept();
//   report.executions_dropped = s.dropped();
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ppclient/report/report.hpp"

namespace pp::client::report {

class ExecutionSample {
 public:
  static constexpr size_t kFirst = 10000;
  static constexpr size_t kLast = 10000;
  static constexpr size_t kNotable = 5000;

  explicit ExecutionSample(size_t first = kFirst, size_t last = kLast,
                           size_t notable = kNotable);

  void add(const Execution& e);
  // The kept executions, in the order they were added.
  std::vector<Execution> kept() const;
  // The last `n` of kept() (the most recent executions while the sample is not thinned:
  // the live task stream), without copying the rest.
  std::vector<Execution> recent(size_t n) const;
  uint64_t added() const { return added_; }
  uint64_t dropped() const { return dropped_; }
  // With dropped() > 0: every dropped execution ran within [dropped_from, dropped_to]
  // (its finite start and end times); outside that range the kept ones are complete.
  double dropped_from() const { return dropped_from_; }
  double dropped_to() const { return dropped_to_; }

 private:
  void leave_tail(const Execution& e);   // an execution no longer among the last ones

  size_t first_cap_, last_cap_, notable_cap_;
  std::vector<Execution> first_;
  std::vector<Execution> notable_;
  std::vector<Execution> last_;          // a ring once full; last_next_ is its oldest
  size_t last_next_ = 0;
  uint64_t added_ = 0;
  uint64_t dropped_ = 0;
  double dropped_from_ = 0, dropped_to_ = 0;
  bool has_range_ = false;               // some dropped execution had a finite time
};

}  // namespace pp::client::report
