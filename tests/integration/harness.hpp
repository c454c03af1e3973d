// Test harness: real ppserver processes on loopback for integration tests.
//
// ServerProcess starts build/bin/ppserver on 127.0.0.1 with a free port (the node
// reports it through --report-fd), keeps its log in a file for assertions, and
// stops it on destruction (SIGTERM, then SIGKILL) so a failing test leaves
// nothing behind. kill9() is the crash under test.
//
// For hostile-peer tests: RawConnection (a plain TCP socket speaking frames by
// hand, from any loopback source address), RecordingProxy (forwards one real
// client's connection and records both directions), and /proc readings of a
// process's descriptors, memory and CPU time for leak checks.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/proto/frame_reader.hpp"
#include "pp/cluster.hpp"
#include "core/proto/messages.hpp"

namespace pp::test {

std::string bin_dir();
std::string source_dir();

class ServerProcess {
 public:
  // `args` are extra ppserver options; `secret` goes through PP_SECRET ("" = none).
  explicit ServerProcess(std::vector<std::string> args = {}, std::string secret = "");
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void kill9();
  void terminate();
  // Waits up to `limit` for the process to end by itself (a signal sent by the
  // test, the idle limit) and reaps it: true if it ended; see exit_status().
  bool wait_exit(std::chrono::milliseconds limit);
  bool alive() const;
  // How the process ended, once terminate() or kill9() has reaped it: its exit
  // status, or 128 + the signal that ended it; -1 before.
  int exit_status() const { return exit_status_; }
  std::string log() const;
  // Waits until the log contains `needle` (true) or the time runs out (false).
  bool wait_for_log(const std::string& needle, std::chrono::milliseconds limit) const;
  // Lines of the log that contain `needle`.
  size_t count_in_log(const std::string& needle) const;

 private:
  void reaped(int wait_status);

  pid_t pid_ = -1;
  int exit_status_ = -1;
  uint16_t port_ = 0;
  std::string log_path_;
};

// Runs a command (through /bin/sh -c) and returns its exit status and output.
struct CommandResult {
  int status = -1;
  std::string output;
};
CommandResult run_command(const std::string& command);

// Child processes of `pid` (from /proc), to check that workers are respawned.
std::vector<pid_t> children_of(pid_t pid);

// Open descriptors of `pid` (entries of /proc/PID/fd; -1 when unreadable), and
// the lowest descriptor number it does not use (where its next open() lands; a
// descriptor limit counts numbers, so a limit of that plus n leaves room for n).
int open_fds(pid_t pid);
int lowest_free_fd(pid_t pid);
// Resident memory of `pid` in KiB (VmRSS of /proc/PID/status; -1 when unreadable).
long rss_kib(pid_t pid);
// User plus system CPU time `pid` has used, in seconds (/proc/PID/stat).
double cpu_seconds(pid_t pid);

// Polls `done` every 20 ms until it holds (true) or `limit` passes (false).
template <typename Pred>
bool wait_until(Pred done, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

// A plain TCP connection to 127.0.0.1:port that speaks frames by hand.
// `source` binds the local end first (any 127.x.y.z works on loopback), so one
// test can look like many hosts. Never throws; failures show in connected().
class RawConnection {
 public:
  explicit RawConnection(uint16_t port, const std::string& source = "");
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  uint16_t local_port() const;
  // False once the peer is known to have closed (or the send failed).
  bool send_bytes(std::string_view bytes);
  bool send(const proto::Message& m);
  // The next message within `limit`; nullopt on close, timeout or a bad frame.
  std::optional<proto::Message> receive(std::chrono::milliseconds limit);
  // Reads (and drops) what has arrived without waiting; true once the peer closed.
  bool peer_closed();
  // Waits up to `limit` for the peer to close, dropping what arrives.
  bool wait_closed(std::chrono::milliseconds limit);

 private:
  int fd_ = -1;
  bool closed_ = false;
  proto::FrameReader reader_{1 << 20};
};

// Runs a client's half of the handshake by hand (HELLO, then AUTH under `secret`) and
// returns the node's HELLO once it answered AUTH_OK (nullopt otherwise). `hello` is what
// the client says of itself (role and nonce are filled in), e.g. its max_frame.
std::optional<proto::Hello> handshake(RawConnection& c, const std::string& secret,
                                      proto::Hello hello = {});

// Listens on 127.0.0.1 (port()), forwards the first connection it gets to
// 127.0.0.1:target_port, and records the bytes each way.
class RecordingProxy {
 public:
  explicit RecordingProxy(uint16_t target_port);
  ~RecordingProxy();
  RecordingProxy(const RecordingProxy&) = delete;
  RecordingProxy& operator=(const RecordingProxy&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string from_client() const;
  std::string from_server() const;

 private:
  void run(uint16_t target_port);

  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  uint16_t port_ = 0;
  mutable std::mutex mu_;
  std::string up_, down_;
  std::thread thread_;
};

// Splits recorded bytes into whole frames (header included), in order.
std::vector<std::string> split_frames(const std::string& bytes);

// Options of a client of the given nodes only (no local workers), with `secret`;
// waiting jobs fail after `no_node_timeout` with no node reachable.
pp::ClusterOptions client_options(std::vector<std::string> servers, const std::string& secret,
                                  std::chrono::seconds no_node_timeout = std::chrono::seconds(60));

// The environment of this process with $PP_SECRET set to `secret` (unset if empty).
std::vector<std::string> environment_with_secret(const std::string& secret);
// Null-terminated pointers into `strings` (which must outlive them), for posix_spawn.
std::vector<char*> c_strings(std::vector<std::string>& strings);

}  // namespace pp::test
