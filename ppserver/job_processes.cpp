#include "ppserver/job_processes.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace pp::server {
namespace {

// Killing a process orphans its children, which come to us and are killed in the
// next round; a job that forks faster than this gives up the worker instead.
constexpr int kMaxRounds = 100;

// Children of this process, from /proc/self/task/TID/children (one file per thread).
bool list_children(std::vector<pid_t>& out) {
  out.clear();
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) return false;
  bool read_any = false;
  while (dirent* e = readdir(tasks)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(std::string("/proc/self/task/") + e->d_name + "/children");
    if (!in) continue;
    read_any = true;
    for (pid_t pid; in >> pid;) out.push_back(pid);
  }
  closedir(tasks);
  return read_any;
}

// Reaps children that have ended; true when no child is left at all.
bool reap_ended() {
  for (;;) {
    int status = 0;
    pid_t r = waitpid(-1, &status, WNOHANG);
    if (r > 0) continue;
    if (r < 0 && errno == EINTR) continue;
    return r < 0 && errno == ECHILD;
  }
}

}  // namespace

bool adopt_orphans() { return prctl(PR_SET_CHILD_SUBREAPER, 1) == 0; }

LeftProcesses stop_left_processes() {
  int status = 0;
  pid_t first = waitpid(-1, &status, WNOHANG);
  if (first < 0 && errno == ECHILD) return LeftProcesses::kNone;
  std::vector<pid_t> children;
  for (int round = 0; round < kMaxRounds; ++round) {
    if (reap_ended()) return LeftProcesses::kStopped;
    if (!list_children(children) || children.empty()) return LeftProcesses::kFailed;
    for (pid_t pid : children) ::kill(pid, SIGKILL);
    for (pid_t pid : children) {
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }
  return LeftProcesses::kFailed;
}

}  // namespace pp::server
