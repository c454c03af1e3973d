// UserActivityPolicy: whether the machine's owner is at it (--pause-when-user-active). The
// node is paused while someone used a session's keyboard or mouse within the last `window`,
// and resumes once every such session has been idle that long: the window is the hysteresis,
// so a moment of idleness in the middle of work does not resume the node.
//
// The input is systemd-logind's sessions (LogindWatch reads them), each turned into a Sample
// by sample_of(): only sessions on a seat count (this machine's own keyboard, mouse and
// screen); ssh logins, cron jobs and user managers have none and are no one at the machine.
// Logind's Manager folds *every* session into one IdleHint, and a session without a desktop
// idle hint never counts as idle there (unless IdleAction= is set), so one ssh login would
// pause the node for good: that is why the sessions are read one by one.
// Pure: the caller passes the time of each reading. Single-threaded.
//
//   UserActivityPolicy p(std::chrono::minutes(5));
//   std::vector<UserActivityPolicy::Sample> seated = ...;   // sample_of() of each session
//   if (p.update(now, seated) == UserActivityPolicy::Change::kPause) node.hold(p.reason(...));
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace pp::server::guest {

class UserActivityPolicy {
 public:
  using Clock = std::chrono::steady_clock;   // CLOCK_MONOTONIC, logind's monotonic clock
  // One session as logind describes it (org.freedesktop.login1.Session).
  struct Session {
    std::string id;
    std::string seat;          // "" for sessions not at this machine (ssh, cron, ...)
    std::string type;          // "x11", "wayland", "mir", "tty", "unspecified", ...
    bool idle_hint = false;    // IdleHint
    Clock::time_point idle_since{};   // IdleSinceHintMonotonic; the epoch: not known
  };
  // What one seated session says of its user.
  struct Sample {
    std::string session;
    bool idle = true;                 // no one at it now
    Clock::time_point idle_since{};   // since when; the epoch: never in use
  };
  enum class Change { kNone, kPause, kResume };

  // The sample of `s`, or nullopt when it does not count (no seat). A graphical session
  // carries its desktop's idle hint. A text console's IdleHint stays false unless logind's
  // IdleAction= is set, but its IdleSinceHint is its terminal's last use: idle since then.
  static std::optional<Sample> sample_of(const Session& s);

  explicit UserActivityPolicy(Clock::duration window) : window_(window) {}
  // logind's seated sessions at `now`; a change of the node's state, if any.
  Change update(Clock::time_point now, const std::vector<Sample>& sessions);
  // Someone used the session within the window, as of `now`.
  bool active(Clock::time_point now, const Sample& s) const;
  bool paused() const { return paused_; }
  // Why the node pauses, for the log and the clients: "session 2 on seat0 is in use", or
  // "...was in use 42 s ago (...)": of the first session in use; "" when none is.
  std::string reason(Clock::time_point now, const std::vector<Sample>& sessions) const;
  // Pause nothing any more (logind stopped answering): kResume if the node was paused.
  Change forget();

 private:
  Clock::duration window_;
  bool paused_ = false;
};

}  // namespace pp::server::guest
