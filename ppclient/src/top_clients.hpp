// ClientsAsker: `ppclient top`'s connections to the nodes it hears, to ask who uses them.
// For each node of the cluster (a sighting is signed with the secret top holds, so top can
// authenticate) that offers Cap::kClients it opens one NodeLink, asks CLIENTS_ASK once the
// link is ready and again at each ask_all(), and hands each answer to the NodeWatch; a
// node without the cap is "old node" there, a link that fails says why. It never sends a
// job. Links of nodes that left are closed; a link that dropped is opened again at the
// node's next sighting (not after a permanent refusal: wrong secret, incompatible).
// Owned by run_top; on its io_context thread only; the NodeWatch outlives it.
//
//   ClientsAsker asker(io, secret, watch);
//   asker.seen(sighting.facts, sighting.gone);   // after watch.seen(...)
//   asker.ask_all();                             // each redraw
#pragma once

#include <asio.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "core/proto/node_facts.hpp"
#include "ppclient/src/node_link.hpp"
#include "ppclient/src/top.hpp"

namespace pp::client {

class ClientsAsker {
 public:
  ClientsAsker(asio::io_context& io, const std::string& secret, NodeWatch& watch);
  ~ClientsAsker();
  ClientsAsker(const ClientsAsker&) = delete;
  ClientsAsker& operator=(const ClientsAsker&) = delete;

  void seen(const proto::NodeFacts& facts, bool gone);
  void ask_all();
  void stop();  // closes every link (BYE)

 private:
  void open(const proto::NodeFacts& facts);
  void forget(const std::string& node_id, const NodeLink* link);

  asio::io_context& io_;
  proto::AuthKey key_;
  bool has_secret_;
  NodeWatch& watch_;
  std::map<std::string, std::shared_ptr<NodeLink>> links_;  // by node id
  std::set<std::string> refused_;                           // node ids that refused for good
  bool stopped_ = false;
};

}  // namespace pp::client
