#include "core/discovery/avahi_client.hpp"

#include <avahi-common/error.h>

#include <algorithm>

#include "core/util/log.hpp"

namespace pp::discovery {
namespace {

constexpr std::chrono::milliseconds kFirstRetry{250};
constexpr std::chrono::milliseconds kMaxRetry{10000};

}  // namespace

ClientKeeper::ClientKeeper(asio::io_context& io, const char* what, OnState on_state)
    : what_(what), on_state_(std::move(on_state)), poll_(io), retry_(io), backoff_(kFirstRetry) {}

ClientKeeper::~ClientKeeper() { stop(); }

void ClientKeeper::start() {
  if (started_) return;
  started_ = true;
  connect();
}

void ClientKeeper::stop() {
  started_ = false;
  retry_.cancel();
  free_client(client_);
  free_client(doomed_);
}

AvahiClient* ClientKeeper::running() const {
  return client_ != nullptr && avahi_client_get_state(client_) == AVAHI_CLIENT_S_RUNNING ? client_
                                                                                         : nullptr;
}

void ClientKeeper::free_client(AvahiClient*& c) {
  if (c != nullptr) avahi_client_free(c);
  c = nullptr;
}

void ClientKeeper::connect() {
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

void ClientKeeper::retry_later() {
  retry_.expires_after(backoff_);
  backoff_ = std::min(backoff_ * 2, kMaxRetry);
  retry_.async_wait([this](const asio::error_code& ec) {
    if (!ec && started_) connect();
  });
}

void ClientKeeper::unreachable(const char* why) {
  if (said_unreachable_) return;
  said_unreachable_ = true;
  PP_INFO(
      "mDNS: no avahi-daemon reachable (%s); DNS-SD %s is off and UDP broadcast "
      "discovery carries on alone (it starts if a daemon appears)",
      why, what_);
}

void ClientKeeper::on_client(AvahiClient* c, AvahiClientState state, void* self) noexcept {
  try {
    static_cast<ClientKeeper*>(self)->on_state(c, state);
  } catch (const std::exception& e) {
    PP_ERROR("mDNS: client callback: %s", e.what());
  }
}

void ClientKeeper::on_state(AvahiClient* c, AvahiClientState state) {
  client_ = c;
  switch (state) {
    case AVAHI_CLIENT_S_RUNNING:
      if (said_unreachable_ || lost_)
        PP_INFO("mDNS: avahi-daemon reachable; DNS-SD %s is on", what_);
      lost_ = false;
      connected_ = true;
      backoff_ = kFirstRetry;
      break;
    case AVAHI_CLIENT_CONNECTING:
      unreachable("no avahi-daemon on the system D-Bus");
      break;
    case AVAHI_CLIENT_FAILURE:
      if (connected_) {
        PP_WARN("mDNS: lost the avahi-daemon (%s); DNS-SD %s resumes when it is back",
                avahi_strerror(avahi_client_errno(c)), what_);
        lost_ = true;
        said_unreachable_ = true;  // that line says it all: no "unreachable" after it
      } else {
        unreachable(avahi_strerror(avahi_client_errno(c)));
      }
      connected_ = false;
      // We are inside the client's own D-Bus dispatch: free it later, not here.
      doomed_ = c;
      client_ = nullptr;
      break;
    default:  // S_REGISTERING, S_COLLISION: the owner withdraws and waits for RUNNING
      break;
  }
  on_state_(c, state);
  if (state == AVAHI_CLIENT_FAILURE && started_) retry_later();
}

TxtList::TxtList(const std::vector<std::string>& strings) {
  for (auto it = strings.rbegin(); it != strings.rend(); ++it) {  // add() prepends
    list_ = avahi_string_list_add_arbitrary(list_, reinterpret_cast<const uint8_t*>(it->data()),
                                            it->size());
  }
}

TxtList::~TxtList() { avahi_string_list_free(list_); }

std::vector<std::string> strings_of(AvahiStringList* l) {
  std::vector<std::string> out;
  for (; l != nullptr; l = avahi_string_list_get_next(l)) {
    out.emplace_back(reinterpret_cast<const char*>(avahi_string_list_get_text(l)),
                     avahi_string_list_get_size(l));
  }
  return out;
}

}  // namespace pp::discovery
