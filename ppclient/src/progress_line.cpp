#include "ppclient/src/progress_line.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <vector>

#include "core/util/log_sink.hpp"

namespace pp::client {
namespace {

constexpr char kClear[] = "\r\033[K";   // to the line's start, erase to its end

int columns(int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

// The process's lines by fd: the terminal is the process's, so this is the one piece
// of state shared by every job server in it (see the top of the header).
std::mutex g_lines_mutex;
std::map<int, std::weak_ptr<ProgressLine>>& lines() {
  static std::map<int, std::weak_ptr<ProgressLine>> by_fd;
  return by_fd;
}

// Nodes by name across sources: a node two servers use is one node, working if it works
// for either.
class NodeCount {
 public:
  void add(const std::vector<LiveNode>& nodes) {
    for (const LiveNode& n : nodes) {
      // A node without a name yet is one of its own.
      Seen& seen = seen_[n.figures.node.empty() ? "#" + std::to_string(seen_.size())
                                                : n.figures.node];
      seen.working = seen.working || n.state == NodeState::kWorking;
      seen.paused = seen.paused || n.state == NodeState::kPaused;
      seen.connected = seen.connected || n.state == NodeState::kWorking ||
                       n.state == NodeState::kIdle || n.state == NodeState::kPaused;
    }
  }
  void fill(ProgressView& v) const {
    for (const auto& [name, seen] : seen_) {
      v.nodes_connected += seen.connected ? 1 : 0;
      v.nodes_working += seen.working ? 1 : 0;
      v.nodes_paused += seen.paused && !seen.working ? 1 : 0;
    }
  }

 private:
  struct Seen {
    bool connected = false, working = false, paused = false;
  };
  std::map<std::string, Seen> seen_;
};

}  // namespace

std::shared_ptr<ProgressLine> ProgressLine::of(int fd) {
  std::lock_guard lock(g_lines_mutex);
  std::weak_ptr<ProgressLine>& slot = lines()[fd];
  std::shared_ptr<ProgressLine> line = slot.lock();
  if (!line) {
    line = std::make_shared<ProgressLine>(fd);
    slot = line;
  }
  return line;
}

void ProgressLine::release(std::shared_ptr<ProgressLine>& line) {
  std::lock_guard lock(g_lines_mutex);
  line.reset();
}

ProgressLine::ProgressLine(int fd) : fd_(fd) {
  // Log lines (warnings, the local node's lines) go above the line like echoed output.
  log::set_sink(
      [](std::string_view text, void* self) {
        static_cast<ProgressLine*>(self)->print_above_fd(text);
      },
      this);
}

ProgressLine::~ProgressLine() {
  log::set_sink(nullptr, nullptr);
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    clear_locked();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ProgressLine::attach(const ProgressBar* key, ProgressBar::Snapshots snapshots,
                          std::function<uint64_t()> finished) {
  std::lock_guard lock(mutex_);
  Source& s = sources_[key];
  s.snapshots = std::move(snapshots);
  s.finished = std::move(finished);
}

void ProgressLine::detach(const ProgressBar* key) {
  std::unique_lock lock(mutex_);
  call_done_.wait(lock, [&] { return calling_ != key; });
  sources_.erase(key);
  if (!any_blocked()) clear_locked();
}

bool ProgressLine::any_blocked() const {
  return std::any_of(sources_.begin(), sources_.end(),
                     [](const auto& s) { return s.second.blocked > 0; });
}

// Under the source's jobs' sync->mutex (WaitObserver): `finished` may read its counts.
void ProgressLine::wait_begins(const ProgressBar* key) {
  std::lock_guard lock(mutex_);
  auto it = sources_.find(key);
  if (stopped_ || it == sources_.end()) return;
  Source& s = it->second;
  const auto now = Clock::now();
  const bool was_idle = !any_blocked();
  if (s.blocked++ > 0) return;
  if (!s.in_run || now - s.last_end > ProgressBar::kDelay) {
    s.in_run = true;
    s.run_start = now;
    s.base = s.finished();
  }
  if (!thread_.joinable()) {
    thread_ = std::thread([this] { run(); });
  } else if (idle_ || was_idle) {
    wake_.notify_one();   // only then: a loop of short waits wakes it once, not per wait
  }
}

void ProgressLine::wait_ends(const ProgressBar* key) {
  std::lock_guard lock(mutex_);
  auto it = sources_.find(key);
  if (it == sources_.end() || it->second.blocked == 0 || --it->second.blocked > 0) return;
  it->second.last_end = Clock::now();
  if (!any_blocked()) clear_locked();   // another source waiting keeps the line
}

// Asleep while no one waits; otherwise a line every kPeriod once some source's run is
// kDelay old. Snapshots are taken with no lock held (they ask io threads, which may be
// echoing output through print_above meanwhile).
void ProgressLine::run() {
  std::unique_lock lock(mutex_);
  while (!stopped_) {
    if (!any_blocked()) {
      idle_ = true;
      wake_.wait(lock, [this] { return stopped_ || any_blocked(); });
      idle_ = false;
      continue;
    }
    auto due = Clock::time_point::max();
    for (const auto& [key, s] : sources_) {
      if (s.blocked > 0) due = std::min(due, s.run_start + ProgressBar::kDelay);
    }
    if (Clock::now() < due) {
      wake_.wait_until(lock, due, [this] { return stopped_; });
      continue;
    }
    ProgressView v;
    if (gather(lock, v) && !stopped_ && any_blocked()) draw_locked(render_progress(v, columns(fd_)));
    wake_.wait_for(lock, ProgressBar::kPeriod, [this] { return stopped_; });
  }
}

bool ProgressLine::gather(std::unique_lock<std::mutex>& lock, ProgressView& v) {
  struct Due {
    const ProgressBar* key;
    Clock::time_point run;
    uint64_t base;
  };
  std::vector<Due> due;
  const auto now = Clock::now();
  for (const auto& [key, s] : sources_) {
    if (s.blocked > 0 && now >= s.run_start + ProgressBar::kDelay) {
      due.push_back({key, s.run_start, s.base});
    }
  }
  NodeCount nodes;
  Clock::time_point first = now;
  bool any = false;
  for (const Due& d : due) {
    calling_ = d.key;
    ProgressBar::Snapshots snapshots = sources_.at(d.key).snapshots;
    lock.unlock();
    LiveSnapshot s = snapshots();
    lock.lock();
    calling_ = nullptr;
    call_done_.notify_all();
    auto it = sources_.find(d.key);
    if (stopped_ || it == sources_.end() || it->second.blocked == 0 ||
        it->second.run_start != d.run) {
      continue;
    }
    any = true;
    first = std::min(first, d.run);
    v.done += s.jobs.finished() > d.base ? s.jobs.finished() - d.base : 0;
    v.total += s.jobs.submitted > d.base ? s.jobs.submitted - d.base : 0;
    v.failed += s.jobs.failed;
    v.retried += s.jobs.retried;
    nodes.add(s.nodes);
  }
  nodes.fill(v);
  v.seconds = std::chrono::duration<double>(Clock::now() - first).count();
  return any;
}

void ProgressLine::write_fd(std::string_view bytes) const {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;   // a closed or full terminal: the bar is not worth blocking for
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

void ProgressLine::draw_locked(const std::string& line) {
  line_ = line;
  write_fd("\r" + line_ + "\033[K");
  shown_ = true;
  ++draws_;
}

void ProgressLine::clear_locked() {
  if (!shown_) return;
  write_fd(kClear);
  shown_ = false;
}

void ProgressLine::print_above(std::string_view text, std::FILE* out) {
  std::lock_guard lock(mutex_);
  if (shown_) write_fd(kClear);
  std::fwrite(text.data(), 1, text.size(), out);
  std::fflush(out);
  if (shown_) write_fd("\r" + line_ + "\033[K");
}

void ProgressLine::print_above_fd(std::string_view text) {
  std::lock_guard lock(mutex_);
  if (shown_) write_fd(kClear);
  write_fd(text);
  if (shown_) write_fd("\r" + line_ + "\033[K");
}

uint64_t ProgressLine::draws() const {
  std::lock_guard lock(mutex_);
  return draws_;
}

}  // namespace pp::client
