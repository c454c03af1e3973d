// pp::Cluster: the C++ driver API of ppcluster (the job server).
//
// A Cluster connects to ppserver nodes (given as "host:port", or none: then it
// starts local workers itself on loopback with a one-off secret), ships Lua job
// code plus msgpack arguments, and hands back results as futures (pp::Job).
// It owns one background I/O thread; every public method is thread-safe.
//
//   pp::Cluster cluster;                       // local workers, no configuration
//   pp::Code square = pp::Code::lua("function(x) return x * x end");
//   pp::Job job = cluster.submit(square, 7);
//   int v = job.get<int>();                    // 49; waits; throws pp::RemoteError
//   std::vector<double> ys = cluster.map<double>(square, std::vector<double>{1, 2, 3});
//   cluster.print_stats();
//
// Futures (pp/job.hpp, pp/futures.hpp): options per job, cancel, status, waiting for
// the first of many, the jobs in the order they finish.
//
//   pp::Job slow = cluster.submit({.timeout = 30s, .retries = 2, .group = "batch"}, code, 1);
//   auto [done, not_done] = cluster.wait(jobs, pp::ReturnWhen::kFirstCompleted);
//   for (pp::Job j : pp::as_completed(jobs)) std::cout << j.get<int>() << "\n";
//   cluster.cancel("batch");
//
// Once on every worker (Dask's client.run): a map from worker id to result.
//
//   std::map<std::string, int> pids = cluster.run<int>(get_pid);
//
// Pipelines of stages (pp/pipeline.hpp):
//
//   pp::Pipeline pl = cluster.pipeline({generate, square, subtract});
//   for (const pp::PipelineOutput& out : pl.map(inputs)) use(out.get<double>());
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <msgpack.hpp>

#include "pp/cluster_options.hpp"
#include "pp/futures.hpp"
#include "pp/job.hpp"
#include "pp/node_stats.hpp"
#include "pp/pipeline.hpp"
#include "pp/shared.hpp"

namespace pp {

// Job code: a Lua function, shipped once per node and cached there by hash.
class Code {
 public:
  // `function_expression` is Lua source that evaluates to a function, for
  // example "function(n, seed) ... end". `depfuncs` maps global names to further
  // function expressions the job may call; `modules` maps global names to Lua
  // modules required on the node before the job runs (for example
  // {"native", "pp.native"}).
  static Code lua(std::string function_expression,
                  std::map<std::string, std::string> depfuncs = {},
                  std::map<std::string, std::string> modules = {});
  // A blob already in the wire format (see docs/protocol.md, "code blob").
  static Code from_blob(std::string blob);

  const std::string& blob() const { return blob_; }

 private:
  explicit Code(std::string blob) : blob_(std::move(blob)) {}
  std::string blob_;
};

// Options of one job (all optional: a default SubmitOptions is a plain submit).
struct SubmitOptions {
  std::chrono::milliseconds timeout{0};   // time limit on the node; 0: ClusterOptions::job_timeout
  uint32_t retries = 0;     // runs again after a Lua error, a crash or a time/memory limit,
                            // up to this many more times, on another node when one is connected
  std::vector<Job> after{};   // jobs that must finish first (their values are not passed)
  std::string group{};      // a name to wait for or cancel the jobs by (Cluster::cancel)
  std::string node{};       // "host:port" (or "local"): only that node runs it; it fails
                            // if that node is not connected within no_node_timeout
  bool keep = false;        // its value stays on the node that made it: a job that takes
                            // this one as an argument prefers that node (elsewhere the
                            // value moves once), and get() fetches it once when asked
};

// Options of Cluster::run (all optional).
struct RunOptions {
  std::vector<std::string> nodes{};       // only these connected nodes ("host:port" as the
                                          // cluster or the node names it, or "local"); empty: all
  std::chrono::milliseconds timeout{0};   // time limit of each worker's run; 0: the cluster's
};

// Cluster::run where some workers failed: what() names how many and the first failure.
// `errors` maps each failed worker's id to its job (whose get() throws that worker's
// RemoteError), `results` each other worker's id to its finished job.
class RunError : public std::runtime_error {
 public:
  RunError(std::string what, std::map<std::string, Job> errors, std::map<std::string, Job> results)
      : std::runtime_error(std::move(what)), errors_(std::move(errors)), results_(std::move(results)) {}
  const std::map<std::string, Job>& errors() const { return errors_; }
  const std::map<std::string, Job>& results() const { return results_; }

 private:
  std::map<std::string, Job> errors_, results_;
};

namespace detail {
// The jobs packed as arguments by the submit under way on this thread (its inputs):
// set by Cluster::submit around packing, filled by pp::Job's msgpack adaptor.
// What one job's packed arguments refer to (JobRefs' findings, kept for later).
struct ArgRefs {
  std::vector<Job> jobs;
  std::vector<Shared> shared;
};
struct JobRefs {
  JobRefs() : outer(current) { current = this; }
  ~JobRefs() { current = outer; }
  JobRefs(const JobRefs&) = delete;
  JobRefs& operator=(const JobRefs&) = delete;
  std::vector<Job> jobs;
  std::vector<Shared> shared;   // scattered values among the arguments
  JobRefs* outer;
  static inline thread_local JobRefs* current = nullptr;
};
}  // namespace detail

class Cluster {
 public:
  Cluster();
  explicit Cluster(ClusterOptions options);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // Submits `code` with msgpack-serialisable arguments.
  // Packed straight into the string that travels with the job: its bytes are copied
  // once on this side, here.
  template <typename... Args>
  Job submit(const Code& code, const Args&... args) {
    detail::JobRefs refs;   // the pp::Job arguments, noted as they are packed
    std::string packed;
    detail::StringSink sink{packed};
    msgpack::pack(sink, std::forward_as_tuple(args...));
    return submit_refs(SubmitOptions{}, code, std::move(packed), refs);
  }
  // The same with options (timeout, retries, after, group, node).
  template <typename... Args>
  Job submit(const SubmitOptions& options, const Code& code, const Args&... args) {
    detail::JobRefs refs;
    std::string packed;
    detail::StringSink sink{packed};
    msgpack::pack(sink, std::forward_as_tuple(args...));
    return submit_refs(options, code, std::move(packed), refs);
  }
  // Submits with arguments already packed as one msgpack array; `inputs` are the jobs
  // whose references (see pp::Job) the arguments hold. Throws std::invalid_argument
  // for an input of another cluster.
  // Scatters `value` (packed with msgpack): it goes to each node once, and a job given
  // the Shared as an argument (at any depth) receives the value (pp/shared.hpp). Throws
  // std::length_error when the value is larger than every connected node takes, naming
  // its size and the limit.
  template <typename T>
  Shared scatter(const T& value, const ScatterOptions& options = {}) {
    std::string packed;
    detail::StringSink sink{packed};
    msgpack::pack(sink, value);
    return scatter_packed(std::move(packed), options);
  }
  Shared scatter_packed(std::string packed_value, const ScatterOptions& options = {});

  Job submit_packed(const Code& code, std::string packed_args, std::vector<Job> inputs = {});
  Job submit_packed(const SubmitOptions& options, const Code& code, std::string packed_args,
                    std::vector<Job> inputs = {});

  // Runs `code` on each element (its first argument; `args`, the same for every item,
  // follow it); results in order. Items and args may hold pp::Job (the item's job then
  // waits for it) and pp::Shared (its job receives the value, sent to each node once).
  //   std::vector<int> ys = cluster.map<int>(pick, indices, table);   // pick(i, table)
  template <typename R, typename T, typename... Args>
  std::vector<R> map(const Code& code, const std::vector<T>& items, const Args&... args) {
    std::vector<std::string> packed(items.size());
    std::vector<std::pair<size_t, detail::ArgRefs>> refs;   // only items that hold any
    for (size_t i = 0; i < items.size(); ++i) {
      detail::JobRefs noted;
      detail::StringSink sink{packed[i]};
      msgpack::pack(sink, std::forward_as_tuple(items[i], args...));
      if (!noted.jobs.empty() || !noted.shared.empty()) {
        refs.emplace_back(i, detail::ArgRefs{std::move(noted.jobs), std::move(noted.shared)});
      }
    }
    std::vector<Job> jobs = submit_all(code, std::move(packed), std::move(refs));
    std::vector<R> out;
    out.reserve(jobs.size());
    for (const Job& j : jobs) out.push_back(j.get<R>());
    return out;
  }

  // Runs `code` once on every worker of every connected node (or of RunOptions::nodes)
  // and returns each worker's first result by worker id ("host:port#k", a job's
  // worker.id); R = Job gives the finished jobs themselves. Throws RunError when some
  // workers failed, std::invalid_argument for a node not connected.
  //   std::map<std::string, int> pids = cluster.run<int>(pp::Code::lua("function() ... end"));
  template <typename R = Job, typename... Args>
  std::map<std::string, R> run(const Code& code, const Args&... args) {
    return run<R>(RunOptions{}, code, args...);
  }
  template <typename R = Job, typename... Args>
  std::map<std::string, R> run(const RunOptions& options, const Code& code, const Args&... args) {
    detail::JobRefs refs;   // the pp::Shared (and pp::Job) arguments, noted as packed
    std::string packed;
    detail::StringSink sink{packed};
    msgpack::pack(sink, std::forward_as_tuple(args...));
    std::map<std::string, Job> jobs = run_refs(options, code, std::move(packed), refs);
    if constexpr (std::is_same_v<R, Job>) {
      return jobs;
    } else {
      std::map<std::string, R> out;
      for (const auto& [id, job] : jobs) out.emplace(id, job.template get<R>());
      return out;
    }
  }
  // Cluster::run with arguments packed as one msgpack array: every worker's job, finished.
  std::map<std::string, Job> run_packed(const RunOptions& options, const Code& code,
                                        std::string packed_args);
  // Stages over a stream of items (pp/pipeline.hpp): each a Lua function of one value.
  //   for (const pp::PipelineOutput& out : cluster.pipeline({gen, square}).map(items)) ...
  Pipeline pipeline(const std::vector<Code>& stages);
  // Waits until every job submitted so far has its result.
  void wait();
  // Waits for `jobs` until `when` holds or `timeout` passes; never throws for a failed
  // job (done holds it: its get() throws).
  WaitResult wait(const std::vector<Job>& jobs, ReturnWhen when = ReturnWhen::kAllCompleted,
                  std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  // Waits until at least n workers are connected; throws TimeoutError after `timeout`,
  // saying what is connected and why the other nodes are not.
  void wait_for_workers(int n, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // The jobs submitted with SubmitOptions::group `group` (and still held somewhere).
  std::vector<Job> group(const std::string& group) const;
  // Cancels every unfinished job of `group`; returns how many it cancelled.
  size_t cancel(const std::string& group);
  // Worker processes over all connected nodes.
  int get_ncpus() const;
  // Connected nodes and their worker counts.
  std::map<std::string, int> get_active_nodes() const;
  std::vector<NodeStats> stats() const;
  // Parallel Python's table: per node jobs, share, job-time sum, time per job.
  std::string stats_table() const;
  void print_stats() const;
  // The contribution report (per-node table, batch figures, timeline of the jobs; over
  // 20,000 executions the timeline keeps the first and last 10,000, see docs/report.md)
  // as JSON, and written to a file: .json, .html, .svg, else the text table. Throws
  // std::runtime_error when the file cannot be written.
  std::string report_json() const;
  void write_report(const std::string& path) const;

 private:
  // One job per packed argument array, the code looked up once for all of them;
  // `refs` names the items whose arguments hold jobs or scattered values.
  std::vector<Job> submit_all(const Code& code, std::vector<std::string> packed,
                              std::vector<std::pair<size_t, detail::ArgRefs>> refs);
  std::map<std::string, Job> run_refs(const RunOptions& options, const Code& code,
                                      std::string packed_args, detail::JobRefs& refs);
  // `pipeline` (0: none) and `stage`: a Pipeline's job, counted in its figures.
  Job submit_refs(const SubmitOptions& options, const Code& code, std::string packed,
                  detail::JobRefs& refs, uint32_t pipeline = 0, uint32_t stage = 0);
  friend class Pipeline;   // submits its stages' jobs tagged, and reads their figures

  std::shared_ptr<client::JobServer> server_;   // Jobs hold it weakly
};

}  // namespace pp

// msgpack-c: a pp::Job packs as a reference to its job (an ext value; see pp::Job).
namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
namespace adaptor {
template <>
struct pack<pp::Job> {
  template <typename Stream>
  packer<Stream>& operator()(packer<Stream>& o, const pp::Job& job) const {
    const std::string body = pp::detail::job_ref_body(job);
    o.pack_ext(body.size(), pp::detail::kJobRefExt);
    o.pack_ext_body(body.data(), body.size());
    return o;
  }
};
}  // namespace adaptor
}  // MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS)
}  // namespace msgpack
