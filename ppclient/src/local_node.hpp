// LocalNode: the embedded default. With no node given, the client starts a
// ppserver of its own on loopback, on a free port, with a one-off secret, and
// connects to it like to any other node. The child exits when the client does
// (it watches a pipe the client holds). Created on the user's thread before the
// io thread starts; not thread-safe.
//
// What the child and its workers write on stderr (a warning, a worker's crash) comes
// through a pipe to a thread of this object, which passes each whole line on as a log
// line of this process (log::write_line): while a progress bar owns the terminal's last
// line, the node's lines print above it like the driver's own, never into it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace pp::client {

class LocalNode {
 public:
  // Starts `workers` local workers; throws std::runtime_error with a clear
  // message if ppserver cannot be found or does not come up.
  LocalNode(int workers, const std::string& secret);
  ~LocalNode();
  LocalNode(const LocalNode&) = delete;
  LocalNode& operator=(const LocalNode&) = delete;

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  // Closes the lifeline and waits up to `limit` for the node to exit, then kills
  // it. Idempotent; the destructor calls it. The one call that may come from
  // another thread (JobServer::interrupt) while the owner is blocked.
  void stop(std::chrono::milliseconds limit = std::chrono::seconds(3));

  // Where the ppserver binary is looked for ($PP_SERVER first).
  static std::string find_server_binary(std::string* tried);

 private:
  pid_t pid_ = -1;
  // Reads the child's stderr (err_read_) until it ends or wake_write_ is written, then
  // passes on what is left.
  void relay_stderr();
  void stop_relay();

  int lifeline_ = -1;   // write end; the child exits when it closes
  uint16_t port_ = 0;
  int err_read_ = -1;   // the child's stderr, read end
  int wake_read_ = -1, wake_write_ = -1;   // tells the relay to finish
  std::thread relay_;
  std::mutex stop_mutex_;   // stop() may come from two threads (see stop())
};

}  // namespace pp::client
