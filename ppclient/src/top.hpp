// `ppclient top`'s model: every node discovery reveals (UDP beacons and DNS-SD), kept up to
// date as sightings come, and the table drawn from it. Pure: facts and times in, text out
// (the command itself, with its Browser and terminal, is top_main.cpp).
//
// For nodes it holds the secret of, top also shows who uses them (top_clients.hpp asks each
// node, CLIENTS): the list as last answered, or why it is unknown ("old node": a node
// without Cap::kClients).
//
// A node is "up" while it is heard (beacons come every few seconds), "silent" once it has
// not been heard for kSilentAfter (gone without a goodbye, or cut off), "left" once it said
// goodbye (a BYE beacon, or its last DNS-SD instance went away). A node that comes back
// under the same id is up again. Not thread-safe: the command's io thread only.
//
//   NodeWatch watch;
//   watch.seen(sighting.facts, sighting.via, sighting.gone, Clock::now());
//   std::fputs(render_top(watch, Clock::now(), 120).c_str(), stdout);
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "core/proto/node_facts.hpp"

namespace pp::client {

class NodeWatch {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kSilentAfter{10};

  // Who uses a node, as far as top knows.
  struct ClientsSeen {
    bool known = false;                    // `list` is the node's last answer
    std::vector<proto::ClientInfo> list;
    Clock::time_point at;                  // when it came (connected_ms counts to then)
    std::string unknown_why;               // not known: why ("" = no answer yet)
  };

  struct Row {
    proto::NodeFacts facts;
    std::string via;             // "broadcast", "mdns" or "broadcast+mdns"
    Clock::time_point last_seen;
    bool left = false;
    ClientsSeen clients;
  };

  // A sighting of one node by one backend (`gone`: it said goodbye there).
  void seen(const proto::NodeFacts& facts, const std::string& via, bool gone,
            Clock::time_point now);
  // The node's answer to CLIENTS / why there is none. Ignored for a node never seen.
  void clients_known(const std::string& node_id, std::vector<proto::ClientInfo> list,
                     Clock::time_point now);
  void clients_unknown(const std::string& node_id, const std::string& why);
  // "up", "silent" or "left".
  static const char* state(const Row& row, Clock::time_point now);
  // Every node heard, by host name, then address and port.
  std::vector<const Row*> rows() const;
  size_t size() const { return by_id_.size(); }

 private:
  std::map<std::string, Row> by_id_;   // by node id
};

// The table: a header and a line per node (host, address, workers, speed score, load as
// own+other in cores, state, version, how found, seconds since last heard), under it a line
// per client using it (host, address, jobs queued and running, connected for how long) or
// "clients: none" / "clients: unknown (why)"; each line within `width` columns;
// "(no node heard yet)" when there is none.
std::string render_top(const NodeWatch& watch, NodeWatch::Clock::time_point now, int width);

}  // namespace pp::client
