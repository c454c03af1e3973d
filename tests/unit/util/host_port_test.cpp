// Tests of split_host_port (core/util/host_port.hpp): the forms people write, the
// default port, and what is refused.
#include "core/util/host_port.hpp"

#include <doctest/doctest.h>

namespace pp {
namespace {

struct Split {
  bool ok;
  std::string host;
  uint16_t port;
};

Split split(std::string_view s) {
  Split r{false, "", 60000};
  r.ok = split_host_port(s, r.host, r.port);
  return r;
}

TEST_CASE("util.host_port.forms") {
  auto a = split("node1");
  CHECK((a.ok && a.host == "node1" && a.port == 60000));
  auto b = split("10.0.0.2:60010");
  CHECK((b.ok && b.host == "10.0.0.2" && b.port == 60010));
  auto c = split("[::1]:7");
  CHECK((c.ok && c.host == "::1" && c.port == 7));
  auto d = split("fe80::1");
  CHECK((d.ok && d.host == "fe80::1" && d.port == 60000));
  auto e = split("[::1]");
  CHECK((e.ok && e.host == "::1" && e.port == 60000));
}

TEST_CASE("util.host_port.refused") {
  for (const char* bad : {"", ":60000", "node:", "node:0", "node:65536", "node:99999999",
                          "node:12x", "node:-1", "node: 1", "node:http", "[::1", "[::1]x",
                          "[]:1"}) {
    INFO(bad);
    CHECK_FALSE(split(bad).ok);
  }
}

}  // namespace
}  // namespace pp
