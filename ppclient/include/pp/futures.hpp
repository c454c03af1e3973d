// Waiting on many jobs: pp::as_completed (jobs in the order they finish, a range for
// range-for) and what Cluster::wait returns. Both sleep until a job finishes: no
// polling, no CPU while waiting. Thread-safe; one iteration at a time per range.
//
//   for (pp::Job job : pp::as_completed(jobs)) use(job.get<double>());
//   auto [done, not_done] = cluster.wait(jobs, pp::ReturnWhen::kFirstCompleted);
#pragma once

#include <chrono>
#include <iterator>
#include <memory>
#include <optional>
#include <vector>

#include "pp/job.hpp"

namespace pp {

namespace client {
class Completions;
}

// When Cluster::wait returns (the names of Python's concurrent.futures).
enum class ReturnWhen {
  kAllCompleted,     // every job finished
  kFirstCompleted,   // any job finished
  kFirstException,   // any job failed (or every job finished)
};

struct WaitResult {
  std::vector<Job> done;       // finished when the wait returned, in the order given
  std::vector<Job> not_done;
};

// The jobs in the order they finish (those finished already first). With a timeout,
// running past it throws TimeoutError (counted from the call to as_completed).
class AsCompleted {
 public:
  class iterator {
   public:
    using value_type = Job;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    const Job& operator*() const { return current_; }
    const Job* operator->() const { return &current_; }
    iterator& operator++();
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return owner_ == nullptr; }

   private:
    friend class AsCompleted;
    explicit iterator(AsCompleted* owner) : owner_(owner) { ++*this; }
    AsCompleted* owner_ = nullptr;
    Job current_;
  };

  AsCompleted(const std::vector<Job>& jobs, std::optional<std::chrono::milliseconds> timeout);
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() const { return {}; }
  // Jobs not yielded yet.
  size_t remaining() const;

 private:
  bool next(Job& out);

  std::shared_ptr<client::Completions> completions_;   // null for no jobs
  std::weak_ptr<client::JobServer> server_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
};

AsCompleted as_completed(const std::vector<Job>& jobs,
                         std::optional<std::chrono::milliseconds> timeout = std::nullopt);

}  // namespace pp
