// Tests of the UDP beacon codec (core/discovery/beacon.hpp): every fact and every kind survive a
// round trip; a beacon of another cluster, under another secret, truncated, oversized or not a
// beacon at all is refused with its own code; a beacon of an older node (without caps and
// max frame) still decodes. Hostile input at volume is the fuzzer's (tests/fuzz).
#include "core/discovery/beacon.hpp"

#include <doctest/doctest.h>

#include <msgpack.hpp>
#include <string>

#include "core/proto/msgpack_util.hpp"

namespace pp::discovery {
namespace {

NodeFacts sample() {
  NodeFacts f;
  f.cluster_id = proto::cluster_id("s3cret");
  f.node_id = "3f2a9b7c01d4e5f6";
  f.host = "lab-h1";
  f.port = 60000;
  f.workers = 8;
  f.speed = 41.2346;
  f.load = 0.756;
  f.load_own = 3.5;
  f.load_other = 0.756;
  f.software = "0.1.0";
  f.protocol = 3;
  f.min_protocol = 2;
  f.kernel_abi = -7;
  f.luajit = "LuaJIT 2.1.0-beta3";
  f.kernels = {"splitmix64", "mc_pi_hits", "count_primes"};
  f.caps = proto::kOwnCaps | static_cast<uint32_t>(proto::Cap::kEncrypt);
  f.max_frame = uint64_t{1} << 30;
  return f;
}

TEST_CASE("discovery.beacon.round_trip") {
  auto key = beacon_key("s3cret");
  for (BeaconKind kind : {BeaconKind::kAnnounce, BeaconKind::kQuery, BeaconKind::kBye}) {
    Beacon in;
    in.kind = kind;
    in.seq = 0xFFFFFFFFFFull + static_cast<uint64_t>(kind);
    in.facts = sample();
    std::string wire = encode_beacon(in, key);
    CHECK(wire.size() <= kMaxBeaconSize);
    auto out = decode_beacon(wire, key, in.facts.cluster_id);
    REQUIRE(out.has_value());
    CHECK(out->version == kBeaconVersion);
    CHECK(out->kind == kind);
    CHECK(out->seq == in.seq);
    const NodeFacts& f = out->facts;
    CHECK(f.cluster_id == in.facts.cluster_id);
    CHECK(f.node_id == in.facts.node_id);
    CHECK(f.host == in.facts.host);
    CHECK(f.address.empty());  // the receiver fills it from the datagram's source
    CHECK(f.port == in.facts.port);
    CHECK(f.workers == in.facts.workers);
    CHECK(f.speed == in.facts.speed);  // a msgpack double: exact
    CHECK(f.load == in.facts.load);
    CHECK(f.load_own == in.facts.load_own);
    CHECK(f.load_other == in.facts.load_other);
    CHECK(f.software == in.facts.software);
    CHECK(f.protocol == in.facts.protocol);
    CHECK(f.min_protocol == in.facts.min_protocol);
    CHECK(f.kernel_abi == in.facts.kernel_abi);
    CHECK(f.luajit == in.facts.luajit);
    CHECK(f.kernels == in.facts.kernels);
    CHECK(f.caps == in.facts.caps);
    CHECK(f.max_frame == in.facts.max_frame);
    CHECK_FALSE(f.paused);
  }
}

TEST_CASE("discovery.beacon.paused_only_while_it_is") {
  auto key = beacon_key("s3cret");
  Beacon in;
  in.facts = sample();
  const std::string running = encode_beacon(in, key);
  CHECK(running.find("paused") == std::string::npos);
  in.facts.paused = true;
  const std::string paused = encode_beacon(in, key);
  CHECK(paused.size() <= kMaxBeaconSize);
  auto out = decode_beacon(paused, key, in.facts.cluster_id);
  REQUIRE(out.has_value());
  CHECK(out->facts.paused);
  CHECK(out->facts.host == in.facts.host);
}

TEST_CASE("discovery.beacon.any_cluster_when_none_given") {
  auto key = beacon_key("s3cret");
  Beacon in;
  in.facts = sample();
  CHECK(decode_beacon(encode_beacon(in, key), key).has_value());
}

TEST_CASE("discovery.beacon.refusals_say_why") {
  auto key = beacon_key("s3cret");
  Beacon in;
  in.facts = sample();
  std::string wire = encode_beacon(in, key);

  Beacon claimed;
  auto other = decode_beacon(wire, key, proto::cluster_id("another"), &claimed);
  REQUIRE_FALSE(other.has_value());
  CHECK(other.status().code() == StatusCode::kNotFound);
  CHECK(claimed.facts.node_id == in.facts.node_id);  // for counting what was heard

  Beacon forged_claim;
  auto forged = decode_beacon(wire, beacon_key("not quite"), in.facts.cluster_id, &forged_claim);
  REQUIRE_FALSE(forged.has_value());
  CHECK(forged.status().code() == StatusCode::kAuth);
  CHECK(forged_claim.facts.node_id == in.facts.node_id);

  auto cut = decode_beacon(std::string_view(wire).substr(0, wire.size() - 5), key);
  REQUIRE_FALSE(cut.has_value());
  CHECK(cut.status().code() == StatusCode::kInvalid);

  auto huge = decode_beacon(std::string(kMaxBeaconSize + 1, '\x90'), key);
  REQUIRE_FALSE(huge.has_value());
  CHECK(huge.status().code() == StatusCode::kTooLarge);

  auto garbage = decode_beacon("not a beacon", key);
  CHECK_FALSE(garbage.has_value());

  Beacon anonymous;
  anonymous.facts = sample();
  anonymous.facts.node_id.clear();
  auto no_id = decode_beacon(encode_beacon(anonymous, key), key);
  REQUIRE_FALSE(no_id.has_value());
  CHECK(no_id.status().code() == StatusCode::kInvalid);
}

// A body as a node of the first beacon layout wrote it: no caps, no maxframe, and a key this
// decoder does not know. It decodes; the missing facts read as "not said" (0).
TEST_CASE("discovery.beacon.older_layout_and_unknown_keys") {
  auto key = beacon_key("s3cret");
  std::string body;
  proto::StringSink sink{body};
  proto::StringPacker pk(sink);
  pk.pack_map(8);
  pk.pack("magic"), pk.pack(std::string(kBeaconMagic));
  pk.pack("load"), pk.pack(1.25);
  pk.pack("v"), pk.pack(1);
  pk.pack("kind"), pk.pack(1);
  pk.pack("cluster"), pk.pack(proto::cluster_id("s3cret"));
  pk.pack("id"), pk.pack(std::string("old-node"));
  pk.pack("proto"), pk.pack(1);
  pk.pack("future"), pk.pack(std::string("whatever"));
  std::string wire;
  proto::StringSink osink{wire};
  proto::StringPacker opk(osink);
  opk.pack_array(2);
  opk.pack_bin(static_cast<uint32_t>(body.size()));
  opk.pack_bin_body(body.data(), static_cast<uint32_t>(body.size()));
  std::string mac = proto::hmac_sha256(key, body);
  opk.pack_bin(static_cast<uint32_t>(mac.size()));
  opk.pack_bin_body(mac.data(), static_cast<uint32_t>(mac.size()));
  auto b = decode_beacon(wire, key, proto::cluster_id("s3cret"));
  REQUIRE(b.has_value());
  CHECK(b->facts.node_id == "old-node");
  CHECK(b->facts.protocol == 1);
  CHECK(b->facts.caps == 0);
  CHECK(b->facts.max_frame == 0);
  // A node before load_own / load_other: its `load` was the other processes' already.
  CHECK(b->facts.load == 1.25);
  CHECK(b->facts.load_other == 1.25);
  CHECK(b->facts.load_own == 0);
}

}  // namespace
}  // namespace pp::discovery
