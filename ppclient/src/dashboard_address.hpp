// Where the dashboard listens: `[ADDRESS:]PORT` as `ppclient run --dashboard`,
// pp.server{ dashboard = ... } and ClusterOptions::dashboard give it, checked once.
// Pure; thread-safe.
//
//   auto where = parse_dashboard_address("0.0.0.0:8787");
//   if (!where) die(where.status().message());   // names what is wrong with the value
//   bool token = !where->loopback;                // any other address needs the token
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/util/status.hpp"

namespace pp::client {

struct DashboardAddress {
  std::string host = "127.0.0.1";   // an IPv4 or IPv6 literal (IPv6 given in brackets)
  uint16_t port = 0;                 // 0: any free port (the one taken is printed)
  // Only this machine can connect (127.0.0.0/8, ::1): no token is asked for. Any other
  // address shows job data to the network, so every request must carry the token.
  bool loopback = true;
};

// "8787" (loopback), "127.0.0.1:8787", "0.0.0.0:8787" (every interface), "[::1]:8787",
// "localhost:8787". kInvalid with a message that says what is wrong with `text`
// (the caller puts the option's name in front).
Result<DashboardAddress> parse_dashboard_address(std::string_view text);

// "127.0.0.1:8787", "[::1]:8787": for URLs.
std::string host_port(const std::string& host, uint16_t port);

}  // namespace pp::client
