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
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <msgpack.hpp>

#include "pp/cluster_options.hpp"
#include "pp/node_stats.hpp"

namespace pp {

namespace client {
class JobServer;
struct JobState;
}  // namespace client

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

// A job failed on a node: a Lua error, a time limit, a crashed worker, or the
// cluster could not run it. Carries everything needed to act on it.
class RemoteError : public std::runtime_error {
 public:
  RemoteError(std::string what, std::string kind, std::string message, std::string traceback,
              std::string node, uint64_t job_id, std::string value_msgpack = {})
      : std::runtime_error(std::move(what)),
        kind_(std::move(kind)),
        message_(std::move(message)),
        traceback_(std::move(traceback)),
        node_(std::move(node)),
        value_msgpack_(std::move(value_msgpack)),
        job_id_(job_id) {}
  const std::string& kind() const { return kind_; }   // "lua error", "timeout", "crashed", ...
  const std::string& message() const { return message_; }
  const std::string& traceback() const { return traceback_; }
  const std::string& node() const { return node_; }
  uint64_t job_id() const { return job_id_; }
  // The value the job raised, as one msgpack value, when it was not a string
  // (error({code = 42}) gives a map); empty otherwise.
  const std::string& value_msgpack() const { return value_msgpack_; }

 private:
  std::string kind_, message_, traceback_, node_, value_msgpack_;
  uint64_t job_id_;
};

class Job;
namespace detail {
// The msgpack ext payload standing for `job` (its id); notes it in JobRefs::current.
std::string job_ref_body(const Job& job);
inline constexpr int8_t kJobRefExt = 1;   // checked against core/proto/job_ref.hpp
}  // namespace detail

// A submitted job: a future-like handle, cheap to copy. Passed as an argument of
// another submit (at any depth: in a vector, a map, a tuple), it is that job's input:
// the dependent job is sent once this one is done, with this job's first return
// value in its place; if this one fails, the dependent fails with kind "dependency".
class Job {
 public:
  Job() = default;
  uint64_t id() const;
  bool ready() const;
  // Blocks until the job has its one result. Never throws.
  void wait() const;
  // Waits, then returns the first value the job returned, converted to T.
  // Throws RemoteError if the job failed, msgpack::type_error if T does not fit.
  template <typename T>
  T get() const {
    msgpack::object_handle h = results();
    const msgpack::object& arr = h.get();
    if (arr.type != msgpack::type::ARRAY || arr.via.array.size == 0) return msgpack::object().as<T>();
    return arr.via.array.ptr[0].as<T>();
  }
  // Waits, then returns all returned values as one msgpack array.
  msgpack::object_handle results() const;
  // The node that produced the result ("" before it is ready).
  std::string node() const;
  // What the job printed (print, io.write, io.stdout/io.stderr writes), up to 1 MiB with
  // a note when cut; also for a job that failed, crashed or timed out, up to that point.
  // "" when it printed nothing, or before it is ready.
  std::string stdout_text() const;

 private:
  friend class Cluster;
  friend std::string detail::job_ref_body(const Job& job);
  explicit Job(std::shared_ptr<client::JobState> state) : state_(std::move(state)) {}
  std::shared_ptr<client::JobState> state_;
};

namespace detail {
// The jobs packed as arguments by the submit under way on this thread (its inputs):
// set by Cluster::submit around packing, filled by pp::Job's msgpack adaptor.
struct JobRefs {
  JobRefs() : outer(current) { current = this; }
  ~JobRefs() { current = outer; }
  JobRefs(const JobRefs&) = delete;
  JobRefs& operator=(const JobRefs&) = delete;
  std::vector<Job> jobs;
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
  template <typename... Args>
  Job submit(const Code& code, const Args&... args) {
    detail::JobRefs refs;   // the pp::Job arguments, noted as they are packed
    msgpack::sbuffer buf;
    msgpack::pack(buf, std::forward_as_tuple(args...));
    return submit_packed(code, std::string(buf.data(), buf.size()), std::move(refs.jobs));
  }
  // Submits with arguments already packed as one msgpack array; `inputs` are the jobs
  // whose references (see pp::Job) the arguments hold. Throws std::invalid_argument
  // for an input of another cluster.
  Job submit_packed(const Code& code, std::string packed_args, std::vector<Job> inputs = {});

  // Runs `code` on each element (as its single argument); results in order.
  template <typename R, typename T>
  std::vector<R> map(const Code& code, const std::vector<T>& items) {
    std::vector<Job> jobs;
    jobs.reserve(items.size());
    for (const T& item : items) jobs.push_back(submit(code, item));
    std::vector<R> out;
    out.reserve(jobs.size());
    for (const Job& j : jobs) out.push_back(j.get<R>());
    return out;
  }

  // Waits until every job submitted so far has its result.
  void wait();
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
  std::unique_ptr<client::JobServer> server_;
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
