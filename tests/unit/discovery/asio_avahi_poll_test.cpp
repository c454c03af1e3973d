// Tests of the Asio-backed AvahiPoll, driven the way Avahi's D-Bus glue drives it but over pipes
// and socket pairs (no daemon): watches report exactly the events that happened, two watches
// share one fd (libdbus's read and write watch), watches and timeouts may be changed or freed
// from inside their own callbacks, a disabled watch stops firing (no spin), timeouts fire once,
// in order, and can be moved, disabled and re-armed.
#include "core/discovery/asio_avahi_poll.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <asio.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace pp::discovery {
namespace {

using namespace std::chrono_literals;

// Runs `io` until `done()` or `limit` has passed; returns done().
bool run_until(asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds limit = 2000ms) {
  if (io.stopped()) io.restart();   // it stops whenever it runs out of work
  auto guard = asio::make_work_guard(io);
  auto end = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < end) io.run_one_for(10ms);
  return done();
}

void run_for(asio::io_context& io, std::chrono::milliseconds d) {
  run_until(io, [] { return false; }, d);
}

timeval in_ms(int ms) {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  int64_t us = tv.tv_usec + static_cast<int64_t>(ms) * 1000;
  tv.tv_sec += us / 1000000;
  tv.tv_usec = us % 1000000;
  if (tv.tv_usec < 0) {
    tv.tv_sec -= 1;
    tv.tv_usec += 1000000;
  }
  return tv;
}

struct Pipe {
  Pipe() { REQUIRE(pipe2(fd, O_NONBLOCK | O_CLOEXEC) == 0); }
  ~Pipe() {
    for (int f : fd) {
      if (f >= 0) close(f);
    }
  }
  int fd[2] = {-1, -1};
};

// A callback that forwards to a std::function stored in the userdata.
struct OnWatch {
  std::function<void(AvahiWatch*, int, AvahiWatchEvent)> fn;
  static void call(AvahiWatch* w, int fd, AvahiWatchEvent e, void* self) {
    static_cast<OnWatch*>(self)->fn(w, fd, e);
  }
};
struct OnTimeout {
  std::function<void(AvahiTimeout*)> fn;
  static void call(AvahiTimeout* t, void* self) { static_cast<OnTimeout*>(self)->fn(t); }
};

TEST_CASE("discovery.poll.read_watch_reports_events_and_frees_itself") {
  asio::io_context io;
  AsioAvahiPoll poll(io);
  const AvahiPoll* api = poll.get();
  Pipe p;
  int calls = 0;
  OnWatch cb{[&](AvahiWatch* w, int fd, AvahiWatchEvent e) {
    ++calls;
    CHECK(fd == p.fd[0]);
    CHECK(e == AVAHI_WATCH_IN);
    CHECK(api->watch_get_events(w) == AVAHI_WATCH_IN);
    char c;
    CHECK(read(fd, &c, 1) == 1);
    api->watch_free(w);   // from inside its own callback
  }};
  api->watch_new(api, p.fd[0], AVAHI_WATCH_IN, OnWatch::call, &cb);
  CHECK(poll.watch_count() == 1);
  run_for(io, 50ms);
  CHECK(calls == 0);   // nothing to read yet
  REQUIRE(write(p.fd[1], "x", 1) == 1);
  CHECK(run_until(io, [&] { return calls == 1; }));
  CHECK(poll.watch_count() == 0);
  REQUIRE(write(p.fd[1], "y", 1) == 1);
  run_for(io, 50ms);
  CHECK(calls == 1);
  // The fd was never ours: still open and readable.
  char c;
  CHECK(read(p.fd[0], &c, 1) == 1);
}

TEST_CASE("discovery.poll.two_watches_share_one_fd") {
  asio::io_context io;
  AsioAvahiPoll poll(io);
  const AvahiPoll* api = poll.get();
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
  int reads = 0, writes = 0;
  OnWatch on_read{[&](AvahiWatch*, int fd, AvahiWatchEvent e) {
    ++reads;
    CHECK((e & AVAHI_WATCH_IN) != 0);
    char buf[16];
    CHECK(read(fd, buf, sizeof buf) > 0);
  }};
  OnWatch on_write{[&](AvahiWatch* w, int, AvahiWatchEvent e) {
    ++writes;
    CHECK(e == AVAHI_WATCH_OUT);
    api->watch_update(w, static_cast<AvahiWatchEvent>(0));   // as libdbus: nothing to write now
  }};
  AvahiWatch* r = api->watch_new(api, sv[0], AVAHI_WATCH_IN, OnWatch::call, &on_read);
  AvahiWatch* w = api->watch_new(api, sv[0], AVAHI_WATCH_OUT, OnWatch::call, &on_write);
  REQUIRE(r != nullptr);
  REQUIRE(w != nullptr);   // a second watch on one fd: epoll would refuse a second registration
  CHECK(run_until(io, [&] { return writes == 1; }));
  CHECK(reads == 0);
  REQUIRE(write(sv[1], "ab", 2) == 2);
  CHECK(run_until(io, [&] { return reads == 1; }));
  api->watch_free(r);   // the other watch keeps the fd registered
  api->watch_update(w, AVAHI_WATCH_OUT);
  CHECK(run_until(io, [&] { return writes == 2; }));
  REQUIRE(write(sv[1], "c", 1) == 1);
  run_for(io, 50ms);
  CHECK(reads == 1);
  api->watch_free(w);
  CHECK(poll.watch_count() == 0);
  close(sv[0]);
  close(sv[1]);
}

TEST_CASE("discovery.poll.level_triggered_until_disabled") {
  asio::io_context io;
  AsioAvahiPoll poll(io);
  const AvahiPoll* api = poll.get();
  Pipe p;
  REQUIRE(write(p.fd[1], "x", 1) == 1);
  int calls = 0;
  OnWatch cb{[&](AvahiWatch* w, int, AvahiWatchEvent) {
    if (++calls == 3) api->watch_update(w, static_cast<AvahiWatchEvent>(0));   // never reads
  }};
  AvahiWatch* w = api->watch_new(api, p.fd[0], AVAHI_WATCH_IN, OnWatch::call, &cb);
  CHECK(run_until(io, [&] { return calls >= 3; }));
  run_for(io, 100ms);
  CHECK(calls == 3);   // disabled: no spinning on the unread byte
  api->watch_update(w, AVAHI_WATCH_IN);
  CHECK(run_until(io, [&] { return calls == 4; }));
  api->watch_free(w);
}

TEST_CASE("discovery.poll.hangup_is_reported") {
  asio::io_context io;
  AsioAvahiPoll poll(io);
  const AvahiPoll* api = poll.get();
  Pipe p;
  AvahiWatchEvent got{};
  OnWatch cb{[&](AvahiWatch* w, int, AvahiWatchEvent e) {
    got = e;
    api->watch_free(w);
  }};
  api->watch_new(api, p.fd[0], AVAHI_WATCH_IN, OnWatch::call, &cb);
  close(p.fd[1]);
  p.fd[1] = -1;
  CHECK(run_until(io, [&] { return got != 0; }));
  CHECK((got & AVAHI_WATCH_HUP) != 0);
}

TEST_CASE("discovery.poll.freeing_another_watch_in_a_callback") {
  asio::io_context io;
  AsioAvahiPoll poll(io);
  const AvahiPoll* api = poll.get();
  Pipe p;
  REQUIRE(write(p.fd[1], "x", 1) == 1);
  AvahiWatch* first = nullptr;
  AvahiWatch* second = nullptr;
  int calls = 0;
  OnWatch cb{[&](AvahiWatch* w, int, AvahiWatchEvent) {
    ++calls;
    api->watch_free(w == first ? second : first);   // the other one must not run now
    api->watch_free(w);
  }};
  first = api->watch_new(api, p.fd[0], AVAHI_WATCH_IN, OnWatch::call, &cb);
  second = api->watch_new(api, p.fd[0], AVAHI_WATCH_IN, OnWatch::call, &cb);
  CHECK(run_until(io, [&] { return calls >= 1; }));
  run_for(io, 50ms);
  CHECK(calls == 1);
  CHECK(poll.watch_count() == 0);
}

TEST_CASE("discovery.poll.timeouts_fire_once_in_order") {
  asio::io_context io;
  AsioAvahiPoll poll(io);
  const AvahiPoll* api = poll.get();
  std::vector<std::string> fired;
  OnTimeout late{[&](AvahiTimeout*) { fired.push_back("late"); }};
  OnTimeout early{[&](AvahiTimeout*) { fired.push_back("early"); }};
  OnTimeout past{[&](AvahiTimeout*) { fired.push_back("past"); }};
  OnTimeout never{[&](AvahiTimeout*) { fired.push_back("never"); }};
  timeval t60 = in_ms(60), t20 = in_ms(20), epoch{0, 0};
  AvahiTimeout* a = api->timeout_new(api, &t60, OnTimeout::call, &late);
  AvahiTimeout* b = api->timeout_new(api, &t20, OnTimeout::call, &early);
  AvahiTimeout* c = api->timeout_new(api, &epoch, OnTimeout::call, &past);   // due long ago
  AvahiTimeout* d = api->timeout_new(api, nullptr, OnTimeout::call, &never);
  CHECK(poll.timeout_count() == 4);
  CHECK(run_until(io, [&] { return fired.size() == 3; }));
  run_for(io, 100ms);
  CHECK(fired == std::vector<std::string>{"past", "early", "late"});
  for (AvahiTimeout* t : {a, b, c, d}) api->timeout_free(t);
  CHECK(poll.timeout_count() == 0);
}

TEST_CASE("discovery.poll.timeouts_move_disable_rearm_and_free_in_callback") {
  asio::io_context io;
  AsioAvahiPoll poll(io);
  const AvahiPoll* api = poll.get();
  int ticks = 0;
  OnTimeout rearm{[&](AvahiTimeout* t) {
    if (++ticks < 3) {
      timeval tv = in_ms(5);
      api->timeout_update(t, &tv);
    } else {
      api->timeout_free(t);
    }
  }};
  int disabled_calls = 0, moved_calls = 0;
  OnTimeout disabled{[&](AvahiTimeout*) { ++disabled_calls; }};
  OnTimeout moved{[&](AvahiTimeout*) { ++moved_calls; }};
  timeval soon = in_ms(10), later = in_ms(300), now{0, 0};
  api->timeout_new(api, &now, OnTimeout::call, &rearm);
  AvahiTimeout* off = api->timeout_new(api, &soon, OnTimeout::call, &disabled);
  api->timeout_update(off, nullptr);
  AvahiTimeout* mv = api->timeout_new(api, &later, OnTimeout::call, &moved);
  api->timeout_update(mv, &soon);
  CHECK(run_until(io, [&] { return ticks == 3 && moved_calls == 1; }, 250ms));
  run_for(io, 100ms);
  CHECK(ticks == 3);
  CHECK(disabled_calls == 0);
  CHECK(moved_calls == 1);   // once, at the new time, not again at the old one
  CHECK(poll.timeout_count() == 2);
  api->timeout_free(off);
  api->timeout_free(mv);
}

TEST_CASE("discovery.poll.destroyed_with_pending_waits") {
  asio::io_context io;
  Pipe p;
  int calls = 0;
  OnWatch cb{[&](AvahiWatch*, int, AvahiWatchEvent) { ++calls; }};
  OnTimeout tcb{[&](AvahiTimeout*) { ++calls; }};
  {
    AsioAvahiPoll poll(io);
    const AvahiPoll* api = poll.get();
    api->watch_new(api, p.fd[0], AVAHI_WATCH_IN, OnWatch::call, &cb);
    timeval tv = in_ms(10);
    api->timeout_new(api, &tv, OnTimeout::call, &tcb);
  }
  REQUIRE(write(p.fd[1], "x", 1) == 1);
  run_for(io, 50ms);
  CHECK(calls == 0);
  char c;
  CHECK(read(p.fd[0], &c, 1) == 1);   // released, not closed
}

}  // namespace
}  // namespace pp::discovery
