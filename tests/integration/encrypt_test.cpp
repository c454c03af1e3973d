// Integration: encrypted sessions (ppserver --encrypt, ClusterOptions::encrypt) with
// real nodes: either side can ask, jobs run as before, both ends log it, and a node
// that insists still talks only to holders of the secret.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "pp/cluster.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::test::ServerProcess;

constexpr char kSecret[] = "encrypt-test-secret";
const pp::Code kEcho = pp::Code::lua("function(s, n) return s:rep(n) end");

pp::ClusterOptions options_for(const ServerProcess& node, bool encrypt,
                               std::string secret = kSecret) {
  pp::ClusterOptions o;
  o.servers = {node.address()};
  o.local_workers = 0;
  o.secret = std::move(secret);
  o.encrypt = encrypt;
  o.no_node_timeout = 20s;
  return o;
}

void run_jobs(pp::Cluster& cluster) {
  std::vector<pp::Job> jobs;
  for (int i = 0; i < 200; ++i) jobs.push_back(cluster.submit(kEcho, std::string("ab"), i));
  // One large argument and result: several MB through the cipher both ways.
  pp::Job big = cluster.submit(kEcho, std::string(1 << 20, 'z'), 4);
  for (int i = 0; i < 200; ++i) {
    std::string want;
    for (int k = 0; k < i; ++k) want += "ab";
    CHECK(jobs[i].get<std::string>() == want);
  }
  CHECK(big.get<std::string>() == std::string(4 << 20, 'z'));
}

}  // namespace

TEST_CASE("integration.encrypt.node_insists" * doctest::timeout(60)) {
  ServerProcess node({"-w", "2", "--encrypt"}, kSecret);
  pp::Cluster cluster(options_for(node, false));
  run_jobs(cluster);
  CHECK(node.wait_for_log("(encrypted session)", 5s));
}

TEST_CASE("integration.encrypt.client_asks" * doctest::timeout(60)) {
  ServerProcess node({"-w", "2"}, kSecret);
  pp::Cluster cluster(options_for(node, true));
  run_jobs(cluster);
  CHECK(node.wait_for_log("(encrypted session)", 5s));
}

TEST_CASE("integration.encrypt.plain_when_nobody_asks" * doctest::timeout(60)) {
  ServerProcess node({"-w", "1"}, kSecret);
  pp::Cluster cluster(options_for(node, false));
  CHECK(cluster.submit(kEcho, std::string("x"), 3).get<std::string>() == "xxx");
  CHECK(node.wait_for_log("connected", 5s));
  CHECK(node.log().find("(encrypted session)") == std::string::npos);
}

TEST_CASE("integration.encrypt.wrong_secret_still_refused" * doctest::timeout(60)) {
  ServerProcess node({"-w", "1", "--encrypt"}, kSecret);
  pp::Cluster cluster(options_for(node, true, "not-the-secret"));
  auto job = cluster.submit(kEcho, std::string("x"), 1);
  try {
    job.get<std::string>();
    FAIL("a job ran with the wrong secret");
  } catch (const pp::RemoteError& e) {
    CHECK(e.message().find("secret") != std::string::npos);
  }
  CHECK(node.wait_for_log("authentication failed", 5s));
  CHECK(node.alive());
}
