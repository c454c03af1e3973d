#include "ppserver/worker_pool.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "core/util/log.hpp"
#include "ppserver/guest/cpu_usage.hpp"
#include "ppserver/node_facts.hpp"
#include "ppserver/worker_process.hpp"

namespace pp::server {
namespace {

using Clock = std::chrono::steady_clock;
using proto::JobStatus;

constexpr auto kWatchdogPeriod = std::chrono::milliseconds(50);
constexpr auto kStartupLimit = std::chrono::seconds(20);
// Expected work that may wait in one worker's pipeline, beside the --pipeline count.
constexpr double kPipelineSeconds = 0.002;

// In the child after fork(): only async-signal-safe calls until execv().
[[noreturn]] void become_worker(int sock_fd, int page_fd, pid_t parent, int nice,
                                const char* exe, const char* const* argv) {
  // A process group of its own (set on both sides of fork, so a kill of the
  // group never races the child); the worker makes the socket close-on-exec.
  setpgid(0, 0);
  // Moved above 4 first, so that neither lands on the other's number.
  int sock = fcntl(sock_fd, F_DUPFD_CLOEXEC, 10);
  int page = page_fd >= 0 ? fcntl(page_fd, F_DUPFD_CLOEXEC, 10) : -1;
  dup2(sock, 3);  // dup2 clears close-on-exec on the copy
  if (page >= 0) dup2(page, kRunningPageFd);
  close_range(kRunningPageFd + 1, ~0U, 0);
  // A worker held by the CPU limiter would never see its socket close if the
  // node died (kill -9): have the kernel kill it with the node instead.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  setpriority(PRIO_PROCESS, 0, nice);
  execv(exe, const_cast<char* const*>(argv));
  _exit(127);
}

}  // namespace

// A worker leads a process group of its own: stopping it stops what its job started.
// The worker is named as well, in case its job moved it to another group.
void WorkerPool::kill_group(pid_t worker) { signal_group(worker, SIGKILL); }

void WorkerPool::signal_group(pid_t worker, int sig) {
  if (worker <= 0) return;
  ::kill(-worker, sig);
  ::kill(worker, sig);
}

WorkerPool::WorkerPool(asio::io_context& io, const NodeConfig& config, const PauseState& pause,
                       Callbacks callbacks)
    : io_(io),
      config_(config),
      pause_(pause),
      cb_(std::move(callbacks)),
      watchdog_(io),
      exe_("/proc/self/exe"),
      limiter_(io, config.cpu_limit, [this] { return busy_pids(); }) {}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::start(std::string node) {
  node_ = std::move(node);
  for (int i = 0; i < config_.workers; ++i) {
    workers_.push_back(std::make_unique<Slot>());
    workers_.back()->index = i;
    workers_.back()->reap_timer = std::make_unique<asio::steady_timer>(io_);
    spawn(*workers_.back());
  }
  if (limiter_.enabled()) {
    auto on = cpu_limit_on_time(limiter_.percent(), CpuLimiter::kPeriod);
    PP_INFO("cpu limit: each busy worker runs at most %d%% of the time (%lld ms of every %lld ms)",
            limiter_.percent(), static_cast<long long>(on.count() / 1000),
            static_cast<long long>(CpuLimiter::kPeriod.count()));
  }
  watchdog();
}

void WorkerPool::stop() {
  if (stopping_) return;
  stopping_ = true;
  watchdog_.cancel();
  limiter_.stop();  // nothing is left stopped, whatever happens next
  for (auto& t : respawn_timers_) t->cancel();
  for (auto& w : workers_) {
    w->reap_timer->cancel();
    if (w->stream) w->stream->detach();
    if (w->pid > 0) {
      kill_group(w->pid);
      int st = 0;
      while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR) {
      }
      w->pid = -1;
    }
  }
}

void WorkerPool::paused() {
  if (stopping_) return;
  limiter_.stop();   // its SIGCONTs come first, so none of them undoes the pause
  for (auto& w : workers_) {
    if (w->pid > 0 && !w->reaping) signal_group(w->pid, SIGSTOP);
  }
}

void WorkerPool::resumed() {
  if (stopping_) return;
  for (auto& w : workers_) {
    if (w->pid > 0 && !w->reaping) signal_group(w->pid, SIGCONT);
  }
  for (pid_t pid : busy_pids()) limiter_.on_busy(pid);
}

Clock::duration WorkerPool::active_since(Clock::time_point since, Clock::time_point now) const {
  if (now <= since) return Clock::duration{0};
  return (now - since) - pause_.paused_between(since, now);
}

int WorkerPool::ready_workers() const {
  int n = 0;
  for (const auto& w : workers_) n += w->ready ? 1 : 0;
  return n;
}

std::vector<pid_t> WorkerPool::pids() const {
  std::vector<pid_t> out;
  for (const auto& w : workers_) {
    if (w->pid > 0) out.push_back(w->pid);
  }
  return out;
}

std::vector<pid_t> WorkerPool::busy_pids() const {
  std::vector<pid_t> out;
  for (const auto& w : workers_) {
    if (w->pid > 0 && !w->reaping && w->kill == Kill::kNone && !w->pipeline.empty()) {
      out.push_back(w->pid);
    }
  }
  return out;
}

size_t WorkerPool::running() const {
  size_t n = 0;
  for (const auto& w : workers_) n += w->pipeline.empty() ? 0 : 1;
  return n;
}

int WorkerPool::idle_worker(uint64_t session_id) const {
  if (pause_.paused()) return -1;
  int best = -1;
  int best_rank = 3;
  for (const auto& w : workers_) {
    if (!w->ready || w->kill != Kill::kNone || !w->pipeline.empty()) continue;
    int rank = w->last_session == session_id ? 0 : w->last_session == 0 ? 1 : 2;
    if (rank < best_rank) {
      best = w->index;
      best_rank = rank;
      if (rank == 0) break;
    }
  }
  return best;
}

int WorkerPool::pipeline_slot(const NodeJob& job) const {
  const double expected = times_.short_mean(job.hash);
  if (expected < 0 || pause_.paused()) return -1;
  int best = -1;
  size_t best_len = static_cast<size_t>(std::max(config_.pipeline, 1));
  for (const auto& w : workers_) {
    if (!w->ready || w->kill != Kill::kNone || w->pipeline.empty()) continue;
    if (w->pipeline.back().session_id != job.session_id || w->pipeline.size() >= best_len) continue;
    if (w->pipeline_unknown > 0 || w->pipeline_seconds + expected > kPipelineSeconds) continue;
    best = w->index;
    best_len = w->pipeline.size();
  }
  return best;
}

bool WorkerPool::is_idle(int index) const {
  if (index < 0 || static_cast<size_t>(index) >= workers_.size() || pause_.paused()) return false;
  const Slot& w = *workers_[static_cast<size_t>(index)];
  return w.ready && w.kill == Kill::kNone && w.pipeline.empty();
}

size_t WorkerPool::assigned(uint64_t session_id) const {
  auto it = assigned_.find(session_id);
  return it == assigned_.end() ? 0 : it->second;
}

void WorkerPool::left_pipeline(Slot& slot, const NodeJob& job) {
  auto it = assigned_.find(job.session_id);
  if (it != assigned_.end() && --it->second == 0) assigned_.erase(it);
  if (job.expected_seconds < 0) {
    if (slot.pipeline_unknown > 0) --slot.pipeline_unknown;
  } else {
    slot.pipeline_seconds -= job.expected_seconds;
  }
  if (slot.pipeline.empty()) slot.pipeline_seconds = 0;   // no drift left over
}

const NodeJob* WorkerPool::running_job(const Slot& slot, Clock::time_point* since) const {
  const RunningJob* page = slot.page.get();
  if (page == nullptr) {  // no page: the oldest job sent is taken to be running
    if (slot.pipeline.empty()) return nullptr;
    if (since != nullptr) *since = slot.head_started;
    return &slot.pipeline.front();
  }
  uint64_t key = page->key.load(std::memory_order_acquire);
  if (key == 0) return nullptr;
  for (const NodeJob& job : slot.pipeline) {
    if (job.key != key) continue;
    if (since != nullptr) {
      auto ns = std::chrono::nanoseconds(page->started_ns.load(std::memory_order_relaxed));
      *since = Clock::time_point(std::chrono::duration_cast<Clock::duration>(ns));
    }
    return &job;
  }
  return nullptr;   // its result came already: the worker is between jobs
}

void WorkerPool::spawn(Slot& slot) {
  if (slot.page.get() == nullptr && !slot.page.create()) {
    PP_WARN("worker %d: no shared page (%s): a crash is blamed on the oldest job sent to it",
            slot.index, strerror(errno));
  }
  if (RunningJob* page = slot.page.get()) page->key.store(0, std::memory_order_release);
  const int page_fd = slot.page.fd();
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    PP_ERROR("worker %d: socketpair failed: %s", slot.index, strerror(errno));
    respawn_later(slot, std::chrono::seconds(1));
    return;
  }
  // Everything the child needs is prepared before fork(): after it, only
  // async-signal-safe calls until execv().
  std::string fd_arg = "3";
  std::string index_arg = std::to_string(slot.index);
  std::string mem_arg = std::to_string(config_.worker_memory_mb);
  std::string frame_arg = std::to_string(config_.max_frame);
  pid_t parent = getpid();
  std::vector<const char*> argv = {"ppserver-worker",   "--worker-fd",     fd_arg.c_str(),
                                   "--worker-index",    index_arg.c_str(),
                                   "--worker-memory",   mem_arg.c_str(),
                                   "--max-frame",       frame_arg.c_str(),
                                   "--worker-node",     node_.c_str()};
  if (log::debug_enabled()) argv.push_back("-d");
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    PP_ERROR("worker %d: fork failed: %s", slot.index, strerror(errno));
    close(fds[0]);
    close(fds[1]);
    respawn_later(slot, std::chrono::seconds(1));
    return;
  }
  if (pid == 0) {
    become_worker(fds[1], page_fd, parent, config_.nice, exe_.c_str(), argv.data());
  }
  setpgid(pid, pid);
  close(fds[1]);
  adopt(slot, pid, fds[0]);
  PP_DEBUG("worker %d started (pid %d)", slot.index, static_cast<int>(pid));
}

void WorkerPool::adopt(Slot& slot, pid_t pid, int fd) {
  slot.pid = pid;
  slot.ready = false;
  slot.kill = Kill::kNone;
  slot.kill_key = 0;
  slot.hashes.clear();
  slot.data.clear();
  slot.last_session = 0;
  slot.spawned = Clock::now();
  asio::local::stream_protocol::socket sock(io_, asio::local::stream_protocol(), fd);
  slot.stream = std::make_shared<Stream>(std::move(sock), config_.max_frame + 4096);
  Slot* s = &slot;
  slot.stream->start([this, s](std::string_view p) { on_frame(*s, p); },
                     [this, s](const std::string& why) { on_worker_closed(*s, why); });
  // A large value is read straight into the string its RESULT keeps, which the session's
  // write to the client sends from: the node never copies it.
  slot.stream->divert_fields(&proto::locate_result_value,
                             [this, s](std::string_view p, std::string&& value) {
                               on_message(*s, proto::decode_message(p, std::move(value)));
                             });
}

void WorkerPool::assign(int index, NodeJob job) {
  Slot& slot = *workers_.at(static_cast<size_t>(index));
  if (is_down(index)) return refuse_down(slot, std::move(job));
  if (slot.last_session != job.session_id) {
    if (slot.last_session != 0) {
      slot.stream->send(proto::WorkerReset{});
      slot.hashes.clear();
      slot.data.clear();
      PP_DEBUG("worker %d reset for another client", slot.index);
    }
    slot.last_session = job.session_id;
  }
  ++assigned_[job.session_id];
  if (!slot.hashes.contains(job.hash)) {
    slot.stream->send(proto::WorkerCode{job.hash, *job.blob});
    slot.hashes.insert(job.hash);
  }
  for (const NodeJob::Data& d : job.data) {
    if (!slot.data.insert(d.hash).second) continue;
    slot.stream->send_encoded(
        [&](proto::FrameOut out) {
          proto::encode_data(proto::MsgType::kWorkerData, d.hash, *d.bytes, out);
        },
        d.bytes);
  }
  slot.stream->send_encoded(
      [&](proto::FrameOut out) { proto::encode_worker_run(job.key, job.hash, *job.args, out); },
      job.args);
  if (slot.pipeline.empty()) slot.head_started = Clock::now();
  job.expected_seconds = times_.short_mean(job.hash);
  if (job.expected_seconds < 0) {
    ++slot.pipeline_unknown;
  } else {
    slot.pipeline_seconds += job.expected_seconds;
  }
  slot.pipeline.push_back(std::move(job));
  limiter_.on_busy(slot.pid);  // joins the current phase of the duty cycle
}

void WorkerPool::forget_data(const std::string& hash) {
  for (auto& w : workers_) {
    if (w->stream && w->data.erase(hash) != 0) w->stream->send(proto::WorkerData{hash, {}});
  }
}

void WorkerPool::on_frame(Slot& slot, std::string_view payload) {
  on_message(slot, proto::decode_message(payload));
}

void WorkerPool::on_message(Slot& slot, Result<proto::Message>&& msg) {
  if (!msg) {
    PP_ERROR("worker %d sent a bad message (%s); restarting it", slot.index,
             msg.status().message().c_str());
    kill_worker(slot, Kill::kNone);
    return;
  }
  if (auto* ready = std::get_if<proto::WorkerReady>(&*msg)) {
    slot.ready = true;
    slot.quick_deaths = 0;
    PP_DEBUG("worker %d ready (pid %u, %s)", slot.index, ready->pid, ready->luajit.c_str());
    // Started while the node is paused: held like the others until it resumes.
    if (pause_.paused()) signal_group(slot.pid, SIGSTOP);
    cb_.on_capacity();
    return;
  }
  auto* res = std::get_if<proto::ResultMsg>(&*msg);
  if (res == nullptr || slot.pipeline.empty() || slot.pipeline.front().key != res->job_id) {
    PP_ERROR("worker %d sent an unexpected message; restarting it", slot.index);
    kill_worker(slot, Kill::kNone);
    return;
  }
  NodeJob job = std::move(slot.pipeline.front());
  slot.pipeline.pop_front();
  left_pipeline(slot, job);
  slot.head_started = Clock::now();
  if (res->status == JobStatus::kOk || res->status == JobStatus::kLuaError) {
    times_.add(job.hash, static_cast<double>(res->wall_us) / 1e6);
  }
  if (job.cancelled) {
    res->status = JobStatus::kCancelled;
    res->value.clear();
    res->error = "cancelled";
  }
  res->job_id = job.client_job_id;
  cb_.on_result(std::move(job), std::move(*res));
  cb_.on_capacity();
}

void WorkerPool::respawn_later(Slot& slot, std::chrono::milliseconds delay) {
  auto timer = std::make_unique<asio::steady_timer>(io_, delay);
  Slot* s = &slot;
  timer->async_wait([this, s](const asio::error_code& ec) {
    if (!ec && !stopping_) spawn(*s);
  });
  respawn_timers_.push_back(std::move(timer));
  if (respawn_timers_.size() > 64) respawn_timers_.erase(respawn_timers_.begin());
}

void WorkerPool::kill_worker(Slot& slot, Kill why, uint64_t key) {
  if (slot.pid <= 0 || slot.reaping) return;  // a reaping worker was killed already
  if (slot.kill == Kill::kNone) {
    slot.kill = why;
    slot.kill_key = key;
  }
  kill_group(slot.pid);
  // The socket's EOF then drives on_worker_closed().
}

void WorkerPool::cancel(uint64_t session_id, std::optional<uint64_t> client_job_id) {
  for (auto& w : workers_) {
    // The one the worker runs; between jobs, the oldest (next, or its result on the way).
    const NodeJob* running = running_job(*w, nullptr);
    if (running == nullptr && !w->pipeline.empty()) running = &w->pipeline.front();
    for (NodeJob& job : w->pipeline) {
      if (job.session_id != session_id) continue;
      if (client_job_id && job.client_job_id != *client_job_id) continue;
      job.cancelled = true;   // one not running yet is answered "cancelled" when its turn is over
      if (&job == running && !w->reaping) {
        if (client_job_id) {
          PP_INFO("job %llu cancelled by its client while running; stopping worker %d",
                  static_cast<unsigned long long>(*client_job_id), w->index);
        }
        kill_worker(*w, Kill::kCancel, job.key);
      }
    }
  }
}

void WorkerPool::watchdog() {
  auto now = Clock::now();
  for (auto& w : workers_) {
    if (w->pid <= 0 || w->reaping || w->kill != Kill::kNone) continue;
    if (!w->ready && active_since(w->spawned, now) > kStartupLimit) {
      PP_ERROR("worker %d did not start within %lld s; killing it", w->index,
               static_cast<long long>(kStartupLimit.count()));
      kill_worker(*w, Kill::kNone);
      continue;
    }
    Clock::time_point since;
    const NodeJob* running = running_job(*w, &since);
    if (running == nullptr) continue;
    const NodeJob& head = *running;
    // Time the node was paused does not count: the worker was stopped meanwhile.
    if (head.timeout.count() > 0 && active_since(since, now) > head.timeout) {
      PP_WARN("job %llu exceeded its time limit on worker %d; stopping the worker",
              static_cast<unsigned long long>(head.client_job_id), w->index);
      kill_worker(*w, Kill::kTimeout, head.key);
      continue;
    }
    if (config_.job_cpu_limit.count() > 0) {
      // Measured from the first tick that sees the job: at most one period late.
      static const double ticks_per_second = static_cast<double>(sysconf(_SC_CLK_TCK));
      double cpu = static_cast<double>(guest::process_cpu_ticks(w->pid)) / ticks_per_second;
      if (w->cpu_job_key != head.key) {
        w->cpu_job_key = head.key;
        w->cpu_at_start = cpu;
      } else if (cpu - w->cpu_at_start > config_.job_cpu_limit.count() / 1000.0) {
        PP_WARN("job %llu used more than its CPU time limit on worker %d; stopping the worker",
                static_cast<unsigned long long>(head.client_job_id), w->index);
        kill_worker(*w, Kill::kCpuLimit, head.key);
      }
    }
  }
  watchdog_.expires_after(kWatchdogPeriod);
  watchdog_.async_wait([this](const asio::error_code& ec) {
    if (!ec) watchdog();
  });
}

}  // namespace pp::server
