// UserActivityPolicy: whether the machine's owner is at it (--pause-when-user-active). The
// node is paused while someone used a session's keyboard or mouse within the last `window`,
// and resumes once every session has been idle that long: the window is the hysteresis, so
// a moment of idleness in the middle of work does not resume the node. The input is what
// systemd-logind's Manager says (LogindWatch reads it): IdleHint, true only when every
// session is idle, and IdleSinceHintMonotonic, when the last of them became idle. Pure: the
// caller passes the time of each sample. Single-threaded.
//
//   UserActivityPolicy p(std::chrono::minutes(5));
//   if (p.update(now, {.idle = false}) == UserActivityPolicy::Change::kPause) node.hold(...);
#pragma once

#include <chrono>
#include <string>

namespace pp::server::guest {

class UserActivityPolicy {
 public:
  using Clock = std::chrono::steady_clock;   // CLOCK_MONOTONIC, logind's monotonic clock
  struct Sample {
    bool idle = true;                // every session idle (logind's IdleHint)
    // When the last session became idle; the epoch (logind's 0) when none ever was in use.
    Clock::time_point idle_since{};
  };
  enum class Change { kNone, kPause, kResume };

  explicit UserActivityPolicy(Clock::duration window) : window_(window) {}
  // logind said `s` at `now`; a change of the node's state, if any.
  Change update(Clock::time_point now, const Sample& s);
  // Someone used the machine within the window, as of `now` by `s`.
  bool active(Clock::time_point now, const Sample& s) const;
  bool paused() const { return paused_; }
  // Why the node pauses, for the log and the clients: "a session of this machine is in use",
  // or "...was in use 42 s ago (pausing while in use within the last 5 min)".
  std::string reason(Clock::time_point now, const Sample& s) const;
  // Pause nothing any more (logind stopped answering): kResume if the node was paused.
  Change forget();

 private:
  Clock::duration window_;
  bool paused_ = false;
};

}  // namespace pp::server::guest
