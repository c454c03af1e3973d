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

namespace detail {
// A msgpack sink appending to a std::string (msgpack::sbuffer's bytes would need one
// more copy to become the string a job's arguments travel in).
struct StringSink {
  std::string& out;
  void write(const char* bytes, size_t n) { out.append(bytes, n); }
};
// Job::get's unpacking space, one per thread and emptied for each use: a zone allocates
// its first chunk when made, which per result would cost more than a small job's value.
// (So a conversion to T must not call get() itself.)
inline msgpack::zone& scratch_zone() {
  thread_local msgpack::zone zone;
  zone.clear();
  return zone;
}
}  // namespace detail

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

// A submitted job: a future-like handle, cheap to copy.
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
    const std::string& packed = packed_results();
    msgpack::zone& zone = detail::scratch_zone();
    size_t off = 0;
    // By reference: a string result is copied once, into the T made of it.
    const msgpack::object arr = msgpack::unpack(
        zone, packed.data(), packed.size(), off,
        [](msgpack::type::object_type, size_t, void*) { return true; }, nullptr);
    if (arr.type != msgpack::type::ARRAY || arr.via.array.size == 0) return msgpack::object().as<T>();
    return arr.via.array.ptr[0].as<T>();
  }
  // Waits, then returns all returned values as one msgpack array. Its strings and
  // binaries point into the job's result, which the handle keeps alive (no copy).
  msgpack::object_handle results() const;
  // Waits, then returns the returned values as the one msgpack array they came in
  // (valid while this Job, or a copy of it, lives). Throws RemoteError if the job failed.
  const std::string& packed_results() const;
  // The node that produced the result ("" before it is ready).
  std::string node() const;

 private:
  friend class Cluster;
  explicit Job(std::shared_ptr<client::JobState> state) : state_(std::move(state)) {}
  std::shared_ptr<client::JobState> state_;
};

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
    std::string packed;
    detail::StringSink sink{packed};
    msgpack::pack(sink, std::forward_as_tuple(args...));
    return submit_packed(code, std::move(packed));
  }
  // Submits with arguments already packed as one msgpack array.
  Job submit_packed(const Code& code, std::string packed_args);

  // Runs `code` on each element (as its single argument); results in order.
  template <typename R, typename T>
  std::vector<R> map(const Code& code, const std::vector<T>& items) {
    std::vector<std::string> packed(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      detail::StringSink sink{packed[i]};
      msgpack::pack(sink, std::forward_as_tuple(items[i]));
    }
    std::vector<Job> jobs = submit_all(code, std::move(packed));
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
  // One job per packed argument array, the code looked up once for all of them.
  std::vector<Job> submit_all(const Code& code, std::vector<std::string> packed);

  std::unique_ptr<client::JobServer> server_;
};

}  // namespace pp
