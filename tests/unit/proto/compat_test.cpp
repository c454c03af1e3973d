// Tests of the one compatibility rule (core/proto/compat.hpp): the protocol range both ways,
// the kernel ABI and LuaJIT only when asked for, the same verdict from a HELLO and from
// discovered facts, and messages that name both sides' versions.
#include "core/proto/compat.hpp"

#include <doctest/doctest.h>

#include <string>

namespace pp::proto {
namespace {

Versions own() { return own_versions(3, "LuaJIT 2.1.a"); }

Versions peer(uint32_t protocol, uint32_t min_protocol) {
  Versions v = own();
  v.protocol = protocol;
  v.min_protocol = min_protocol;
  v.software = "9.9.9";
  return v;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("proto.compat.protocol_range_both_ways") {
  CHECK(check(own(), own(), {}));
  CHECK(check(peer(kProtocolVersion + 5, kMinProtocolVersion), own(), {}));  // it accepts ours
  auto newer = check(peer(99, 99), own(), {});
  CHECK(newer.mismatch == Mismatch::kProtocol);
  auto older = check(peer(0, 0), own(), {});
  CHECK(older.mismatch == Mismatch::kProtocol);
  std::string m = newer.message("node", "client");
  CHECK(has(m,
            "incompatible version: the node runs protocol 99 (accepts 99 and later, "
            "software 9.9.9), this client runs protocol " +
                std::to_string(kProtocolVersion)));
  CHECK(has(m, "install the same ppcluster release"));
}

TEST_CASE("proto.compat.kernel_abi_only_when_needed") {
  Versions p = own();
  p.kernel_abi = 4;
  CHECK(check(p, own(), {}));
  auto c = check(p, own(), {.kernel_abi = true});
  REQUIRE(c.mismatch == Mismatch::kKernelAbi);
  CHECK(c.versus("client") ==
        "kernel ABI 4, this client runs kernel ABI 3 (libppkernels); install the same "
        "ppcluster release on both");
  CHECK(has(c.message("node", "client"), "incompatible kernels: the node runs kernel ABI 4"));
}

TEST_CASE("proto.compat.luajit_matters_for_bytecode_only") {
  Versions p = own();
  p.luajit = "LuaJIT 2.1.b";
  auto lenient = check(p, own(), {.kernel_abi = true});
  CHECK(lenient);
  CHECK_FALSE(lenient.same_luajit);
  auto strict = check(p, own(), {.bytecode = true});
  REQUIRE(strict.mismatch == Mismatch::kLuaJit);
  CHECK(has(strict.message("node", "client"),
            "incompatible LuaJIT: the node runs LuaJIT 2.1.b, this client runs LuaJIT 2.1.a; "
            "bytecode cannot travel between them"));
  // The same LuaJIT, but a node that takes no bytecode.
  Versions no_bytecode = own();
  no_bytecode.takes_bytecode = false;
  CHECK(check(no_bytecode, own(), {.bytecode = true}).mismatch == Mismatch::kLuaJit);
}

TEST_CASE("proto.compat.protocol_is_judged_first") {
  Versions p = peer(99, 99);
  p.kernel_abi = 7;
  p.luajit = "other";
  CHECK(check(p, own(), {.kernel_abi = true, .bytecode = true}).mismatch == Mismatch::kProtocol);
}

TEST_CASE("proto.compat.hello_and_facts_agree") {
  NodeFacts f;
  f.protocol = 99;
  f.min_protocol = 99;
  f.software = "9.9.9";
  f.kernel_abi = 3;
  f.luajit = "LuaJIT 2.1.a";
  f.caps = kOwnCaps;
  Hello h = hello_of(f, "node", std::string(kNonceSize, 'n'));
  auto from_hello = check(versions_of(h), own(), {.kernel_abi = true, .bytecode = true});
  auto from_facts = check(versions_of(f), own(), {.kernel_abi = true, .bytecode = true});
  CHECK(from_hello.mismatch == Mismatch::kProtocol);
  CHECK(from_hello.message("node", "client") == from_facts.message("node", "client"));
}

TEST_CASE("proto.compat.who_takes_bytecode") {
  Hello node;
  node.role = "node";
  node.caps = static_cast<uint32_t>(Cap::kSource);
  CHECK_FALSE(versions_of(node).takes_bytecode);
  node.caps = kOwnCaps;
  CHECK(versions_of(node).takes_bytecode);
  Hello client;  // a client runs no code: its caps say nothing about bytecode
  client.role = "client";
  CHECK(versions_of(client).takes_bytecode);
  NodeFacts old_beacon;  // said no caps at all
  CHECK(versions_of(old_beacon).takes_bytecode);
}

}  // namespace
}  // namespace pp::proto
