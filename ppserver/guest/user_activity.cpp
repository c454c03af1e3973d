#include "ppserver/guest/user_activity.hpp"

#include <cstdio>

namespace pp::server::guest {

bool UserActivityPolicy::active(Clock::time_point now, const Sample& s) const {
  if (!s.idle) return true;
  // logind's 0: no session was ever in use since boot, so no one is there.
  if (s.idle_since == Clock::time_point{}) return false;
  // A time ahead of ours (a clock read a moment earlier) counts as "just now".
  return now < s.idle_since || now - s.idle_since < window_;
}

UserActivityPolicy::Change UserActivityPolicy::update(Clock::time_point now, const Sample& s) {
  const bool want = active(now, s);
  if (want == paused_) return Change::kNone;
  paused_ = want;
  return want ? Change::kPause : Change::kResume;
}

UserActivityPolicy::Change UserActivityPolicy::forget() {
  if (!paused_) return Change::kNone;
  paused_ = false;
  return Change::kResume;
}

std::string UserActivityPolicy::reason(Clock::time_point now, const Sample& s) const {
  const double window_min = std::chrono::duration<double>(window_).count() / 60;
  char text[160];
  if (!s.idle) {
    std::snprintf(text, sizeof text, "a session of this machine is in use (logind)");
  } else {
    const double ago =
        now > s.idle_since ? std::chrono::duration<double>(now - s.idle_since).count() : 0;
    std::snprintf(text, sizeof text,
                  "a session of this machine was in use %.0f s ago (logind; pausing while in "
                  "use within the last %g min)",
                  ago, window_min);
  }
  return text;
}

}  // namespace pp::server::guest
