#include "core/discovery/avahi.hpp"

#include <avahi-client/client.h>
#include <avahi-client/lookup.h>
#include <avahi-client/publish.h>
#include <avahi-common/alternative.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>

#include <algorithm>
#include <asio.hpp>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <map>
#include <set>

#include "core/discovery/asio_avahi_poll.hpp"
#include "core/util/log.hpp"

namespace pp::discovery {
namespace {

// --- TXT records -----------------------------------------------------------------------------

// The longest prefix of `s` of at most `n` bytes that does not split a UTF-8 sequence.
std::string cut_utf8(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

// Fixed-point text that ignores the C locale (snprintf would write "1,500" under de_DE).
std::string fixed(double v, int digits) {
  if (!std::isfinite(v) || v < 0) v = 0;
  char buf[400];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, digits);
  return r.ec == std::errc() ? std::string(buf, r.ptr) : std::string("0");
}

void add(std::vector<std::string>& out, const char* key, const std::string& value) {
  out.push_back(cut_utf8(std::string(key) + "=" + value, kMaxTxtString));
}

// kernels=a,b,... then kernels2=..., kernels3=... each within one TXT string. A name that
// cannot be carried (too long for a string of its own, or holding a comma) is left out.
void add_kernels(std::vector<std::string>& out, const std::vector<std::string>& kernels) {
  std::string cur = "kernels=";
  int part = 1;
  bool empty = true;
  for (const auto& k : kernels) {
    if (k.empty() || k.find(',') != std::string::npos) continue;
    if (cur.size() + (empty ? 0 : 1) + k.size() > kMaxTxtString) {
      std::string next = "kernels" + std::to_string(part + 1) + "=";
      if (next.size() + k.size() > kMaxTxtString) continue;
      out.push_back(cur);
      cur = next;
      ++part;
      empty = true;
    }
    if (!empty) cur += ',';
    cur += k;
    empty = false;
  }
  out.push_back(cur);
}

template <typename T>
bool parse_int(const std::string& s, T& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parse_nonneg(const std::string& s, double& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out, std::chars_format::fixed);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size() &&
         std::isfinite(out) && out >= 0;
}

void split_kernels(const std::string& list, std::vector<std::string>& out) {
  size_t at = 0;
  while (at <= list.size()) {
    size_t comma = std::min(list.find(',', at), list.size());
    if (comma > at) out.push_back(list.substr(at, comma - at));
    at = comma + 1;
  }
}

Status bad_txt(const std::string& why) {
  return Status(StatusCode::kInvalid, "malformed DNS-SD TXT: " + why);
}

}  // namespace

std::vector<std::string> txt_from_facts(const NodeFacts& f) {
  std::vector<std::string> out;
  add(out, "cluster", f.cluster_id);
  add(out, "id", f.node_id);
  add(out, "host", f.host);
  add(out, "workers", std::to_string(f.workers));
  add(out, "speed", fixed(f.speed, 3));
  add(out, "load", fixed(f.load, 2));
  add(out, "sw", f.software);
  add(out, "proto", std::to_string(f.protocol));
  add(out, "minproto", std::to_string(f.min_protocol));
  add(out, "abi", std::to_string(f.kernel_abi));
  add(out, "luajit", f.luajit);
  add_kernels(out, f.kernels);
  return out;
}

Result<NodeFacts> facts_from_txt(const std::vector<std::string>& key_eq_values) {
  std::map<std::string, std::string> kv;   // RFC 6763 6.4: keys ignore case, first one counts
  for (const auto& s : key_eq_values) {
    size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    std::string key = s.substr(0, eq);
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    kv.emplace(std::move(key), s.substr(eq + 1));
  }
  auto get = [&](const char* key) -> const std::string* {
    auto it = kv.find(key);
    return it == kv.end() ? nullptr : &it->second;
  };
  NodeFacts f;
  const std::string* v = get("id");
  if (v == nullptr || v->empty()) return bad_txt("no node id");
  f.node_id = *v;
  v = get("cluster");
  if (v == nullptr || v->empty()) return bad_txt("no cluster id");
  f.cluster_id = *v;
  if ((v = get("host")) != nullptr) f.host = *v;
  if ((v = get("sw")) != nullptr) f.software = *v;
  if ((v = get("luajit")) != nullptr) f.luajit = *v;
  std::string bad;   // the first numeric key whose value does not parse
  auto number = [&](const char* key, auto parse) {
    const std::string* s = get(key);
    if (s != nullptr && !parse(*s) && bad.empty()) bad = key;
  };
  number("workers", [&](const std::string& s) { return parse_int(s, f.workers); });
  number("speed", [&](const std::string& s) { return parse_nonneg(s, f.speed); });
  number("load", [&](const std::string& s) { return parse_nonneg(s, f.load); });
  number("proto", [&](const std::string& s) { return parse_int(s, f.protocol); });
  number("minproto", [&](const std::string& s) { return parse_int(s, f.min_protocol); });
  number("abi", [&](const std::string& s) { return parse_int(s, f.kernel_abi); });
  if (!bad.empty()) return bad_txt(bad + " is not a valid number");
  if ((v = get("kernels")) != nullptr) split_kernels(*v, f.kernels);
  for (int part = 2; (v = get(("kernels" + std::to_string(part)).c_str())) != nullptr; ++part) {
    split_kernels(*v, f.kernels);
  }
  return f;
}

std::string service_name(const NodeFacts& f) {
  const std::string prefix = "ppserver ";
  std::string id = cut_utf8(f.node_id, 6);
  if (f.host.empty()) return cut_utf8(prefix + id, kMaxServiceName);
  size_t room = kMaxServiceName - prefix.size() - 1 - id.size();
  return prefix + cut_utf8(f.host, room) + " " + id;
}

namespace {

// --- the client connection ------------------------------------------------------------------

constexpr std::chrono::milliseconds kFirstRetry{250};
constexpr std::chrono::milliseconds kMaxRetry{10000};

// One AvahiClient kept alive across avahi-daemon (and D-Bus) restarts. With a bus but no
// daemon, AVAHI_CLIENT_NO_FAIL makes the client wait for the daemon's name to appear; without
// a bus avahi_client_new fails and we try again later, backing off to every 10 s. The owner
// hears every state; on FAILURE its entry groups, browsers and resolvers are gone with the
// client and it must forget them (not free them).
class ClientKeeper {
 public:
  using OnState = std::function<void(AvahiClient*, AvahiClientState)>;

  ClientKeeper(asio::io_context& io, const char* what, OnState on_state)
      : what_(what), on_state_(std::move(on_state)), poll_(io), retry_(io) {}
  ~ClientKeeper() { stop(); }

  void start() {
    if (started_) return;
    started_ = true;
    connect();
  }

  void stop() {
    started_ = false;
    retry_.cancel();
    free_client(client_);
    free_client(doomed_);
  }

  // The client, when it talks to a running daemon.
  AvahiClient* running() const {
    return client_ != nullptr && avahi_client_get_state(client_) == AVAHI_CLIENT_S_RUNNING
               ? client_
               : nullptr;
  }

 private:
  static void free_client(AvahiClient*& c) {
    if (c != nullptr) avahi_client_free(c);
    c = nullptr;
  }

  void connect() {
    free_client(doomed_);
    int err = 0;
    // The callback runs already inside avahi_client_new (and sets client_).
    AvahiClient* c = avahi_client_new(poll_.get(), AVAHI_CLIENT_NO_FAIL, on_client, this, &err);
    if (c == nullptr) {
      client_ = nullptr;
      unreachable(avahi_strerror(err));
      retry_later();
      return;
    }
    client_ = c;
  }

  void retry_later() {
    retry_.expires_after(backoff_);
    backoff_ = std::min(backoff_ * 2, kMaxRetry);
    retry_.async_wait([this](const asio::error_code& ec) {
      if (!ec && started_) connect();
    });
  }

  void unreachable(const char* why) {
    if (said_unreachable_) return;
    said_unreachable_ = true;
    PP_INFO("mDNS: no avahi-daemon reachable (%s); DNS-SD %s is off and UDP broadcast "
            "discovery carries on alone (it starts if a daemon appears)", why, what_);
  }

  static void on_client(AvahiClient* c, AvahiClientState state, void* self) noexcept {
    auto* k = static_cast<ClientKeeper*>(self);
    try {
      k->client_ = c;
      switch (state) {
        case AVAHI_CLIENT_S_RUNNING:
          if (k->said_unreachable_ || k->lost_) {
            PP_INFO("mDNS: avahi-daemon reachable; DNS-SD %s is on", k->what_);
          }
          k->lost_ = false;
          k->connected_ = true;
          k->backoff_ = kFirstRetry;
          break;
        case AVAHI_CLIENT_CONNECTING:
          k->unreachable("no avahi-daemon on the system D-Bus");
          break;
        case AVAHI_CLIENT_FAILURE:
          if (k->connected_) {
            PP_WARN("mDNS: lost the avahi-daemon (%s); DNS-SD %s resumes when it is back",
                    avahi_strerror(avahi_client_errno(c)), k->what_);
            k->lost_ = true;
            k->said_unreachable_ = true;   // that line says it all: no "unreachable" after it
          } else {
            k->unreachable(avahi_strerror(avahi_client_errno(c)));
          }
          k->connected_ = false;
          // We are inside the client's own D-Bus dispatch: free it later, not here.
          k->doomed_ = c;
          k->client_ = nullptr;
          break;
        default:   // S_REGISTERING, S_COLLISION: the owner withdraws and waits for RUNNING
          break;
      }
      k->on_state_(c, state);
      if (state == AVAHI_CLIENT_FAILURE && k->started_) k->retry_later();
    } catch (const std::exception& e) {
      PP_ERROR("mDNS: client callback: %s", e.what());
    }
  }

  const char* what_;
  OnState on_state_;
  AsioAvahiPoll poll_;   // declared before the clients that use it, so it outlives them
  asio::steady_timer retry_;
  AvahiClient* client_ = nullptr;
  AvahiClient* doomed_ = nullptr;   // failed, to be freed outside its callback
  std::chrono::milliseconds backoff_ = kFirstRetry;
  bool started_ = false;
  bool connected_ = false;
  bool lost_ = false;
  bool said_unreachable_ = false;
};

// An AvahiStringList built from strings, freed on scope exit.
class TxtList {
 public:
  explicit TxtList(const std::vector<std::string>& strings) {
    for (auto it = strings.rbegin(); it != strings.rend(); ++it) {   // add() prepends
      list_ = avahi_string_list_add_arbitrary(
          list_, reinterpret_cast<const uint8_t*>(it->data()), it->size());
    }
  }
  ~TxtList() { avahi_string_list_free(list_); }
  TxtList(const TxtList&) = delete;
  TxtList& operator=(const TxtList&) = delete;
  AvahiStringList* get() const { return list_; }

 private:
  AvahiStringList* list_ = nullptr;
};

std::vector<std::string> strings_of(AvahiStringList* l) {
  std::vector<std::string> out;
  for (; l != nullptr; l = avahi_string_list_get_next(l)) {
    out.emplace_back(reinterpret_cast<const char*>(avahi_string_list_get_text(l)),
                     avahi_string_list_get_size(l));
  }
  return out;
}

}  // namespace

// --- publisher ------------------------------------------------------------------------------

struct AvahiPublisher::Impl {
  Impl(asio::io_context& io, std::function<NodeFacts()> facts_fn)
      : facts(std::move(facts_fn)),
        keeper(io, "publishing", [this](AvahiClient* c, AvahiClientState s) { on_client(c, s); }) {}

  void on_client(AvahiClient* c, AvahiClientState state) {
    if (state == AVAHI_CLIENT_S_RUNNING) {
      publish(c);
    } else if (state == AVAHI_CLIENT_S_COLLISION || state == AVAHI_CLIENT_S_REGISTERING) {
      // The daemon renames its host: withdraw, and publish again when it is RUNNING.
      if (group != nullptr) avahi_entry_group_reset(group);
    } else if (state == AVAHI_CLIENT_FAILURE) {
      group = nullptr;   // gone with the client
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
    if (avahi_entry_group_is_empty(group) == 0) return;   // published already
    NodeFacts f = facts();
    if (name.empty()) name = service_name(f);
    for (int attempt = 0; attempt < 10; ++attempt) {
      txt = txt_from_facts(f);
      port = f.port;
      TxtList list(txt);
      int r = avahi_entry_group_add_service_strlst(group, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC,
                                                   AvahiPublishFlags(0), name.c_str(),
                                                   kServiceType, nullptr, nullptr, port, list.get());
      if (r == AVAHI_ERR_COLLISION) {   // this host already has a service of that name
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
      } else if (state == AVAHI_ENTRY_GROUP_COLLISION) {   // another host has the name
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
    if (group == nullptr) return;   // the next registration takes fresh facts anyway
    int state = avahi_entry_group_get_state(group);
    if (state != AVAHI_ENTRY_GROUP_REGISTERING && state != AVAHI_ENTRY_GROUP_ESTABLISHED) return;
    auto fresh = txt_from_facts(facts());
    if (fresh == txt) return;   // announcing costs multicast: only changes
    TxtList list(fresh);
    int r = avahi_entry_group_update_service_txt_strlst(group, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC,
                                                        AvahiPublishFlags(0), name.c_str(),
                                                        kServiceType, nullptr, list.get());
    if (r < 0) PP_DEBUG("mDNS: TXT update of '%s': %s", name.c_str(), avahi_strerror(r));
    else txt = std::move(fresh);
  }

  void stop() {
    if (group != nullptr) avahi_entry_group_free(group);   // withdraws now, with goodbyes
    group = nullptr;
    keeper.stop();
    name.clear();
    txt.clear();
  }

  std::function<NodeFacts()> facts;
  AvahiEntryGroup* group = nullptr;
  std::string name;               // the service name in use, after any renames
  std::vector<std::string> txt;   // what Avahi has
  uint16_t port = 0;
  ClientKeeper keeper;            // last: destroyed first, while the rest is still there
};

AvahiPublisher::AvahiPublisher(asio::io_context& io, std::function<NodeFacts()> facts)
    : impl_(std::make_unique<Impl>(io, std::move(facts))) {}
AvahiPublisher::~AvahiPublisher() { stop(); }
void AvahiPublisher::start() { impl_->keeper.start(); }
void AvahiPublisher::update() { impl_->update(); }
void AvahiPublisher::stop() { impl_->stop(); }

// --- browser --------------------------------------------------------------------------------

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
    AvahiServiceResolver* resolver = nullptr;   // kept open: TXT changes come as FOUND again
    std::string node_id;                        // once resolved
    bool ignored = false;                       // other cluster or malformed
    bool stale = false;                         // known from before a daemon restart
    int failures = 0;
  };

  Impl(asio::io_context& io, std::string cluster, OnFound found, OnLost lost)
      : io(io), cluster_id(std::move(cluster)), on_found(std::move(found)),
        on_lost(std::move(lost)), retry(io),
        keeper(io, "browsing", [this](AvahiClient* c, AvahiClientState s) { on_client(c, s); }) {}

  void on_client(AvahiClient* c, AvahiClientState state) {
    if (state == AVAHI_CLIENT_S_RUNNING) {
      browse(c);
    } else if (state == AVAHI_CLIENT_FAILURE) {
      browser = nullptr;   // the browser and resolvers are gone with the client
      for (auto& [key, item] : items) {
        item.resolver = nullptr;
        item.stale = true;   // swept at the first ALL_FOR_NOW after reconnecting
      }
    }
  }

  void browse(AvahiClient* c) {
    if (browser != nullptr) return;
    browser = avahi_service_browser_new(c, AVAHI_IF_UNSPEC, AVAHI_PROTO_INET, kServiceType,
                                        nullptr, AvahiLookupFlags(0), on_browse, this);
    if (browser == nullptr) {
      PP_WARN("mDNS: cannot browse %s: %s", kServiceType, avahi_strerror(avahi_client_errno(c)));
      retry_later();
    }
  }

  void resolve(const Key& key, Item& item) {
    AvahiClient* c = keeper.running();
    if (c == nullptr || item.resolver != nullptr || item.ignored) return;
    item.resolver = avahi_service_resolver_new(
        c, key.iface, key.protocol, key.name.c_str(), kServiceType, key.domain.c_str(),
        AVAHI_PROTO_INET, AvahiLookupFlags(0), on_resolve, this);
    if (item.resolver == nullptr) {
      PP_DEBUG("mDNS: cannot resolve '%s': %s", key.name.c_str(),
               avahi_strerror(avahi_client_errno(c)));
    }
  }

  static void on_browse(AvahiServiceBrowser* sb, AvahiIfIndex iface, AvahiProtocol protocol,
                        AvahiBrowserEvent event, const char* name, const char*,
                        const char* domain, AvahiLookupResultFlags, void* self) noexcept {
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
      ignore(item);   // another cluster's node is no news: quietly
      return;
    }
    char text[AVAHI_ADDRESS_STR_MAX] = {};
    avahi_address_snprint(text, sizeof text, address);
    facts->address = text;
    facts->port = port;
    std::string before = std::exchange(item.node_id, facts->node_id);
    if (before != item.node_id) lost(before);   // the instance now names another node
    post([f = std::move(*facts)](Impl& b) { b.on_found(f); });
  }

  void ignore(Item& item) {
    if (item.resolver != nullptr) avahi_service_resolver_free(item.resolver);
    item.resolver = nullptr;
    item.ignored = true;
    lost(std::exchange(item.node_id, std::string()));
  }

  void forget(std::map<Key, Item>::iterator it) {
    if (it->second.resolver != nullptr) avahi_service_resolver_free(it->second.resolver);
    std::string id = std::move(it->second.node_id);
    items.erase(it);
    lost(id);
  }

  // OnLost when no instance carries the node any more (a node shows once per interface).
  void lost(const std::string& id) {
    if (id.empty()) return;
    for (const auto& [key, item] : items) {
      if (item.node_id == id) return;
    }
    post([id](Impl& b) { b.on_lost(id); });
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
      if (c == nullptr) return;   // RUNNING again starts over anyway
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
  OnFound on_found;
  OnLost on_lost;
  asio::steady_timer retry;
  AvahiServiceBrowser* browser = nullptr;
  std::map<Key, Item> items;
  std::set<std::string> warned;   // instance names already logged as malformed
  uint64_t epoch = 0;
  bool started = false;
  bool retry_pending = false;
  ClientKeeper keeper;            // last: destroyed first, while the rest is still there
};

AvahiBrowser::AvahiBrowser(asio::io_context& io, std::string cluster_id, OnFound on_found,
                           OnLost on_lost)
    : impl_(std::make_shared<Impl>(io, std::move(cluster_id), std::move(on_found),
                                   std::move(on_lost))) {}
AvahiBrowser::~AvahiBrowser() { stop(); }
void AvahiBrowser::start() { impl_->start(); }
void AvahiBrowser::stop() { impl_->stop(); }

}  // namespace pp::discovery
