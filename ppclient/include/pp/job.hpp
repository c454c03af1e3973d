// pp::Job: one submitted job, a future-like handle (cheap to copy; every copy is the
// same job), and the errors its value can raise. Thread-safe.
//
//   pp::Job job = cluster.submit(square, 7);
//   job.status();                 // pp::JobStatus::kPending, kRunning, ...
//   int v = job.get<int>();       // waits; RemoteError if it failed, TypeError if not an int
//   job.attempts(); job.elapsed(); job.node();
//   job.cancel();                 // false: it had finished already
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <utility>

#include <msgpack.hpp>

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

// A job failed on a node: a Lua error, a time limit, a crashed worker, a cancel, or the
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
  // "lua error", "timeout", "crashed", "out of memory", "cancelled", "rejected", "lost"
  const std::string& kind() const { return kind_; }
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

// Job::get<T>() on a value that is no T: says what the value was and what was asked for.
class TypeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A wait with a time limit ran out (as_completed, wait_for_workers).
class TimeoutError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Job;
namespace detail {
// The msgpack ext payload standing for `job` (its id); notes it in JobRefs::current.
std::string job_ref_body(const Job& job);
inline constexpr int8_t kJobRefExt = 1;   // checked against core/proto/job_ref.hpp
}  // namespace detail

// Where a job is. kPending: in the driver (waiting for a node or for the jobs it comes
// after); kRunning: sent to a node; then one of the three ends.
enum class JobStatus { kPending, kRunning, kFinished, kFailed, kCancelled };
// "pending", "running", "finished", "failed", "cancelled" (the Lua API's names).
const char* to_string(JobStatus status);

// A submitted job: a future-like handle, cheap to copy. Passed as an argument of
// another submit (at any depth: in a vector, a map, a tuple), it is that job's input:
// the dependent job is sent once this one is done, with this job's first return
// value in its place; if this one fails, the dependent fails with kind "dependency".
class Job {
 public:
  Job() = default;
  uint64_t id() const;
  bool ready() const;
  // Blocks until the job has its one result. Never throws (but for an empty Job).
  void wait() const;
  // Waits, then returns the first value the job returned, converted to T.
  // Throws RemoteError if the job failed, TypeError if the value is no T.
  template <typename T>
  T get() const {
    const std::string& packed = packed_results();
    msgpack::zone& zone = detail::scratch_zone();
    size_t off = 0;
    // By reference: a string result is copied once, into the T made of it.
    const msgpack::object arr = msgpack::unpack(
        zone, packed.data(), packed.size(), off,
        [](msgpack::type::object_type, size_t, void*) { return true; }, nullptr);
    const msgpack::object first =
        arr.type == msgpack::type::ARRAY && arr.via.array.size > 0 ? arr.via.array.ptr[0]
                                                                   : msgpack::object();
    try {
      return first.as<T>();
    } catch (const std::bad_cast&) {   // msgpack::type_error is one
      throw TypeError(type_mismatch(first, typeid(T)));
    }
  }
  // Waits, then returns all returned values as one msgpack array. Its strings and
  // binaries point into the job's result, which the handle keeps alive (no copy).
  msgpack::object_handle results() const;
  // Waits, then returns the returned values as the one msgpack array they came in
  // (valid while this Job, or a copy of it, lives). Throws RemoteError if the job failed.
  const std::string& packed_results() const;
  // The node that produced the result ("" before it is ready).
  std::string node() const;
  // What the job printed (print, io.write, io.stdout/io.stderr writes), up to 1 MiB with
  // a note when cut; also for a job that failed, crashed or timed out, up to that point.
  // "" when it printed nothing, or before it is ready.
  std::string stdout_text() const;

  // Stops the job wherever it is: waiting in the driver, queued on a node, or running
  // (its worker is stopped). True when it had not finished: it then fails at once with
  // a RemoteError of kind "cancelled". False once finished, or for an empty Job.
  bool cancel() const;
  JobStatus status() const;
  // Runs started on nodes, retries included (0 while pending).
  int attempts() const;
  // Seconds the job's run took on its node (0 before it finished).
  double elapsed() const;

  const std::shared_ptr<client::JobState>& state() const { return state_; }

 private:
  friend class Cluster;
  friend class AsCompleted;
  friend std::string detail::job_ref_body(const Job& job);
  Job(std::shared_ptr<client::JobState> state, std::weak_ptr<client::JobServer> server)
      : state_(std::move(state)), server_(std::move(server)) {}
  // "job 3 returned a string (\"abc\"), not a int": for TypeError.
  std::string type_mismatch(const msgpack::object& value, const std::type_info& wanted) const;

  std::shared_ptr<client::JobState> state_;
  std::weak_ptr<client::JobServer> server_;   // gone once its Cluster is
};

}  // namespace pp
