#include "ppserver/worker_process.hpp"

#include <fcntl.h>
#include <lua.hpp>
#include <signal.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <clocale>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/lua/convert.hpp"
#include "core/proto/codec.hpp"
#include "core/proto/frame_reader.hpp"
#include "core/util/byte_count.hpp"
#include "core/util/log.hpp"
#include "core/util/paths.hpp"
#include "pp_kernels.h"
#include "ppserver/job_processes.hpp"
#include "ppserver/worker_identity.hpp"
#include "ppserver/worker_output.hpp"
#include "ppserver/worker_process_errors.hpp"
#include "ppserver/worker_process_io.hpp"
#include "ppserver/worker_process_page.hpp"
#include "ppserver/worker_values.hpp"

namespace pp::server {
namespace {

using proto::JobStatus;

// Lua heap accounting, so a memory bomb ends in a clean "not enough memory".
struct HeapLimit {
  size_t used = 0;
  size_t limit = 0;   // 0 = unlimited
  bool overflowed = false;
};

void* limited_alloc(void* ud, void* ptr, size_t old_size, size_t new_size) {
  auto* heap = static_cast<HeapLimit*>(ud);
  if (ptr == nullptr) old_size = 0;
  if (new_size == 0) {
    heap->used -= old_size;
    std::free(ptr);
    return nullptr;
  }
  if (heap->limit != 0 && heap->used - old_size + new_size > heap->limit) {
    heap->overflowed = true;
    return nullptr;
  }
  void* p = std::realloc(ptr, new_size);
  if (p != nullptr) heap->used = heap->used - old_size + new_size;
  return p;
}

uint64_t now_us(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

// Results wait in the worker's buffer while more jobs of the same read are to run,
// and leave in one write: before the worker blocks for more input, before a job whose
// code is not known to be short (so no result waits behind a long job), and when this
// much is buffered (large results stream rather than pile up).
constexpr size_t kFlushBytes = 256u << 10;
// A job is "known short" to the worker when its code's mean time here is below this.
constexpr double kShortJobSeconds = 0.002;

// An error outside any protected call: the state cannot go on. Exit so the node
// reports the running job and starts a fresh worker.
int panic_handler(lua_State* L) {
  const char* msg = lua_tostring(L, -1);
  PP_ERROR("unprotected Lua error: %s", msg ? msg : "?");
  _exit(kExitPanic);
}

// What a RESULT frame holds beyond its value, error and traceback (array and
// field headers, ids and times), with room for the node's rewrite of the job id.
constexpr size_t kResultOverhead = 128;

std::string cut_to(const std::string& text, size_t keep) {
  if (text.size() <= keep) return text;
  return text.substr(0, keep) + "... (" + std::to_string(text.size() - keep) +
         " more bytes cut: over the node's frame limit)";
}

// The job's output takes what room the frame has beside its value, error and
// traceback (a node with a small --max-frame keeps less of it than kOutputLimit).
void fit_output(proto::ResultMsg& res, size_t limit) {
  size_t others = res.value.size() + res.error.size() + res.traceback.size();
  if (res.output.empty() || others + res.output.size() <= limit) return;
  size_t room = limit > others + 128 ? limit - others - 128 : 0;
  res.output = cut_to(res.output, room);
}

class Worker {
 public:
  explicit Worker(const WorkerConfig& cfg) : cfg_(cfg), reader_(cfg.max_frame + 4096) {
    heap_.limit = cfg.memory_mb << 20;
    keep_for_last_flush(cfg.fd, &out_);
  }
  ~Worker() {
    keep_for_last_flush(-1, nullptr);
    if (L_ != nullptr) lua_close(L_);
  }

  bool init();
  int loop();

 private:
  bool open_state();
  bool reset();
  bool handle(std::string_view payload);
  void run_job(const proto::WorkerRunView& run);
  bool after_job();
  int prepared_function(const std::string& hash, std::string& error);
  void push_job_function(int ref);
  std::string memory_message(const std::string& detail) const;
  void fit_frame(proto::ResultMsg& res) const;
  // Queues a message; flush() writes what is queued in one system call.
  void queue(const proto::Message& m) { proto::encode_frame(m, out_); }
  // A result is queued too, unless its value is large: then it leaves at once with
  // what is queued, the value written from where it lies (writev), not copied.
  bool queue_result(const proto::Message& m) {
    proto::encode_frame(m, proto::FrameOut{out_, &splices_});
    if (splices_.empty()) return true;
    bool ok = write_gathered(cfg_.fd, out_, splices_);
    out_.clear();
    splices_.clear();
    return ok;
  }
  bool flush() {
    if (out_.empty()) return true;
    bool ok = write_all(cfg_.fd, out_);
    out_.clear();
    return ok;
  }
  bool known_short(const std::string& hash) const {
    auto it = prepared_.find(hash);
    return it != prepared_.end() && it->second.mean_seconds >= 0 &&
           it->second.mean_seconds < kShortJobSeconds;
  }
  void measured(const std::string& hash, double seconds) {
    auto it = prepared_.find(hash);
    if (it == prepared_.end()) return;
    double& m = it->second.mean_seconds;
    m = m < 0 ? seconds : 0.8 * m + 0.2 * seconds;
  }
  uint64_t cpu_since_last_mark();

  struct Prepared {
    int ref = LUA_NOREF;
    double mean_seconds = -1;   // this code's mean job time here; -1 = none yet
  };

  WorkerConfig cfg_;
  HeapLimit heap_;
  lua_State* L_ = nullptr;
  proto::FrameReader reader_;
  std::string out_;
  std::vector<proto::Splice> splices_;   // of out_, only while a large result is written
  std::string start_dir_;                                 // restored on reset
  std::unordered_map<std::string, std::string> blobs_;   // hash -> code blob
  std::unordered_map<std::string, Prepared> prepared_;   // hash -> registry ref, times
  WorkerValues values_;                                   // scattered values (WORKER_DATA)
  RunningPage page_;                                      // the running job, for the node
  uint64_t cpu_mark_ = 0;     // process CPU µs when the last job ended or input arrived
  int prepare_ref_ = LUA_NOREF;
  int globals_ref_ = LUA_NOREF;                           // the worker's own globals
  int exit_code_ = 2;
};

bool Worker::init() {
  // Nothing a job starts may hold the node's socket: a process left running would
  // keep it open, and the node would not see this worker die.
  int flags = fcntl(cfg_.fd, F_GETFD);
  if (flags < 0 || fcntl(cfg_.fd, F_SETFD, flags | FD_CLOEXEC) != 0) {
    PP_ERROR("cannot make the node's socket close-on-exec: %s", strerror(errno));
    return false;
  }
  if (!adopt_orphans()) {
    PP_WARN("cannot adopt orphaned processes (%s): a process a job starts in the "
            "background may outlive the job", strerror(errno));
  }
  char dir[4096];
  if (getcwd(dir, sizeof dir) != nullptr) start_dir_ = dir;
  if (!page_.open(kRunningPageFd)) {
    PP_WARN("no running-job page from the node: a crash is blamed on the oldest job sent, "
            "and what the job printed is lost with it");
    if (!page_.open_private()) PP_WARN("no page for job output either: it is not captured");
  }
  if (!open_state()) return false;
  proto::WorkerReady ready;
  ready.pid = static_cast<uint32_t>(getpid());
  ready.luajit = LUAJIT_VERSION;
  ready.kernel_abi = pp_kernels_abi_version();
  install_last_flush();
  queue(ready);
  return flush();
}

bool Worker::open_state() {
  L_ = lua_newstate(limited_alloc, &heap_);
  if (L_ == nullptr) {
    PP_ERROR("cannot create a Lua state");
    return false;
  }
  lua_atpanic(L_, panic_handler);
  luaL_openlibs(L_);
  lua_getglobal(L_, "package");
  lua_pushstring(L_, paths::lua_path(cfg_.prefix).c_str());
  lua_setfield(L_, -2, "path");
  lua_pushstring(L_, paths::lua_cpath(cfg_.prefix).c_str());
  lua_setfield(L_, -2, "cpath");
  lua_pop(L_, 1);
  install_output_capture(L_, &page_);   // before pp.worker, which puts it in place
  install_worker_identity(L_, cfg_.node, cfg_.index);   // (its `worker` global)
  lua_getglobal(L_, "require");
  lua_pushstring(L_, "pp.worker");
  if (lua_pcall(L_, 1, 1, 0) != 0) {
    PP_ERROR("cannot load the worker's Lua module: %s", lua_tostring(L_, -1));
    return false;
  }
  lua_getfield(L_, -1, "prepare");
  prepare_ref_ = luaL_ref(L_, LUA_REGISTRYINDEX);
  lua_pop(L_, 1);
  lua_pushvalue(L_, LUA_GLOBALSINDEX);
  globals_ref_ = luaL_ref(L_, LUA_REGISTRYINDEX);
  return true;
}

// Before a job of another client: nothing of the last client's may remain. A new
// Lua state drops its globals, modules, FFI declarations and allocations; the
// working directory and locale are what the worker started with.
bool Worker::reset() {
  lua_close(L_);
  L_ = nullptr;
  blobs_.clear();
  prepared_.clear();
  values_.clear();
  if (!start_dir_.empty() && chdir(start_dir_.c_str()) != 0) {
    PP_WARN("cannot return to %s: %s", start_dir_.c_str(), strerror(errno));
  }
  std::setlocale(LC_ALL, "C");
  return open_state();
}

// Every job the node sent in one go runs before the worker writes; their results
// leave together (see kFlushBytes), and always before it waits for more.
int Worker::loop() {
  for (;;) {
    auto next = reader_.next();
    if (next.state == proto::FrameReader::kBad) {
      PP_ERROR("bad frame from node: %s", next.error.c_str());
      flush();
      return 2;
    }
    if (next.state == proto::FrameReader::kComplete) {
      if (!handle(next.payload)) {
        flush();
        return heap_.overflowed ? kExitOutOfMemory : exit_code_;
      }
      if (out_.size() >= kFlushBytes && !flush()) _exit(3);
      continue;
    }
    if (!flush()) _exit(3);
    auto buf = reader_.prepare(reader_.next_read());
    ssize_t n = ::read(cfg_.fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;  // the node went away: nothing left to do
    reader_.commit(static_cast<size_t>(n));
    cpu_mark_ = now_us(CLOCK_PROCESS_CPUTIME_ID);
  }
}

// CPU time since the last job ended or input arrived: the job's own, read once per
// job (the clock is a system call), plus the decoding of its frame.
uint64_t Worker::cpu_since_last_mark() {
  uint64_t now = now_us(CLOCK_PROCESS_CPUTIME_ID);
  uint64_t used = now - std::min(now, cpu_mark_);
  cpu_mark_ = now;
  return used;
}

bool Worker::handle(std::string_view payload) {
  if (proto::is_worker_run(payload)) {
    // Read in place: the arguments go from the frame to Lua with no copy in between.
    auto run = proto::decode_worker_run(payload);
    if (!run) {
      PP_ERROR("bad message from node: %s", run.status().message().c_str());
      return false;
    }
    run_job(*run);
    // A Lua state that ran out of memory is not trusted further: restart clean.
    return !heap_.overflowed && after_job();
  }
  auto msg = proto::decode_message(payload);
  if (!msg) {
    PP_ERROR("bad message from node: %s", msg.status().message().c_str());
    return false;
  }
  if (auto* code = std::get_if<proto::WorkerCode>(&*msg)) {
    blobs_[code->hash] = std::move(code->blob);
    return true;
  }
  if (auto* data = std::get_if<proto::WorkerData>(&*msg)) {
    values_.take(L_, std::move(*data));
    return true;
  }
  if (std::holds_alternative<proto::WorkerReset>(*msg)) {
    bool ok = reset();
    cpu_mark_ = now_us(CLOCK_PROCESS_CPUTIME_ID);   // a reset is no job's time
    return ok;
  }
  PP_ERROR("unexpected %s from node", proto::type_name(proto::type_of(*msg)));
  return false;
}

// Pushes nothing; returns the registry ref of the job function or LUA_NOREF.
int Worker::prepared_function(const std::string& hash, std::string& error) {
  if (auto it = prepared_.find(hash); it != prepared_.end()) return it->second.ref;
  auto blob = blobs_.find(hash);
  if (blob == blobs_.end()) {
    error = "the node has no code with this hash (protocol error)";
    return LUA_NOREF;
  }
  int top = lua_gettop(L_);
  lua_rawgeti(L_, LUA_REGISTRYINDEX, prepare_ref_);
  Status st = lua::push(L_, blob->second);
  if (!st) {
    lua_settop(L_, top);
    error = "malformed code blob: " + st.message();
    return LUA_NOREF;
  }
  if (lua_pcall(L_, 1, 2, 0) != 0 || lua_isnil(L_, -2)) {
    const char* msg = lua_tostring(L_, -1);
    error = std::string("cannot load the job's code: ") + (msg ? msg : "unknown error");
    lua_settop(L_, top);
    return LUA_NOREF;
  }
  lua_pop(L_, 1);
  int ref = luaL_ref(L_, LUA_REGISTRYINDEX);
  prepared_.emplace(hash, Prepared{ref, -1});
  blobs_.erase(blob);  // the prepared function is all that is needed from now on
  lua_settop(L_, top);
  return ref;
}

void Worker::run_job(const proto::WorkerRunView& run) {
  const std::string hash(run.hash);
  // A job that may be long must not hold the results of those before it.
  if (!out_.empty() && !known_short(hash) && !flush()) _exit(3);
  proto::ResultMsg res;
  res.job_id = run.key;
  res.worker = static_cast<uint32_t>(cfg_.index);
  uint64_t wall0 = now_us(CLOCK_MONOTONIC);
  page_.clear_output();   // (before the key: the node reads them in the other order)
  if (RunningJob* page = page_.get()) {
    page->started_ns.store(wall0 * 1000, std::memory_order_relaxed);
    page->key.store(run.key, std::memory_order_release);
  }
  int top = lua_gettop(L_);
  std::string error;
  int ref = prepared_function(hash, error);
  if (ref == LUA_NOREF) {
    res.status = heap_.overflowed ? JobStatus::kMemory : JobStatus::kLuaError;
    res.error = error;
  } else {
    lua_pushcfunction(L_, traceback_handler);
    int handler = lua_gettop(L_);
    push_job_function(ref);
    const lua::ExtHook values = values_.hook();   // handles become the values themselves
    auto nargs = lua::push_array_elements(L_, run.args, &values);
    if (!nargs) {
      res.status = JobStatus::kRejected;
      res.error = "bad job arguments: " + nargs.status().message();
    } else {
      int rc = lua_pcall(L_, *nargs, LUA_MULTRET, handler);
      if (rc == 0) {
        Status st = lua::pack_range(L_, handler + 1, lua_gettop(L_), res.value, "return value");
        if (!st) {
          res.status = JobStatus::kLuaError;
          res.error = "the job returned a value that cannot be sent: " + st.message();
          res.value.clear();
        }
      } else {
        res.status = (rc == LUA_ERRMEM || heap_.overflowed) ? JobStatus::kMemory
                                                            : JobStatus::kLuaError;
        const char* msg = lua_tostring(L_, -1);
        res.error = msg ? msg : "unknown error";
        // After a memory error the heap is still full of garbage: allocate nothing
        // more in Lua (the worker restarts right after this result).
        if (rc == LUA_ERRRUN && !heap_.overflowed) take_error(L_, res);
        if (res.status == JobStatus::kMemory) res.error = memory_message(res.error);
      }
    }
    lua_rawgeti(L_, LUA_REGISTRYINDEX, globals_ref_);   // the job's table was the thread's
    lua_replace(L_, LUA_GLOBALSINDEX);
  }
  lua_settop(L_, top);
  res.wall_us = now_us(CLOCK_MONOTONIC) - wall0;
  res.cpu_us = cpu_since_last_mark();
  if (res.status == JobStatus::kOk) measured(hash, static_cast<double>(res.wall_us) / 1e6);
  if (page_.has_output()) res.output = page_.output_text();
  fit_frame(res);
  if (!queue_result(proto::Message(std::move(res)))) _exit(3);
  // Cleared only once its result is queued: a crash from here on is nobody's job.
  if (RunningJob* page = page_.get()) page->key.store(0, std::memory_order_release);
  page_.release_output();
}

// Pushes the job's main function with an environment of its own: a new global
// table whose misses go to the code's environment (lua/pp/worker.lua). Its
// dependency functions get the same table; code compiled by loadstring() and new
// coroutines too, as it is the thread's global table until the job returns.
void Worker::push_job_function(int ref) {
  lua_rawgeti(L_, LUA_REGISTRYINDEX, ref);   // { code_env, main, deps... }
  int prepared = lua_gettop(L_);
  lua_createtable(L_, 0, 1);
  int env = lua_gettop(L_);
  lua_createtable(L_, 0, 1);
  lua_rawgeti(L_, prepared, 1);
  lua_setfield(L_, -2, "__index");
  lua_setmetatable(L_, env);
  lua_pushvalue(L_, env);
  lua_setfield(L_, env, "_G");
  for (int i = static_cast<int>(lua_objlen(L_, prepared)); i >= 2; --i) {
    lua_rawgeti(L_, prepared, i);
    lua_pushvalue(L_, env);
    lua_setfenv(L_, -2);
    if (i > 2) lua_pop(L_, 1);   // main (i == 2) stays on top
  }
  lua_pushvalue(L_, env);
  lua_replace(L_, LUA_GLOBALSINDEX);
  lua_replace(L_, prepared);
  lua_settop(L_, prepared);
}

std::string Worker::memory_message(const std::string& detail) const {
  if (cfg_.memory_mb == 0) {
    return "the worker ran out of memory with no memory limit set (the machine, or LuaJIT, "
           "could not allocate more) (" + detail + ")";
  }
  return "the job exceeded the worker's memory limit of " + std::to_string(cfg_.memory_mb) +
         " MB (ppserver --worker-memory) (" + detail + ")";
}

// The node forwards a RESULT as it is, so it must fit in one frame of the node's
// limit: a value too large fails the job, saying so; an error too long is cut.
void Worker::fit_frame(proto::ResultMsg& res) const {
  size_t limit = cfg_.max_frame > kResultOverhead ? cfg_.max_frame - kResultOverhead : 0;
  fit_output(res, limit);
  if (res.value.size() + res.error.size() + res.traceback.size() <= limit) return;
  if (res.status == JobStatus::kOk) {
    res.status = JobStatus::kRejected;   // as for arguments over a limit (client side)
    res.error = "the job's result is " + with_commas(res.value.size()) +
                " bytes packed, more than this node's frame limit of " +
                with_commas(cfg_.max_frame) +
                " bytes (ppserver --max-frame); return less (write large outputs to a file), "
                "or start the node with a larger --max-frame";
    res.value.clear();
    return;
  }
  res.value.clear();
  size_t room = limit > 512 ? limit - 512 : 0;
  res.error = cut_to(res.error, room / 2);
  res.traceback = cut_to(res.traceback, room / 4);
}

// After each job: processes it left running are stopped, and a full collection
// closes the pipes of io.popen handles it forgot. A job that started nothing
// costs one system call here.
bool Worker::after_job() {
  switch (stop_left_processes()) {
    case LeftProcesses::kNone:
      return true;
    case LeftProcesses::kStopped:
      lua_gc(L_, LUA_GCCOLLECT, 0);
      return true;
    case LeftProcesses::kFailed:
      break;
  }
  PP_ERROR("cannot stop the processes the last job left running; restarting the worker");
  exit_code_ = kExitStrayProcesses;
  return false;
}

}  // namespace

int run_worker_process(const WorkerConfig& config) {
  Worker worker(config);
  if (!worker.init()) return 2;
  return worker.loop();
}

}  // namespace pp::server
