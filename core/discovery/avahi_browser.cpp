#include "core/discovery/avahi_browser.hpp"

#include <avahi-client/lookup.h>
#include <avahi-common/error.h>

#include <asio.hpp>
#include <chrono>
#include <map>
#include <set>
#include <utility>

#include "core/discovery/avahi_client.hpp"
#include "core/discovery/txt.hpp"
#include "core/util/log.hpp"

namespace pp::discovery {

struct AvahiBrowser::Impl : std::enable_shared_from_this<AvahiBrowser::Impl> {
  // One browsed instance: a service name on one interface and protocol.
  struct Key {
    AvahiIfIndex iface;
    AvahiProtocol protocol;
    std::string name;
    std::string domain;
    auto operator<=>(const Key&) const = default;
  };
  struct Item {
    AvahiServiceResolver* resolver = nullptr;  // kept open: TXT changes come as FOUND again
    NodeFacts facts;                           // once resolved (node_id empty before)
    bool ignored = false;                      // other cluster or malformed
    bool stale = false;                        // known from before a daemon restart
    int failures = 0;
  };

  Impl(asio::io_context& io, std::string cluster, OnSighting sighting)
      : io(io),
        cluster_id(std::move(cluster)),
        on_sighting(std::move(sighting)),
        retry(io),
        keeper(io, "browsing", [this](AvahiClient* c, AvahiClientState s) { on_client(c, s); }) {}

  void on_client(AvahiClient* c, AvahiClientState state) {
    if (state == AVAHI_CLIENT_S_RUNNING) {
      browse(c);
    } else if (state == AVAHI_CLIENT_FAILURE) {
      browser = nullptr;  // the browser and resolvers are gone with the client
      for (auto& [key, item] : items) {
        item.resolver = nullptr;
        item.stale = true;  // swept at the first ALL_FOR_NOW after reconnecting
      }
    }
  }

  void browse(AvahiClient* c) {
    if (browser != nullptr) return;
    browser = avahi_service_browser_new(c, AVAHI_IF_UNSPEC, AVAHI_PROTO_INET, kServiceType, nullptr,
                                        AvahiLookupFlags(0), on_browse, this);
    if (browser == nullptr) {
      PP_WARN("mDNS: cannot browse %s: %s", kServiceType, avahi_strerror(avahi_client_errno(c)));
      retry_later();
    }
  }

  void resolve(const Key& key, Item& item) {
    AvahiClient* c = keeper.running();
    if (c == nullptr || item.resolver != nullptr || item.ignored) return;
    item.resolver = avahi_service_resolver_new(c, key.iface, key.protocol, key.name.c_str(),
                                               kServiceType, key.domain.c_str(), AVAHI_PROTO_INET,
                                               AvahiLookupFlags(0), on_resolve, this);
    if (item.resolver == nullptr) {
      PP_DEBUG("mDNS: cannot resolve '%s': %s", key.name.c_str(),
               avahi_strerror(avahi_client_errno(c)));
    }
  }

  static void on_browse(AvahiServiceBrowser* sb, AvahiIfIndex iface, AvahiProtocol protocol,
                        AvahiBrowserEvent event, const char* name, const char*, const char* domain,
                        AvahiLookupResultFlags, void* self) noexcept {
    auto* b = static_cast<Impl*>(self);
    try {
      if (event == AVAHI_BROWSER_NEW) {
        Key key{iface, protocol, name, domain};
        Item& item = b->items[key];
        item.stale = false;
        b->resolve(key, item);
      } else if (event == AVAHI_BROWSER_REMOVE) {
        auto it = b->items.find(Key{iface, protocol, name, domain});
        if (it != b->items.end()) b->forget(it);
      } else if (event == AVAHI_BROWSER_ALL_FOR_NOW) {
        for (auto it = b->items.begin(); it != b->items.end();) {
          auto next = std::next(it);
          if (it->second.stale) b->forget(it);
          it = next;
        }
      } else if (event == AVAHI_BROWSER_FAILURE) {
        PP_WARN("mDNS: browsing %s failed: %s", kServiceType,
                avahi_strerror(avahi_client_errno(avahi_service_browser_get_client(sb))));
        avahi_service_browser_free(sb);
        b->browser = nullptr;
        b->retry_later();
      }
    } catch (const std::exception& e) {
      PP_ERROR("mDNS: browser callback: %s", e.what());
    }
  }

  static void on_resolve(AvahiServiceResolver* r, AvahiIfIndex iface, AvahiProtocol protocol,
                         AvahiResolverEvent event, const char* name, const char*,
                         const char* domain, const char*, const AvahiAddress* address,
                         uint16_t port, AvahiStringList* txt, AvahiLookupResultFlags,
                         void* self) noexcept {
    auto* b = static_cast<Impl*>(self);
    try {
      auto it = b->items.find(Key{iface, protocol, name, domain});
      if (it == b->items.end() || it->second.resolver != r) return;
      if (event == AVAHI_RESOLVER_FOUND) {
        b->found(it->first, it->second, address, port, strings_of(txt));
      } else {
        PP_DEBUG("mDNS: resolving '%s' failed: %s", name,
                 avahi_strerror(avahi_client_errno(avahi_service_resolver_get_client(r))));
        avahi_service_resolver_free(r);
        it->second.resolver = nullptr;
        if (++it->second.failures <= 3) b->retry_later();
      }
    } catch (const std::exception& e) {
      PP_ERROR("mDNS: resolver callback: %s", e.what());
    }
  }

  void found(const Key& key, Item& item, const AvahiAddress* address, uint16_t port,
             const std::vector<std::string>& txt) {
    auto facts = facts_from_txt(txt);
    if (facts && (port == 0 || address == nullptr)) facts = bad_txt("no address or port");
    if (!facts || (!cluster_id.empty() && facts->cluster_id != cluster_id)) {
      if (!facts && warned.insert(key.name).second) {
        PP_WARN("mDNS: ignoring service '%s': %s", key.name.c_str(),
                facts.status().message().c_str());
      }
      ignore(item);  // another cluster's node is no news: quietly
      return;
    }
    char text[AVAHI_ADDRESS_STR_MAX] = {};
    avahi_address_snprint(text, sizeof text, address);
    facts->address = text;
    facts->port = port;
    NodeFacts before = std::exchange(item.facts, *facts);
    if (before.node_id != item.facts.node_id) lost(before);  // the instance names another node
    post([s = Sighting{std::move(*facts), "mdns", false}](Impl& b) { b.on_sighting(s); });
  }

  void ignore(Item& item) {
    if (item.resolver != nullptr) avahi_service_resolver_free(item.resolver);
    item.resolver = nullptr;
    item.ignored = true;
    lost(std::exchange(item.facts, NodeFacts{}));
  }

  void forget(std::map<Key, Item>::iterator it) {
    if (it->second.resolver != nullptr) avahi_service_resolver_free(it->second.resolver);
    NodeFacts facts = std::move(it->second.facts);
    items.erase(it);
    lost(facts);
  }

  // Gone when no instance carries the node any more (a node shows once per interface).
  void lost(const NodeFacts& facts) {
    if (facts.node_id.empty()) return;
    for (const auto& [key, item] : items) {
      if (item.facts.node_id == facts.node_id) return;
    }
    post([s = Sighting{facts, "mdns", true}](Impl& b) { b.on_sighting(s); });
  }

  // User callbacks run from the io_context, never inside Avahi, and not after stop().
  template <typename Fn>
  void post(Fn fn) {
    asio::post(io, [w = weak_from_this(), epoch = epoch, fn = std::move(fn)] {
      auto self = w.lock();
      if (self && self->started && self->epoch == epoch) fn(*self);
    });
  }

  // Browsers and resolvers that failed are tried again a little later.
  void retry_later() {
    if (retry_pending) return;
    retry_pending = true;
    retry.expires_after(std::chrono::seconds(2));
    retry.async_wait([w = weak_from_this()](const asio::error_code& ec) {
      auto self = w.lock();
      if (ec || !self) return;
      self->retry_pending = false;
      AvahiClient* c = self->keeper.running();
      if (c == nullptr) return;  // RUNNING again starts over anyway
      self->browse(c);
      for (auto& [key, item] : self->items) self->resolve(key, item);
    });
  }

  void start() {
    if (started) return;
    started = true;
    keeper.start();
  }

  void stop() {
    started = false;
    ++epoch;
    retry.cancel();
    retry_pending = false;
    for (auto& [key, item] : items) {
      if (item.resolver != nullptr) avahi_service_resolver_free(item.resolver);
    }
    items.clear();
    if (browser != nullptr) avahi_service_browser_free(browser);
    browser = nullptr;
    keeper.stop();
  }

  asio::io_context& io;
  std::string cluster_id;
  OnSighting on_sighting;
  asio::steady_timer retry;
  AvahiServiceBrowser* browser = nullptr;
  std::map<Key, Item> items;
  std::set<std::string> warned;  // instance names already logged as malformed
  uint64_t epoch = 0;
  bool started = false;
  bool retry_pending = false;
  ClientKeeper keeper;  // last: destroyed first, while the rest is still there
};

AvahiBrowser::AvahiBrowser(asio::io_context& io, std::string cluster_id, OnSighting on_sighting)
    : impl_(std::make_shared<Impl>(io, std::move(cluster_id), std::move(on_sighting))) {}
AvahiBrowser::~AvahiBrowser() { stop(); }

Status AvahiBrowser::start() {
  impl_->start();
  return Status::ok();
}

void AvahiBrowser::stop() { impl_->stop(); }

}  // namespace pp::discovery
