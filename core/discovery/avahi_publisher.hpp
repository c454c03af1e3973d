// AvahiPublisher: the node's DNS-SD announcer. Registers the service "ppserver <host> <node id,
// 6 chars>" of type _ppserver._tcp on the node's TCP port with the node's facts as TXT records
// (txt.hpp), renames itself on a name collision ("... #2"), and re-publishes the TXT when it
// changed (checked every `refresh`). Talks to the local avahi-daemon over D-Bus through a
// ClientKeeper (avahi_client.hpp): without a reachable daemon it logs that once and keeps
// waiting (UDP broadcast carries on alone); when a daemon appears or restarts the service is
// published again. Avahi's client library makes blocking D-Bus calls (usually well under a
// millisecond; up to D-Bus's 25 s timeout if avahi-daemon hangs) on the io_context thread.
//
//   AvahiPublisher pub(io, [&] { return node.facts(); }, std::chrono::seconds(9));
//   pub.start();
#pragma once

#include <chrono>
#include <memory>

#include "core/discovery/discovery.hpp"

namespace pp::discovery {

class AvahiPublisher : public Announcer {
 public:
  // `facts` is called on the io_context thread whenever (re)publishing; its port is the
  // service's port. `refresh` 0: the TXT is published once per registration.
  AvahiPublisher(asio::io_context& io, FactsFn facts, std::chrono::milliseconds refresh);
  ~AvahiPublisher() override;
  AvahiPublisher(const AvahiPublisher&) = delete;
  AvahiPublisher& operator=(const AvahiPublisher&) = delete;

  Status start() override;  // never fails: without a daemon it waits for one
  // Re-publishes the TXT with fresh facts, only if it changed. Browsers see a change about
  // 1.2 s later, best effort: the daemons coalesce changes that come faster than every ~3 s.
  void update();
  void changed() override { update(); }
  void stop() override;  // withdraw the service (goodbye packets) and disconnect

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pp::discovery
