// Integration: large arguments and results (the bulk path: fields written from where they
// lie, read into their own buffers) arrive whole, each with its own job, through a real
// node over real TCP.
#include <doctest/doctest.h>

#include <chrono>
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

// Bytes that differ from job to job and along the string, so a mix-up or a shifted
// piece cannot pass.
std::string pattern(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7 + i / 4096) & 0xff);
  return s;
}

// Returns the argument, reversed in blocks so the worker's answer is not the bytes it got,
// and one small value after it (a field after the large one).
const pp::Code kFlip = pp::Code::lua(
    "function(s, tag) local n = #s local h = math.floor(n / 2) "
    "return s:sub(h + 1) .. s:sub(1, h), tag end");

std::string flipped(const std::string& s) {
  size_t h = s.size() / 2;
  return s.substr(h) + s.substr(0, h);
}

}  // namespace

TEST_CASE("integration.bulk.large_arguments_and_results_arrive_whole_per_job" *
          doctest::timeout(120)) {
  ServerProcess node({"-w", "2"}, kSecret);
  pp::Cluster cluster(options_for(node));
  // Sizes around the splicing threshold (64 KiB) and well above it, in flight together.
  const std::vector<size_t> sizes = {65535, 65536, 65537, 300000, 2u << 20, (3u << 20) + 5};
  std::vector<std::string> args;
  std::vector<pp::Job> jobs;
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < sizes.size(); ++i) {
      int seed = round * 100 + static_cast<int>(i);
      args.push_back(pattern(sizes[i], seed));
      jobs.push_back(cluster.submit(kFlip, args.back(), seed));
    }
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    auto h = jobs[i].results();
    const msgpack::object& arr = h.get();
    REQUIRE(arr.type == msgpack::type::ARRAY);
    REQUIRE(arr.via.array.size == 2);
    CHECK(arr.via.array.ptr[0].as<std::string>() == flipped(args[i]));
    CHECK(arr.via.array.ptr[1].as<int>() ==
          static_cast<int>((i / sizes.size()) * 100 + i % sizes.size()));
  }
}

TEST_CASE("integration.bulk.results_handle_outlives_its_job" * doctest::timeout(60)) {
  ServerProcess node({"-w", "1"}, kSecret);
  pp::Cluster cluster(options_for(node));
  const std::string arg = pattern(1u << 20, 9);
  msgpack::object_handle h;
  {
    pp::Job job = cluster.submit(kFlip, arg, 9);
    h = job.results();
  }  // the Job is gone; the handle's strings point into the result it keeps alive
  const msgpack::object& arr = h.get();
  REQUIRE(arr.type == msgpack::type::ARRAY);
  REQUIRE(arr.via.array.size == 2);
  CHECK(arr.via.array.ptr[0].as<std::string>() == flipped(arg));
  CHECK(arr.via.array.ptr[1].as<int>() == 9);
}

TEST_CASE("integration.bulk.map_keeps_order_with_large_and_table_results" * doctest::timeout(60)) {
  ServerProcess node({"-w", "2"}, kSecret);
  pp::Cluster cluster(options_for(node));
  std::vector<std::string> items;
  for (int i = 0; i < 40; ++i) items.push_back(pattern(i % 4 == 0 ? 200000 + i : 10 + i, i));
  const pp::Code twice = pp::Code::lua("function(s) return s .. s end");
  std::vector<std::string> out = cluster.map<std::string>(twice, items);
  REQUIRE(out.size() == items.size());
  for (size_t i = 0; i < items.size(); ++i) CHECK(out[i] == items[i] + items[i]);
  // Tables come out of the per-thread scratch space whole, one after another.
  const pp::Code range =
      pp::Code::lua("function(n) local t = {} for i = 1, n do t[i] = i * n end return t end");
  std::vector<int> ns = {0, 1, 5, 300, 2};
  auto tables = cluster.map<std::vector<long long>>(range, ns);
  REQUIRE(tables.size() == ns.size());
  for (size_t k = 0; k < ns.size(); ++k) {
    REQUIRE(tables[k].size() == static_cast<size_t>(ns[k]));
    for (int i = 0; i < ns[k]; ++i) CHECK(tables[k][i] == 1LL * (i + 1) * ns[k]);
  }
  // A failed job still fails its get() (and map) with the node's error.
  pp::Job bad = cluster.submit(pp::Code::lua("function() error('no') end"));
  CHECK_THROWS_AS(bad.packed_results(), pp::RemoteError);
}
