// The Avahi client connection shared by the publisher and the browser (internal to
// core/discovery): ClientKeeper keeps one AvahiClient alive across avahi-daemon (and D-Bus)
// restarts; TxtList and strings_of convert TXT records. Everything runs on the io_context
// thread, through an AsioAvahiPoll. Not thread-safe; the io_context must outlive the keeper.
#pragma once

#include <avahi-client/client.h>
#include <avahi-common/strlst.h>

#include <asio.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/discovery/asio_avahi_poll.hpp"

namespace pp::discovery {

// With a bus but no daemon, AVAHI_CLIENT_NO_FAIL makes the client wait for the daemon's name to
// appear; without a bus avahi_client_new fails and the keeper tries again later, backing off to
// every 10 s. The owner hears every state; on FAILURE its entry groups, browsers and resolvers
// are gone with the client and it must forget them (not free them). `what` names the owner's
// use in log lines ("publishing", "browsing").
class ClientKeeper {
 public:
  using OnState = std::function<void(AvahiClient*, AvahiClientState)>;

  ClientKeeper(asio::io_context& io, const char* what, OnState on_state);
  ~ClientKeeper();
  ClientKeeper(const ClientKeeper&) = delete;
  ClientKeeper& operator=(const ClientKeeper&) = delete;

  void start();
  void stop();
  // The client, when it talks to a running daemon.
  AvahiClient* running() const;

 private:
  static void free_client(AvahiClient*& c);
  static void on_client(AvahiClient* c, AvahiClientState state, void* self) noexcept;
  void on_state(AvahiClient* c, AvahiClientState state);
  void connect();
  void retry_later();
  void unreachable(const char* why);

  const char* what_;
  OnState on_state_;
  AsioAvahiPoll poll_;  // declared before the clients that use it, so it outlives them
  asio::steady_timer retry_;
  AvahiClient* client_ = nullptr;
  AvahiClient* doomed_ = nullptr;  // failed, to be freed outside its callback
  std::chrono::milliseconds backoff_;
  bool started_ = false;
  bool connected_ = false;
  bool lost_ = false;
  bool said_unreachable_ = false;
};

// An AvahiStringList built from strings, freed on scope exit.
class TxtList {
 public:
  explicit TxtList(const std::vector<std::string>& strings);
  ~TxtList();
  TxtList(const TxtList&) = delete;
  TxtList& operator=(const TxtList&) = delete;
  AvahiStringList* get() const { return list_; }

 private:
  AvahiStringList* list_ = nullptr;
};

std::vector<std::string> strings_of(AvahiStringList* l);

}  // namespace pp::discovery
