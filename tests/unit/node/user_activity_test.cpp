// UserActivityPolicy: pause while a session was in use within the window, resume once every
// session has been idle that long, on an injected clock.
#include "ppserver/guest/user_activity.hpp"

#include <doctest/doctest.h>

namespace {

using pp::server::guest::UserActivityPolicy;
using Change = UserActivityPolicy::Change;
using Sample = UserActivityPolicy::Sample;
using std::chrono::minutes;
using std::chrono::seconds;

// An hour after boot: logind's "idle since 0" means "never in use", so tests start later.
const UserActivityPolicy::Clock::time_point t0 = UserActivityPolicy::Clock::time_point{} + minutes(60);

}  // namespace

TEST_CASE("node.user_activity.a_session_in_use_pauses_at_once") {
  UserActivityPolicy p(minutes(5));
  CHECK(p.update(t0, {.idle = false}) == Change::kPause);
  CHECK(p.paused());
  CHECK(p.update(t0 + seconds(1), {.idle = false}) == Change::kNone);
  CHECK(p.reason(t0, {.idle = false}).find("in use (logind)") != std::string::npos);
}

TEST_CASE("node.user_activity.resumes_only_after_every_session_was_idle_for_the_window") {
  UserActivityPolicy p(minutes(5));
  REQUIRE(p.update(t0, {.idle = false}) == Change::kPause);
  const Sample idle{.idle = true, .idle_since = t0 + seconds(10)};
  CHECK(p.update(t0 + seconds(11), idle) == Change::kNone);
  CHECK(p.update(t0 + seconds(10) + minutes(5) - seconds(1), idle) == Change::kNone);
  CHECK(p.paused());
  CHECK(p.update(t0 + seconds(10) + minutes(5), idle) == Change::kResume);
  CHECK_FALSE(p.paused());
  CHECK(p.update(t0 + minutes(20), idle) == Change::kNone);
}

TEST_CASE("node.user_activity.idle_since_decides_at_the_first_sample") {
  // A node started while the owner typed a minute ago pauses; one started after a long idle
  // stretch does not.
  UserActivityPolicy recent(minutes(5));
  const Sample a_minute_ago{.idle = true, .idle_since = t0 - minutes(1)};
  CHECK(recent.update(t0, a_minute_ago) == Change::kPause);
  CHECK(recent.reason(t0, a_minute_ago).find("in use 60 s ago") != std::string::npos);
  UserActivityPolicy long_ago(minutes(5));
  CHECK(long_ago.update(t0, {.idle = true, .idle_since = t0 - minutes(30)}) == Change::kNone);
  CHECK_FALSE(long_ago.paused());
}

TEST_CASE("node.user_activity.no_session_ever_in_use_is_idle") {
  // logind reports IdleSinceHintMonotonic 0 when there is no session (a headless machine).
  UserActivityPolicy p(minutes(1));
  CHECK(p.update(t0, {.idle = true, .idle_since = {}}) == Change::kNone);
  CHECK_FALSE(p.active(t0, {.idle = true, .idle_since = {}}));
}

TEST_CASE("node.user_activity.activity_again_within_the_window_keeps_it_paused") {
  UserActivityPolicy p(minutes(2));
  REQUIRE(p.update(t0, {.idle = false}) == Change::kPause);
  CHECK(p.update(t0 + minutes(1), {.idle = true, .idle_since = t0 + seconds(30)}) == Change::kNone);
  CHECK(p.update(t0 + minutes(2), {.idle = false}) == Change::kNone);     // back at the keyboard
  const Sample idle{.idle = true, .idle_since = t0 + minutes(3)};
  CHECK(p.update(t0 + minutes(4), idle) == Change::kNone);
  CHECK(p.update(t0 + minutes(5), idle) == Change::kResume);
}

TEST_CASE("node.user_activity.fractional_windows_and_an_idle_time_ahead_of_now") {
  UserActivityPolicy p(std::chrono::milliseconds(3000));   // 0.05 minutes
  const Sample idle{.idle = true, .idle_since = t0 + seconds(1)};
  CHECK(p.update(t0, idle) == Change::kPause);   // read a moment before logind's clock: just now
  CHECK(p.update(t0 + seconds(3), idle) == Change::kNone);
  CHECK(p.update(t0 + seconds(4), idle) == Change::kResume);
}

TEST_CASE("node.user_activity.forget_resumes_a_paused_node_once") {
  UserActivityPolicy p(minutes(5));
  CHECK(p.forget() == Change::kNone);
  REQUIRE(p.update(t0, {.idle = false}) == Change::kPause);
  CHECK(p.forget() == Change::kResume);
  CHECK(p.forget() == Change::kNone);
  CHECK(p.update(t0, {.idle = false}) == Change::kPause);
}
