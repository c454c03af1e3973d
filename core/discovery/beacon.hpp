// Beacon: the self-describing discovery datagram of ppcluster (UDP broadcast).
//
// A datagram is a msgpack array [body (bin), mac (bin)]: body is a msgpack map of
// facts (magic, beacon version, kind, cluster id, node id, host, port, workers,
// speed, load, versions, caps, max frame, kernels, a sequence number), mac an HMAC-SHA256 of body
// under a key derived from the cluster secret. Forged or garbled beacons fail to
// decode; beacons of another cluster decode but carry another cluster id. Pure
// functions; no sockets. See docs/protocol.md, "Discovery".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/proto/auth.hpp"
#include "core/proto/node_facts.hpp"
#include "core/util/status.hpp"

namespace pp::discovery {

inline constexpr char kBeaconMagic[] = "ppcluster-beacon";
inline constexpr uint32_t kBeaconVersion = 1;
inline constexpr size_t kMaxBeaconSize = 1400;   // one unfragmented datagram

enum class BeaconKind : uint8_t { kAnnounce = 1, kQuery = 2, kBye = 3 };

// What a node says about itself: one struct for HELLO, beacon and TXT (core/proto).
using proto::NodeFacts;

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
