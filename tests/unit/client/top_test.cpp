// Tests of `ppclient top`'s model and table: nodes up, silent after kSilentAfter, left
// after a goodbye (with the facts heard before it), back again, found by both backends;
// rows by host; names with control characters and narrow terminals.
#include "ppclient/src/top.hpp"

#include <doctest/doctest.h>

#include <string>

namespace pp::client {
namespace {

using namespace std::chrono_literals;

proto::NodeFacts facts(const std::string& id, const std::string& host, const std::string& addr) {
  proto::NodeFacts f;
  f.node_id = id;
  f.host = host;
  f.address = addr;
  f.port = 60000;
  f.workers = 4;
  f.speed = 1.25;
  f.load = 0.5;
  f.software = "0.9.1";
  return f;
}

TEST_CASE("client.top.states_and_rows") {
  NodeWatch w;
  const auto t0 = NodeWatch::Clock::now();
  w.seen(facts("b", "beta", "10.0.0.2"), "broadcast", false, t0);
  w.seen(facts("a", "alpha", "10.0.0.1"), "broadcast", false, t0);
  w.seen(facts("a", "alpha", "10.0.0.1"), "mdns", false, t0 + 1s);
  auto rows = w.rows();
  REQUIRE(rows.size() == 2);
  CHECK(rows[0]->facts.host == "alpha");
  CHECK(rows[0]->via == "broadcast+mdns");
  CHECK(std::string(NodeWatch::state(*rows[0], t0 + 2s)) == "up");
  CHECK(std::string(NodeWatch::state(*rows[1], t0 + NodeWatch::kSilentAfter + 1s)) == "silent");

  // A goodbye: left, with the facts heard before it (a BYE may carry fewer).
  proto::NodeFacts bye;
  bye.node_id = "b";
  w.seen(bye, "broadcast", true, t0 + 3s);
  rows = w.rows();
  CHECK(std::string(NodeWatch::state(*rows[1], t0 + 3s)) == "left");
  CHECK(rows[1]->facts.host == "beta");
  std::string table = render_top(w, t0 + 3s, 120);
  CHECK(table.find("host") == 0);
  CHECK(table.find("alpha") != std::string::npos);
  CHECK(table.find("10.0.0.1:60000") != std::string::npos);
  CHECK(table.find(" left ") != std::string::npos);
  CHECK(table.find(" up ") != std::string::npos);
  CHECK(table.find("1.25") != std::string::npos);
  CHECK(table.find("0.9.1") != std::string::npos);
  // Back again.
  w.seen(facts("b", "beta", "10.0.0.2"), "broadcast", false, t0 + 4s);
  CHECK(std::string(NodeWatch::state(*w.rows()[1], t0 + 4s)) == "up");
  // Paused by its machine (its beacon says so), then resumed.
  proto::NodeFacts held = facts("b", "beta", "10.0.0.2");
  held.paused = true;
  w.seen(held, "broadcast", false, t0 + 5s);
  CHECK(std::string(NodeWatch::state(*w.rows()[1], t0 + 5s)) == "paused");
  CHECK(render_top(w, t0 + 5s, 120).find(" paused ") != std::string::npos);
  w.seen(facts("b", "beta", "10.0.0.2"), "broadcast", false, t0 + 6s);
  CHECK(std::string(NodeWatch::state(*w.rows()[1], t0 + 6s)) == "up");
}

TEST_CASE("client.top.load_own_and_other") {
  NodeWatch w;
  const auto t0 = NodeWatch::Clock::now();
  proto::NodeFacts f = facts("a", "alpha", "10.0.0.1");
  f.caps = static_cast<uint32_t>(proto::Cap::kClients);
  f.load_own = 0.94;
  f.load_other = 0.21;
  w.seen(f, "broadcast", false, t0);
  proto::NodeFacts old = facts("b", "beta", "10.0.0.2");   // before load_own: other only
  old.load_other = 1.5;
  w.seen(old, "broadcast", false, t0);
  std::string table = render_top(w, t0, 160);
  CHECK(table.find(" 0.9+0.2 ") != std::string::npos);
  CHECK(table.find(" ?+1.5 ") != std::string::npos);
}

TEST_CASE("client.top.clients_under_each_node") {
  NodeWatch w;
  const auto t0 = NodeWatch::Clock::now();
  w.seen(facts("a", "alpha", "10.0.0.1"), "broadcast", false, t0);
  w.seen(facts("b", "beta", "10.0.0.2"), "broadcast", false, t0);
  w.seen(facts("c", "gamma", "10.0.0.3"), "broadcast", false, t0);
  CHECK(render_top(w, t0, 160).find("clients: unknown (no answer yet)") != std::string::npos);
  w.clients_known("a",
                  {{"desk-7", "10.0.0.7:51234", "x1", 12, 4, 93000},
                   {"lab\033[2J", "10.0.0.8:40000", "x2", 0, 1, 2 * 3600 * 1000}},
                  t0);
  w.clients_unknown("b", "old node");
  w.clients_known("c", {}, t0);
  w.clients_known("nobody", {{"h", "a", "i", 1, 1, 1}}, t0);   // never seen: ignored
  CHECK(w.size() == 3);
  std::string table = render_top(w, t0 + 7s, 160);
  INFO(table);
  // Under alpha, in the order the node gave; connected counts on from the answer.
  size_t alpha = table.find("alpha");
  size_t desk = table.find("  client desk-7");
  size_t beta = table.find("beta");
  REQUIRE(desk != std::string::npos);
  CHECK(alpha < desk);
  CHECK(desk < beta);
  CHECK(table.find("10.0.0.7:51234") != std::string::npos);
  CHECK(table.find("12 queued    4 running  connected 100s") != std::string::npos);
  CHECK(table.find("connected 2h") != std::string::npos);
  CHECK(table.find('\033') == std::string::npos);
  CHECK(table.find("clients: unknown (old node)") > beta);
  CHECK(table.find("clients: none") > table.find("gamma"));
  // A node that left shows no clients.
  proto::NodeFacts bye;
  bye.node_id = "a";
  w.seen(bye, "broadcast", true, t0 + 8s);
  CHECK(render_top(w, t0 + 8s, 160).find("desk-7") == std::string::npos);
}

TEST_CASE("client.top.table_is_safe_and_fits") {
  NodeWatch w;
  const auto t0 = NodeWatch::Clock::now();
  CHECK(render_top(w, t0, 80).find("(no node heard yet)") != std::string::npos);
  w.seen(facts("x", "evil\033[2Jhost-with-a-very-long-name", "10.0.0.9"), "mdns", false, t0);
  std::string table = render_top(w, t0, 40);
  CHECK(table.find('\033') == std::string::npos);
  size_t start = 0;
  while (start < table.size()) {
    size_t end = table.find('\n', start);
    CHECK(end - start <= 39);
    start = end + 1;
  }
}

}  // namespace
}  // namespace pp::client
