#include "core/discovery/asio_avahi_poll.hpp"

#include <poll.h>
#include <sys/time.h>

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <map>
#include <unordered_map>
#include <vector>

#include "core/util/log.hpp"

namespace pp::discovery {
namespace {

struct FdSlot;

// What Avahi knows as an AvahiWatch (handed out by reinterpret_cast; the C type is opaque).
struct Watch {
  AsioAvahiPoll::State* owner = nullptr;
  std::shared_ptr<FdSlot> slot;
  int events = 0;    // AvahiWatchEvent bits asked for
  int revents = 0;   // what the last dispatch reported (watch_get_events)
  AvahiWatchCallback callback = nullptr;
  void* userdata = nullptr;
  bool dead = false;
};

// What Avahi knows as an AvahiTimeout. `generation` tells a live expiry from a stale one that
// was already queued when the timeout was moved or disabled.
struct Timeout {
  explicit Timeout(asio::io_context& io) : timer(io) {}
  AsioAvahiPoll::State* owner = nullptr;
  asio::steady_timer timer;
  AvahiTimeoutCallback callback = nullptr;
  void* userdata = nullptr;
  uint64_t generation = 0;
  bool dead = false;
};

// One registered descriptor per fd, shared by that fd's watches. At most one wait of each
// kind is pending; a completion polls the fd for the exact events and hands each live watch
// the ones it asked for (errors and hangups always).
struct FdSlot : std::enable_shared_from_this<FdSlot> {
  FdSlot(asio::io_context& io, int fd) : descriptor(io), fd(fd) {}

  asio::posix::stream_descriptor descriptor;
  int fd;
  std::vector<std::shared_ptr<Watch>> watches;
  bool reading = false, writing = false, excepting = false;   // a wait is pending
  bool broken = false;   // a wait failed: no more waits until a watch changes
  bool closed = false;

  int wanted() const {
    int e = 0;
    for (const auto& w : watches) e |= w->dead ? 0 : w->events;
    return e;
  }

  void arm() {
    if (closed || broken) return;
    int e = wanted();
    if ((e & AVAHI_WATCH_IN) != 0 && !reading) wait(asio::posix::descriptor_base::wait_read);
    if ((e & AVAHI_WATCH_OUT) != 0 && !writing) wait(asio::posix::descriptor_base::wait_write);
    // Only errors or hangups asked for: epoll reports those to an "exceptional" wait.
    if ((e & (AVAHI_WATCH_IN | AVAHI_WATCH_OUT)) == 0 && e != 0 && !excepting) {
      wait(asio::posix::descriptor_base::wait_error);
    }
  }

  bool& pending(asio::posix::descriptor_base::wait_type t) {
    if (t == asio::posix::descriptor_base::wait_read) return reading;
    if (t == asio::posix::descriptor_base::wait_write) return writing;
    return excepting;
  }

  void wait(asio::posix::descriptor_base::wait_type t) {
    pending(t) = true;
    descriptor.async_wait(t, [self = shared_from_this(), t](const asio::error_code& ec) {
      self->pending(t) = false;
      self->on_ready(ec);
    });
  }

  void on_ready(const asio::error_code& ec) {
    if (closed || ec == asio::error::operation_aborted) return;
    int revents = 0;
    if (ec) {
      PP_DEBUG("avahi poll: wait on fd %d failed: %s", fd, ec.message().c_str());
      broken = true;
      revents = AVAHI_WATCH_ERR;
    } else {
      pollfd p{fd, static_cast<short>(wanted() & (POLLIN | POLLOUT)), 0};
      if (::poll(&p, 1, 0) < 0) return arm();
      revents = p.revents;
      if ((revents & POLLNVAL) != 0) {   // libdbus closed the fd before freeing its watch
        broken = true;
        revents = AVAHI_WATCH_ERR;
      }
    }
    auto keep = shared_from_this();
    auto copy = watches;   // callbacks may add, update and free watches, this one included
    for (const auto& w : copy) {
      int got = revents & (w->events | AVAHI_WATCH_ERR | AVAHI_WATCH_HUP);
      if (w->dead || got == 0) continue;
      w->revents = got;
      w->callback(reinterpret_cast<AvahiWatch*>(w.get()), fd,
                  static_cast<AvahiWatchEvent>(got), w->userdata);
    }
    arm();
  }

  void close() {
    closed = true;
    for (auto& w : watches) w->dead = true;
    watches.clear();
    asio::error_code ignored;
    descriptor.cancel(ignored);
    descriptor.release();   // the fd is libdbus's: deregister it, do not close it
  }
};

// Avahi asks with absolute gettimeofday() times; Asio timers run on the steady clock.
std::chrono::microseconds until(const timeval& tv) {
  timeval now{};
  gettimeofday(&now, nullptr);
  int64_t us = (static_cast<int64_t>(tv.tv_sec) - now.tv_sec) * 1000000 +
               (static_cast<int64_t>(tv.tv_usec) - now.tv_usec);
  return std::chrono::microseconds(us > 0 ? us : 0);
}

}  // namespace

struct AsioAvahiPoll::State {
  explicit State(asio::io_context& io) : io(io) {}
  ~State() {
    for (auto& [fd, slot] : slots) slot->close();
    for (auto& [raw, t] : timeouts) {
      t->dead = true;
      t->timer.cancel();
    }
  }

  asio::io_context& io;
  std::map<int, std::shared_ptr<FdSlot>> slots;
  std::unordered_map<Timeout*, std::shared_ptr<Timeout>> timeouts;
};

namespace {

Watch* as_watch(AvahiWatch* w) { return reinterpret_cast<Watch*>(w); }
Timeout* as_timeout(AvahiTimeout* t) { return reinterpret_cast<Timeout*>(t); }

// Avahi's D-Bus glue passes D-Bus watch flags to watch_update untranslated, and
// DBUS_WATCH_WRITABLE (2) is POLLPRI, which nothing in Avahi waits for: read it as OUT.
int normalize(int events) {
  if ((events & POLLPRI) != 0) events = (events & ~POLLPRI) | AVAHI_WATCH_OUT;
  return events & (AVAHI_WATCH_IN | AVAHI_WATCH_OUT | AVAHI_WATCH_ERR | AVAHI_WATCH_HUP);
}

// The vtable functions are called from C: nothing may throw out of them.
AvahiWatch* watch_new(const AvahiPoll* api, int fd, AvahiWatchEvent events,
                      AvahiWatchCallback callback, void* userdata) noexcept {
  auto* state = static_cast<AsioAvahiPoll::State*>(api->userdata);
  try {
    auto& slot = state->slots[fd];
    if (!slot) {
      auto s = std::make_shared<FdSlot>(state->io, fd);
      asio::error_code ec;
      s->descriptor.assign(fd, ec);
      if (ec) {
        state->slots.erase(fd);
        PP_WARN("mDNS: cannot watch fd %d: %s", fd, ec.message().c_str());
        return nullptr;
      }
      slot = std::move(s);
    }
    auto w = std::make_shared<Watch>();
    w->owner = state;
    w->slot = slot;
    w->events = normalize(events);
    w->callback = callback;
    w->userdata = userdata;
    slot->watches.push_back(w);
    slot->broken = false;
    slot->arm();
    return reinterpret_cast<AvahiWatch*>(w.get());
  } catch (const std::exception& e) {
    PP_ERROR("mDNS: watch_new: %s", e.what());
    return nullptr;
  }
}

void watch_update(AvahiWatch* raw, AvahiWatchEvent events) noexcept {
  Watch* w = as_watch(raw);
  try {
    w->events = normalize(events);
    w->slot->broken = false;
    w->slot->arm();
  } catch (const std::exception& e) {
    PP_ERROR("mDNS: watch_update: %s", e.what());
  }
}

AvahiWatchEvent watch_get_events(AvahiWatch* raw) noexcept {
  return static_cast<AvahiWatchEvent>(as_watch(raw)->revents);
}

void watch_free(AvahiWatch* raw) noexcept {
  Watch* w = as_watch(raw);
  w->dead = true;
  AsioAvahiPoll::State* owner = w->owner;
  std::shared_ptr<FdSlot> slot = w->slot;   // `w` itself may die in the erase below
  auto& ws = slot->watches;
  for (auto it = ws.begin(); it != ws.end(); ++it) {
    if (it->get() == w) {
      ws.erase(it);
      break;
    }
  }
  if (ws.empty() && !slot->closed) {
    slot->close();   // pending waits end with operation_aborted and keep `slot` alive till then
    owner->slots.erase(slot->fd);
  }
}

void timeout_arm(Timeout* t, const timeval* tv) {
  ++t->generation;
  if (tv == nullptr) {
    t->timer.cancel();
    return;
  }
  t->timer.expires_after(until(*tv));
  auto self = t->owner->timeouts.at(t);
  t->timer.async_wait([self, gen = t->generation](const asio::error_code& ec) {
    if (ec || self->dead || gen != self->generation) return;
    ++self->generation;   // fired: disabled until updated
    self->callback(reinterpret_cast<AvahiTimeout*>(self.get()), self->userdata);
  });
}

AvahiTimeout* timeout_new(const AvahiPoll* api, const timeval* tv, AvahiTimeoutCallback callback,
                          void* userdata) noexcept {
  auto* state = static_cast<AsioAvahiPoll::State*>(api->userdata);
  try {
    auto t = std::make_shared<Timeout>(state->io);
    t->owner = state;
    t->callback = callback;
    t->userdata = userdata;
    state->timeouts.emplace(t.get(), t);
    timeout_arm(t.get(), tv);
    return reinterpret_cast<AvahiTimeout*>(t.get());
  } catch (const std::exception& e) {
    PP_ERROR("mDNS: timeout_new: %s", e.what());
    return nullptr;
  }
}

void timeout_update(AvahiTimeout* raw, const timeval* tv) noexcept {
  try {
    timeout_arm(as_timeout(raw), tv);
  } catch (const std::exception& e) {
    PP_ERROR("mDNS: timeout_update: %s", e.what());
  }
}

void timeout_free(AvahiTimeout* raw) noexcept {
  Timeout* t = as_timeout(raw);
  t->dead = true;
  t->timer.cancel();
  t->owner->timeouts.erase(t);   // a pending wait keeps it alive until it ends
}

}  // namespace

AsioAvahiPoll::AsioAvahiPoll(asio::io_context& io) : state_(std::make_unique<State>(io)), api_{} {
  api_.userdata = state_.get();
  api_.watch_new = watch_new;
  api_.watch_update = watch_update;
  api_.watch_get_events = watch_get_events;
  api_.watch_free = watch_free;
  api_.timeout_new = timeout_new;
  api_.timeout_update = timeout_update;
  api_.timeout_free = timeout_free;
}

AsioAvahiPoll::~AsioAvahiPoll() = default;

size_t AsioAvahiPoll::watch_count() const {
  size_t n = 0;
  for (const auto& [fd, slot] : state_->slots) n += slot->watches.size();
  return n;
}

size_t AsioAvahiPoll::timeout_count() const { return state_->timeouts.size(); }

}  // namespace pp::discovery
