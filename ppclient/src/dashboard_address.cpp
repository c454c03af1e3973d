#include "ppclient/src/dashboard_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>

namespace pp::client {

namespace {

Status bad(std::string_view text, const std::string& why) {
  return Status(StatusCode::kInvalid, "'" + std::string(text) + "' " + why +
                                          "; give [ADDRESS:]PORT, such as 8787 or "
                                          "127.0.0.1:8787 (0.0.0.0:8787 for every interface)");
}

Result<uint16_t> parse_port(std::string_view text, std::string_view port) {
  unsigned value = 0;
  auto r = std::from_chars(port.data(), port.data() + port.size(), value);
  bool digits = !port.empty() && r.ptr == port.data() + port.size();
  if (digits && (r.ec == std::errc::result_out_of_range || value > 65535)) {
    return bad(text, "has a port out of range (0 to 65535)");
  }
  if (!digits || r.ec != std::errc()) return bad(text, "has no port number");
  return static_cast<uint16_t>(value);
}

}  // namespace

Result<DashboardAddress> parse_dashboard_address(std::string_view text) {
  DashboardAddress out;
  std::string_view host, port = text;
  if (!text.empty() && text.front() == '[') {   // [IPv6]:PORT
    size_t close = text.find(']');
    if (close == text.npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad(text, "is not [IPv6]:PORT");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else if (size_t colon = text.rfind(':'); colon != text.npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != host.npos) return bad(text, "has an IPv6 address without brackets");
  }
  auto p = parse_port(text, port);
  if (!p) return p.status();
  out.port = *p;
  if (host.empty() || host == "localhost") return out;
  in_addr v4{};
  in6_addr v6{};
  std::string h(host);
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) {
    out.loopback = (ntohl(v4.s_addr) >> 24) == 127;
  } else if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    out.loopback = IN6_IS_ADDR_LOOPBACK(&v6);
  } else {
    return bad(text, "does not start with an IP address");
  }
  out.host = std::move(h);
  return out;
}

std::string host_port(const std::string& host, uint16_t port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace pp::client
