// pp::Pipeline: stages over a stream of items (Cluster::pipeline), the C++ twin of the
// Lua API's js:pipeline (lua/pp/pipeline.lua, where the design is told in full).
//
// Each item becomes one job per stage, submitted together: stage k + 1 gets stage k's
// job as its argument (a dependency, sent once stage k is done). Stage k's value stays on
// the node that made it (SubmitOptions::keep), where stage k + 1 prefers to run; it crosses
// the driver only when that job runs elsewhere, once. A stage returning nil
// drops the item. At most `window` items are in flight: the input range is read only as
// earlier items finish, so it may be endless (stop with a `break`, then cancel()).
// Outputs come in input order, or as they finish with `ordered = false`. A failed item
// comes as an output whose get() throws PipelineError naming the stage and the item
// (OnError::kItem), or map's loop throws it and the rest is cancelled (OnError::kStop).
// Stages are Lua source (pp::Code::lua): every later stage is wrapped so that nil in is
// nil out. Not thread-safe: one thread iterates one map at a time.
//
//   pp::Pipeline pl = cluster.pipeline({generate, square, subtract});
//   for (const pp::PipelineOutput& out : pl.map(std::views::iota(1), {.window = 1000})) {
//     std::cout << out.index() << ": " << out.get<double>() << "\n";
//     if (out.index() == 100000) break;
//   }
//   pl.cancel();
//   std::cout << pl.stats().items_per_second << " items/s\n";
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <msgpack.hpp>

#include "pp/futures.hpp"
#include "pp/job.hpp"

namespace pp {

class Cluster;
class Code;

// A failed item: what() is "stage 2 of item 17: <the stage's error>".
class PipelineError : public std::runtime_error {
 public:
  PipelineError(std::string what, int stage, uint64_t item)
      : std::runtime_error(std::move(what)), stage_(stage), item_(item) {}
  int stage() const { return stage_; }      // 1-based
  uint64_t item() const { return item_; }   // the input's position, 1-based

 private:
  int stage_;
  uint64_t item_;
};

struct MapOptions {
  bool ordered = true;
  size_t window = 1000;   // items in flight at most (>= 1)
  enum class OnError { kItem, kStop } on_error = OnError::kItem;
};

// One item out of the pipeline: its input's position, and its output or its failure.
class PipelineOutput {
 public:
  uint64_t index() const { return index_; }
  bool ok() const { return failed_stage_ == 0; }
  int failed_stage() const { return failed_stage_; }   // 0 when ok
  // The output converted to T; throws PipelineError for a failed item.
  template <typename T>
  T get() const {
    if (!ok()) throw PipelineError(error_, failed_stage_, index_);
    return last_.get<T>();
  }
  const std::string& error() const { return error_; }   // "" when ok
  const Job& job() const { return last_; }              // the last stage's job

 private:
  friend class PipelineRun;
  uint64_t index_ = 0;
  int failed_stage_ = 0;
  std::string error_;
  Job last_;
};

// The figures of a pipeline, as the contribution report and the dashboard show them
// (one count: the cluster's live figures, fed by the pipeline's jobs).
struct StageStats {
  uint64_t runs = 0;             // its jobs that ran to an end (ok or failed)
  double seconds_per_item = 0;   // the mean of their run times
  double workers = 0;   // workers it kept busy on average: its run time over the wall time
  uint64_t items_in = 0;         // items that reached it
  uint64_t items_out = 0;        // items it passed on (a value)
  uint64_t dropped = 0;          // items it dropped (returned nil)
  uint64_t failed = 0;           // items it failed (its own error)
  double items_per_second = 0;   // runs over the pipeline's wall time
};

// items: items out of the last stage (values, dropped or failed); seconds: its first job
// submitted to its last job ended.
struct PipelineStats {
  uint64_t items = 0, dropped = 0, failed = 0;
  double seconds = 0, items_per_second = 0;
  std::vector<StageStats> stages;
};

class Pipeline;

namespace detail {
// An input range and where map has read it to.
template <typename Range>
struct Source {
  using Stored = std::conditional_t<std::is_lvalue_reference_v<Range>, Range,
                                    std::remove_cvref_t<Range>>;
  explicit Source(Range&& r) : range(std::forward<Range>(r)) {}
  Stored range;
  decltype(std::begin(range)) it = std::begin(range);
  decltype(std::end(range)) end = std::end(range);
};
}  // namespace detail

// One map over an input: a range of PipelineOutput (one pass, range-for).
class PipelineRun {
 public:
  // Packs the next input item as a one-element msgpack array; false at the end.
  using Reader = std::function<bool(std::string& packed)>;

  class iterator {
   public:
    using value_type = PipelineOutput;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    const PipelineOutput& operator*() const { return current_; }
    const PipelineOutput* operator->() const { return &current_; }
    iterator& operator++();
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return run_ == nullptr; }

   private:
    friend class PipelineRun;
    explicit iterator(PipelineRun* run) : run_(run) { ++*this; }
    PipelineRun* run_ = nullptr;
    PipelineOutput current_;
  };

  PipelineRun(Pipeline& pipeline, Reader reader, MapOptions options);
  // Its jobs still in flight go to the pipeline, for Pipeline::cancel.
  ~PipelineRun();
  PipelineRun(const PipelineRun&) = delete;
  PipelineRun& operator=(const PipelineRun&) = delete;
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() const { return {}; }

 private:
  friend class Pipeline;
  struct Item {
    uint64_t index = 0;
    std::vector<Job> jobs;
  };
  bool next(PipelineOutput& out);
  bool top_up();
  std::optional<Item> take();
  std::optional<Item> take_unordered();
  void conclude(Item&& item, PipelineOutput& out);
  void cancel();

  Pipeline& pipeline_;
  Reader reader_;
  MapOptions options_;
  bool ended_ = false;
  uint64_t read_ = 0;
  std::deque<Item> queue_;                        // ordered: by input position
  std::map<uint64_t, Item> by_last_;              // unordered: by the last job's id
  std::unique_ptr<AsCompleted> watch_;
  std::optional<AsCompleted::iterator> at_;
  bool pending_ = false;                          // *at_ is a finished job not taken yet
};

class Pipeline {
 public:
  // Made by Cluster::pipeline; `cluster` must outlive it.
  Pipeline(Cluster& cluster, const std::vector<Code>& stages);

  // map(input): every element of `input` (any input range, endless ones too) through the
  // stages. The run must be consumed before this pipeline goes.
  // A temporary range is kept by the run; an lvalue one is read where it is.
  template <typename Range>
  PipelineRun map(Range&& input, MapOptions options = {}) {
    auto source = std::make_shared<detail::Source<Range>>(std::forward<Range>(input));
    PipelineRun::Reader reader = [source](std::string& packed) {
      if (source->it == source->end) return false;
      packed.clear();
      detail::StringSink sink{packed};
      msgpack::pack(sink, std::forward_as_tuple(*source->it));
      ++source->it;
      return true;
    };
    return PipelineRun(*this, std::move(reader), options);
  }
  // Stops the items in flight of the last map (after a break); how many it stopped.
  size_t cancel();
  PipelineStats stats() const;

 private:
  friend class PipelineRun;
  struct Stage;
  Job launch_stage(size_t k, std::string packed, const Job* input);

  Cluster& cluster_;
  std::vector<std::shared_ptr<const Stage>> stages_;
  uint32_t id_ = 0;   // its figures' id in the cluster's live figures
  PipelineRun* current_ = nullptr;
  std::vector<Job> left_;   // in flight when their run ended (a break): for cancel()
};

}  // namespace pp
