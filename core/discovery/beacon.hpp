// Beacon: the self-describing discovery datagram of ppcluster (UDP broadcast).
//
// A datagram is a msgpack array [body (bin), mac (bin)]: body is a msgpack map of
// facts (magic, beacon version, kind, cluster id, node id, host, port, workers,
// speed, load, versions, kernels, a sequence number), mac an HMAC-SHA256 of body
// under a key derived from the cluster secret. Forged or garbled beacons fail to
// decode; beacons of another cluster decode but carry another cluster id. Pure
// functions; no sockets. See docs/protocol.md, "Discovery".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/proto/auth.hpp"
#include "core/util/status.hpp"

namespace pp::discovery {

inline constexpr char kBeaconMagic[] = "ppcluster-beacon";
inline constexpr uint32_t kBeaconVersion = 1;
inline constexpr uint16_t kDefaultDiscoveryPort = 60001;
inline constexpr size_t kMaxBeaconSize = 1400;   // one unfragmented datagram

enum class BeaconKind : uint8_t { kAnnounce = 1, kQuery = 2, kBye = 3 };

// What a node says about itself (also what a client learns from Avahi TXT records).
struct NodeFacts {
  std::string cluster_id;
  std::string node_id;
  std::string host;
  std::string address;          // filled by the receiver: where the beacon came from
  uint16_t port = 0;
  uint32_t workers = 0;
  double speed = 1.0;           // calibration score, 1.0 = reference machine
  double load = 0.0;            // CPU share used by other processes, 0..1 per core summed
  std::string software;
  uint32_t protocol = 0;
  uint32_t min_protocol = 0;
  int32_t kernel_abi = 0;
  std::string luajit;
  std::vector<std::string> kernels;
};

struct Beacon {
  uint32_t version = kBeaconVersion;
  BeaconKind kind = BeaconKind::kAnnounce;
  uint64_t seq = 0;             // increases per sender; a query's reply echoes nothing
  NodeFacts facts;              // for a QUERY only cluster_id and node_id (the client's) matter
};

// The HMAC key for beacons of a cluster (not the TCP authentication key).
proto::AuthKey beacon_key(std::string_view secret);

std::string encode_beacon(const Beacon& b, const proto::AuthKey& key);
// Fails with kNotFound for a beacon of another cluster (when `cluster_id` is
// given), kAuth for a wrong HMAC (forged or garbled), kInvalid for anything
// malformed or too large. For kNotFound and kAuth, `claimed` (if given) gets what
// the beacon says of itself, unverified: only for counting what was heard.
Result<Beacon> decode_beacon(std::string_view datagram, const proto::AuthKey& key,
                             std::string_view cluster_id = {}, Beacon* claimed = nullptr);

}  // namespace pp::discovery
