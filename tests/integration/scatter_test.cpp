// Integration: values scattered once (Cluster::scatter, js:scatter's engine) on real
// nodes. A large value reaches each node once however many jobs use it (the bytes sent
// to each node, from the report's figures); a node that joins later or restarts gets
// it when a job there first needs it; a release frees it in the node's store (its
// log's "data cache" line); a value no connected node can hold is refused at scatter
// with its size and the limit; a job's changes to it are seen by the next jobs of the
// same client on that worker only.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "core/proto/auth.hpp"
#include "core/proto/data_ref.hpp"
#include "pp/cluster.hpp"
#include "pp/shared.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::test::ServerProcess;

constexpr char kSecret[] = "scatter-test-secret";

pp::ClusterOptions options_for(std::vector<std::string> servers) {
  return pp::test::client_options(std::move(servers), kSecret, 30s);
}

// A port free now on loopback (for a node started later on a known port).
uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

std::map<std::string, pp::NodeStats> stats_by_node(const pp::Cluster& cluster) {
  std::map<std::string, pp::NodeStats> out;
  for (const auto& s : cluster.stats()) out[s.node] = s;
  return out;
}

const pp::Code kPick = pp::Code::lua("function(t, i) return t[i] + #t end");

}  // namespace

TEST_CASE("integration.scatter.a_20_mb_table_reaches_each_node_once" * doctest::timeout(180)) {
  ServerProcess a({"-w", "2"}, kSecret);
  ServerProcess b({"-w", "2"}, kSecret);
  pp::Cluster cluster(options_for({a.address(), b.address()}));
  cluster.wait_for_workers(4);
  std::vector<double> table(2'300'000);
  for (size_t i = 0; i < table.size(); ++i) table[i] = static_cast<double>(i % 977) + 0.5;
  pp::Shared shared = cluster.scatter(table);
  const uint64_t size = shared.size();
  MESSAGE("scattered value: ", size, " bytes");
  CHECK(size > 20'000'000);
  // Slow enough that both nodes take some of the 200 jobs.
  auto code = pp::Code::lua(
      "function(t, i) local c = os.clock() while os.clock() - c < 0.005 do end "
      "return t[i] + #t end");
  std::vector<pp::Job> jobs;
  for (int i = 1; i <= 200; ++i) jobs.push_back(cluster.submit(code, shared, i * 1000));
  for (int i = 1; i <= 200; ++i) {
    CHECK(jobs[i - 1].get<double>() == table[i * 1000 - 1] + static_cast<double>(table.size()));
  }
  auto stats = stats_by_node(cluster);
  REQUIRE(stats.size() == 2);
  for (const auto& [name, s] : stats) {
    CAPTURE(name);
    MESSAGE(name, ": ", s.jobs, " jobs, ", s.bytes_sent, " bytes sent, ", s.bytes_received,
            " received");
    CHECK(s.jobs > 0);
    CHECK(s.bytes_sent >= size);                            // it got the value...
    CHECK(static_cast<double>(s.bytes_sent) < 1.2 * static_cast<double>(size));   // ...once
    CHECK(s.bytes_received > 0);
  }
}

TEST_CASE("integration.scatter.a_node_that_joins_later_or_restarts_gets_it" *
          doctest::timeout(180)) {
  ServerProcess a({"-w", "1"}, kSecret);
  const uint16_t late_port = free_port();
  const std::string late = "127.0.0.1:" + std::to_string(late_port);
  auto restarting = std::make_unique<ServerProcess>(std::vector<std::string>{"-w", "1"}, kSecret);
  const std::string again = restarting->address();
  const uint16_t again_port = restarting->port();
  pp::Cluster cluster(options_for({a.address(), again, late}));
  cluster.wait_for_workers(2);
  std::vector<int> table(300'000);
  for (size_t i = 0; i < table.size(); ++i) table[i] = static_cast<int>(i);
  pp::Shared shared = cluster.scatter(table);
  auto on = [&](const std::string& node, int i) {
    pp::SubmitOptions o;
    o.node = node;
    return cluster.submit(o, kPick, shared, i).get<int>();
  };
  CHECK(on(again, 5) == 4 + 300'000);
  // kill -9, then a fresh node on the same port: the value is sent to it again.
  restarting->kill9();
  restarting.reset();
  ServerProcess restarted({"-w", "1", "-p", std::to_string(again_port)}, kSecret);
  REQUIRE(restarted.port() == again_port);
  CHECK(on(again, 7) == 6 + 300'000);
  // A node that was not there when the value was scattered.
  ServerProcess joined({"-w", "1", "-p", std::to_string(late_port)}, kSecret);
  CHECK(on(late, 9) == 8 + 300'000);
  CHECK(on(a.address(), 11) == 10 + 300'000);
  auto stats = stats_by_node(cluster);
  CHECK(stats[late].bytes_sent >= shared.size());
  CHECK(restarted.wait_for_log("data cache: 1 values", 10s));
  CHECK(joined.wait_for_log("data cache: 1 values", 10s));
}

TEST_CASE("integration.scatter.release_frees_the_nodes_store" * doctest::timeout(120)) {
  ServerProcess node({"-w", "2", "-d"}, kSecret);   // -d: releases are logged at debug level
  pp::Cluster cluster(options_for({node.address()}));
  cluster.wait_for_workers(2);
  std::vector<int> table(500'000, 3);
  pp::Shared shared = cluster.scatter(table);
  const std::string held = "data cache: 1 values, " + std::to_string(shared.size()) + " of ";
  std::vector<pp::Job> jobs;
  for (int i = 1; i <= 20; ++i) jobs.push_back(cluster.submit(kPick, shared, i));
  pp::Shared copy = shared;   // copies share one hold
  shared.release();
  for (auto& j : jobs) CHECK(j.get<int>() == 3 + 500'000);
  CHECK(node.wait_for_log(held, 10s));
  CHECK(node.count_in_log("data cache: 0 values") == 0);
  jobs.clear();
  copy.release();   // the last holder: the node frees it
  CHECK(node.wait_for_log("data cache: 0 values, 0 of", 10s));
  CHECK_THROWS_AS(cluster.submit(kPick, copy, 1), std::invalid_argument);
}

TEST_CASE("integration.scatter.a_value_no_node_can_hold_is_refused_with_its_size" *
          doctest::timeout(60)) {
  ServerProcess node({"-w", "1", "--data-cache", "1"}, kSecret);
  pp::Cluster cluster(options_for({node.address()}));
  cluster.wait_for_workers(1);
  std::string big(2'000'000, 'x');
  try {
    cluster.scatter(big);
    FAIL("a value over every node's limit was scattered");
  } catch (const std::exception& e) {
    std::string m = e.what();
    CAPTURE(m);
    CHECK(m.find("2,000,005 bytes") != std::string::npos);   // str32 header + bytes
    CHECK(m.find("1,048,576 bytes") != std::string::npos);
    CHECK(m.find("--data-cache") != std::string::npos);
  }
  // A small one still fits, and works.
  pp::Shared small = cluster.scatter(std::vector<int>{4, 5, 6});
  CHECK(cluster.submit(kPick, small, 2).get<int>() == 5 + 3);
}

TEST_CASE("integration.scatter.changes_are_seen_by_the_same_client_only" *
          doctest::timeout(60)) {
  ServerProcess node({"-w", "1"}, kSecret);
  pp::Cluster first(options_for({node.address()}));
  pp::Cluster second(options_for({node.address()}));
  auto bump = pp::Code::lua("function(t) t.n = t.n + 1 return t.n end");
  std::map<std::string, int> start{{"n", 10}};
  pp::Shared mine = first.scatter(start);
  pp::Shared theirs = second.scatter(start);   // the same content, another client
  CHECK(first.submit(bump, mine).get<int>() == 11);
  CHECK(first.submit(bump, mine).get<int>() == 12);   // the worker's one decoded value
  CHECK(second.submit(bump, theirs).get<int>() == 11);   // never the first client's
  CHECK(first.submit(bump, mine).get<int>() == 11);   // the worker was reset in between
  // A value nested in the arguments arrives as the value too.
  auto nested = pp::Code::lua("function(a) return a.inner[1].n end");
  std::map<std::string, std::vector<pp::Shared>> args{{"inner", {mine}}};
  CHECK(first.submit(nested, args).get<int>() == 11);
}

// The protocol by hand: a node checks DATA against its hash, and a job naming a value
// its client does not hold is rejected, saying so; HELLO carries the node's limit.
TEST_CASE("integration.scatter.the_node_checks_data_and_names_what_is_missing" *
          doctest::timeout(60)) {
  ServerProcess node({"-w", "1", "--data-cache", "3"}, kSecret);
  const std::string blob = pp::Code::lua("function(t) return t[2] end").blob();
  const std::string code_hash = pp::proto::code_hash(blob);
  const std::string value = "\x93\x01\x02\x03";   // [1, 2, 3]
  const pp::proto::DataRef ref{pp::proto::data_hash(value), value.size()};
  std::string args = "\x91";
  pp::proto::put_data_ref(args, ref);
  auto result_of = [](pp::test::RawConnection& c) {
    for (;;) {
      auto m = c.receive(10s);
      REQUIRE(m.has_value());
      if (auto* r = std::get_if<pp::proto::ResultMsg>(&*m)) return *r;
    }
  };
  {
    pp::test::RawConnection c(node.port());
    auto hello = pp::test::handshake(c, kSecret);
    REQUIRE(hello.has_value());
    CHECK(hello->data_cache == uint64_t{3} << 20);
    CHECK(pp::proto::Caps{hello->caps}.has(pp::proto::Cap::kData));
    REQUIRE(c.send(pp::proto::CodeMsg{code_hash, blob}));
    REQUIRE(c.send(pp::proto::Submit{1, code_hash, args, 0}));
    auto missing = result_of(c);
    CHECK(missing.status == pp::proto::JobStatus::kRejected);
    CHECK(missing.error.find("holds no scattered value") != std::string::npos);
    REQUIRE(c.send(pp::proto::DataMsg{ref.hash, value}));
    REQUIRE(c.send(pp::proto::Submit{2, code_hash, args, 0}));
    auto ok = result_of(c);
    CHECK(ok.status == pp::proto::JobStatus::kOk);
    CHECK(ok.value == "\x91\x02");
    // A value over the node's limit is not kept; a job naming it hears why.
    std::string big = "\xc6" + std::string("\x00\x40\x00\x00", 4) + std::string(4 << 20, 'x');
    const pp::proto::DataRef big_ref{pp::proto::data_hash(big), big.size()};
    std::string big_args = "\x91";
    pp::proto::put_data_ref(big_args, big_ref);
    REQUIRE(c.send(pp::proto::DataMsg{big_ref.hash, big}));
    REQUIRE(c.send(pp::proto::Submit{3, code_hash, big_args, 0}));
    auto refused = result_of(c);
    CHECK(refused.status == pp::proto::JobStatus::kRejected);
    CHECK(refused.error.find("4,194,309 bytes does not fit") != std::string::npos);
  }
  CHECK(node.wait_for_log("data cache: 0 values", 10s));   // its holds ended with it
  // Bytes under a false name end the session: the store is shared by the node's clients.
  pp::test::RawConnection c(node.port());
  REQUIRE(pp::test::handshake(c, kSecret).has_value());
  c.send(pp::proto::DataMsg{pp::proto::data_hash("other"), value});
  CHECK(c.wait_closed(10s));
  CHECK(node.wait_for_log("do not have the hash they came with", 10s));
}
