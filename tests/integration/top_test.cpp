// Integration: who uses a node (CLIENTS, Cap::kClients) and `ppclient top` showing it. Two
// clients run batches on a one-worker node (one job running, the others queued, long enough
// to stay so); an authenticated session asking CLIENTS_ASK hears both, with their hosts,
// addresses and jobs, and not itself; one that asked is not listed to others (a watcher is no
// user); a peer that has not authenticated is refused and learns nothing. Then
// `ppclient top` (not a terminal: one table) finds the node by its beacons and lists both
// clients under it, and the node's load as own+other.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>

#include "core/proto/auth.hpp"
#include "pp/cluster.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::test::RawConnection;
using pp::test::ServerProcess;

constexpr char kSecret[] = "top-test-secret-0123456789abcdef";
// Keeps its worker busy for `s` seconds of CPU (far longer than the test: the node's end
// stops it).
const pp::Code kBusy =
    pp::Code::lua("function(s) local t = os.clock() while os.clock() - t < s do end return s end");

// An authenticated client session by hand, with a host name of its choosing, that submits
// kBusy jobs: the counts on the node are then exactly known.
class Client {
 public:
  Client(const ServerProcess& node, const std::string& host)
      : c_(std::make_unique<RawConnection>(node.port())) {
    pp::proto::Hello hello;
    hello.host = host;
    hello.node_id = host + "-id";
    REQUIRE(pp::test::handshake(*c_, kSecret, hello).has_value());
    blob_ = kBusy.blob();
    hash_ = pp::proto::code_hash(blob_);
    c_->send(pp::proto::CodeMsg{hash_, blob_});
  }
  void submit(uint64_t id) {
    msgpack::sbuffer b;
    msgpack::pack(b, std::make_tuple(600.0));
    c_->send(
        pp::proto::Submit{.job_id = id, .hash = hash_, .args = std::string(b.data(), b.size())});
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(c_->local_port()); }
  // CLIENTS_ASK, and the CLIENTS that answers it (heartbeats on the way are skipped).
  std::optional<pp::proto::Clients> ask() {
    if (!c_->send(pp::proto::ClientsAsk{})) return std::nullopt;
    for (int i = 0; i < 60; ++i) {
      auto m = c_->receive(500ms);
      if (!m) return std::nullopt;
      if (auto* c = std::get_if<pp::proto::Clients>(&*m)) return *c;
    }
    return std::nullopt;
  }
  void heartbeat() { c_->send(pp::proto::Heartbeat{}); }

 private:
  std::unique_ptr<RawConnection> c_;
  std::string blob_, hash_;
};

const pp::proto::ClientInfo* find(const pp::proto::Clients& c, const std::string& host) {
  for (const auto& i : c.clients)
    if (i.host == host) return &i;
  return nullptr;
}

}  // namespace

TEST_CASE("integration.top.clients_of_a_node_and_ppclient_top" * doctest::timeout(120)) {
  // A discovery port of this test's own, so other nodes on this machine do not count.
  const std::string port = std::to_string(std::random_device{}() % 10000 + 40000);
  ServerProcess node(
      {"-w", "1", "-a", "--no-mdns", "--discovery-port", port, "--announce-interval", "0.3"},
      kSecret);
  Client a(node, "desk-a");
  Client b(node, "desk-b");
  Client watcher(node, "watcher");
  std::optional<pp::proto::Clients> seen;
  // Until the node holds `a_jobs` of a's (one running) and `b_jobs` of b's: SUBMITs are in
  // flight until it has read them, and the worker starts once it is ready.
  auto holds = [&](uint64_t a_jobs, uint64_t b_jobs) {
    return pp::test::wait_until(
        [&] {
          a.heartbeat(), b.heartbeat();
          seen = watcher.ask();
          const auto* ia = seen ? find(*seen, "desk-a") : nullptr;
          const auto* ib = seen ? find(*seen, "desk-b") : nullptr;
          return ia != nullptr && ib != nullptr && ia->running == 1 &&
                 ia->queued + ia->running == a_jobs && ib->queued + ib->running == b_jobs;
        },
        30s);
  };
  for (uint64_t id = 1; id <= 3; ++id) a.submit(id);  // one runs, two wait
  REQUIRE(holds(3, 0));
  for (uint64_t id = 1; id <= 2; ++id) b.submit(id);  // both wait behind a's
  REQUIRE(holds(3, 2));
  REQUIRE(seen->clients.size() == 2);  // not the watcher itself
  const auto* ia = find(*seen, "desk-a");
  const auto* ib = find(*seen, "desk-b");
  CHECK(ia->running == 1);
  CHECK(ia->queued == 2);
  CHECK(ib->running == 0);
  CHECK(ib->queued == 2);
  CHECK(ia->address == a.address());
  CHECK(ib->address == b.address());
  CHECK(ia->client_id == "desk-a-id");
  CHECK(ia->connected_ms >= ib->connected_ms);  // a authenticated first

  // A second watcher does not see the first (it asked: a watcher, not a user).
  Client other(node, "watcher-2");
  auto second = other.ask();
  REQUIRE(second.has_value());
  CHECK(second->clients.size() == 2);
  CHECK(find(*second, "watcher") == nullptr);

  // Before authentication: refused, and nothing of the list comes back.
  RawConnection stranger(node.port());
  REQUIRE(stranger.connected());
  stranger.send(pp::proto::ClientsAsk{});
  auto answer = stranger.receive(10s);
  REQUIRE(answer.has_value());
  CHECK(std::holds_alternative<pp::proto::Error>(*answer));
  CHECK(stranger.wait_closed(10s));

  // `ppclient top`, not on a terminal: one table with the node and both clients under it.
  const auto dir = std::filesystem::temp_directory_path() / ("pp-top-test-" + port);
  std::filesystem::create_directories(dir);
  const std::string secret_file = (dir / "secret").string();
  std::ofstream(secret_file) << kSecret;
  std::filesystem::permissions(
      secret_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  a.heartbeat(), b.heartbeat();
  auto top = pp::test::run_command("env -u PP_SECRET PP_DISCOVERY=broadcast timeout 60 " +
                                   pp::test::bin_dir() + "/ppclient top --wait 3 -s " +
                                   secret_file + " --discovery-port " + port + " 2>&1");
  a.heartbeat(), b.heartbeat();
  std::filesystem::remove_all(dir);
  INFO("ppclient top printed:\n" << top.output);
  CHECK(top.status == 0);
  CHECK(top.output.find(node.address()) != std::string::npos);
  CHECK(top.output.find("client desk-a") != std::string::npos);
  CHECK(top.output.find("client desk-b") != std::string::npos);
  CHECK(top.output.find(a.address()) != std::string::npos);
  CHECK(top.output.find(b.address()) != std::string::npos);
  CHECK(top.output.find("2 queued    1 running") != std::string::npos);
  CHECK(top.output.find("2 queued    0 running") != std::string::npos);
  CHECK(top.output.find("clients: unknown") == std::string::npos);
  CHECK(top.output.find('\033') == std::string::npos);
  // Its own session said goodbye and was never listed as a user.
  CHECK(top.output.find("client watcher") == std::string::npos);
}
