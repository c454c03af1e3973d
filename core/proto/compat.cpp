#include "core/proto/compat.hpp"

namespace pp::proto {
namespace {

std::string protocol_text(const Versions& v) {
  return "protocol " + std::to_string(v.protocol) + " (accepts " + std::to_string(v.min_protocol) +
         " and later, software " + v.software + ")";
}

const char* topic_of(Mismatch m) {
  switch (m) {
    case Mismatch::kProtocol:
      return "version";
    case Mismatch::kKernelAbi:
      return "kernels";
    case Mismatch::kLuaJit:
      return "LuaJIT";
    case Mismatch::kNone:
      break;
  }
  return "nothing";
}

// What follows the two versions: why it matters, then what to do.
const char* tail_of(Mismatch m) {
  switch (m) {
    case Mismatch::kProtocol:
      return "; install the same ppcluster release on both";
    case Mismatch::kKernelAbi:
      return " (libppkernels); install the same ppcluster release on both";
    case Mismatch::kLuaJit:
      return "; bytecode cannot travel between them: install the same LuaJIT on both";
    case Mismatch::kNone:
      break;
  }
  return "";
}

}  // namespace

Versions versions_of(const Hello& h) {
  // Only a node runs code: a client's caps say nothing about taking bytecode.
  bool takes = h.role != "node" || Caps{h.caps}.has(Cap::kBytecode);
  return {h.protocol, h.min_protocol, h.software, h.kernel_abi, h.luajit, takes};
}

Versions versions_of(const NodeFacts& f) {
  // Beacons and TXT records of nodes older than the caps field say none: assume bytecode.
  bool takes = f.caps == 0 || Caps{f.caps}.has(Cap::kBytecode);
  return {f.protocol, f.min_protocol, f.software, f.kernel_abi, f.luajit, takes};
}

Versions own_versions(int32_t kernel_abi, std::string luajit) {
  return {kProtocolVersion, kMinProtocolVersion, kSoftwareVersion,
          kernel_abi,       std::move(luajit),   true};
}

Compatibility check(const Versions& peer, const Versions& own, Needs needs) {
  Compatibility c;
  c.same_luajit = peer.luajit == own.luajit;
  if (peer.protocol < own.min_protocol || own.protocol < peer.min_protocol) {
    c.mismatch = Mismatch::kProtocol;
    c.theirs = protocol_text(peer);
    c.ours = protocol_text(own);
  } else if (needs.kernel_abi && peer.kernel_abi != own.kernel_abi) {
    c.mismatch = Mismatch::kKernelAbi;
    c.theirs = "kernel ABI " + std::to_string(peer.kernel_abi);
    c.ours = "kernel ABI " + std::to_string(own.kernel_abi);
  } else if (needs.bytecode && !(c.same_luajit && peer.takes_bytecode)) {
    c.mismatch = Mismatch::kLuaJit;
    c.theirs = peer.luajit + (peer.takes_bytecode ? "" : " (taking no bytecode)");
    c.ours = own.luajit;
  }
  return c;
}

std::string Compatibility::versus(std::string_view self) const {
  return theirs + ", this " + std::string(self) + " runs " + ours + tail_of(mismatch);
}

std::string Compatibility::message(std::string_view peer, std::string_view self) const {
  return std::string("incompatible ") + topic_of(mismatch) + ": the " + std::string(peer) +
         " runs " + versus(self);
}

}  // namespace pp::proto
