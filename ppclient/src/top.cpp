#include "ppclient/src/top.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <tuple>

namespace pp::client {

void NodeWatch::seen(const proto::NodeFacts& facts, const std::string& via, bool gone,
                     Clock::time_point now) {
  Row& row = by_id_[facts.node_id];
  if (!gone || row.facts.node_id.empty()) {
    // A goodbye carries the facts too, but the last ones heard before it are as good.
    row.facts = facts;
  }
  if (row.via.find(via) == std::string::npos) row.via += (row.via.empty() ? "" : "+") + via;
  row.last_seen = now;
  row.left = gone;
}

void NodeWatch::clients_known(const std::string& node_id, std::vector<proto::ClientInfo> list,
                              Clock::time_point now) {
  auto it = by_id_.find(node_id);
  if (it == by_id_.end()) return;
  it->second.clients = ClientsSeen{true, std::move(list), now, ""};
}

void NodeWatch::clients_unknown(const std::string& node_id, const std::string& why) {
  auto it = by_id_.find(node_id);
  if (it == by_id_.end()) return;
  it->second.clients = ClientsSeen{false, {}, {}, why};
}

const char* NodeWatch::state(const Row& row, Clock::time_point now) {
  if (row.left) return "left";
  if (now - row.last_seen > kSilentAfter) return "silent";
  return row.facts.paused ? "paused" : "up";
}

std::vector<const NodeWatch::Row*> NodeWatch::rows() const {
  std::vector<const Row*> out;
  out.reserve(by_id_.size());
  for (const auto& [id, row] : by_id_) out.push_back(&row);
  std::sort(out.begin(), out.end(), [](const Row* a, const Row* b) {
    return std::tie(a->facts.host, a->facts.address, a->facts.port) <
           std::tie(b->facts.host, b->facts.address, b->facts.port);
  });
  return out;
}

namespace {

// A name for a fixed column: cut to `width`, control characters shown as '?'.
std::string cell(const std::string& s, size_t width) {
  std::string out = s.substr(0, width);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

std::string line(const char* fmt, auto... args) {
  char buf[512];
  int n = std::snprintf(buf, sizeof buf, fmt, args...);
  return std::string(buf, n < 0 ? 0 : std::min<size_t>(static_cast<size_t>(n), sizeof buf - 1));
}

// The node's own load and the other processes', in cores: "0.9+0.2" (a node before
// load_own says only the other's, read as load_other: "?+0.2").
std::string load_cell(const proto::NodeFacts& f) {
  auto cores = [](double v) { return std::isfinite(v) && v >= 0 ? v : 0.0; };
  std::string own = f.load_own > 0 || proto::Caps{f.caps}.has(proto::Cap::kClients)
                        ? line("%.1f", std::min(cores(f.load_own), 9999.0))
                        : "?";
  return own + "+" + line("%.1f", std::min(cores(f.load_other), 9999.0));
}

// "45s", "12m", "3h", "2d": how long a client has been connected.
std::string duration(double seconds) {
  if (seconds < 120) return line("%.0fs", seconds);
  if (seconds < 7200) return line("%.0fm", seconds / 60);
  if (seconds < 172800) return line("%.0fh", seconds / 3600);
  return line("%.0fd", seconds / 86400);
}

// The lines under a node: its clients, or why they are not known.
std::string clients_lines(const NodeWatch::ClientsSeen& c, NodeWatch::Clock::time_point now,
                          const std::function<std::string(std::string)>& fit) {
  if (!c.known) {
    return fit("  clients: unknown (" +
               (c.unknown_why.empty() ? "no answer yet" : cell(c.unknown_why, 80)) + ")");
  }
  if (c.list.empty()) return fit("  clients: none");
  std::string out;
  const double since_answer = std::chrono::duration<double>(now - c.at).count();
  for (const proto::ClientInfo& ci : c.list) {
    const double connected =
        static_cast<double>(ci.connected_ms) / 1000 + std::max(0.0, since_answer);
    out += fit(line("  client %-18s %-21s %6llu queued %4llu running  connected %s",
                    cell(ci.host, 18).c_str(), cell(ci.address, 21).c_str(),
                    static_cast<unsigned long long>(ci.queued),
                    static_cast<unsigned long long>(ci.running), duration(connected).c_str()));
  }
  return out;
}

}  // namespace

std::string render_top(const NodeWatch& watch, NodeWatch::Clock::time_point now, int width) {
  const size_t room = static_cast<size_t>(std::max(20, width - 1));
  const std::function<std::string(std::string)> fit = [room](std::string s) {
    if (s.size() > room) s.resize(room);
    return s + "\n";
  };
  std::string out = fit(line("%-18s %-21s %7s %6s %-11s %-6s %-9s %-14s %s", "host", "address",
                             "workers", "speed", "load", "state", "version", "found by", "heard"));
  const auto rows = watch.rows();
  if (rows.empty()) return out + "(no node heard yet)\n";
  for (const NodeWatch::Row* r : rows) {
    const auto& f = r->facts;
    const double ago = std::chrono::duration<double>(now - r->last_seen).count();
    std::string address = cell(f.address, 15) + ":" + std::to_string(f.port);
    std::string speed = f.speed > 0 ? line("%.2f", f.speed) : "?";
    out += fit(line("%-18s %-21s %7u %6s %-11s %-6s %-9s %-14s %.0fs ago", cell(f.host, 18).c_str(),
                    address.c_str(), f.workers, speed.c_str(), load_cell(f).c_str(),
                    NodeWatch::state(*r, now), cell(f.software, 9).c_str(),
                    cell(r->via, 14).c_str(), std::max(0.0, ago)));
    if (!r->left) out += clients_lines(r->clients, now, fit);
  }
  return out;
}

}  // namespace pp::client
