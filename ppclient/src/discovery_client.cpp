// JobServer's discovery half: nodes found by discovery (UDP broadcast and mDNS behind one
// Browser) join the work as they appear; nodes of an incompatible version are listed, never
// used.
#include <cstdlib>
#include <future>

#include <luajit.h>

#include "core/discovery/discovery.hpp"
#include "core/proto/auth.hpp"
#include "core/proto/compat.hpp"
#include "core/util/log.hpp"
#include "core/util/split.hpp"
#include "pp_kernels.h"
#include "ppclient/src/job_server.hpp"
#include "ppclient/src/node_table.hpp"

namespace pp::client {
namespace {

// Empty when the node can run this client's jobs, else what it runs against what this
// client runs (the one rule of core/proto/compat.hpp, as NodeLink applies it on connecting).
std::string incompatibility(const discovery::NodeFacts& f, bool needs_bytecode) {
  auto compat = proto::check(proto::versions_of(f),
                             proto::own_versions(pp_kernels_abi_version(), LUAJIT_VERSION),
                             {.kernel_abi = true, .bytecode = needs_bytecode});
  return compat ? std::string() : compat.versus("client");
}

}  // namespace

// $PP_DISCOVERY: "broadcast", "mdns", or both (the default), comma-separated.
static bool discovery_method(const char* name) {
  const char* env = std::getenv("PP_DISCOVERY");
  if (env == nullptr || *env == '\0') return true;
  return std::string(env).find(name) != std::string::npos;
}

discovery::BrowseOptions browse_options(uint16_t port, std::vector<std::string> targets) {
  discovery::BrowseOptions o;
  o.mdns = discovery_method("mdns");
  o.broadcast = discovery_method("broadcast");
  o.port = port;
  o.query_targets = std::move(targets);
  if (const char* env = std::getenv("PP_BROADCAST"); o.query_targets.empty() && env != nullptr) {
    o.query_targets = split_list(env, ',');
  }
  return o;
}

void JobServer::start_discovery() {
  static_assert(pp::ClusterOptions{}.discovery_port == proto::kDefaultDiscoveryPort,
                "pp/cluster.hpp stands alone; its default must be the protocol's");
  discovery::BrowseOptions o = browse_options(opt_.discovery_port, opt_.discovery_broadcast);
  discovery_ = discovery::make_browser(io_, o, secret_, [this](const discovery::Sighting& s) {
    on_found(s.facts, s.via, s.gone);
  });
  discovery_->start();
}

void JobServer::on_found(const discovery::NodeFacts& facts, const std::string& via, bool bye) {
  SeenNode& seen = seen_[facts.node_id];
  bool fresh = seen.facts.node_id.empty();
  seen.facts = facts;
  if (seen.via.empty()) seen.via = via;
  else if (seen.via.find(via) == std::string::npos) seen.via += "+" + via;
  seen.gone = bye;
  if (bye) return;  // its TCP connection says BYE too; the link handles the rest
  seen.why_not = incompatibility(facts, lua_bytecode_);
  seen.compatible = seen.why_not.empty();
  if (!seen.compatible) {
    if (fresh) {
      PP_WARN("node %s:%u (%s) is incompatible and will not be used: it runs %s",
              facts.address.c_str(), facts.port, facts.host.c_str(), seen.why_not.c_str());
    }
    return;
  }
  nodes_->found(facts, seen.via);
}

std::vector<SeenNode> JobServer::seen_nodes() const {
  return on_io([this] {
    std::vector<SeenNode> out;
    for (const auto& [id, s] : seen_) {
      SeenNode copy = s;
      copy.connected = nodes_->ready(id);
      out.push_back(std::move(copy));
    }
    return out;
  });
}

size_t JobServer::unverified_nodes() const {
  return on_io([this] { return discovery_ ? discovery_->unverified_nodes() : size_t{0}; });
}

}  // namespace pp::client
