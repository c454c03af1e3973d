// BusyPolicy: grace period, minimum pause and the resume margin, on an injected clock.
#include "ppserver/guest/busy_policy.hpp"

#include <doctest/doctest.h>

namespace {

using pp::server::guest::BusyPolicy;
using Change = BusyPolicy::Change;
using std::chrono::seconds;

BusyPolicy policy() { return BusyPolicy({50, std::chrono::seconds(10), std::chrono::seconds(30)}); }

TEST_CASE("node.busy_policy.pauses_after_the_grace_period") {
  BusyPolicy p = policy();
  BusyPolicy::Clock::time_point t0{};
  for (int s = 0; s < 10; ++s) CHECK(p.update(t0 + seconds(s), 80) == Change::kNone);
  CHECK(p.update(t0 + seconds(10), 80) == Change::kPause);
  CHECK(p.paused());
  CHECK(p.update(t0 + seconds(11), 80) == Change::kNone);
}

TEST_CASE("node.busy_policy.a_spike_shorter_than_the_grace_does_nothing") {
  BusyPolicy p = policy();
  BusyPolicy::Clock::time_point t0{};
  for (int s = 0; s < 9; ++s) CHECK(p.update(t0 + seconds(s), 90) == Change::kNone);
  CHECK(p.update(t0 + seconds(9), 20) == Change::kNone);   // the spike ends: the count starts over
  for (int s = 10; s < 19; ++s) CHECK(p.update(t0 + seconds(s), 90) == Change::kNone);
  CHECK_FALSE(p.paused());
}

TEST_CASE("node.busy_policy.resumes_after_the_minimum_and_below_the_margin") {
  BusyPolicy p = policy();
  BusyPolicy::Clock::time_point t0{};
  p.update(t0, 80);
  REQUIRE(p.update(t0 + seconds(10), 80) == Change::kPause);
  CHECK(p.resume_below() == doctest::Approx(40));
  // 45 % is below PCT but not below the margin: still paused.
  for (int s = 11; s < 60; ++s) CHECK(p.update(t0 + seconds(s), 45) == Change::kNone);
  // Quiet from 60 s: resumes after the grace period below the margin (70 s).
  for (int s = 60; s < 70; ++s) CHECK(p.update(t0 + seconds(s), 5) == Change::kNone);
  CHECK(p.update(t0 + seconds(70), 5) == Change::kResume);
  CHECK_FALSE(p.paused());
}

TEST_CASE("node.busy_policy.stays_paused_for_the_minimum") {
  BusyPolicy p = policy();
  BusyPolicy::Clock::time_point t0{};
  p.update(t0, 80);
  REQUIRE(p.update(t0 + seconds(10), 80) == Change::kPause);
  for (int s = 11; s < 40; ++s) CHECK(p.update(t0 + seconds(s), 0) == Change::kNone);
  CHECK(p.update(t0 + seconds(40), 0) == Change::kResume);  // 30 s after the pause
}

}  // namespace
