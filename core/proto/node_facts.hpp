// NodeFacts: what a node says about itself, in one struct. The node assembles it once
// (ppserver Node) and three codecs carry it: HELLO (hello_of, below), the UDP beacon
// (core/discovery/beacon.hpp) and the DNS-SD TXT records (core/discovery/txt.hpp). A client
// reads it back from a beacon or a TXT record and checks it with core/proto/compat.hpp.
//
//   proto::NodeFacts f = node.facts();
//   proto::Hello h = proto::hello_of(f, "node", nonce);   // what the node answers a client
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/proto/messages.hpp"

namespace pp::proto {

struct NodeFacts {
  std::string cluster_id;  // public id derived from the secret (proto::cluster_id)
  std::string node_id;     // random per process
  std::string host;        // host name
  std::string address;     // filled by a receiver: where the beacon or record came from
  uint16_t port = 0;       // TCP port of the node
  uint32_t workers = 0;
  double speed = 1.0;     // calibration score x CPU share, 1.0 = reference machine
  // CPU in use, in cores (0..1 per core, summed): by the node's own workers and jobs, and
  // by every other process. `load` is load_other under its old name, which clients before
  // these two read; a node before them sends `load` alone, read as load_other.
  double load = 0.0;
  double load_own = 0.0;
  double load_other = 0.0;
  std::string software;   // the sender's kSoftwareVersion ...
  uint32_t protocol = 0;  // ... and protocol range (0 = not said: incompatible)
  uint32_t min_protocol = 0;
  int32_t kernel_abi = 0;            // pp_kernels_abi_version() of the node (0 = none)
  std::string luajit;                // LUAJIT_VERSION of the node
  std::vector<std::string> kernels;  // native kernels the node's library exports
  uint32_t caps = 0;                 // Cap bits the node offers (0 = not said)
  uint64_t max_frame = 0;  // largest frame the node takes after authentication (0 = not said)
  uint64_t data_cache = 0;  // bytes of scattered values it holds at most (HELLO only)
  bool paused = false;      // paused by its machine (beacon and TXT; clients hear PAUSE)
};

// The HELLO carrying `facts` (role "node" or "client"), with a fresh nonce of the caller's.
// Cluster id, address, load and kernels are not part of a HELLO.
Hello hello_of(const NodeFacts& facts, const std::string& role, const std::string& nonce);

}  // namespace pp::proto
