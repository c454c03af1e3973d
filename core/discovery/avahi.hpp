// DNS-SD discovery through Avahi: a node publishes itself as _ppserver._tcp, a client browses.
//
// AvahiPublisher (ppserver) registers the service "ppserver <host> <node id, 6 chars>" of type
// _ppserver._tcp on the node's TCP port, with the node's facts as TXT records (txt_from_facts),
// renames itself on a name collision ("... #2") and re-publishes the TXT on update().
// AvahiBrowser (client) browses _ppserver._tcp over IPv4, keeps a resolver per instance (so TXT
// changes such as the load arrive as new OnFound calls) and reports the nodes of its cluster.
//
// Both talk to the local avahi-daemon over D-Bus through an AsioAvahiPoll, so their work and all
// callbacks run on the io_context thread. OnFound / OnLost are posted to the io_context, never
// called from inside Avahi, so they may call stop() or destroy their object. Without a
// reachable daemon each object logs that once and keeps waiting (UDP broadcast discovery
// carries on alone); when a daemon appears or restarts the service is published again.
// Avahi's client library makes blocking D-Bus calls (usually well under a millisecond; up to
// D-Bus's 25 s timeout if avahi-daemon hangs), on the io_context thread.
// Not thread-safe. The io_context must outlive these objects.
//
//   AvahiPublisher pub(io, [&] { return node.facts(); });
//   pub.start();            // and pub.update() when the load changes
//   AvahiBrowser browser(io, cluster_id,
//                        [&](const NodeFacts& f) { add(f.node_id, f.address, f.port); },
//                        [&](const std::string& id) { drop(id); });
//   browser.start();
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/discovery/beacon.hpp"
#include "core/util/status.hpp"

namespace asio {
class io_context;
}

namespace pp::discovery {

inline constexpr char kServiceType[] = "_ppserver._tcp";
inline constexpr size_t kMaxTxtString = 255;     // one DNS TXT character-string
inline constexpr size_t kMaxServiceName = 63;    // one DNS label, in bytes

// TXT strings "key=value" for a node: cluster id host workers speed (%.3f) load (%.2f) sw proto
// minproto abi luajit kernels (comma list). A kernel list longer than one TXT string goes on in
// kernels2, kernels3, ...; other values are cut to fit. Address and port are not included (the
// SRV and A records carry them).
std::vector<std::string> txt_from_facts(const NodeFacts& facts);

// The reverse. Keys are case-insensitive, the first of duplicate keys counts, unknown keys and
// strings without '=' are ignored. Fails with kInvalid when id or cluster is missing or empty,
// or a number does not parse. Leaves address and port empty.
Result<NodeFacts> facts_from_txt(const std::vector<std::string>& key_eq_values);

// "ppserver <host> <first 6 chars of node id>", the host cut (at a UTF-8 boundary) so that the
// whole fits one DNS label.
std::string service_name(const NodeFacts& facts);

class AvahiPublisher {
 public:
  // `facts` is called on the io_context thread whenever (re)publishing; its port is the
  // service's port.
  AvahiPublisher(asio::io_context& io, std::function<NodeFacts()> facts);
  ~AvahiPublisher();
  AvahiPublisher(const AvahiPublisher&) = delete;
  AvahiPublisher& operator=(const AvahiPublisher&) = delete;

  void start();
  // Re-publishes the TXT with fresh facts, only if it changed. Browsers see a change about
  // 1.2 s later, best effort: the daemons coalesce changes that come faster than every ~3 s.
  void update();
  void stop();     // withdraw the service (goodbye packets) and disconnect; start() may follow

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class AvahiBrowser {
 public:
  using OnFound = std::function<void(const NodeFacts&)>;
  using OnLost = std::function<void(const std::string& node_id)>;

  // `cluster_id` empty = report nodes of every cluster. OnFound repeats for a node whose TXT
  // changed; OnLost comes when the last instance carrying that node id is removed.
  AvahiBrowser(asio::io_context& io, std::string cluster_id, OnFound on_found, OnLost on_lost);
  ~AvahiBrowser();
  AvahiBrowser(const AvahiBrowser&) = delete;
  AvahiBrowser& operator=(const AvahiBrowser&) = delete;

  void start();
  void stop();   // no callbacks after this returns

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;   // shared: posted callbacks hold a weak_ptr
};

}  // namespace pp::discovery
