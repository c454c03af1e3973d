#include "ppserver/guest/busy_policy.hpp"

#include <algorithm>

namespace pp::server::guest {

double BusyPolicy::resume_below() const { return o_.percent - std::min(10.0, o_.percent / 2); }

BusyPolicy::Change BusyPolicy::update(Clock::time_point now, double other_percent) {
  if (!paused_at_) {
    if (other_percent <= o_.percent) {
      over_since_.reset();
      return Change::kNone;
    }
    if (!over_since_) over_since_ = now;
    if (now - *over_since_ < o_.grace) return Change::kNone;
    paused_at_ = now;
    over_since_.reset();
    under_since_.reset();
    return Change::kPause;
  }
  if (other_percent >= resume_below()) {
    under_since_.reset();
    return Change::kNone;
  }
  if (!under_since_) under_since_ = now;
  if (now - *under_since_ < o_.grace || now - *paused_at_ < o_.min_pause) return Change::kNone;
  paused_at_.reset();
  under_since_.reset();
  return Change::kResume;
}

}  // namespace pp::server::guest
