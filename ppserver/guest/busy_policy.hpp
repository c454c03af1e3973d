// BusyPolicy: when other processes' CPU should pause the node (--pause-when-busy), with the
// hysteresis desktop owners ask for: pause only after other > PCT for a whole grace period
// (a brief spike does nothing), resume only after other stayed below PCT - margin for the
// grace period again, and never before the node was paused for at least a minimum, so it
// does not flap. Pure: the caller passes the time of each sample. Single-threaded.
//
//   BusyPolicy p({.percent = 50});
//   if (p.update(now, shares.other * 100) == BusyPolicy::Change::kPause) node.hold(...);
#pragma once

#include <chrono>
#include <optional>

namespace pp::server::guest {

class BusyPolicy {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    double percent = 100;                 // of the whole machine, 1..100
    std::chrono::milliseconds grace{10000};
    std::chrono::milliseconds min_pause{30000};
  };
  enum class Change { kNone, kPause, kResume };

  explicit BusyPolicy(Options o) : o_(o) {}
  // Other processes used `other_percent` of the machine in the sample ending at `now`.
  Change update(Clock::time_point now, double other_percent);
  bool paused() const { return paused_at_.has_value(); }
  // Below this, the load counts as gone: PCT less a margin of 10 points (half of PCT at most).
  double resume_below() const;

 private:
  Options o_;
  std::optional<Clock::time_point> over_since_;
  std::optional<Clock::time_point> under_since_;
  std::optional<Clock::time_point> paused_at_;
};

}  // namespace pp::server::guest
