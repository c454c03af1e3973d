#include "core/discovery/beacon.hpp"

#include <msgpack.hpp>

#include "core/proto/msgpack_util.hpp"

namespace pp::discovery {
namespace {

using proto::StringPacker;
using proto::StringSink;

void kv(StringPacker& pk, const char* k, const std::string& v) {
  pk.pack(k);
  pk.pack(v);
}

std::string str_of(const msgpack::object& o) {
  if (o.type == msgpack::type::STR) return std::string(o.via.str.ptr, o.via.str.size);
  if (o.type == msgpack::type::BIN) return std::string(o.via.bin.ptr, o.via.bin.size);
  throw msgpack::type_error();
}

}  // namespace

proto::AuthKey beacon_key(std::string_view secret) {
  // derive_key() of a labelled secret keeps the beacon key independent of the TCP one.
  return proto::derive_key(std::string("ppcluster beacon key v1:") + std::string(secret));
}

std::string encode_beacon(const Beacon& b, const proto::AuthKey& key) {
  std::string body;
  StringSink sink{body};
  StringPacker pk(sink);
  const NodeFacts& f = b.facts;
  // "paused" only while it is: a beacon grows by it only then.
  pk.pack_map(f.paused ? 22 : 21);
  kv(pk, "magic", kBeaconMagic);
  pk.pack("v"), pk.pack(b.version);
  pk.pack("kind"), pk.pack(static_cast<uint8_t>(b.kind));
  pk.pack("seq"), pk.pack(b.seq);
  kv(pk, "cluster", f.cluster_id);
  kv(pk, "id", f.node_id);
  kv(pk, "host", f.host);
  pk.pack("port"), pk.pack(f.port);
  pk.pack("workers"), pk.pack(f.workers);
  pk.pack("speed"), pk.pack(f.speed);
  pk.pack("load"), pk.pack(f.load);
  pk.pack("load_own"), pk.pack(f.load_own);
  pk.pack("load_other"), pk.pack(f.load_other);
  kv(pk, "sw", f.software);
  pk.pack("proto"), pk.pack(f.protocol);
  pk.pack("minproto"), pk.pack(f.min_protocol);
  pk.pack("abi"), pk.pack(f.kernel_abi);
  kv(pk, "luajit", f.luajit);
  pk.pack("caps"), pk.pack(f.caps);
  pk.pack("maxframe"), pk.pack(f.max_frame);
  pk.pack("kernels"), pk.pack(f.kernels);
  if (f.paused) pk.pack("paused"), pk.pack(true);
  std::string out;
  StringSink osink{out};
  StringPacker opk(osink);
  opk.pack_array(2);
  opk.pack_bin(static_cast<uint32_t>(body.size()));
  opk.pack_bin_body(body.data(), static_cast<uint32_t>(body.size()));
  std::string mac = proto::hmac_sha256(key, body);
  opk.pack_bin(static_cast<uint32_t>(mac.size()));
  opk.pack_bin_body(mac.data(), static_cast<uint32_t>(mac.size()));
  return out;
}

namespace {

// The beacon body's map, keys in any order; unknown keys are skipped (later versions may add
// facts). Throws msgpack::type_error on a value of the wrong type, caught in decode_beacon.
Beacon beacon_of(const msgpack::object& m, std::string& magic) {
  Beacon b;
  NodeFacts& f = b.facts;
  bool has_other = false;
  for (uint32_t i = 0; i < m.via.map.size; ++i) {
    std::string k = str_of(m.via.map.ptr[i].key);
    const auto& v = m.via.map.ptr[i].val;
    if (k == "magic") magic = str_of(v);
    else if (k == "v") b.version = v.as<uint32_t>();
    else if (k == "kind") b.kind = static_cast<BeaconKind>(v.as<uint8_t>());
    else if (k == "seq") b.seq = v.as<uint64_t>();
    else if (k == "cluster") f.cluster_id = str_of(v);
    else if (k == "id") f.node_id = str_of(v);
    else if (k == "host") f.host = str_of(v);
    else if (k == "port") f.port = v.as<uint16_t>();
    else if (k == "workers") f.workers = v.as<uint32_t>();
    else if (k == "speed") f.speed = v.as<double>();
    else if (k == "load") f.load = v.as<double>();
    else if (k == "load_own") f.load_own = v.as<double>();
    else if (k == "load_other") f.load_other = v.as<double>(), has_other = true;
    else if (k == "sw") f.software = str_of(v);
    else if (k == "proto") f.protocol = v.as<uint32_t>();
    else if (k == "minproto") f.min_protocol = v.as<uint32_t>();
    else if (k == "abi") f.kernel_abi = v.as<int32_t>();
    else if (k == "luajit") f.luajit = str_of(v);
    else if (k == "caps") f.caps = v.as<uint32_t>();
    else if (k == "maxframe") f.max_frame = v.as<uint64_t>();
    else if (k == "kernels") f.kernels = v.as<std::vector<std::string>>();
    else if (k == "paused") f.paused = v.as<bool>();
  }
  if (!has_other) f.load_other = f.load;   // a node before load_own / load_other
  return b;
}

// Whether a decoded beacon may be used: ours (magic), of this cluster, authentic, of a known
// kind, naming its node. What a beacon of another cluster or a forged one claims is handed to
// *claimed, for the log only.
Status check_beacon(const Beacon& b, const std::string& magic, bool mac_ok,
                    std::string_view cluster_id, Beacon* claimed) {
  const NodeFacts& f = b.facts;
  if (magic != kBeaconMagic) return Status(StatusCode::kInvalid, "not a ppcluster beacon");
  bool foreign = !cluster_id.empty() && f.cluster_id != cluster_id;
  if (claimed != nullptr && (foreign || !mac_ok)) *claimed = b;
  if (foreign) {
    return Status(StatusCode::kNotFound, "beacon of another cluster (" + f.cluster_id + ")");
  }
  if (!mac_ok) {
    return Status(StatusCode::kAuth,
                  "beacon HMAC does not match (forged, garbled, or another secret)");
  }
  if (b.kind != BeaconKind::kAnnounce && b.kind != BeaconKind::kQuery &&
      b.kind != BeaconKind::kBye) {
    return Status(StatusCode::kInvalid, "unknown beacon kind");
  }
  if (f.node_id.empty()) return Status(StatusCode::kInvalid, "beacon without node id");
  return Status::ok();
}

}  // namespace

Result<Beacon> decode_beacon(std::string_view datagram, const proto::AuthKey& key,
                             std::string_view cluster_id, Beacon* claimed) {
  if (datagram.size() > kMaxBeaconSize) return Status(StatusCode::kTooLarge, "beacon too large");
  try {
    msgpack::unpack_limit limit(32, 32, kMaxBeaconSize, kMaxBeaconSize, 0, 4);
    size_t off = 0;
    auto outer = msgpack::unpack(datagram.data(), datagram.size(), off, proto::reference_all, nullptr, limit);
    if (off != datagram.size()) return Status(StatusCode::kInvalid, "trailing bytes");
    const auto& a = outer.get();
    if (a.type != msgpack::type::ARRAY || a.via.array.size != 2) {
      return Status(StatusCode::kInvalid, "not a beacon");
    }
    std::string body = str_of(a.via.array.ptr[0]);
    std::string mac = str_of(a.via.array.ptr[1]);
    // The cluster id is read before the HMAC is checked only to tell "another
    // cluster" from "forged" in logs; nothing else is trusted before the check.
    bool mac_ok = proto::proof_equal(mac, proto::hmac_sha256(key, body));
    off = 0;
    auto inner = msgpack::unpack(body.data(), body.size(), off, proto::reference_all, nullptr, limit);
    const auto& m = inner.get();
    if (m.type != msgpack::type::MAP) return Status(StatusCode::kInvalid, "beacon body is not a map");
    std::string magic;
    Beacon b = beacon_of(m, magic);
    Status st = check_beacon(b, magic, mac_ok, cluster_id, claimed);
    if (!st) return st;
    return b;
  } catch (const std::exception& e) {
    return Status(StatusCode::kInvalid, std::string("malformed beacon: ") + e.what());
  }
}

}  // namespace pp::discovery
