// PauseState: causes holding and releasing the node's pause, the reason shown, and
// the paused time within a span (ppserver/pause_state.hpp), on a clock driven by hand.
#include <doctest/doctest.h>

#include "ppserver/pause_state.hpp"

namespace {

using pp::server::PauseCause;
using pp::server::PauseState;
using Clock = PauseState::Clock;
using std::chrono::seconds;

const Clock::time_point t0 = Clock::time_point(seconds(1000));

}  // namespace

TEST_CASE("node.pause_state.paused_while_any_cause_holds") {
  PauseState p;
  CHECK_FALSE(p.paused());
  CHECK(p.reason().empty());
  CHECK(p.hold(PauseCause::kSignal, "paused by SIGUSR1", t0));
  CHECK(p.paused());
  CHECK(p.since() == t0);
  CHECK(p.reason() == "paused by SIGUSR1");
  CHECK(p.hold(PauseCause::kBusy, "other processes use 90% of the CPU", t0 + seconds(1)));
  CHECK(p.reason() == "other processes use 90% of the CPU");
  // The same cause again with the same reason changes nothing shown.
  CHECK_FALSE(p.hold(PauseCause::kBusy, "other processes use 90% of the CPU", t0 + seconds(2)));
  // Releasing the newest shows the older holder's reason again; still paused.
  CHECK(p.release(PauseCause::kBusy, t0 + seconds(3)));
  CHECK(p.paused());
  CHECK(p.reason() == "paused by SIGUSR1");
  CHECK(p.since() == t0);
  // A cause that does not hold: nothing changes.
  CHECK_FALSE(p.release(PauseCause::kUserActive, t0 + seconds(4)));
  CHECK(p.release(PauseCause::kSignal, t0 + seconds(5)));
  CHECK_FALSE(p.paused());
  CHECK(p.reason().empty());
  CHECK(p.pauses() == 1);
  CHECK_FALSE(p.release(PauseCause::kSignal, t0 + seconds(6)));
}

TEST_CASE("node.pause_state.releasing_an_older_holder_keeps_the_newest_reason") {
  PauseState p;
  p.hold(PauseCause::kSignal, "paused by SIGUSR1", t0);
  p.hold(PauseCause::kUserActive, "someone is at the keyboard", t0);
  CHECK_FALSE(p.release(PauseCause::kSignal, t0 + seconds(1)));
  CHECK(p.reason() == "someone is at the keyboard");
  // A cause holding again becomes the most recent.
  p.hold(PauseCause::kSignal, "paused by SIGUSR1", t0 + seconds(2));
  CHECK(p.reason() == "paused by SIGUSR1");
}

TEST_CASE("node.pause_state.paused_time_within_a_span") {
  PauseState p;
  p.hold(PauseCause::kSignal, "a", t0 + seconds(10));
  p.release(PauseCause::kSignal, t0 + seconds(20));
  p.hold(PauseCause::kSignal, "b", t0 + seconds(30));
  p.release(PauseCause::kSignal, t0 + seconds(35));
  CHECK(p.paused_between(t0, t0 + seconds(100)) == seconds(15));
  CHECK(p.paused_between(t0 + seconds(15), t0 + seconds(32)) == seconds(7));
  CHECK(p.paused_between(t0 + seconds(21), t0 + seconds(29)) == seconds(0));
  CHECK(p.paused_between(t0 + seconds(40), t0 + seconds(50)) == seconds(0));
  // The current pause counts up to `to`.
  p.hold(PauseCause::kBusy, "c", t0 + seconds(60));
  CHECK(p.paused_between(t0 + seconds(50), t0 + seconds(70)) == seconds(10));
  CHECK(p.paused_between(t0, t0 + seconds(61)) == seconds(16));
  CHECK(p.pauses() == 3);
}

TEST_CASE("node.pause_state.only_the_last_intervals_are_remembered") {
  PauseState p;
  for (size_t k = 0; k < PauseState::kMaxIntervals + 10; ++k) {
    p.hold(PauseCause::kSignal, "x", t0 + seconds(2 * k));
    p.release(PauseCause::kSignal, t0 + seconds(2 * k + 1));
  }
  CHECK(p.paused_between(t0, t0 + seconds(100000)) == seconds(PauseState::kMaxIntervals));
}
