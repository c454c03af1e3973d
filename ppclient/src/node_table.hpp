// NodeTable: the client's nodes, one record each, on the io thread.
//
// A record holds everything about one node: its address, how it was found (given
// as "host:port", the embedded local node, or found by discovery with its node id),
// its NodeLink, its scheduler id while it takes jobs, its failures and whether it
// refused us for good. Records are never removed; a record's key (its index) is
// captured by its link's callbacks, so a callback finds its record without a search,
// and a discovered node is found by its node id through one index.
//
// The table connects, routes its links' events to the Dispatcher (ready → add_node,
// RESULT, STOLEN, down → remove_node), reconnects given nodes with a backoff (a
// discovered node comes back by announcing itself again) and keeps the ActiveNodes
// snapshot. Given nodes are added before the io thread starts; everything else runs
// on the io thread. Not thread-safe.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/discovery/beacon.hpp"
#include "core/sched/scheduler.hpp"

namespace pp::client {

class ActiveNodes;
class Dispatcher;
class NodeLink;

struct NodeTableOptions {
  std::string secret;                // the cluster's
  std::string local_secret;          // the embedded node's one-off secret
  std::chrono::milliseconds heartbeat{1000};
  bool needs_bytecode = false;       // the client ships LuaJIT bytecode
  bool encrypt = false;
};

class NodeTable {
 public:
  // `dispatcher` and `active` must outlive the table.
  NodeTable(asio::io_context& io, NodeTableOptions options, Dispatcher& dispatcher,
            ActiveNodes& active);
  ~NodeTable();
  NodeTable(const NodeTable&) = delete;
  NodeTable& operator=(const NodeTable&) = delete;

  // Before the io thread starts. Throws std::invalid_argument for a bad address.
  void add_given(const std::string& address);
  void add_local(uint16_t port);
  bool empty() const { return records_.empty(); }

  // On the io thread.
  void connect_all();
  // A compatible node found by discovery: connects unless it is connected or connecting.
  void found(const discovery::NodeFacts& facts, const std::string& via);
  // Whether the discovered node with this id is connected and ready.
  bool ready(const std::string& node_id) const;
  // Every node refused us for a reason a retry will not fix (false with no node).
  bool all_refused() const;
  // "name: last error" of every node, for a job no node could run.
  std::string reasons() const;
  // Says BYE on every link; with `for_good`, no connection is opened any more.
  void close_all(const std::string& reason, bool for_good);
  // Lets go of every link (after close_all, once the BYE frames left).
  void drop_links();
  // Calls f for every link that is ready (scattered values: broadcast and release).
  void for_each_ready(const std::function<void(NodeLink&)>& f);

 private:
  enum class Origin { kGiven, kLocal, kDiscovered };
  struct Record {
    std::string name;                  // "host:port" or "local"
    std::string host;
    uint16_t port = 0;
    Origin origin = Origin::kGiven;
    std::string node_id;               // discovered nodes
    std::shared_ptr<NodeLink> link;    // while connecting or connected
    std::optional<sched::NodeId> sched_id;   // while it takes jobs
    int failures = 0;
    std::string last_error;
    bool refused = false;
  };
  using Key = size_t;

  void connect(Key key);
  void on_ready(Key key, NodeLink& link);
  void on_down(Key key, NodeLink& link, const std::string& reason, bool permanent);
  void reconnect_later(Key key);

  asio::io_context& io_;
  NodeTableOptions opt_;
  Dispatcher& dispatcher_;
  ActiveNodes& active_;
  std::deque<Record> records_;                   // by key; never removed
  std::unordered_map<std::string, Key> by_node_id_;   // discovered nodes
  bool closed_ = false;                          // no new connections
};

}  // namespace pp::client
