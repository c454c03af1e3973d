// Integration: dependencies between jobs through the C++ API, against a real ppserver
// over real TCP: a pp::Job passed as an argument (also inside containers) is replaced
// by that job's first value on the node; a failed input fails its dependents (and
// theirs) with kind "dependency"; a finished job works as an input; a job of another
// cluster is refused; a tree of jobs runs without the driver waiting on any input.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "pp/cluster.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::test::ServerProcess;

constexpr char kSecret[] = "integration-test-secret";

pp::ClusterOptions options_for(const ServerProcess& node) {
  return pp::test::client_options({node.address()}, kSecret, 20s);
}

const pp::Code kSquare = pp::Code::lua("function(x) return x * x end");
const pp::Code kAdd = pp::Code::lua("function(a, b) return a + b end");

}  // namespace

TEST_CASE("integration.dependencies.three_level_chain_of_jobs_as_arguments" *
          doctest::timeout(60)) {
  ServerProcess node({"-w", "2"}, kSecret);
  pp::Cluster cluster(options_for(node));
  pp::Job a = cluster.submit(kSquare, 3);            // 9
  pp::Job b = cluster.submit(kAdd, a, 1);            // 10
  pp::Job c = cluster.submit(kAdd, b, a);            // 19
  CHECK(c.get<int>() == 19);
  CHECK(b.get<int>() == 10);
}

TEST_CASE("integration.dependencies.jobs_inside_containers_and_finished_jobs" *
          doctest::timeout(60)) {
  ServerProcess node({"-w", "2"}, kSecret);
  pp::Cluster cluster(options_for(node));
  pp::Job two = cluster.submit(kSquare, 2);
  pp::Job five = cluster.submit(kSquare, 5);
  const pp::Code sum = pp::Code::lua(
      "function(list, map) local s = 0 for _, v in ipairs(list) do s = s + v end "
      "return s + map.k end");
  std::vector<pp::Job> list{two, five, two};
  std::map<std::string, pp::Job> map{{"k", five}};
  CHECK(cluster.submit(sum, list, map).get<int>() == 4 + 25 + 4 + 25);
  // An input that had finished before its dependent was submitted.
  REQUIRE(two.get<int>() == 4);
  CHECK(cluster.submit(kAdd, two, 1).get<int>() == 5);
  // A job returning nothing passes nil.
  pp::Job none = cluster.submit(pp::Code::lua("function() end"));
  CHECK(cluster.submit(pp::Code::lua("function(v) return v == nil end"), none).get<bool>());
}

TEST_CASE("integration.dependencies.a_failed_input_fails_its_dependents_and_theirs" *
          doctest::timeout(60)) {
  ServerProcess node({"-w", "2"}, kSecret);
  pp::Cluster cluster(options_for(node));
  pp::Job bad = cluster.submit(pp::Code::lua("function() error('boom') end"));
  pp::Job d1 = cluster.submit(kAdd, bad, 1);
  pp::Job d2 = cluster.submit(kAdd, d1, 1);
  pp::Job fine = cluster.submit(kAdd, 1, 1);
  try {
    d1.get<int>();
    FAIL("d1 should have failed");
  } catch (const pp::RemoteError& e) {
    CHECK(e.kind() == "dependency");
    CHECK(e.message().find("input job " + std::to_string(bad.id()) + " failed (lua error)") !=
          std::string::npos);
    CHECK(e.message().find("boom") != std::string::npos);
    CHECK(e.job_id() == d1.id());
  }
  try {
    d2.get<int>();
    FAIL("d2 should have failed");
  } catch (const pp::RemoteError& e) {
    CHECK(e.kind() == "dependency");
    CHECK(e.message().find("input job " + std::to_string(d1.id()) + " failed (dependency)") !=
          std::string::npos);
  }
  CHECK(fine.get<int>() == 2);
  // Submitted after the failure is known: fails at once too.
  CHECK_THROWS_AS(cluster.submit(kAdd, bad, 1).get<int>(), pp::RemoteError);
}

TEST_CASE("integration.dependencies.a_job_of_another_cluster_is_refused" *
          doctest::timeout(60)) {
  ServerProcess node({"-w", "1"}, kSecret);
  pp::Cluster one(options_for(node));
  pp::Cluster other(options_for(node));
  pp::Job foreign = other.submit(kSquare, 3);
  try {
    one.submit(kAdd, foreign, 1);
    FAIL("a job of another cluster was taken");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("another cluster") != std::string::npos);
  }
  CHECK_THROWS_AS(one.submit(kAdd, pp::Job(), 1), std::invalid_argument);
  CHECK(foreign.get<int>() == 9);
  CHECK(one.submit(kSquare, 4).get<int>() == 16);   // nothing else was disturbed
}

TEST_CASE("integration.dependencies.a_tree_reduction_of_two_thousand_leaves" *
          doctest::timeout(120)) {
  ServerProcess node({"-w", "2"}, kSecret);
  pp::Cluster cluster(options_for(node));
  const int n = 2000;
  std::vector<pp::Job> level;
  for (int i = 1; i <= n; ++i) level.push_back(cluster.submit(kSquare, i));
  while (level.size() > 1) {
    std::vector<pp::Job> up;
    for (size_t i = 0; i + 1 < level.size(); i += 2) up.push_back(cluster.submit(kAdd, level[i], level[i + 1]));
    if (level.size() % 2 == 1) up.push_back(level.back());
    level = std::move(up);
  }
  CHECK(level[0].get<long long>() == 1LL * n * (n + 1) * (2 * n + 1) / 6);
}
