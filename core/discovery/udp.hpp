// UDP broadcast discovery: the node's announcer and the client's listener, the always-there
// backend of discovery.hpp.
//
// Node (UdpAnnouncer): binds the discovery port on 0.0.0.0, broadcasts an
// ANNOUNCE at start and every interval on each broadcast-capable IPv4 interface
// it serves (subnet broadcast, plus 255.255.255.255; 127.255.255.255 on loopback),
// answers a QUERY at once by unicast, and broadcasts BYE on stop.
// Client (UdpListener): listens on the discovery port for announces, and sends
// QUERYs from an ephemeral socket whose unicast replies it also reads.
// Beacons that fail their HMAC or belong to another cluster are dropped (logged
// at most once a minute per sender). Both run on the owner's io_context thread.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/discovery/beacon.hpp"
#include "core/discovery/discovery.hpp"

namespace pp::discovery {

// Broadcast addresses of the up, broadcast-capable IPv4 interfaces; only the one
// holding `listen_address` unless that is 0.0.0.0. Loopback gives 127.255.255.255.
std::vector<std::string> broadcast_addresses(const std::string& listen_address);

class DropLog {
 public:
  void note(const std::string& sender, const std::string& why);
  uint64_t dropped() const { return dropped_; }

 private:
  std::map<std::string, std::chrono::steady_clock::time_point> last_;
  uint64_t dropped_ = 0;
};

class UdpAnnouncer : public Announcer {
 public:
  // `facts` is asked only when a beacon goes out; received QUERYs are checked
  // against `cluster_id` alone. Of `options`, the backend flags are not read.
  UdpAnnouncer(asio::io_context& io, AnnounceOptions options, proto::AuthKey key,
               std::string cluster_id, FactsFn facts);
  Status start() override;
  void stop() override;   // broadcasts BYE (synchronously, best effort)
  void changed() override;   // an ANNOUNCE now, besides the interval's
  uint64_t bytes_sent() const override { return bytes_sent_; }

 private:
  void receive();
  void announce_all(BeaconKind kind);
  void send_to(const std::string& beacon, const asio::ip::udp::endpoint& to);
  void tick();

  asio::io_context& io_;
  AnnounceOptions opt_;
  proto::AuthKey key_;
  std::string cluster_id_;
  FactsFn facts_;
  asio::ip::udp::socket socket_;
  asio::steady_timer timer_;
  asio::ip::udp::endpoint from_;
  std::array<char, kMaxBeaconSize + 1> buf_{};
  std::vector<asio::ip::udp::endpoint> targets_;
  uint64_t seq_ = 0;
  uint64_t bytes_sent_ = 0;
  DropLog drops_;
  bool stopped_ = false;
};

class UdpListener : public Browser {
 public:
  // `on_sighting` is called for every valid announce (a sighting) or bye (`gone`) of the
  // cluster, via "broadcast"; facts.address is the sender. `broadcast`: where QUERYs go;
  // empty = every broadcast-capable interface.
  UdpListener(asio::io_context& io, uint16_t port, proto::AuthKey key, std::string cluster_id,
              std::vector<std::string> broadcast, OnSighting on_sighting);
  Status start() override;
  void query();   // broadcasts a QUERY; nodes answer at once
  void stop() override;
  size_t unverified_nodes() const override { return unverified_.size(); }

 private:
  void receive(asio::ip::udp::socket& s, asio::ip::udp::endpoint& from,
               std::array<char, kMaxBeaconSize + 1>& buf);

  asio::io_context& io_;
  uint16_t port_;
  proto::AuthKey key_;
  std::string cluster_id_;
  std::vector<std::string> broadcast_;
  OnSighting on_sighting_;
  asio::ip::udp::socket listen_;
  asio::ip::udp::socket query_;
  asio::steady_timer requery_;
  int queries_sent_ = 0;
  void schedule_requery();
  asio::ip::udp::endpoint listen_from_, query_from_;
  std::array<char, kMaxBeaconSize + 1> listen_buf_{}, query_buf_{};
  std::string query_id_;
  DropLog drops_;
  std::set<std::string> unverified_;   // at most kMaxUnverified ids
  bool stopped_ = false;
};

}  // namespace pp::discovery
