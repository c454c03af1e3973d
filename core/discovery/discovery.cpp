#include "core/discovery/discovery.hpp"

#include <utility>

#include "core/discovery/avahi_browser.hpp"
#include "core/discovery/avahi_publisher.hpp"
#include "core/discovery/udp.hpp"
#include "core/proto/auth.hpp"
#include "core/util/log.hpp"

namespace pp::discovery {
namespace {

// Several backends as one: started and stopped in order; one that cannot start is logged,
// named, and left out, so discovery carries on with the others.
template <typename Backend>
struct Backends {
  std::vector<std::pair<std::string, std::unique_ptr<Backend>>> all;

  void add(std::string name, std::unique_ptr<Backend> b) {
    all.emplace_back(std::move(name), std::move(b));
  }

  template <typename OnFailure>
  Status start(OnFailure on_failure) {
    for (auto it = all.begin(); it != all.end();) {
      Status st = it->second->start();
      if (st) {
        ++it;
        continue;
      }
      on_failure(it->first, st);
      it = all.erase(it);
    }
    return Status::ok();
  }
  void stop() {
    for (auto& [name, b] : all) b->stop();
  }
};

class AnnouncerSet : public Announcer {
 public:
  Backends<Announcer> backends;

  Status start() override {
    return backends.start([](const std::string& name, const Status& st) {
      PP_WARN("autodiscovery: %s; %s announcing is off", st.message().c_str(), name.c_str());
    });
  }
  void stop() override { backends.stop(); }
  void changed() override {
    for (auto& [name, b] : backends.all) b->changed();
  }
  uint64_t bytes_sent() const override {
    uint64_t n = 0;
    for (const auto& [name, b] : backends.all) n += b->bytes_sent();
    return n;
  }
};

class BrowserSet : public Browser {
 public:
  Backends<Browser> backends;

  Status start() override {
    return backends.start([](const std::string& name, const Status& st) {
      PP_WARN("discovery by %s is off: %s", name.c_str(), st.message().c_str());
    });
  }
  void stop() override { backends.stop(); }
  size_t unverified_nodes() const override {
    size_t n = 0;
    for (const auto& [name, b] : backends.all) n += b->unverified_nodes();
    return n;
  }
};

}  // namespace

std::unique_ptr<Announcer> make_announcer(asio::io_context& io, const AnnounceOptions& options,
                                          const std::string& secret, FactsFn facts) {
  auto set = std::make_unique<AnnouncerSet>();
  if (options.mdns) {
    set->backends.add("mDNS", std::make_unique<AvahiPublisher>(io, facts, options.interval * 3));
  }
  if (options.broadcast) {
    set->backends.add("broadcast",
                      std::make_unique<UdpAnnouncer>(io, options, beacon_key(secret),
                                                     proto::cluster_id(secret), facts));
  }
  return set;
}

std::unique_ptr<Browser> make_browser(asio::io_context& io, const BrowseOptions& options,
                                      const std::string& secret, OnSighting on_sighting) {
  auto set = std::make_unique<BrowserSet>();
  if (options.mdns) {
    set->backends.add("mdns",
                      std::make_unique<AvahiBrowser>(io, proto::cluster_id(secret), on_sighting));
  }
  if (options.broadcast) {
    set->backends.add(
        "broadcast", std::make_unique<UdpListener>(io, options.port, beacon_key(secret),
                                                   proto::cluster_id(secret), options.query_targets,
                                                   on_sighting));
  }
  return set;
}

}  // namespace pp::discovery
