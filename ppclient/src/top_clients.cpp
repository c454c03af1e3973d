#include "ppclient/src/top_clients.hpp"

#include "core/proto/auth.hpp"

namespace pp::client {

ClientsAsker::ClientsAsker(asio::io_context& io, const std::string& secret, NodeWatch& watch)
    : io_(io), key_(proto::derive_key(secret)), has_secret_(!secret.empty()), watch_(watch) {}

ClientsAsker::~ClientsAsker() { stop(); }

void ClientsAsker::seen(const proto::NodeFacts& facts, bool gone) {
  if (stopped_) return;
  const std::string& id = facts.node_id;
  auto it = links_.find(id);
  if (gone) {
    if (it != links_.end()) {
      it->second->close("the node left");
      links_.erase(it);
    }
    return;
  }
  if (it != links_.end() || refused_.count(id) != 0) return;
  // Caps 0: not said, a node before them. Without the cap it cannot answer: not asked.
  if (!proto::Caps{facts.caps}.has(proto::Cap::kClients)) {
    watch_.clients_unknown(id, "old node");
    return;
  }
  open(facts);
}

void ClientsAsker::open(const proto::NodeFacts& facts) {
  LinkOptions o;
  o.host = facts.address;
  o.port = facts.port;
  o.name = facts.address + ":" + std::to_string(facts.port);
  o.key = key_;
  o.has_secret = has_secret_;
  const std::string id = facts.node_id;
  NodeLink::Callbacks cb;
  cb.on_ready = [this, id](NodeLink& link) {
    if (!link.can_list_clients()) {
      watch_.clients_unknown(id, "old node");
      return;
    }
    link.ask_clients();
  };
  cb.on_clients = [this, id](NodeLink&, proto::Clients&& c) {
    watch_.clients_known(id, std::move(c.clients), NodeWatch::Clock::now());
  };
  // Top sends no job: nothing comes back but CLIENTS, PAUSE and heartbeats.
  cb.on_result = [](NodeLink&, proto::ResultMsg&&) {};
  cb.on_stolen = [](NodeLink&, proto::Stolen&&) {};
  cb.on_pause = [](NodeLink&) {};
  cb.on_down = [this, id](NodeLink& link, const std::string& reason, bool permanent) {
    watch_.clients_unknown(id, reason);
    if (permanent) refused_.insert(id);
    forget(id, &link);
  };
  auto link = std::make_shared<NodeLink>(io_, std::move(o), std::move(cb));
  links_[id] = link;
  link->start();
}

// Later, not inside the link's own call: dropping the last reference there would free it
// under its feet. A newer link for the same node is left alone.
void ClientsAsker::forget(const std::string& node_id, const NodeLink* link) {
  asio::post(io_, [this, node_id, link] {
    auto it = links_.find(node_id);
    if (it != links_.end() && it->second.get() == link) links_.erase(it);
  });
}

void ClientsAsker::ask_all() {
  for (auto& [id, link] : links_) {
    if (link->ready()) link->ask_clients();
  }
}

void ClientsAsker::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& [id, link] : links_) link->close("done watching");
  links_.clear();
}

}  // namespace pp::client
