// WorkerPool, when a worker dies: reaping it off the event loop, one outcome for the
// job it was running, the others back to the node, and its respawn (worker_pool.hpp).
#include "ppserver/worker_pool.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <cstring>

#include "core/util/log.hpp"
#include "ppserver/worker_process.hpp"

namespace pp::server {
namespace {

using Clock = std::chrono::steady_clock;
using proto::JobStatus;

// Reaping a worker whose socket closed: waitpid(WNOHANG) every kReapRetry; killed
// again after kLingerLimit; given up ("could not be reaped") after kReapLimit.
constexpr auto kReapRetry = std::chrono::milliseconds(1);
constexpr auto kLingerLimit = std::chrono::milliseconds(100);
constexpr auto kReapLimit = std::chrono::seconds(1);
// Deaths at start-up in a row after which a worker counts as down (the node keeps
// trying to start it, backing off; jobs placed on it fail meanwhile, never wait).
constexpr int kDownAfter = 3;

std::string describe_exit(int status) {
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    return std::string("was killed by signal ") + std::to_string(sig) + " (" + strsignal(sig) + ")";
  }
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "ended";
}

}  // namespace

// The worker's socket closed: it is killed with its group, and reaped from the
// event loop (try_reap) before anything else happens to its jobs.
void WorkerPool::on_worker_closed(Slot& slot, const std::string& why) {
  if (stopping_ || slot.reaping) return;
  // Whatever its job started goes with it, before the pid (the group's id) is reaped.
  kill_group(slot.pid);
  slot.ready = false;
  slot.stream.reset();
  slot.reaping = true;
  slot.killed_again = false;
  slot.closed = Clock::now();
  slot.closed_why = why;
  try_reap(slot);
}

// The socket closes as the process exits; it becomes reapable a moment later.
// Retried on a short timer, never waited for on the event loop.
void WorkerPool::try_reap(Slot& slot) {
  int st = 0;
  pid_t r = waitpid(slot.pid, &st, WNOHANG);
  if (r == slot.pid) {
    return finish_worker(slot, describe_exit(st), WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  }
  auto waited = Clock::now() - slot.closed;
  if ((r < 0 && errno != EINTR) || waited > kReapLimit) {
    return finish_worker(slot, "could not be reaped", -1);
  }
  if (waited > kLingerLimit && !slot.killed_again) {
    kill_group(slot.pid);  // closed its socket but lingers
    slot.killed_again = true;
  }
  Slot* s = &slot;
  slot.reap_timer->expires_after(kReapRetry);
  slot.reap_timer->async_wait([this, s](const asio::error_code& ec) {
    if (!ec && !stopping_) try_reap(*s);
  });
}

// The worker is gone (reaped, or given up): the job it was running (its page says
// which) gets its one outcome; every other job without a result goes back to the
// node, in order (never started, or finished with its result lost with the worker);
// and the worker is respawned.
void WorkerPool::finish_worker(Slot& slot, const std::string& how, int exit_code) {
  limiter_.forget(slot.pid);  // reaped: the pid may be reused from now on
  pid_t pid = slot.pid;
  slot.pid = -1;
  slot.reaping = false;
  bool started_ok = slot.closed - slot.spawned > std::chrono::seconds(1) || !slot.pipeline.empty();
  Clock::time_point since = slot.head_started;
  const NodeJob* running = running_job(slot, &since);
  // After a memory error the worker restarts cleanly, its job answered. A kill aimed
  // at one job that found the worker already on the next: that one is not at fault.
  if (exit_code == kExitOutOfMemory) running = nullptr;
  if (running != nullptr && slot.kill_key != 0 && running->key != slot.kill_key) running = nullptr;
  const uint64_t blamed = running != nullptr ? running->key : 0;
  std::deque<NodeJob> pipeline = std::move(slot.pipeline);
  slot.pipeline.clear();
  for (const NodeJob& job : pipeline) left_pipeline(slot, job);
  slot.pipeline_unknown = 0;
  slot.pipeline_seconds = 0;
  for (auto& job : pipeline) {
    if (blamed == 0 || job.key != blamed) continue;
    proto::ResultMsg res = outcome_of(slot, job, pid, how, since);
    PP_WARN("worker %d %s while running job %llu (%s); restarting it", slot.index, how.c_str(),
            static_cast<unsigned long long>(job.client_job_id), proto::job_status_name(res.status));
    cb_.on_result(std::move(job), std::move(res));
  }
  if (blamed == 0 && slot.kill == Kill::kNone && exit_code != kExitOutOfMemory) {
    PP_WARN("worker %d %s (%s); restarting it", slot.index, how.c_str(), slot.closed_why.c_str());
  }
  // Each goes to the front of its queue: the last first, so they keep their order.
  for (auto it = pipeline.rbegin(); it != pipeline.rend(); ++it) {
    if (blamed == 0 || it->key != blamed) cb_.on_requeue(std::move(*it));
  }
  slot.kill = Kill::kNone;
  slot.kill_key = 0;
  if (started_ok) {
    spawn(slot);
  } else {
    // Dying at start-up again and again: back off instead of spinning.
    slot.quick_deaths++;
    slot.last_death = how + (slot.closed_why.empty() ? "" : ", " + slot.closed_why);
    if (slot.quick_deaths == kDownAfter) {
      PP_ERROR("worker %d is down (it died during start-up %d times in a row); jobs placed "
               "on it fail until it starts", slot.index, kDownAfter);
    }
    auto delay = std::chrono::milliseconds(100 << std::min(slot.quick_deaths, 8));
    PP_ERROR("worker %d died during start-up %d time(s) in a row; retrying in %lld ms",
             slot.index, slot.quick_deaths, static_cast<long long>(delay.count()));
    respawn_later(slot, delay);
  }
  cb_.on_capacity();
}

// The RESULT of the job worker `pid` was running when it ended; `how` says how it ended.
proto::ResultMsg WorkerPool::outcome_of(const Slot& slot, const NodeJob& head, pid_t pid,
                                        const std::string& how, Clock::time_point since) const {
  proto::ResultMsg res;
  res.job_id = head.client_job_id;
  res.worker = static_cast<uint32_t>(slot.index);
  res.wall_us = static_cast<uint64_t>(std::max<int64_t>(
      0, std::chrono::duration_cast<std::chrono::microseconds>(slot.closed - since).count()));
  switch (slot.kill) {
    case Kill::kTimeout:
      res.status = JobStatus::kTimeout;
      res.error = "the job exceeded its time limit of " +
                  std::to_string(head.timeout.count() / 1000.0).substr(0, 6) +
                  " s; its worker was stopped";
      break;
    case Kill::kCpuLimit:
      res.status = JobStatus::kTimeout;
      res.error = "the job used more than its CPU time limit of " +
                  std::to_string(config_.job_cpu_limit.count() / 1000.0).substr(0, 6) +
                  " s; its worker was stopped";
      break;
    case Kill::kCancel:
      res.status = JobStatus::kCancelled;
      res.error = "cancelled";
      break;
    default:
      res.status = JobStatus::kCrashed;
      res.error = "worker " + std::to_string(slot.index) + " (pid " + std::to_string(pid) + ") " +
                  how + " while running the job";
      break;
  }
  if (head.cancelled) res.status = JobStatus::kCancelled;
  // What the job printed before it died or was stopped: the worker wrote it to the
  // page as it went, and the page names this job (running_job), so it is this job's.
  if (slot.page.get() != nullptr) res.output = slot.page.output_text();
  return res;
}

bool WorkerPool::is_down(int index) const {
  if (index < 0 || static_cast<size_t>(index) >= workers_.size()) return false;
  const Slot& w = *workers_[static_cast<size_t>(index)];
  return !w.ready && w.quick_deaths >= kDownAfter;
}

// A job placed on a worker that is down: its one RESULT names the worker and why.
void WorkerPool::refuse_down(const Slot& slot, NodeJob&& job) {
  proto::ResultMsg res;
  res.job_id = job.client_job_id;
  res.worker = static_cast<uint32_t>(slot.index);
  res.status = JobStatus::kRejected;
  res.error = "worker " + node_ + "#" + std::to_string(slot.index + 1) +
              " is down: it died during start-up " + std::to_string(slot.quick_deaths) +
              " times in a row (last: " + slot.last_death +
              "); the node keeps trying to start it, and a job placed on it is not run";
  cb_.on_result(std::move(job), std::move(res));
}

}  // namespace pp::server
