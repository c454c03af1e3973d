// Discovery: how a node makes itself known on the LAN and how a client finds nodes, behind one
// interface whatever carries it. Two backends implement it: UDP broadcast beacons (udp.hpp,
// always available) and DNS-SD through avahi-daemon (avahi_publisher.hpp, avahi_browser.hpp,
// when a daemon runs). make_announcer / make_browser build the backends an options struct asks
// for behind one object, so the node and the client use discovery the same way:
//
//   auto announcer = discovery::make_announcer(io, options, secret, [&] { return facts(); });
//   announcer->start();                        // ... announcer->stop() says goodbye
//   auto browser = discovery::make_browser(io, options, secret,
//                                          [&](const discovery::Sighting& s) { ... });
//   browser->start();
//
// Everything runs on the io_context thread; callbacks come from it. Not thread-safe.
// The io_context must outlive these objects.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/proto/constants.hpp"
#include "core/proto/node_facts.hpp"
#include "core/util/status.hpp"

namespace asio {
class io_context;
}

namespace pp::discovery {

using proto::NodeFacts;

// A node heard of, by one backend: it is there (again, maybe with new facts), or it left.
struct Sighting {
  NodeFacts facts;    // facts.address: where it was heard from
  std::string via;    // "broadcast" or "mdns"
  bool gone = false;  // said goodbye (BYE beacon) or its last DNS-SD instance went away
};
using OnSighting = std::function<void(const Sighting&)>;
// Asked whenever facts go out, so they are fresh (the load changes).
using FactsFn = std::function<NodeFacts()>;

// The node's side: makes the node known until stop().
class Announcer {
 public:
  virtual ~Announcer() = default;
  // Fails (kIo) when the backend cannot run at all, e.g. its UDP port is taken.
  virtual Status start() = 0;
  virtual void stop() = 0;                           // says goodbye, best effort
  // The facts changed in a way clients should hear at once (the node paused or resumed):
  // announce them now rather than at the next interval. Before start() or after stop(): no-op.
  virtual void changed() {}
  virtual uint64_t bytes_sent() const { return 0; }  // beacon bytes, for the log
};

// The client's side: reports Sightings until stop(); none after stop() returns.
class Browser {
 public:
  virtual ~Browser() = default;
  virtual Status start() = 0;
  virtual void stop() = 0;
  // Nodes heard that this client could not use: another cluster's, or signed under another
  // secret (distinct node ids as claimed, unverified).
  virtual size_t unverified_nodes() const { return 0; }
};

struct AnnounceOptions {
  bool broadcast = true;                         // UDP beacons
  bool mdns = true;                              // DNS-SD, when avahi-daemon runs
  uint16_t port = proto::kDefaultDiscoveryPort;  // UDP
  std::string listen_address = "0.0.0.0";        // which interfaces' broadcast addresses
  std::string broadcast_override;                // -b ADDRESS: announce there only
  std::chrono::milliseconds interval{3000};      // UDP announces; DNS-SD TXT refresh: 3x
};

struct BrowseOptions {
  bool broadcast = true;
  bool mdns = true;
  uint16_t port = proto::kDefaultDiscoveryPort;
  std::vector<std::string> query_targets;  // where QUERYs go; empty = every interface
};

// The backends `options` asks for behind one Announcer / Browser, for the cluster of `secret`.
// A backend that cannot start is logged and left out; the others carry on.
std::unique_ptr<Announcer> make_announcer(asio::io_context& io, const AnnounceOptions& options,
                                          const std::string& secret, FactsFn facts);
std::unique_ptr<Browser> make_browser(asio::io_context& io, const BrowseOptions& options,
                                      const std::string& secret, OnSighting on_sighting);

}  // namespace pp::discovery
