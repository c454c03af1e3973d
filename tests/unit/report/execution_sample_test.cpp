// The bounded sample of executions behind the timeline (ExecutionSample), and the
// report drawn from a sample: its figures stay exact whatever the sample keeps, and
// the pictures say what they do not show.
#include "ppclient/report/execution_sample.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "tests/unit/report/report_sample.hpp"

using namespace pp::client::report;

namespace {

// Job j runs from j to j + 0.5 on worker j % 4 of node 0.
Execution plain(uint64_t j) {
  const double t = static_cast<double>(j);
  return {j, 0, static_cast<uint32_t>(j % 4), t, t + 0.5, Kind::kNormal, Fate::kWon};
}

std::vector<uint64_t> jobs_of(const std::vector<Execution>& v) {
  std::vector<uint64_t> out;
  for (const Execution& e : v) out.push_back(e.job);
  return out;
}

}  // namespace

TEST_CASE("report.sample: keeps everything while it fits") {
  ExecutionSample s(3, 2, 1);
  for (uint64_t j = 1; j <= 5; ++j) s.add(plain(j));
  CHECK(jobs_of(s.kept()) == std::vector<uint64_t>{1, 2, 3, 4, 5});
  CHECK(s.added() == 5);
  CHECK(s.dropped() == 0);
  ExecutionSample none;
  CHECK(none.kept().empty());
  CHECK(none.dropped() == 0);
}

TEST_CASE("report.sample: the first and the last ones, the middle counted with its time range") {
  ExecutionSample s(3, 4, 0);
  for (uint64_t j = 1; j <= 100; ++j) s.add(plain(j));
  CHECK(jobs_of(s.kept()) == std::vector<uint64_t>{1, 2, 3, 97, 98, 99, 100});
  CHECK(s.added() == 100);
  CHECK(s.dropped() == 93);
  CHECK(s.dropped_from() == 4.0);     // job 4 started at 4
  CHECK(s.dropped_to() == 96.5);      // job 96 ended at 96.5
}

TEST_CASE("report.sample: stays bounded over a million executions") {
  ExecutionSample s;   // the job server's sizes
  const uint64_t n = 1000000;
  for (uint64_t j = 1; j <= n; ++j) s.add(plain(j));
  std::vector<Execution> kept = s.kept();
  CHECK(kept.size() == ExecutionSample::kFirst + ExecutionSample::kLast);
  CHECK(s.dropped() + kept.size() == n);
  CHECK(kept.front().job == 1);
  CHECK(kept.back().job == n);
  // In the order added: the ring of the last ones is unrolled.
  for (size_t i = 1; i < kept.size(); ++i) REQUIRE(kept[i - 1].job < kept[i].job);
}

TEST_CASE("report.sample: stolen, backup, lost, failed and crashed copies from the middle stay") {
  ExecutionSample s(2, 2, 3);
  std::vector<Execution> all;
  for (uint64_t j = 1; j <= 40; ++j) {
    Execution e = plain(j);
    if (j == 10) e.kind = Kind::kStolen;
    if (j == 11) e.kind = Kind::kBackup;
    if (j == 12) e.fate = Fate::kCrashed;
    if (j == 13) e.fate = Fate::kFailed;   // the fourth: beyond `notable`, dropped
    if (j == 39) e.fate = Fate::kLost;     // among the last: kept there
    s.add(e);
  }
  CHECK(jobs_of(s.kept()) == std::vector<uint64_t>{1, 2, 10, 11, 12, 39, 40});
  CHECK(s.dropped() == 33);
  CHECK(s.dropped_from() == 3.0);
  CHECK(s.dropped_to() == 38.5);
}

TEST_CASE("report.sample: odd sizes and times") {
  ExecutionSample no_tail(2, 0, 0);
  for (uint64_t j = 1; j <= 10; ++j) no_tail.add(plain(j));
  CHECK(jobs_of(no_tail.kept()) == std::vector<uint64_t>{1, 2});
  CHECK(no_tail.dropped() == 8);

  ExecutionSample nothing(0, 0, 0);
  Execution odd = plain(1);
  odd.start = std::numeric_limits<double>::quiet_NaN();
  odd.end = std::numeric_limits<double>::infinity();
  nothing.add(odd);
  CHECK(nothing.dropped() == 1);
  CHECK(nothing.dropped_from() == 0);   // no finite time: no range
  CHECK(nothing.dropped_to() == 0);
  nothing.add(plain(7));
  CHECK(nothing.dropped_from() == 7.0);
  CHECK(nothing.dropped_to() == 7.5);
}

namespace {

// The simulated batch with its executions run through a small sample, as the job
// server does; the figures are the full report's (tallied from every execution).
Report sampled(const Report& full, ExecutionSample& s) {
  for (const Execution& e : full.executions) s.add(e);
  Report r = full;
  r.executions = s.kept();
  r.executions_dropped = s.dropped();
  r.dropped_from = s.dropped_from();
  r.dropped_to = s.dropped_to();
  return r;
}

// The table without its last line (the one about the sample).
std::string figures_of(const std::string& table) {
  const std::string marker = "Executions left out of the timeline's sample";
  size_t at = table.find(marker);
  return at == std::string::npos ? table : table.substr(0, at);
}

}  // namespace

TEST_CASE("report.sample: the figures stay exact over many more executions than the sample holds") {
  const Report full = sample::simulated(30000);
  REQUIRE(full.executions.size() > 30000);
  ExecutionSample s(500, 500, 50);
  const Report r = sampled(full, s);
  CHECK(r.executions.size() == 1050);
  CHECK(r.executions.size() + r.executions_dropped == full.executions.size());
  CHECK(r.dropped_from > 0);
  CHECK(r.dropped_to > r.dropped_from);
  // Nothing shown as a figure depends on which executions were kept.
  CHECK(figures_of(to_table(r)) == figures_of(to_table(full)));
  CHECK(to_table(r).find("(the figures count them): " + std::to_string(r.executions_dropped)) !=
        std::string::npos);
  for (size_t i = 0; i < full.nodes.size(); ++i) {
    CHECK(derive(r, i).share == derive(full, i).share);
    CHECK(derive(r, i).throughput_per_worker == derive(full, i).throughput_per_worker);
    CHECK(derive(r, i).relative_speed == derive(full, i).relative_speed);
  }
  CHECK(speedup(r) == speedup(full));
  uint64_t jobs = 0;
  for (const NodeRow& n : r.nodes) jobs += n.jobs;
  CHECK(jobs == 30000);
  CHECK(r.batch.jobs == 30000);
  // The JSON keeps the figures and says what the sample left out.
  auto back = from_json(to_json(r));
  REQUIRE_MESSAGE(back.has_value(), back.status().to_string());
  CHECK(*back == r);
  CHECK(back->nodes == full.nodes);
}

TEST_CASE("report.sample: recent(n) is the end of kept(), the newest last") {
  ExecutionSample s(3, 4, 2);
  CHECK(s.recent(5).empty());
  for (uint64_t j = 1; j <= 2; ++j) s.add(plain(j));
  CHECK(jobs_of(s.recent(5)) == std::vector<uint64_t>{1, 2});
  for (uint64_t j = 3; j <= 5; ++j) s.add(plain(j));   // first 1-3, last 4-5 (not full)
  CHECK(jobs_of(s.recent(3)) == std::vector<uint64_t>{3, 4, 5});
  for (uint64_t j = 6; j <= 11; ++j) s.add(plain(j));  // the ring wrapped
  CHECK(jobs_of(s.recent(2)) == std::vector<uint64_t>{10, 11});
  CHECK(jobs_of(s.recent(4)) == std::vector<uint64_t>{8, 9, 10, 11});
  const auto all = s.kept();
  const auto tail = s.recent(100);
  CHECK(jobs_of(tail) == jobs_of(all));
}
