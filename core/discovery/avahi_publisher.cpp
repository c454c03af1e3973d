#include "core/discovery/avahi_publisher.hpp"

#include <avahi-client/publish.h>
#include <avahi-common/alternative.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>

#include <asio.hpp>

#include "core/discovery/avahi_client.hpp"
#include "core/discovery/txt.hpp"
#include "core/util/log.hpp"

namespace pp::discovery {

struct AvahiPublisher::Impl {
  Impl(asio::io_context& io, FactsFn facts_fn, std::chrono::milliseconds refresh_every)
      : facts(std::move(facts_fn)),
        refresh(refresh_every),
        refresh_timer(io),
        keeper(io, "publishing", [this](AvahiClient* c, AvahiClientState s) { on_client(c, s); }) {}

  void on_client(AvahiClient* c, AvahiClientState state) {
    if (state == AVAHI_CLIENT_S_RUNNING) {
      publish(c);
    } else if (state == AVAHI_CLIENT_S_COLLISION || state == AVAHI_CLIENT_S_REGISTERING) {
      // The daemon renames its host: withdraw, and publish again when it is RUNNING.
      if (group != nullptr) avahi_entry_group_reset(group);
    } else if (state == AVAHI_CLIENT_FAILURE) {
      group = nullptr;  // gone with the client
    }
  }

  // Adds the service to an empty (new, reset or collided) entry group and commits it.
  void publish(AvahiClient* c) {
    if (group == nullptr) {
      group = avahi_entry_group_new(c, on_group, this);
      if (group == nullptr) {
        PP_WARN("mDNS: cannot create an entry group: %s", avahi_strerror(avahi_client_errno(c)));
        return;
      }
    }
    if (avahi_entry_group_is_empty(group) == 0) return;  // published already
    NodeFacts f = facts();
    if (name.empty()) name = service_name(f);
    for (int attempt = 0; attempt < 10; ++attempt) {
      txt = txt_from_facts(f);
      port = f.port;
      TxtList list(txt);
      int r = avahi_entry_group_add_service_strlst(group, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC,
                                                   AvahiPublishFlags(0), name.c_str(), kServiceType,
                                                   nullptr, nullptr, port, list.get());
      if (r == AVAHI_ERR_COLLISION) {  // this host already has a service of that name
        rename();
        continue;
      }
      if (r >= 0) r = avahi_entry_group_commit(group);
      if (r < 0) {
        PP_WARN("mDNS: cannot publish '%s': %s", name.c_str(), avahi_strerror(r));
        avahi_entry_group_reset(group);
      }
      return;
    }
  }

  void rename() {
    char* next = avahi_alternative_service_name(name.c_str());
    PP_INFO("mDNS: service name '%s' is taken, renaming to '%s'", name.c_str(), next);
    name = next;
    avahi_free(next);
  }

  static void on_group(AvahiEntryGroup* g, AvahiEntryGroupState state, void* self) noexcept {
    auto* p = static_cast<Impl*>(self);
    try {
      if (state == AVAHI_ENTRY_GROUP_ESTABLISHED) {
        PP_INFO("mDNS: published '%s' (%s, TCP port %u)", p->name.c_str(), kServiceType,
                static_cast<unsigned>(p->port));
      } else if (state == AVAHI_ENTRY_GROUP_COLLISION) {  // another host has the name
        p->rename();
        avahi_entry_group_reset(g);
        p->publish(avahi_entry_group_get_client(g));
      } else if (state == AVAHI_ENTRY_GROUP_FAILURE) {
        PP_WARN("mDNS: publishing '%s' failed: %s", p->name.c_str(),
                avahi_strerror(avahi_client_errno(avahi_entry_group_get_client(g))));
      }
    } catch (const std::exception& e) {
      PP_ERROR("mDNS: entry group callback: %s", e.what());
    }
  }

  void update() {
    if (group == nullptr) return;  // the next registration takes fresh facts anyway
    int state = avahi_entry_group_get_state(group);
    if (state != AVAHI_ENTRY_GROUP_REGISTERING && state != AVAHI_ENTRY_GROUP_ESTABLISHED) return;
    auto fresh = txt_from_facts(facts());
    if (fresh == txt) return;  // announcing costs multicast: only changes
    TxtList list(fresh);
    int r = avahi_entry_group_update_service_txt_strlst(group, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC,
                                                        AvahiPublishFlags(0), name.c_str(),
                                                        kServiceType, nullptr, list.get());
    if (r < 0)
      PP_DEBUG("mDNS: TXT update of '%s': %s", name.c_str(), avahi_strerror(r));
    else
      txt = std::move(fresh);
  }

  // The load in the TXT changes: look every `refresh` whether it needs publishing again.
  void arm_refresh() {
    if (refresh.count() <= 0) return;
    refresh_timer.expires_after(refresh);
    refresh_timer.async_wait([this](const asio::error_code& ec) {
      if (ec) return;
      update();
      arm_refresh();
    });
  }

  void stop() {
    refresh_timer.cancel();
    if (group != nullptr) avahi_entry_group_free(group);  // withdraws now, with goodbyes
    group = nullptr;
    keeper.stop();
    name.clear();
    txt.clear();
  }

  FactsFn facts;
  std::chrono::milliseconds refresh;
  asio::steady_timer refresh_timer;
  AvahiEntryGroup* group = nullptr;
  std::string name;              // the service name in use, after any renames
  std::vector<std::string> txt;  // what Avahi has
  uint16_t port = 0;
  ClientKeeper keeper;  // last: destroyed first, while the rest is still there
};

AvahiPublisher::AvahiPublisher(asio::io_context& io, FactsFn facts,
                               std::chrono::milliseconds refresh)
    : impl_(std::make_unique<Impl>(io, std::move(facts), refresh)) {}
AvahiPublisher::~AvahiPublisher() { stop(); }

Status AvahiPublisher::start() {
  impl_->keeper.start();
  impl_->arm_refresh();
  return Status::ok();
}

void AvahiPublisher::update() { impl_->update(); }
void AvahiPublisher::stop() { impl_->stop(); }

}  // namespace pp::discovery
