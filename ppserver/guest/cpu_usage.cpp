#include "ppserver/guest/cpu_usage.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <sstream>

namespace pp::server::guest {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The whitespace-separated fields of `text`.
std::vector<std::string_view> fields(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n')) ++i;
    size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\t' && text[j] != '\n') ++j;
    if (j > i) out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

template <typename T>
bool number(std::string_view s, T& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

std::vector<ProcessTicks> all_processes() {
  std::vector<ProcessTicks> out;
  DIR* dir = opendir("/proc");
  if (dir == nullptr) return out;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    std::string line = read_file(std::string("/proc/") + e->d_name + "/stat");
    if (auto p = parse_pid_stat(line)) out.push_back(*p);  // gone meanwhile: skipped
  }
  closedir(dir);
  return out;
}

// The cgroup v2 mount: /sys/fs/cgroup (unified) or /sys/fs/cgroup/unified (hybrid).
std::string cgroup_v2_root() {
  if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) return "/sys/fs/cgroup";
  if (access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0) return "/sys/fs/cgroup/unified";
  return "";
}

// The node's cgroup directory when every process in it belongs to the node's tree (the node
// runs in a cgroup of its own), else "".
std::string own_cgroup(pid_t self) {
  auto path = parse_cgroup_v2_path(read_file("/proc/" + std::to_string(self) + "/cgroup"));
  std::string root = cgroup_v2_root();
  if (!path || *path == "/" || root.empty()) return "";
  std::string dir = root + *path;
  if (access((dir + "/cpu.stat").c_str(), R_OK) != 0) return "";
  std::vector<ProcessTicks> all = all_processes();
  std::map<pid_t, pid_t> parent;
  for (const auto& p : all) parent[p.pid] = p.ppid;
  auto in_tree = [&](pid_t pid) {
    for (int depth = 0; pid > 1 && depth < 4096; ++depth) {
      if (pid == self) return true;
      auto it = parent.find(pid);
      if (it == parent.end()) return false;
      pid = it->second;
    }
    return false;
  };
  std::istringstream procs(read_file(dir + "/cgroup.procs"));
  pid_t pid = 0;
  while (procs >> pid) {
    if (!in_tree(pid)) return "";
  }
  return dir;
}

}  // namespace

std::optional<MachineTicks> parse_proc_stat(std::string_view text) {
  size_t end = text.find('\n');
  auto f = fields(text.substr(0, end));
  if (f.size() < 5 || f[0] != "cpu") return std::nullopt;
  uint64_t v[8] = {};
  for (size_t i = 0; i < 8; ++i) {
    // Old kernels give only 4 to 7 values: the rest count as 0.
    if (i + 1 < f.size() && !number(f[i + 1], v[i])) return std::nullopt;
  }
  MachineTicks m;
  for (uint64_t x : v) m.total += x;
  m.busy = m.total - v[3] - v[4];  // idle, iowait
  return m;
}

std::optional<ProcessTicks> parse_pid_stat(std::string_view line) {
  size_t open = line.find('(');
  size_t close = line.rfind(')');  // the command name may hold spaces and parentheses
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return std::nullopt;
  }
  ProcessTicks p;
  auto head = fields(line.substr(0, open));
  if (head.size() != 1 || !number(head[0], p.pid)) return std::nullopt;
  auto f = fields(line.substr(close + 1));  // f[0] is field 3 (state)
  if (f.size() < 15) return std::nullopt;
  uint64_t t[4] = {};
  for (int i = 0; i < 4; ++i) {
    if (!number(f[11 + i], t[i])) return std::nullopt;  // fields 14..17
  }
  if (!number(f[1], p.ppid)) return std::nullopt;
  p.own = t[0] + t[1];
  p.ticks = p.own + t[2] + t[3];
  return p;
}

uint64_t process_cpu_ticks(pid_t pid) {
  auto p = parse_pid_stat(read_file("/proc/" + std::to_string(pid) + "/stat"));
  return p ? p->own : 0;
}

std::optional<uint64_t> parse_cgroup_usage_usec(std::string_view cpu_stat) {
  auto f = fields(cpu_stat);
  for (size_t i = 0; i + 1 < f.size(); i += 2) {
    uint64_t v = 0;
    if (f[i] == "usage_usec" && number(f[i + 1], v)) return v;
  }
  return std::nullopt;
}

std::optional<std::string> parse_cgroup_v2_path(std::string_view proc_cgroup) {
  size_t i = 0;
  while (i < proc_cgroup.size()) {
    size_t end = proc_cgroup.find('\n', i);
    if (end == std::string_view::npos) end = proc_cgroup.size();
    std::string_view line = proc_cgroup.substr(i, end - i);
    if (line.substr(0, 3) == "0::" && line.size() > 3) return std::string(line.substr(3));
    i = end + 1;
  }
  return std::nullopt;
}

uint64_t tree_ticks(pid_t root, const std::vector<ProcessTicks>& all) {
  std::multimap<pid_t, const ProcessTicks*> children;
  const ProcessTicks* top = nullptr;
  for (const auto& p : all) {
    children.emplace(p.ppid, &p);
    if (p.pid == root) top = &p;
  }
  if (top == nullptr) return 0;
  uint64_t sum = 0;
  std::vector<const ProcessTicks*> todo{top};
  while (!todo.empty() && todo.size() <= all.size()) {
    const ProcessTicks* p = todo.back();
    todo.pop_back();
    sum += p->ticks;
    auto [b, e] = children.equal_range(p->pid);
    for (auto it = b; it != e; ++it) {
      if (it->second->pid != p->pid) todo.push_back(it->second);
    }
  }
  return sum;
}

LoadShares load_shares(const MachineTicks& before, const MachineTicks& after, double own_seconds,
                       double ticks_per_second) {
  if (after.total <= before.total || ticks_per_second <= 0) return {};
  double total = static_cast<double>(after.total - before.total) / ticks_per_second;
  double busy = after.busy >= before.busy
                    ? static_cast<double>(after.busy - before.busy) / ticks_per_second
                    : 0;
  double own = std::clamp(own_seconds, 0.0, busy);
  return {own / total, std::max(0.0, busy - own) / total};
}

CpuMeter::CpuMeter(pid_t self)
    : self_(self),
      ticks_per_second_(static_cast<double>(std::max(1L, sysconf(_SC_CLK_TCK)))),
      cpus_(static_cast<double>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)))) {
  std::string dir = own_cgroup(self);
  if (!dir.empty()) {
    cgroup_stat_ = dir + "/cpu.stat";
    source_ = "cgroup " + dir;
  } else {
    source_ = "process tree";
  }
}

double CpuMeter::own_seconds_now() const {
  if (!cgroup_stat_.empty()) {
    if (auto usec = parse_cgroup_usage_usec(read_file(cgroup_stat_))) {
      return static_cast<double>(*usec) / 1e6;
    }
  }
  return static_cast<double>(tree_ticks(self_, all_processes())) / ticks_per_second_;
}

LoadShares CpuMeter::sample() {
  auto machine = parse_proc_stat(read_file("/proc/stat"));
  double own = own_seconds_now();
  if (machine && machine_) {
    last_ = load_shares(*machine_, *machine, own - own_seconds_, ticks_per_second_);
  }
  if (machine) machine_ = machine;
  own_seconds_ = own;
  sampled_ = std::chrono::steady_clock::now();
  return last_;
}

LoadShares CpuMeter::recent(std::chrono::milliseconds min_age) {
  if (!machine_ || std::chrono::steady_clock::now() - sampled_ >= min_age) return sample();
  return last_;
}

}  // namespace pp::server::guest
