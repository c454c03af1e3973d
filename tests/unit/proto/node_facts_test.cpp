// Tests of NodeFacts -> HELLO (core/proto/node_facts.hpp): every fact a HELLO carries
// survives hello_of and the frame codec; what a HELLO does not carry stays out of it.
#include "core/proto/node_facts.hpp"

#include <doctest/doctest.h>

#include "core/proto/codec.hpp"

namespace pp::proto {
namespace {

TEST_CASE("proto.node_facts.hello_round_trip") {
  NodeFacts f;
  f.cluster_id = "c0ffee";
  f.node_id = "3f2a9b7c01d4e5f6";
  f.host = "lab-h1";
  f.port = 60000;
  f.workers = 8;
  f.speed = 41.25;
  f.load = 0.5;
  f.software = "0.1.0";
  f.protocol = 3;
  f.min_protocol = 2;
  f.kernel_abi = -7;
  f.luajit = "LuaJIT 2.1.0-beta3";
  f.kernels = {"mc_pi_hits"};
  f.caps = kOwnCaps | static_cast<uint32_t>(Cap::kEncrypt);
  f.max_frame = 1u << 20;
  std::string nonce(kNonceSize, 'n');
  std::string frame;
  encode_frame(hello_of(f, "node", nonce), frame);
  auto m = decode_message(std::string_view(frame).substr(kHeaderSize));
  REQUIRE(m.has_value());
  const Hello& h = std::get<Hello>(*m);
  CHECK(h.magic == kMagic);
  CHECK(h.role == "node");
  CHECK(h.nonce == nonce);
  CHECK(h.node_id == f.node_id);
  CHECK(h.host == f.host);
  CHECK(h.workers == f.workers);
  CHECK(h.speed == f.speed);
  CHECK(h.software == f.software);
  CHECK(h.protocol == f.protocol);
  CHECK(h.min_protocol == f.min_protocol);
  CHECK(h.kernel_abi == f.kernel_abi);
  CHECK(h.luajit == f.luajit);
  CHECK(h.caps == f.caps);
  CHECK(h.max_frame == f.max_frame);
}

}  // namespace
}  // namespace pp::proto
