// NodeConfig: everything a ppserver node is told at start, filled from the
// command line in main() and read-only afterwards.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/proto/constants.hpp"

namespace pp::server {

struct NodeConfig {
  int workers = 0;                         // 0 = one per core
  std::string address = "0.0.0.0";
  uint16_t port = proto::kDefaultPort;
  std::string secret;                      // empty = none (loopback only)
  bool autodiscovery = false;
  std::string broadcast;                   // -b: announce here instead of every interface
  uint16_t discovery_port = proto::kDefaultDiscoveryPort;   // UDP
  std::chrono::milliseconds announce_interval{3000};
  bool broadcast_on = true;                // announce by UDP broadcast
  bool mdns = true;                        // publish through Avahi too, when it runs
  std::chrono::seconds idle_exit{0};       // 0 = never
  std::chrono::milliseconds job_timeout{0};  // 0 = none
  std::chrono::milliseconds job_cpu_limit{0};  // CPU time per job, 0 = none
  int nice = 10;
  int cpu_limit = 100;                     // % of CPU time per busy worker (100 = no limit)
  size_t worker_memory_mb = 0;             // Lua heap per worker (0 = unlimited)
  size_t max_frame = proto::kDefaultMaxFrame;
  int pipeline = 64;                       // jobs sent ahead to each worker (short jobs only)
  size_t data_cache_mb = 512;              // scattered values held for clients, in total
  bool encrypt = false;                    // every session encrypted after the handshake
  std::chrono::milliseconds heartbeat{1000};
  int heartbeat_misses = 5;                // silent intervals before a peer counts as dead
  // Limits against hostile or broken peers (docs/protocol.md, "Limits").
  std::chrono::milliseconds handshake_timeout{5000};  // however slowly bytes trickle in
  size_t max_sessions = 256;               // connections at once, authenticated or not
  size_t max_handshakes = 64;              // connections not yet authenticated
  size_t max_handshakes_per_source = 8;    // of those, from one IPv4 address or IPv6 /64
  size_t max_queued_per_session = 1u << 20;
  int exit_with_fd = -1;                   // exit when this fd reaches EOF (embedded nodes)
  int report_fd = -1;                      // write "<port>\n" here once listening
  int pause_when_busy = 0;                 // % of the machine other processes may use; 0 = off
  std::chrono::milliseconds pause_grace{10000};  // over it this long before pausing
  std::chrono::milliseconds pause_min{30000};    // paused at least this long
  // Paused while a session of the machine was in use this recently (logind); 0 = off.
  std::chrono::milliseconds pause_when_user_active{0};
  std::string prefix;                      // installation prefix
};

}  // namespace pp::server
