// UserActivityPolicy: pause while a seated session was in use within the window, resume once
// every one has been idle that long, on an injected clock; which sessions count.
#include "ppserver/guest/user_activity.hpp"

#include <doctest/doctest.h>

namespace {

using pp::server::guest::UserActivityPolicy;
using Change = UserActivityPolicy::Change;
using Sample = UserActivityPolicy::Sample;
using Session = UserActivityPolicy::Session;
using std::chrono::minutes;
using std::chrono::seconds;

// An hour after boot: logind's "idle since 0" means "never in use", so tests start later.
const UserActivityPolicy::Clock::time_point t0 =
    UserActivityPolicy::Clock::time_point{} + minutes(60);

Sample in_use(std::string id = "2") { return {std::move(id), false, t0}; }
Sample idle_since(UserActivityPolicy::Clock::time_point since, std::string id = "2") {
  return {std::move(id), true, since};
}

}  // namespace

TEST_CASE("node.user_activity.a_session_in_use_pauses_at_once") {
  UserActivityPolicy p(minutes(5));
  CHECK(p.update(t0, {in_use()}) == Change::kPause);
  CHECK(p.paused());
  CHECK(p.update(t0 + seconds(1), {in_use()}) == Change::kNone);
  CHECK(p.reason(t0, {in_use()}) == "session 2 of this machine is in use (logind)");
}

TEST_CASE("node.user_activity.resumes_only_after_every_session_was_idle_for_the_window") {
  UserActivityPolicy p(minutes(5));
  REQUIRE(p.update(t0, {in_use()}) == Change::kPause);
  const Sample idle = idle_since(t0 + seconds(10));
  CHECK(p.update(t0 + seconds(11), {idle}) == Change::kNone);
  CHECK(p.update(t0 + seconds(10) + minutes(5) - seconds(1), {idle}) == Change::kNone);
  CHECK(p.paused());
  CHECK(p.update(t0 + seconds(10) + minutes(5), {idle}) == Change::kResume);
  CHECK_FALSE(p.paused());
  CHECK(p.update(t0 + minutes(20), {idle}) == Change::kNone);
}

TEST_CASE("node.user_activity.one_session_in_use_among_idle_ones_keeps_it_paused") {
  UserActivityPolicy p(minutes(1));
  const Sample long_idle = idle_since(t0 - minutes(30), "1");
  CHECK(p.update(t0, {long_idle, in_use("3")}) == Change::kPause);
  CHECK(p.reason(t0, {long_idle, in_use("3")}).find("session 3 ") == 0);
  CHECK(p.update(t0 + minutes(5), {long_idle, idle_since(t0 + minutes(4) + seconds(30), "3")}) == Change::kNone);
  CHECK(p.update(t0 + minutes(6), {long_idle, idle_since(t0 + minutes(4) + seconds(30), "3")}) ==
        Change::kResume);
}

TEST_CASE("node.user_activity.idle_since_decides_at_the_first_sample") {
  // A node started while the owner typed a minute ago pauses; one started after a long idle
  // stretch does not.
  UserActivityPolicy recent(minutes(5));
  const Sample a_minute_ago = idle_since(t0 - minutes(1));
  CHECK(recent.update(t0, {a_minute_ago}) == Change::kPause);
  CHECK(recent.reason(t0, {a_minute_ago}).find("was in use 60 s ago") != std::string::npos);
  UserActivityPolicy long_ago(minutes(5));
  CHECK(long_ago.update(t0, {idle_since(t0 - minutes(30))}) == Change::kNone);
  CHECK_FALSE(long_ago.paused());
  CHECK(long_ago.reason(t0, {idle_since(t0 - minutes(30))}).empty());
}

TEST_CASE("node.user_activity.no_seated_session_or_none_ever_in_use_is_idle") {
  UserActivityPolicy p(minutes(1));
  CHECK(p.update(t0, {}) == Change::kNone);                       // a headless machine
  CHECK(p.update(t0, {idle_since({})}) == Change::kNone);         // logind's 0: never in use
  CHECK_FALSE(p.paused());
}

TEST_CASE("node.user_activity.activity_again_within_the_window_keeps_it_paused") {
  UserActivityPolicy p(minutes(2));
  REQUIRE(p.update(t0, {in_use()}) == Change::kPause);
  CHECK(p.update(t0 + minutes(1), {idle_since(t0 + seconds(30))}) == Change::kNone);
  CHECK(p.update(t0 + minutes(2), {in_use()}) == Change::kNone);   // back at the keyboard
  const Sample idle = idle_since(t0 + minutes(3));
  CHECK(p.update(t0 + minutes(4), {idle}) == Change::kNone);
  CHECK(p.update(t0 + minutes(5), {idle}) == Change::kResume);
}

TEST_CASE("node.user_activity.fractional_windows_and_an_idle_time_ahead_of_now") {
  UserActivityPolicy p(std::chrono::milliseconds(3000));   // 0.05 minutes
  const Sample idle = idle_since(t0 + seconds(1));
  CHECK(p.update(t0, {idle}) == Change::kPause);   // read a moment before logind's clock
  CHECK(p.update(t0 + seconds(3), {idle}) == Change::kNone);
  CHECK(p.update(t0 + seconds(4), {idle}) == Change::kResume);
}

TEST_CASE("node.user_activity.forget_resumes_a_paused_node_once") {
  UserActivityPolicy p(minutes(5));
  CHECK(p.forget() == Change::kNone);
  REQUIRE(p.update(t0, {in_use()}) == Change::kPause);
  CHECK(p.forget() == Change::kResume);
  CHECK(p.forget() == Change::kNone);
  CHECK(p.update(t0, {in_use()}) == Change::kPause);
}

TEST_CASE("node.user_activity.only_sessions_on_a_seat_count") {
  // An ssh login: no seat, and logind never calls it idle (no desktop sets its hint).
  CHECK_FALSE(UserActivityPolicy::sample_of({"5", "", "tty", false, t0}).has_value());
  CHECK_FALSE(UserActivityPolicy::sample_of({"c1", "", "unspecified", false, {}}).has_value());
  // A desktop on seat0: its idle hint as given.
  auto x11 = UserActivityPolicy::sample_of({"2", "seat0", "x11", false, t0});
  REQUIRE(x11.has_value());
  CHECK_FALSE(x11->idle);
  CHECK(x11->session == "2");
  auto wayland = UserActivityPolicy::sample_of({"3", "seat0", "wayland", true, t0 - minutes(9)});
  REQUIRE(wayland.has_value());
  CHECK(wayland->idle);
  CHECK(wayland->idle_since == t0 - minutes(9));
}

TEST_CASE("node.user_activity.a_text_console_counts_by_its_last_use") {
  // logind leaves a console's IdleHint false (no IdleAction=) and gives its TTY's last use.
  UserActivityPolicy p(minutes(5));
  auto typed_now = UserActivityPolicy::sample_of({"4", "seat0", "tty", false, t0 - seconds(5)});
  REQUIRE(typed_now.has_value());
  CHECK(p.update(t0, {*typed_now}) == Change::kPause);
  auto long_ago = UserActivityPolicy::sample_of({"4", "seat0", "tty", false, t0 - minutes(10)});
  CHECK(p.update(t0, {*long_ago}) == Change::kResume);
  auto unknown = UserActivityPolicy::sample_of({"4", "seat0", "tty", false, {}});
  CHECK_FALSE(p.active(t0, *unknown));
}
