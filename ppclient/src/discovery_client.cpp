// JobServer's discovery half: nodes found by UDP broadcast (and mDNS) join the
// work as they appear; nodes of an incompatible version are listed, never used.
#include <cstdlib>
#include <future>

#include <luajit.h>

#include "core/discovery/avahi.hpp"
#include "core/discovery/udp.hpp"
#include "core/proto/auth.hpp"
#include "core/util/log.hpp"
#include "pp_kernels.h"
#include "ppclient/src/job_server.hpp"
#include "ppclient/src/node_table.hpp"

namespace pp::client {
namespace {

// Empty when the node can run this client's jobs, else why not (naming both versions).
std::string incompatibility(const discovery::NodeFacts& f, bool needs_bytecode) {
  if (f.protocol < proto::kMinProtocolVersion || proto::kProtocolVersion < f.min_protocol) {
    return "protocol " + std::to_string(f.protocol) + " (software " + f.software +
           "), this client speaks protocol " + std::to_string(proto::kProtocolVersion) +
           " (software " + proto::kSoftwareVersion + ")";
  }
  if (f.kernel_abi != pp_kernels_abi_version()) {
    return "kernel ABI " + std::to_string(f.kernel_abi) + ", this client has " +
           std::to_string(pp_kernels_abi_version());
  }
  if (needs_bytecode && f.luajit != LUAJIT_VERSION) {
    return f.luajit + ", this client runs " + LUAJIT_VERSION + " (bytecode cannot travel)";
  }
  return "";
}

}  // namespace

// $PP_DISCOVERY: "broadcast", "mdns", or both (the default), comma-separated.
static bool discovery_method(const char* name) {
  const char* env = std::getenv("PP_DISCOVERY");
  if (env == nullptr || *env == '\0') return true;
  return std::string(env).find(name) != std::string::npos;
}

void JobServer::start_discovery() {
  if (discovery_method("mdns")) {
    mdns_ = std::make_unique<discovery::AvahiBrowser>(
        io_, proto::cluster_id(secret_),
        [this](const discovery::NodeFacts& f) { on_found(f, "mdns", false); },
        [this](const std::string& id) {
          auto it = seen_.find(id);
          if (it != seen_.end()) it->second.gone = true;
        });
    mdns_->start();
  }
  if (!discovery_method("broadcast")) return;
  std::vector<std::string> targets = opt_.discovery_broadcast;
  if (const char* env = std::getenv("PP_BROADCAST"); targets.empty() && env != nullptr) {
    std::string list = env;
    size_t start = 0;
    while (start < list.size()) {
      size_t end = list.find(',', start);
      if (end == std::string::npos) end = list.size();
      if (end > start) targets.push_back(list.substr(start, end - start));
      start = end + 1;
    }
  }
  udp_ = std::make_unique<discovery::UdpListener>(
      io_, opt_.discovery_port, discovery::beacon_key(secret_), proto::cluster_id(secret_),
      targets,
      [this](const discovery::Beacon& b) {
        on_found(b.facts, "broadcast", b.kind == discovery::BeaconKind::kBye);
      });
  Status st = udp_->start();
  if (!st) {
    PP_WARN("discovery by broadcast is off: %s", st.message().c_str());
    udp_.reset();
  }
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
  nodes_->found(facts, via);
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
  return on_io([this] { return udp_ ? udp_->unverified_nodes() : size_t{0}; });
}

}  // namespace pp::client
