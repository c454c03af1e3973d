// LogLimiter: a token bucket for log lines that a hostile peer can provoke.
//
// A flood of refused connections or failed handshakes must not fill the node's
// log. Each kind of such line gets one LogLimiter: a burst of lines goes through,
// then one line per interval; the lines held back are counted, so the next line
// written (or a summary, see take_suppressed) can say how many were suppressed. Pure (the caller passes the time, so
// tests need no clock); single-threaded, like the node's event loop.
//
//   LogLimiter limiter(10, std::chrono::seconds(10));
//   uint64_t dropped = 0;
//   if (limiter.allow(Clock::now(), &dropped)) PP_WARN("refused X (%llu more suppressed)", dropped);
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <utility>

namespace pp::server {

class LogLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  LogLimiter(int burst, Clock::duration interval)
      : burst_(std::max(1, burst)), interval_(interval), tokens_(burst_) {}

  // True when a line may be written at `now`; then *suppressed is the number of
  // lines refused since the last one allowed.
  bool allow(Clock::time_point now, uint64_t* suppressed) {
    refill(now);
    if (tokens_ == 0) {
      ++suppressed_;
      return false;
    }
    --tokens_;
    *suppressed = suppressed_;
    suppressed_ = 0;
    return true;
  }

  // Lines refused since the last one allowed (or the last take), and resets
  // that count: for a summary line when a flood has stopped.
  uint64_t take_suppressed() { return std::exchange(suppressed_, 0); }

 private:
  void refill(Clock::time_point now) {
    if (!started_) {
      started_ = true;
      last_ = now;
      return;
    }
    if (now <= last_ || interval_.count() <= 0) return;
    auto earned = (now - last_) / interval_;
    if (earned <= 0) return;
    tokens_ = static_cast<int>(std::min<int64_t>(burst_, tokens_ + earned));
    // A full bucket earns nothing more: restart the interval from now.
    last_ = tokens_ == burst_ ? now : last_ + earned * interval_;
  }

  int burst_;
  Clock::duration interval_;
  int tokens_;
  bool started_ = false;
  Clock::time_point last_{};
  uint64_t suppressed_ = 0;
};

}  // namespace pp::server
