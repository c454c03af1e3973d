// The dashboard's [ADDRESS:]PORT: what is accepted, which addresses count as loopback
// (no token), and messages that say what is wrong with a bad value.
#include "ppclient/src/dashboard_address.hpp"

#include <doctest/doctest.h>

#include <string>

namespace pp::client {
namespace {

TEST_CASE("dashboard.address: a port alone, or an address and a port") {
  auto a = parse_dashboard_address("8787");
  REQUIRE(a.has_value());
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 8787);
  CHECK(a->loopback);

  a = parse_dashboard_address("0");   // any free port
  REQUIRE(a.has_value());
  CHECK(a->port == 0);

  a = parse_dashboard_address("localhost:80");
  REQUIRE(a.has_value());
  CHECK(a->host == "127.0.0.1");
  CHECK(a->loopback);

  a = parse_dashboard_address("127.0.0.2:65535");
  REQUIRE(a.has_value());
  CHECK(a->host == "127.0.0.2");
  CHECK(a->port == 65535);
  CHECK(a->loopback);   // all of 127.0.0.0/8 is this machine only

  a = parse_dashboard_address("[::1]:8787");
  REQUIRE(a.has_value());
  CHECK(a->host == "::1");
  CHECK(a->loopback);
  CHECK(host_port(a->host, a->port) == "[::1]:8787");
}

TEST_CASE("dashboard.address: any address but loopback needs the token") {
  for (const char* text : {"0.0.0.0:8787", "10.213.4.4:1", "[::]:8787", "192.168.1.20:8080",
                           "[fe80::1]:9"}) {
    auto a = parse_dashboard_address(text);
    REQUIRE_MESSAGE(a.has_value(), text);
    CHECK_MESSAGE(!a->loopback, text);
  }
  CHECK(host_port("0.0.0.0", 8787) == "0.0.0.0:8787");
}

TEST_CASE("dashboard.address: bad values are refused with what is wrong") {
  struct Case {
    const char* text;
    const char* expect;
  };
  const Case cases[] = {
      {"", "has no port number"},
      {"abc", "has no port number"},
      {"127.0.0.1:", "has no port number"},
      {"127.0.0.1:80x", "has no port number"},
      {"-1", "has no port number"},
      {"70000", "port out of range"},
      {"99999999999999999999", "port out of range"},
      {"nohost.example:80", "does not start with an IP address"},
      {"1.2.3:80", "does not start with an IP address"},
      {"::1:8787", "IPv6 address without brackets"},
      {"[::1]8787", "is not [IPv6]:PORT"},
      {"[::1", "is not [IPv6]:PORT"},
      {"[zz]:80", "does not start with an IP address"},
  };
  for (const Case& c : cases) {
    auto a = parse_dashboard_address(c.text);
    INFO("value: '" << c.text << "'");
    REQUIRE(!a.has_value());
    std::string msg = a.status().message();
    INFO("message: " << msg);
    CHECK(msg.find(c.expect) != std::string::npos);
    CHECK(msg.find("'" + std::string(c.text) + "'") == 0);   // names the value first
    CHECK(msg.find("give [ADDRESS:]PORT") != std::string::npos);
    CHECK(a.status().code() == StatusCode::kInvalid);
  }
}

}  // namespace
}  // namespace pp::client
