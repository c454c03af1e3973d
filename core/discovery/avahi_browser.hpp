// AvahiBrowser: the client's DNS-SD browser. Browses _ppserver._tcp over IPv4, keeps a resolver
// per instance (so TXT changes such as the load arrive as new sightings) and reports the nodes
// of its cluster: a Sighting (via "mdns") when an instance resolves or its TXT changes, and one
// with `gone` when the last instance carrying that node id is removed. Sightings are posted to
// the io_context, never called from inside Avahi, so they may call stop() or destroy the
// browser. Like the publisher it waits for a daemon that is not there yet (avahi_client.hpp).
//
//   AvahiBrowser browser(io, cluster_id, [&](const Sighting& s) { ... });
//   browser.start();
#pragma once

#include <memory>
#include <string>

#include "core/discovery/discovery.hpp"

namespace pp::discovery {

class AvahiBrowser : public Browser {
 public:
  // `cluster_id` empty = report nodes of every cluster.
  AvahiBrowser(asio::io_context& io, std::string cluster_id, OnSighting on_sighting);
  ~AvahiBrowser() override;
  AvahiBrowser(const AvahiBrowser&) = delete;
  AvahiBrowser& operator=(const AvahiBrowser&) = delete;

  Status start() override;  // never fails: without a daemon it waits for one
  void stop() override;     // no sightings after this returns

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared: posted callbacks hold a weak_ptr
};

}  // namespace pp::discovery
