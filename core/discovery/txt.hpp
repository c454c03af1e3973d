// The DNS-SD TXT codec: a node's facts as the TXT records of its _ppserver._tcp service, and
// back. Pure functions; the Avahi publisher and browser (avahi_publisher.hpp,
// avahi_browser.hpp) carry the strings. See docs/protocol.md, "mDNS / DNS-SD".
#pragma once

#include <string>
#include <vector>

#include "core/proto/node_facts.hpp"
#include "core/util/status.hpp"

namespace pp::discovery {

using proto::NodeFacts;

inline constexpr char kServiceType[] = "_ppserver._tcp";
inline constexpr size_t kMaxTxtString = 255;   // one DNS TXT character-string
inline constexpr size_t kMaxServiceName = 63;  // one DNS label, in bytes

// TXT strings "key=value" for a node: cluster id host workers speed (%.3f) load load_own
// load_other (%.2f) sw proto minproto abi luajit caps maxframe (both left out when 0, not said)
// paused (=1, only while paused) kernels (comma list). A kernel
// list longer than one TXT string goes on in kernels2, kernels3, ...; other values are cut to fit.
// Address and port are not included (the SRV and A records carry them).
std::vector<std::string> txt_from_facts(const NodeFacts& facts);

// The reverse. Keys are case-insensitive, the first of duplicate keys counts, unknown keys and
// strings without '=' are ignored. Fails with kInvalid when id or cluster is missing or empty,
// or a number (or paused, 0 or 1) does not parse. Without load_other (a node before it) that is
// `load`. Leaves address and port empty.
Result<NodeFacts> facts_from_txt(const std::vector<std::string>& key_eq_values);

// "ppserver <host> <first 6 chars of node id>", the host cut (at a UTF-8 boundary) so that the
// whole fits one DNS label.
std::string service_name(const NodeFacts& facts);

// The kInvalid status of a record that cannot be used, saying why.
Status bad_txt(const std::string& why);

}  // namespace pp::discovery
