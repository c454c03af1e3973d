// JobTimes: which code is known to be short, from the times its jobs took.
#include "ppserver/job_times.hpp"

#include <doctest/doctest.h>

#include <string>

namespace {

using pp::server::JobTimes;

TEST_CASE("node.job_times.unknown_until_a_job_finished") {
  JobTimes t;
  CHECK(t.mean("a") < 0);
  CHECK_FALSE(t.known_short("a"));
  t.add("a", 0.0001);
  CHECK(t.mean("a") == doctest::Approx(0.0001));
  CHECK(t.known_short("a"));
  CHECK(t.short_mean("a") == doctest::Approx(0.0001));
  CHECK_FALSE(t.known_short("b"));  // per code: another is still unknown
}

TEST_CASE("node.job_times.a_long_job_ends_being_short") {
  JobTimes t;
  t.add("a", 0.0001);
  t.add("a", 0.5);  // 0.8 * 0.0001 + 0.2 * 0.5
  CHECK(t.mean("a") == doctest::Approx(0.10008));
  CHECK_FALSE(t.known_short("a"));
  CHECK(t.short_mean("a") < 0);
  for (int i = 0; i < 40; ++i) t.add("a", 0.0001);
  CHECK(t.known_short("a"));  // short again once its jobs are
  t.add("b", JobTimes::kShortSeconds);
  CHECK_FALSE(t.known_short("b"));  // the bound itself is not short
}

TEST_CASE("node.job_times.starts_over_past_its_size") {
  JobTimes t;
  for (size_t i = 0; i < JobTimes::kMaxCodes; ++i) t.add(std::to_string(i), 0.0001);
  CHECK(t.known_short("0"));
  t.add("0", 0.0001);  // a known code does not make room
  CHECK(t.known_short("1"));
  t.add("new", 0.0001);
  CHECK_FALSE(t.known_short("1"));
  CHECK(t.known_short("new"));
}

}  // namespace
