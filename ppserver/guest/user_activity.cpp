#include "ppserver/guest/user_activity.hpp"

#include <algorithm>
#include <cstdio>

namespace pp::server::guest {

std::optional<UserActivityPolicy::Sample> UserActivityPolicy::sample_of(const Session& s) {
  if (s.seat.empty()) return std::nullopt;
  Sample out{s.id, s.idle_hint, s.idle_since};
  if (s.type == "tty") out.idle = true;   // its last use is idle_since (the TTY's atime)
  return out;
}

bool UserActivityPolicy::active(Clock::time_point now, const Sample& s) const {
  if (!s.idle) return true;
  // logind's 0: not in use since boot (or not known), so no one is there.
  if (s.idle_since == Clock::time_point{}) return false;
  // A time ahead of ours (a clock read a moment earlier) counts as "just now".
  return now < s.idle_since || now - s.idle_since < window_;
}

UserActivityPolicy::Change UserActivityPolicy::update(Clock::time_point now,
                                                      const std::vector<Sample>& sessions) {
  const bool want = std::any_of(sessions.begin(), sessions.end(),
                                [&](const Sample& s) { return active(now, s); });
  if (want == paused_) return Change::kNone;
  paused_ = want;
  return want ? Change::kPause : Change::kResume;
}

UserActivityPolicy::Change UserActivityPolicy::forget() {
  if (!paused_) return Change::kNone;
  paused_ = false;
  return Change::kResume;
}

std::string UserActivityPolicy::reason(Clock::time_point now,
                                       const std::vector<Sample>& sessions) const {
  auto s = std::find_if(sessions.begin(), sessions.end(),
                        [&](const Sample& x) { return active(now, x); });
  if (s == sessions.end()) return "";
  char text[200];
  if (!s->idle) {
    std::snprintf(text, sizeof text, "session %s of this machine is in use (logind)",
                  s->session.c_str());
  } else {
    const double ago =
        now > s->idle_since ? std::chrono::duration<double>(now - s->idle_since).count() : 0;
    std::snprintf(text, sizeof text,
                  "session %s of this machine was in use %.0f s ago (logind; pausing while in "
                  "use within the last %g min)",
                  s->session.c_str(), ago, std::chrono::duration<double>(window_).count() / 60);
  }
  return text;
}

}  // namespace pp::server::guest
