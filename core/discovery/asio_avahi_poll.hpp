// AsioAvahiPoll: Avahi's event-loop interface (AvahiPoll) implemented on an asio::io_context.
//
// The Avahi client library does all its D-Bus I/O through an AvahiPoll vtable of fd watches
// and timeouts. This adapter backs watches with asio::posix::stream_descriptor::async_wait
// (the descriptor stays libdbus's: it is released, never closed, by us; Asio does set
// O_NONBLOCK on it, which libdbus sockets have anyway) and timeouts with
// asio::steady_timer, so every Avahi callback runs on the thread that runs the io_context and
// no extra thread is needed. Watches on one fd share one registered descriptor, because
// libdbus watches its socket twice (a read and a write watch) and epoll takes an fd only once.
// Watch semantics are level-triggered, as with poll(2): a watch whose events are not consumed
// fires again.
//
// Ownership: the AsioAvahiPoll must outlive every Avahi object created with get() (free the
// AvahiClient first); the io_context must outlive the AsioAvahiPoll. Not thread-safe: use it
// from the io_context thread only.
//
//   AsioAvahiPoll poll(io);
//   AvahiClient* c = avahi_client_new(poll.get(), AVAHI_CLIENT_NO_FAIL, on_state, this, &err);
//   io.run();   // Avahi callbacks happen in here
#pragma once

#include <avahi-common/watch.h>

#include <cstddef>
#include <memory>

namespace asio {
class io_context;
}

namespace pp::discovery {

class AsioAvahiPoll {
 public:
  explicit AsioAvahiPoll(asio::io_context& io);
  ~AsioAvahiPoll();
  AsioAvahiPoll(const AsioAvahiPoll&) = delete;
  AsioAvahiPoll& operator=(const AsioAvahiPoll&) = delete;

  const AvahiPoll* get() const { return &api_; }

  // Live watches and timeouts (for tests and leak checks).
  size_t watch_count() const;
  size_t timeout_count() const;

  struct State;   // the adapter's bookkeeping, defined in the .cpp

 private:
  std::unique_ptr<State> state_;
  AvahiPoll api_;
};

}  // namespace pp::discovery
