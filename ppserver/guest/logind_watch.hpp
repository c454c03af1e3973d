// LogindWatch: --pause-when-user-active on the node. A reader thread of its own asks
// systemd-logind over the system D-Bus (sd-bus; DBUS_SYSTEM_BUS_ADDRESS honored) once a second
// for its sessions (Manager.ListSessions), and for each one on a seat its Type, IdleHint and
// IdleSinceHintMonotonic; it posts each reading to the node's io thread, where
// UserActivityPolicy decides and `hold(reason)` / `release()` are called (the Node maps them
// to Node::hold / release with PauseCause::kUserActive).
//
// Why the sessions and not the Manager's own IdleHint: that one folds in every session, ssh
// logins and cron jobs included, which logind never calls idle (user_activity.hpp). Why
// polling and not PropertiesChanged: a text console's last use is its TTY's access time,
// which logind reads when asked and never signals; a reading costs a few D-Bus calls a
// second (one, plus three per seated session).
//
// Why a thread: sd-bus calls block (2 s at most each); the io thread never waits on them.
// The thread owns the sd_bus connection alone; the policy and the log belong to the io thread.
// Without a bus or without logind at start the watch says so once and ends; if logind stops
// answering later, the node resumes (it cannot tell whether anyone is there) and the watch
// keeps asking, saying once when it is lost and once when it is back.
// Owned by the Node; the callbacks must outlive it. The destructor stops and joins the thread.
#pragma once

#include <asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/util/status.hpp"
#include "ppserver/guest/user_activity.hpp"

namespace pp::server::guest {

class LogindWatch {
 public:
  LogindWatch(asio::io_context& io, std::chrono::milliseconds window,
              std::function<void(std::string reason)> hold, std::function<void()> release);
  ~LogindWatch();
  LogindWatch(const LogindWatch&) = delete;
  LogindWatch& operator=(const LogindWatch&) = delete;
  void start();

  // The system bus the watch talks to: $DBUS_SYSTEM_BUS_ADDRESS, else the standard socket.
  static std::string bus_address();

 private:
  using Reading = Result<std::vector<UserActivityPolicy::Sample>>;
  void read_loop();                   // the reader thread
  void on_reading(Reading reading);   // the io thread
  bool wait_for_next();               // false once stopping

  asio::io_context& io_;
  std::chrono::milliseconds window_;
  UserActivityPolicy policy_;
  std::function<void(std::string)> hold_;
  std::function<void()> release_;
  bool answered_ = false;   // logind answered at least once
  bool lost_ = false;       // it stopped answering after that (said once)
  // Posted readings hold a weak reference: none runs after the watch is gone.
  std::shared_ptr<LogindWatch*> self_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;   // under mutex_
  std::thread reader_;
};

}  // namespace pp::server::guest
