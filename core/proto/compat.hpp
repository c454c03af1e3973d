// Compatibility: can this side work with a peer, judged from the peer's HELLO (at connect)
// or its NodeFacts (heard by discovery, before any connection)? The one rule, used by the
// node on a client's HELLO, by the client on a node's HELLO and by the client on discovered
// nodes, so that all three agree and say it in the same words (docs/protocol.md, "Handshake").
//
// Pure. proto knows neither LuaJIT nor the kernels library: the caller gives its own
// kernel ABI and LuaJIT version (own_versions).
//
//   auto own = proto::own_versions(pp_kernels_abi_version(), LUAJIT_VERSION);
//   auto c = proto::check(proto::versions_of(hello), own, {.kernel_abi = true, .bytecode = true});
//   if (!c) return down(c.message("node", "client"), true);
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/proto/messages.hpp"
#include "core/proto/node_facts.hpp"

namespace pp::proto {

// The versions a side runs, as far as compatibility goes.
struct Versions {
  uint32_t protocol = 0;
  uint32_t min_protocol = 0;
  std::string software;
  int32_t kernel_abi = 0;
  std::string luajit;
  bool takes_bytecode = true;  // the peer accepts bytecode blobs (its caps, when it said them)
};

Versions versions_of(const Hello& h);
Versions versions_of(const NodeFacts& f);
// This build's protocol range and software, with the caller's kernel ABI and LuaJIT.
Versions own_versions(int32_t kernel_abi, std::string luajit);

// What this side requires beyond the protocol range, which is always required.
struct Needs {
  bool kernel_abi = false;  // the same kernel ABI (the client: its jobs call the node's kernels)
  bool bytecode = false;    // bytecode must travel: the same LuaJIT, and the peer takes bytecode
};

enum class Mismatch { kNone, kProtocol, kKernelAbi, kLuaJit };

struct Compatibility {
  Mismatch mismatch = Mismatch::kNone;
  // What the peer runs, e.g. "protocol 2 (accepts 2 and later, software 0.2.0)".
  std::string theirs;
  std::string ours;         // what this side runs, in the same words
  bool same_luajit = true;  // bytecode dumped by one side loads on the other

  explicit operator bool() const { return mismatch == Mismatch::kNone; }
  // "<theirs>, this <self> runs <ours><consequence>; <advice>", e.g. for `ppclient nodes`:
  // "protocol 99 (...), this client runs protocol 1 (...); install the same ppcluster ...".
  std::string versus(std::string_view self) const;
  // "incompatible version: the <peer> runs " + versus(self): for logs and ERROR frames.
  std::string message(std::string_view peer, std::string_view self) const;
};

Compatibility check(const Versions& peer, const Versions& own, Needs needs);

}  // namespace pp::proto
