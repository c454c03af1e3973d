#include "core/proto/node_facts.hpp"

namespace pp::proto {

Hello hello_of(const NodeFacts& f, const std::string& role, const std::string& nonce) {
  Hello h;
  h.protocol = f.protocol;
  h.min_protocol = f.min_protocol;
  h.software = f.software;
  h.luajit = f.luajit;
  h.kernel_abi = f.kernel_abi;
  h.role = role;
  h.node_id = f.node_id;
  h.host = f.host;
  h.workers = f.workers;
  h.speed = f.speed;
  h.caps = f.caps;
  h.nonce = nonce;
  h.max_frame = f.max_frame;
  h.data_cache = f.data_cache;
  return h;
}

}  // namespace pp::proto
