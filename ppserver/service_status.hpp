// ServiceStatus: the node as its service manager sees it. Under systemd (a Type=notify
// unit, which sets $NOTIFY_SOCKET) it says READY=1 once the node listens and its workers
// are started, then keeps STATUS= up to date ("serving on 0.0.0.0:60000: 4 workers,
// 2 clients, 3 jobs running, 10 queued"; `systemctl status ppserver` shows it; a paused
// node's line begins "paused (reason): "), and
// STOPPING=1 with the reason when the node shuts down. Without $NOTIFY_SOCKET every call
// does nothing. Owned by the Node; all calls on its io thread.
//
//   ServiceStatus status(io, [&] { return ServiceStatus::Figures{...}; });
//   status.ready("0.0.0.0:60000");     // after listening: READY=1, then STATUS= every second
//   status.stopping("signal Terminated");
#pragma once

#include <asio.hpp>
#include <cstddef>
#include <functional>
#include <string>

namespace pp::server {

class ServiceStatus {
 public:
  struct Figures {
    int workers = 0;
    size_t clients = 0;
    size_t running = 0;   // jobs on workers
    size_t queued = 0;    // jobs waiting on the node
    std::string paused;   // why the node is paused; empty when it is not
  };

  ServiceStatus(asio::io_context& io, std::function<Figures()> figures);

  // The node listens on `endpoint` and its workers are started.
  void ready(const std::string& endpoint);
  void stopping(const std::string& why);
  // The figures changed in a way to show at once (a pause): STATUS= now, not at the next tick.
  void changed();

  // The STATUS= text for these figures (pure; for tests).
  static std::string status_line(const std::string& endpoint, const Figures& f);

 private:
  void tick();
  void send(const std::string& message);

  asio::steady_timer timer_;
  std::function<Figures()> figures_;
  std::string endpoint_;
  std::string last_status_;   // sent only when it changes
  bool enabled_;              // $NOTIFY_SOCKET was set
};

}  // namespace pp::server
