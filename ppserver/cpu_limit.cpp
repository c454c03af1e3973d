#include "ppserver/cpu_limit.hpp"

#include <signal.h>

#include <algorithm>
#include <cstdint>

namespace pp::server {

std::chrono::microseconds cpu_limit_on_time(int percent, std::chrono::microseconds period) {
  percent = std::clamp(percent, 1, 100);
  auto on = period * percent / 100;
  return std::max(on, std::chrono::microseconds(1000));
}

CpuLimiter::CpuLimiter(asio::io_context& io, int percent, BusyPids busy)
    : percent_(std::clamp(percent, 1, 100)),
      busy_(std::move(busy)),
      timer_(io),
      on_(cpu_limit_on_time(percent_, kPeriod)),
      off_(std::max(std::chrono::microseconds(kPeriod) - on_, std::chrono::microseconds(0))) {}

CpuLimiter::~CpuLimiter() { stop(); }

void CpuLimiter::on_busy(pid_t pid) {
  if (!enabled()) return;
  if (!armed_) {
    off_phase_ = false;
    next_edge_ = Clock::now();
    schedule(on_);
  } else if (off_phase_) {
    hold(pid);
  }
}

void CpuLimiter::forget(pid_t pid) { std::erase(stopped_, pid); }

void CpuLimiter::stop() {
  ++generation_;
  timer_.cancel();
  armed_ = false;
  off_phase_ = false;
  resume_all();
}

void CpuLimiter::schedule(std::chrono::microseconds part) {
  // Edges follow a fixed grid so timer latency does not add up; after a stall
  // of the event loop longer than a part, start afresh from now.
  auto now = Clock::now();
  next_edge_ += part;
  if (next_edge_ <= now) next_edge_ = now + part;
  armed_ = true;
  timer_.expires_at(next_edge_);
  uint64_t generation = generation_;
  timer_.async_wait([this, generation](const asio::error_code& ec) {
    if (!ec && generation == generation_) on_edge();
  });
}

void CpuLimiter::on_edge() {
  if (!off_phase_) {
    for (pid_t pid : busy_()) hold(pid);
    off_phase_ = true;
    schedule(off_);
    return;
  }
  resume_all();
  off_phase_ = false;
  if (busy_().empty()) {
    armed_ = false;  // nothing to limit: sleep until the next job (on_busy)
    return;
  }
  schedule(on_);
}

void CpuLimiter::hold(pid_t pid) {
  if (pid <= 0 || std::find(stopped_.begin(), stopped_.end(), pid) != stopped_.end()) return;
  if (::kill(pid, SIGSTOP) == 0) stopped_.push_back(pid);
}

void CpuLimiter::resume_all() {
  for (pid_t pid : stopped_) ::kill(pid, SIGCONT);
  stopped_.clear();
}

}  // namespace pp::server
