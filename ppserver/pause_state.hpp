// PauseState: whether the node is paused, why, and for how long it has been.
//
// A node pauses for its machine's owner: a manual pause (SIGUSR1), a busy CPU, or
// someone at the keyboard (PauseCause). Each cause holds or releases on its own;
// the node is paused while any cause holds, and the reason shown is that of the
// most recent holder still holding. The pause intervals are kept so that the time a
// span of wall time spent paused can be taken out of it: a job's time limit counts
// only the time its worker was allowed to run, and a client's session is told how
// long the node was paused while it was connected.
//
// Plain data on a steady clock passed in (tests drive it by hand); single-threaded
// (the node's io thread).
//
//   PauseState p;
//   if (p.hold(PauseCause::kSignal, "paused by SIGUSR1", now)) ... // became paused / reason changed
//   p.release(PauseCause::kSignal, later);
//   p.paused_between(job_started, now);   // paused time within that span
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <string>
#include <vector>

namespace pp::server {

enum class PauseCause { kSignal, kBusy, kUserActive };

class PauseState {
 public:
  using Clock = std::chrono::steady_clock;
  // Pause intervals remembered; a span reaching further back than the oldest counts
  // only the ones remembered (a job would have to outlive this many pauses).
  static constexpr size_t kMaxIntervals = 256;

  // `cause` holds the node paused for `reason` (it replaces that cause's previous
  // reason). True when what the node shows changed: it became paused, or the reason.
  bool hold(PauseCause cause, std::string reason, Clock::time_point now);
  // `cause` no longer holds. True when what the node shows changed: it resumed, or
  // the reason (another cause still holds).
  bool release(PauseCause cause, Clock::time_point now);

  bool paused() const { return !holders_.empty(); }
  // The most recent holder's reason; empty when not paused.
  std::string reason() const { return paused() ? holders_.back().reason : std::string(); }
  // When the current pause began (meaningful while paused()).
  Clock::time_point since() const { return since_; }
  // Time the node was paused within [from, to] (to >= from), the current pause included.
  Clock::duration paused_between(Clock::time_point from, Clock::time_point to) const;
  // Pauses begun so far.
  size_t pauses() const { return pauses_; }

 private:
  struct Holder {
    PauseCause cause;
    std::string reason;
  };
  struct Interval {
    Clock::time_point begin, end;
  };

  std::vector<Holder> holders_;   // oldest first; one entry per holding cause
  Clock::time_point since_{};
  std::deque<Interval> done_;     // ended pauses, oldest first
  size_t pauses_ = 0;
};

}  // namespace pp::server
