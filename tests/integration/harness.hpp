// Test harness: real ppserver processes on loopback for integration tests.
//
// ServerProcess starts build/bin/ppserver on 127.0.0.1 with a free port (the node
// reports it through --report-fd), keeps its log in a file for assertions, and
// stops it on destruction (SIGTERM, then SIGKILL) so a failing test leaves
// nothing behind. kill9() is the crash under test.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

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
  bool alive() const;
  std::string log() const;
  // Waits until the log contains `needle` (true) or the time runs out (false).
  bool wait_for_log(const std::string& needle, std::chrono::milliseconds limit) const;

 private:
  pid_t pid_ = -1;
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

}  // namespace pp::test
