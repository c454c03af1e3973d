#include "ppclient/src/local_node.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "core/util/log_sink.hpp"
#include "core/util/paths.hpp"

extern char** environ;

namespace pp::client {
namespace {

// An address inside this library, to find where it was loaded from.
void anchor() {}

using Clock = std::chrono::steady_clock;

int ms_until(Clock::time_point end) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
  return static_cast<int>(std::max<long long>(0, left));
}

// Reaps `pid` if it ends before `end`: woken by its exit (a pidfd), not by polling.
bool reap_by(pid_t pid, Clock::time_point end) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd >= 0) {
    pollfd pfd{fd, POLLIN, 0};
    while (poll(&pfd, 1, ms_until(end)) < 0 && errno == EINTR) {
    }
    close(fd);
    return waitpid(pid, nullptr, WNOHANG) == pid;
  }
  // No pidfd (a kernel before 5.3): look every few milliseconds.
  for (;;) {
    pid_t r = waitpid(pid, nullptr, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return true;
    if (Clock::now() >= end) return false;
    usleep(2000);
  }
}

// The port the child writes as "<port>\n" on `fd` once it listens: 0 if it closes the pipe
// first (it failed, and said why on stderr) or `end` comes. Woken by the write.
int read_port(int fd, Clock::time_point end) {
  std::string line;
  while (line.find('\n') == std::string::npos) {
    pollfd pfd{fd, POLLIN, 0};
    int rc = poll(&pfd, 1, ms_until(end));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) break;
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  int port = std::atoi(line.c_str());
  return port > 0 && port <= 65535 ? port : 0;
}

}  // namespace

std::string LocalNode::find_server_binary(std::string* tried) {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("PP_SERVER"); env != nullptr && *env != '\0') {
    candidates.emplace_back(env);
  }
  std::string here = paths::module_dir(reinterpret_cast<const void*>(&anchor));
  if (!here.empty()) {
    candidates.push_back(here + "/ppserver");                 // linked into bin/ppclient
    candidates.push_back(here + "/../bin/ppserver");          // lib/libppclient.so
    candidates.push_back(here + "/../../../../bin/ppserver"); // lib/lua/5.1/pp/core.so
  }
  std::string exe = paths::exe_dir();
  if (!exe.empty()) candidates.push_back(exe + "/ppserver");
  candidates.push_back(PP_INSTALL_PREFIX "/bin/ppserver");
  if (const char* path = std::getenv("PATH")) {
    std::string p = path;
    size_t start = 0;
    while (start <= p.size()) {
      size_t end = p.find(':', start);
      if (end == std::string::npos) end = p.size();
      if (end > start) candidates.push_back(p.substr(start, end - start) + "/ppserver");
      start = end + 1;
    }
  }
  for (const auto& c : candidates) {
    if (paths::is_executable(c)) return c;
    if (tried != nullptr) *tried += (tried->empty() ? "" : ", ") + c;
  }
  return "";
}

LocalNode::LocalNode(int workers, const std::string& secret) {
  std::string tried;
  std::string bin = find_server_binary(&tried);
  if (bin.empty()) {
    throw std::runtime_error("cannot start local workers: ppserver not found (looked at " +
                             tried + "); set PP_SERVER to its path");
  }
  int report[2], life[2], err[2], wake[2];
  if (pipe2(report, O_CLOEXEC) != 0 || pipe2(life, O_CLOEXEC) != 0 ||
      pipe2(err, O_CLOEXEC) != 0 || pipe2(wake, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("cannot start local workers: pipe: ") + strerror(errno));
  }
  // The child sees the report pipe as fd 3, the lifeline as fd 4, and writes its stderr
  // into ours through relay_stderr().
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, report[1], 3);
  posix_spawn_file_actions_adddup2(&fa, life[0], 4);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  std::string w = std::to_string(workers);
  // The local workers run the user's own batch, at the user's own priority as a process
  // pool's would (`--nice 0`: relative to the driver, whose niceness they inherit); the
  // default niceness 10 is for a node that is a guest on someone else's machine.
  std::vector<const char*> argv = {bin.c_str(), "-i", "127.0.0.1", "-p", "0", "-w", w.c_str(),
                                   "--nice", "0", "-q", "--report-fd", "3", "--exit-with-fd",
                                   "4", nullptr};
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "PP_SECRET=", 10) != 0) env_store.emplace_back(*e);
  }
  env_store.push_back("PP_SECRET=" + secret);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  int rc = posix_spawn(&pid_, bin.c_str(), &fa, nullptr, const_cast<char* const*>(argv.data()),
                       envp.data());
  posix_spawn_file_actions_destroy(&fa);
  close(report[1]);
  close(life[0]);
  close(err[1]);
  lifeline_ = life[1];
  err_read_ = err[0];
  wake_read_ = wake[0];
  wake_write_ = wake[1];
  relay_ = std::thread([this] { relay_stderr(); });
  if (rc != 0) {
    close(report[0]);
    stop_relay();
    throw std::runtime_error("cannot start local workers: " + bin + ": " + strerror(rc));
  }
  int port = read_port(report[0], Clock::now() + std::chrono::seconds(30));
  close(report[0]);
  if (port == 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    stop_relay();   // its messages first, then ours
    throw std::runtime_error("cannot start local workers: " + bin +
                             " did not come up (see its messages above)");
  }
  port_ = static_cast<uint16_t>(port);
}

LocalNode::~LocalNode() { stop(); }

void LocalNode::stop(std::chrono::milliseconds limit) {
  std::lock_guard lock(stop_mutex_);
  if (lifeline_ >= 0) close(lifeline_);  // the node sees EOF and shuts down
  lifeline_ = -1;
  if (pid_ > 0) {
    pid_t pid = pid_;
    pid_ = -1;
    if (!reap_by(pid, Clock::now() + limit)) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  stop_relay();   // after the node: its last words pass too
}

// Ends the relay once what the child wrote so far is passed on (a worker's process
// that outlived the node could hold the pipe open: the relay does not wait for it).
void LocalNode::stop_relay() {
  if (!relay_.joinable()) return;
  char one = 1;
  while (write(wake_write_, &one, 1) < 0 && errno == EINTR) {
  }
  relay_.join();
  for (int* fd : {&err_read_, &wake_read_, &wake_write_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

void LocalNode::relay_stderr() {
  std::string pending;
  char buf[4096];
  bool finishing = false;
  for (;;) {
    pollfd pfd[2] = {{err_read_, POLLIN, 0}, {wake_read_, POLLIN, 0}};
    // Told to finish: what is in the pipe now, without waiting for more.
    int rc = poll(pfd, finishing ? 1 : 2, finishing ? 0 : -1);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) break;
    if (!finishing && (pfd[1].revents & POLLIN) != 0) {
      finishing = true;
      continue;
    }
    if (pfd[0].revents == 0) {
      if (finishing) break;
      continue;
    }
    ssize_t n = read(err_read_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;   // every writer closed it
    pending.append(buf, static_cast<size_t>(n));
    // Whole lines only: a line cut in two would print half above the bar.
    size_t end = pending.rfind('\n');
    if (end == std::string::npos) continue;
    log::write_line(std::string_view(pending).substr(0, end + 1));
    pending.erase(0, end + 1);
  }
  if (!pending.empty()) log::write_line(pending + "\n");
}

}  // namespace pp::client
