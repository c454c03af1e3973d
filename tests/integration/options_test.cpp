// Integration: the command lines of ppserver and ppclient as a user types them.
// Every bad numeric value is refused with exit status 2 and a message naming the
// option, the value and the range; the edges of each range start a node that
// serves; names given to -i are resolved; a port in use is named.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "pp/cluster.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::test::bin_dir;
using pp::test::run_command;
using pp::test::ServerProcess;

// `timeout`: a value wrongly accepted would otherwise leave a node serving.
pp::test::CommandResult ppserver(const std::string& args) {
  return run_command("timeout 20 " + bin_dir() + "/ppserver " + args);
}

pp::test::CommandResult ppclient(const std::string& args) {
  return run_command("timeout 20 " + bin_dir() + "/ppclient " + args);
}

struct BadValue {
  const char* args;
  const char* says;
};

// One row per option (and per way of being wrong), with what the user is told.
const BadValue kBadValues[] = {
    {"--max-frame 0", "--max-frame: 0 is out of range: give 65536 to 1073741824 bytes"},
    {"--max-frame 18446744073709551615",
     "--max-frame: 18446744073709551615 is out of range: give 65536 to 1073741824 bytes"},
    {"--max-frame 134217728000", "--max-frame: 134217728000 is out of range"},
    {"--max-frame -1", "--max-frame: -1 is out of range"},
    {"--worker-memory -1",
     "--worker-memory: -1 is out of range: give 0 (no limit) or 16 to 1048576 MB"},
    {"--worker-memory 4", "--worker-memory: 4 is out of range"},
    {"--job-timeout -1",
     "--job-timeout: -1 is out of range: give 0 (no limit) or 0.01 to 2592000 seconds"},
    {"--job-timeout nan", "--job-timeout: 'nan' is not a finite number"},
    {"--job-timeout inf", "--job-timeout: 'inf' is not a finite number"},
    {"--job-timeout 1e999", "--job-timeout: '1e999' is not a finite number"},
    {"--job-cpu-limit -0.5", "--job-cpu-limit: -0.5 is out of range"},
    {"-t -5", "--timeout: -5 is out of range: give 0 (never) or 1 to 31536000 seconds"},
    {"-t 0.5", "--timeout: '0.5' is not a whole number"},
    {"-w abc", "--workers: 'abc' is not a number: give 0 (one per core) or 1 to 1024 workers"},
    {"-w 2.5", "--workers: '2.5' is not a whole number"},
    {"-w 1025", "--workers: 1025 is out of range"},
    {"-w ''", "--workers: '' is not a number"},
    {"-p 70000", "--port: 70000 is out of range: give 0 to 65535"},
    {"-p 12ab", "--port: '12ab' is not a number"},
    {"--nice 20", "--nice: 20 is out of range: give 0 to 19"},
    {"--cpu-limit 0", "--cpu-limit: 0 is out of range: give 1 to 100 percent"},
    {"--pipeline 65", "--pipeline: 65 is out of range: give 1 to 64 jobs"},
    {"--handshake-timeout 0", "--handshake-timeout: 0 is out of range: give 0.05 to 3600 seconds"},
    {"--max-sessions 0", "--max-sessions: 0 is out of range: give 1 to 100000 connections"},
    {"--max-handshakes 100001", "--max-handshakes: 100001 is out of range"},
    {"--max-handshakes-per-address -3", "--max-handshakes-per-address: -3 is out of range"},
    {"--discovery-port 0", "--discovery-port: 0 is out of range: give 1 to 65535"},
    {"--announce-interval 0", "--announce-interval: 0 is out of range: give 0.1 to 3600 seconds"},
    {"--no-such-option", "--no-such-option"},
};

}  // namespace

TEST_CASE("integration.options.bad_values_exit_2_naming_option_and_range" * doctest::timeout(300)) {
  for (const auto& bad : kBadValues) {
    CAPTURE(bad.args);
    auto r = ppserver(std::string("-i 127.0.0.1 -p 0 ") + bad.args);
    CHECK(r.status == 2);
    CHECK(r.output.find(bad.says) != std::string::npos);
    CHECK(r.output.find("listening") == std::string::npos);
  }
}

TEST_CASE("integration.options.edges_of_every_range_start_a_node_that_serves" *
          doctest::timeout(120)) {
  SUBCASE("lower edges") {
    ServerProcess node({"-w", "1", "--max-frame", "65536", "--worker-memory", "16", "--nice", "0",
                        "--pipeline", "1", "--max-sessions", "1", "--max-handshakes", "1",
                        "--max-handshakes-per-address", "1"});
    CHECK(node.wait_for_log("frames of 4096 bytes before authentication and 65536 after", 5s));
    pp::ClusterOptions o;
    o.servers = {node.address()};
    o.local_workers = 0;
    o.no_node_timeout = 20s;
    pp::Cluster cluster(o);
    CHECK(cluster.submit(pp::Code::lua("function(n) return #string.rep('x', n) end"), 1000)
              .get<int>() == 1000);
  }
  SUBCASE("upper edges") {
    ServerProcess node({"-w",
                        "1",
                        "--max-frame",
                        "1073741824",
                        "--worker-memory",
                        "1048576",
                        "--job-timeout",
                        "2592000",
                        "--job-cpu-limit",
                        "2592000",
                        "-t",
                        "31536000",
                        "--nice",
                        "19",
                        "--cpu-limit",
                        "100",
                        "--pipeline",
                        "64",
                        "--handshake-timeout",
                        "3600",
                        "--max-sessions",
                        "100000",
                        "--max-handshakes",
                        "100000",
                        "--max-handshakes-per-address",
                        "100000",
                        "--discovery-port",
                        "65535",
                        "--announce-interval",
                        "3600"});
    CHECK(node.wait_for_log("and 1073741824 after", 5s));
    pp::ClusterOptions o;
    o.servers = {node.address()};
    o.local_workers = 0;
    o.no_node_timeout = 20s;
    pp::Cluster cluster(o);
    CHECK(cluster.submit(pp::Code::lua("function(x) return x * x end"), 7).get<int>() == 49);
  }
  SUBCASE("the shortest limits, the lowest CPU share, and an exponent") {
    ServerProcess node({"-w", "1", "--cpu-limit", "1", "--job-timeout", "0.01", "--job-cpu-limit",
                        "0.01", "--handshake-timeout", "0.05", "--max-frame", "1e6", "-t", "1"});
    CHECK(node.wait_for_log("and 1000000 after", 5s));
    CHECK(node.wait_exit(15s));  // -t 1: idle for a second, then done
    CHECK(node.exit_status() == 0);
    CHECK(node.log().find("shutting down: idle for 1 s") != std::string::npos);
  }
}

TEST_CASE("integration.options.interface_names_resolve_or_are_named" * doctest::timeout(60)) {
  auto ok = ppserver("-i localhost -p 0 -w 1 -t 1");
  CHECK(ok.status == 0);
  CHECK(ok.output.find("listening on 127.0.0.1:") != std::string::npos);
  auto bad = ppserver("-i no-such-host.invalid -p 0 -w 1");
  CHECK(bad.status == 2);
  CHECK(bad.output.find("--interface: cannot use 'no-such-host.invalid'") != std::string::npos);
  CHECK(bad.output.find("give an address of this machine") != std::string::npos);
}

TEST_CASE("integration.options.port_in_use_names_address_port_and_cause" * doctest::timeout(60)) {
  ServerProcess first({"-w", "1"});
  std::string port = std::to_string(first.port());
  auto second = ppserver("-i 127.0.0.1 -p " + port + " -w 1");
  CHECK(second.status == 1);
  CHECK(second.output.find("cannot listen on 127.0.0.1:" + port) != std::string::npos);
  CHECK(second.output.find("another process") != std::string::npos);
  CHECK(first.alive());
}

TEST_CASE("integration.options.usage_errors_exit_2_help_and_version_exit_0" *
          doctest::timeout(60)) {
  CHECK(ppserver("--help").status == 0);
  CHECK(ppserver("--version").status == 0);
  CHECK(ppclient("--help").status == 0);
  CHECK(ppclient("--version").status == 0);
  CHECK(ppclient("run --help").status == 0);
  CHECK(ppclient("--no-such-option").status == 2);
  CHECK(ppclient("run").status == 2);  // the script is missing
  CHECK(ppclient("no-such-command").status == 2);
  auto wait = ppclient("nodes --wait abc");
  CHECK(wait.status == 2);
  CHECK(wait.output.find("--wait: 'abc' is not a number: give 0.1 to 600 seconds") !=
        std::string::npos);
  auto nan = ppclient("nodes --wait nan");
  CHECK(nan.status == 2);
  CHECK(nan.output.find("--wait: 'nan' is not a finite number") != std::string::npos);
  CHECK(ppclient("nodes --discovery-port 0").status == 2);
}
