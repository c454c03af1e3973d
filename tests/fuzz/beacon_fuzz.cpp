// libFuzzer harness for pp::discovery::decode_beacon (core/discovery/beacon.*).
//
// Each input is tried two ways:
//  1. as a whole datagram, under a fixed key, with and without a cluster-id
//     filter: the path any host on the LAN can reach (the outer array, and the
//     body parse that runs before the HMAC check to name a foreign cluster);
//  2. as a beacon body, wrapped into a datagram with a valid HMAC under that
//     key: the path behind the HMAC check, reachable only with the secret.
// A refusal must carry one of the documented codes and a message; a signed
// body is never refused as forged; the cluster filter agrees with the decoded
// cluster id; and a decoded beacon encodes to a datagram that decodes to the
// same beacon (when the re-encoding still fits one datagram).
// The seed beacons (tests/fuzz/corpus/beacon) are signed with the same key.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/discovery/beacon.hpp"
#include "core/proto/auth.hpp"
#include "core/proto/msgpack_util.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace pp::discovery;
using pp::StatusCode;

const pp::proto::AuthKey& key() {
  static const pp::proto::AuthKey k = beacon_key(pp::fuzz::kBeaconSecret);
  return k;
}

bool same_double(double a, double b) {
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b);
}

bool same(const Beacon& a, const Beacon& b) {
  const NodeFacts& f = a.facts;
  const NodeFacts& g = b.facts;
  return a.version == b.version && a.kind == b.kind && a.seq == b.seq &&
         f.cluster_id == g.cluster_id && f.node_id == g.node_id && f.host == g.host &&
         f.address == g.address && f.port == g.port && f.workers == g.workers &&
         same_double(f.speed, g.speed) && same_double(f.load, g.load) &&
         same_double(f.load_own, g.load_own) && same_double(f.load_other, g.load_other) &&
         f.paused == g.paused && f.software == g.software &&
         f.protocol == g.protocol && f.min_protocol == g.min_protocol &&
         f.kernel_abi == g.kernel_abi && f.luajit == g.luajit && f.kernels == g.kernels &&
         f.caps == g.caps && f.max_frame == g.max_frame;
}

void check_refusal(const pp::Status& s) {
  PP_FUZZ_CHECK(s.code() == StatusCode::kInvalid || s.code() == StatusCode::kTooLarge ||
                s.code() == StatusCode::kAuth || s.code() == StatusCode::kNotFound);
  PP_FUZZ_CHECK(!s.message().empty());
}

// A decoded beacon survives encoding and decoding unchanged.
void check_round_trip(const Beacon& b) {
  const std::string datagram = encode_beacon(b, key());
  pp::Result<Beacon> again = decode_beacon(datagram, key());
  if (datagram.size() > kMaxBeaconSize) {
    PP_FUZZ_CHECK(!again && again.status().code() == StatusCode::kTooLarge);
    return;
  }
  PP_FUZZ_CHECK(again.has_value());
  PP_FUZZ_CHECK(same(*again, b));
}

// Decodes `datagram` with and without the cluster filter; returns the unfiltered result.
pp::Result<Beacon> decode_both(std::string_view datagram) {
  pp::Result<Beacon> open = decode_beacon(datagram, key());
  pp::Result<Beacon> filtered = decode_beacon(datagram, key(), pp::fuzz::kClusterId);
  if (!open) {
    check_refusal(open.status());
    PP_FUZZ_CHECK(!filtered);
    check_refusal(filtered.status());
    return open;
  }
  check_round_trip(*open);
  if (open->facts.cluster_id == pp::fuzz::kClusterId) {
    PP_FUZZ_CHECK(filtered.has_value());
    PP_FUZZ_CHECK(same(*filtered, *open));
  } else {
    PP_FUZZ_CHECK(!filtered && filtered.status().code() == StatusCode::kNotFound);
  }
  return open;
}

// The datagram that carries `body` with a valid HMAC.
std::string signed_datagram(std::string_view body) {
  std::string out;
  pp::proto::StringSink sink{out};
  pp::proto::StringPacker pk(sink);
  const std::string mac = pp::proto::hmac_sha256(key(), body);
  pk.pack_array(2);
  pk.pack_bin(static_cast<uint32_t>(body.size()));
  pk.pack_bin_body(body.data(), static_cast<uint32_t>(body.size()));
  pk.pack_bin(static_cast<uint32_t>(mac.size()));
  pk.pack_bin_body(mac.data(), static_cast<uint32_t>(mac.size()));
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  decode_both(input);

  const std::string datagram = signed_datagram(input);
  pp::Result<Beacon> b = decode_both(datagram);
  if (!b) {
    // Signed with the right key: whatever is wrong, it is not the HMAC.
    PP_FUZZ_CHECK(b.status().code() != StatusCode::kAuth);
    PP_FUZZ_CHECK((b.status().code() == StatusCode::kTooLarge) ==
                  (datagram.size() > kMaxBeaconSize));
  }
  return 0;
}
