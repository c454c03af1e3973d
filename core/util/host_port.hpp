// A node's address as people write it: "host", "host:port", "[v6]:port", or a bare
// IPv6 address; the port defaults to the caller's. The one parser of that format, for
// the client's node table and `ppclient run --nodes`. Pure, header-only.
//
//   std::string host; uint16_t port = 60000;
//   split_host_port("node1:60010", host, port);   // true: "node1", 60010
//   split_host_port("node1:http", host, port);    // false: the port is not a number
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

namespace pp {

// Splits `address` into `host` and `port` (left as given when the address names none).
// False for an empty host or a port that is not 1..65535 in plain digits.
inline bool split_host_port(std::string_view address, std::string& host, uint16_t& port) {
  std::string_view rest;
  if (!address.empty() && address.front() == '[') {  // [v6]:port
    auto close = address.find(']');
    if (close == std::string_view::npos) return false;
    host = std::string(address.substr(1, close - 1));
    rest = address.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
  } else if (std::count(address.begin(), address.end(), ':') == 1) {
    auto colon = address.find(':');
    host = std::string(address.substr(0, colon));
    rest = address.substr(colon);
  } else {
    host = std::string(address);  // a name, an IPv4 address, or a bare IPv6 address
  }
  if (!rest.empty()) {
    std::string_view digits = rest.substr(1);
    if (digits.empty() || digits.size() > 5) return false;
    uint32_t p = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return false;
      p = p * 10 + static_cast<uint32_t>(c - '0');
    }
    if (p == 0 || p > 65535) return false;
    port = static_cast<uint16_t>(p);
  }
  return !host.empty();
}

}  // namespace pp
