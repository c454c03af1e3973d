#include "ppserver/pause_state.hpp"

#include <algorithm>

namespace pp::server {

bool PauseState::hold(PauseCause cause, std::string reason, Clock::time_point now) {
  const bool was_paused = paused();
  const std::string shown = this->reason();
  std::erase_if(holders_, [&](const Holder& h) { return h.cause == cause; });
  holders_.push_back({cause, std::move(reason)});
  if (!was_paused) {
    since_ = now;
    ++pauses_;
    return true;
  }
  return this->reason() != shown;
}

bool PauseState::release(PauseCause cause, Clock::time_point now) {
  const std::string shown = reason();
  const size_t erased = std::erase_if(holders_, [&](const Holder& h) { return h.cause == cause; });
  if (erased == 0) return false;
  if (!paused()) {
    done_.push_back({since_, now});
    if (done_.size() > kMaxIntervals) done_.pop_front();
    return true;
  }
  return reason() != shown;
}

PauseState::Clock::duration PauseState::paused_between(Clock::time_point from,
                                                       Clock::time_point to) const {
  Clock::duration total{0};
  auto overlap = [&](Clock::time_point b, Clock::time_point e) {
    const auto lo = std::max(b, from);
    const auto hi = std::min(e, to);
    if (hi > lo) total += hi - lo;
  };
  for (auto it = done_.rbegin(); it != done_.rend() && it->end > from; ++it) {
    overlap(it->begin, it->end);
  }
  if (paused()) overlap(since_, to);
  return total;
}

}  // namespace pp::server
