#include "ppclient/src/node_table.hpp"

#include <algorithm>
#include <stdexcept>

#include "core/proto/auth.hpp"
#include "core/util/host_port.hpp"
#include "core/util/log.hpp"
#include "ppclient/src/active_nodes.hpp"
#include "ppclient/src/dispatcher.hpp"
#include "ppclient/src/live_figures.hpp"
#include "ppclient/src/node_link.hpp"

namespace pp::client {

NodeTable::NodeTable(asio::io_context& io, NodeTableOptions options, Dispatcher& dispatcher,
                     ActiveNodes& active)
    : io_(io), opt_(std::move(options)), dispatcher_(dispatcher), active_(active) {}

NodeTable::~NodeTable() = default;

void NodeTable::add_given(const std::string& address) {
  Record r;
  r.name = address;
  r.port = proto::kDefaultPort;
  if (!split_host_port(address, r.host, r.port)) {
    throw std::invalid_argument("bad node address '" + address + "': expected host or host:port");
  }
  records_.push_back(std::move(r));
}

void NodeTable::add_local(uint16_t port) {
  Record r;
  r.name = "local";
  r.host = "127.0.0.1";
  r.port = port;
  r.origin = Origin::kLocal;
  records_.push_back(std::move(r));
}

void NodeTable::connect_all() {
  for (Key k = 0; k < records_.size(); ++k) connect(k);
}

void NodeTable::connect(Key key) {
  if (closed_) return;
  Record& n = records_[key];
  const bool local = n.origin == Origin::kLocal;
  LinkOptions lo;
  lo.name = n.name;
  lo.host = n.host;
  lo.port = n.port;
  lo.key = proto::derive_key(local ? opt_.local_secret : opt_.secret);
  lo.has_secret = local || !opt_.secret.empty();
  lo.heartbeat = opt_.heartbeat;
  lo.needs_bytecode = opt_.needs_bytecode;
  lo.encrypt = opt_.encrypt;
  n.link = std::make_shared<NodeLink>(
      io_, lo,
      NodeLink::Callbacks{
          [this, key](NodeLink& l) { on_ready(key, l); },
          [this, key](NodeLink&, proto::ResultMsg&& r) {
            if (auto id = records_[key].sched_id) dispatcher_.on_result(*id, std::move(r));
          },
          [this, key](NodeLink&, proto::Stolen&& st) {
            if (auto id = records_[key].sched_id) dispatcher_.on_stolen(*id, std::move(st));
          },
          [this, key](NodeLink&) {
            if (auto id = records_[key].sched_id) dispatcher_.on_pause(*id);
          },
          [this, key](NodeLink& l, const std::string& why, bool permanent) {
            on_down(key, l, why, permanent);
          }});
  n.link->start();
}

void NodeTable::on_ready(Key key, NodeLink& link) {
  Record& n = records_[key];
  n.sched_id = dispatcher_.add_node(link);
  n.failures = 0;
  n.last_error.clear();
  const auto& h = link.node_hello();
  n.version = h.software;
  PP_DEBUG("node %s ready: %u workers on %s", n.name.c_str(), h.workers, h.host.c_str());
  active_.set(n.name, static_cast<int>(h.workers),
              {h.host + ":" + std::to_string(n.port), 0, link.can_place()});
  dispatcher_.pump();
}

void NodeTable::on_down(Key key, NodeLink& link, const std::string& reason, bool permanent) {
  Record& n = records_[key];
  if (n.link.get() != &link) return;
  // Jobs in flight there go back to the queue and on to other nodes.
  size_t requeued = 0;
  if (n.sched_id) {
    requeued = dispatcher_.remove_node(*n.sched_id, reason);
    n.sched_id.reset();
  }
  active_.erase(n.name);
  n.last_error = reason;
  n.refused = permanent;
  n.failures++;
  if (requeued > 0 || n.failures == 1 || permanent) {
    PP_WARN("node %s: %s%s", n.name.c_str(), reason.c_str(),
            requeued ? (" (" + std::to_string(requeued) + " jobs sent elsewhere)").c_str() : "");
  }
  // Keep the link object alive until this callback chain has unwound.
  asio::post(io_, [old = std::move(n.link)] {});
  // A discovered node comes back by announcing itself again; the local one does not.
  if (!permanent && n.origin == Origin::kGiven) reconnect_later(key);
  dispatcher_.pump();
}

void NodeTable::reconnect_later(Key key) {
  const int failures = records_[key].failures;
  auto delay = std::chrono::milliseconds(std::min(200 << std::min(failures, 5), 5000));
  auto t = std::make_shared<asio::steady_timer>(io_, delay);
  t->async_wait([this, t, key](const asio::error_code& ec) {
    if (!ec && !records_[key].link) connect(key);
  });
}

void NodeTable::found(const discovery::NodeFacts& facts, const std::string& via) {
  auto [it, fresh] = by_node_id_.try_emplace(facts.node_id, records_.size());
  if (fresh) {
    records_.emplace_back();
    records_.back().origin = Origin::kDiscovered;
    records_.back().node_id = facts.node_id;
  }
  Record& n = records_[it->second];
  n.via = via;
  n.load = facts.load;
  if (n.version.empty()) n.version = facts.software;
  if (n.link) return;  // known and connected (or connecting)
  n.name = facts.address + ":" + std::to_string(facts.port);
  n.host = facts.address;
  n.port = facts.port;
  PP_DEBUG("found node %s (%s, %u workers) by %s", n.name.c_str(), facts.host.c_str(),
           facts.workers, via.c_str());
  connect(it->second);
}

bool NodeTable::ready(const std::string& node_id) const {
  auto it = by_node_id_.find(node_id);
  if (it == by_node_id_.end()) return false;
  const Record& n = records_[it->second];
  return n.link && n.link->ready();
}

bool NodeTable::all_refused() const {
  if (records_.empty()) return false;
  return std::all_of(records_.begin(), records_.end(), [](const Record& n) { return n.refused; });
}

void NodeTable::live(std::vector<LiveNode>& nodes) const {
  std::unordered_map<std::string, size_t> row_of;   // strings: rows move as they grow
  for (size_t i = 0; i < nodes.size(); ++i) row_of.emplace(nodes[i].figures.node, i);
  for (const Record& n : records_) {
    if (n.name.empty()) continue;
    auto it = row_of.find(n.name);
    if (it == row_of.end()) {
      it = row_of.emplace(n.name, nodes.size()).first;
      LiveNode& fresh = nodes.emplace_back();
      fresh.figures.node = n.name;
      fresh.figures.host = n.host;
    }
    LiveNode& row = nodes[it->second];
    row.found = n.origin == Origin::kGiven ? "given"
                : n.origin == Origin::kLocal ? "local"
                                             : n.via;
    row.load = n.load;
    row.version = n.version;
    const bool up = n.link && n.link->ready();
    if (up && n.link->paused()) {
      row.state = NodeState::kPaused;
      row.reason = n.link->pause_state().reason;
    } else if (up) {
      row.state = row.in_flight > 0 ? NodeState::kWorking : NodeState::kIdle;
      row.reason.clear();
    } else if (n.link) {
      row.state = NodeState::kConnecting;
      row.reason = n.last_error;
    } else {
      row.state = n.refused ? NodeState::kRefused : NodeState::kLost;
      row.reason = n.last_error;
    }
  }
}

std::string NodeTable::reasons() const {
  std::string out;
  for (size_t i = 0; i < records_.size(); ++i) {
    const Record& n = records_[i];
    const bool up = n.link && n.link->ready();
    out += (i ? "; " : "") + n.name + ": " +
           (up ? "connected" : n.last_error.empty() ? "not reachable" : n.last_error);
  }
  return out;
}

void NodeTable::close_all(const std::string& reason, bool for_good) {
  if (for_good) closed_ = true;
  for (auto& n : records_) {
    if (n.link) n.link->close(reason);
  }
}

void NodeTable::for_each_ready(const std::function<void(NodeLink&)>& f) {
  for (Record& r : records_) {
    if (r.link && r.link->ready()) f(*r.link);
  }
}

void NodeTable::drop_links() {
  for (auto& n : records_) n.link.reset();
}

}  // namespace pp::client
