#include "ppclient/src/progress_bar.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>

namespace pp::client {
namespace {

constexpr char kClear[] = "\r\033[K";   // to the line's start, erase to its end

std::string format(const char* fmt, auto... args) {
  char buf[128];
  int n = std::snprintf(buf, sizeof buf, fmt, args...);
  return std::string(buf, n < 0 ? 0 : std::min<size_t>(static_cast<size_t>(n), sizeof buf - 1));
}

std::string clock_text(double seconds) {
  const auto s = static_cast<unsigned long long>(std::llround(std::max(0.0, seconds)));
  if (s >= 3600) return format("%llu:%02llu:%02llu", s / 3600, s / 60 % 60, s % 60);
  return format("%llu:%02llu", s / 60, s % 60);
}

std::string rate_text(double rate) {
  if (rate >= 100) return format("%.0f jobs/s", rate);
  if (rate >= 10) return format("%.1f jobs/s", rate);
  return format("%.2f jobs/s", rate);
}

int columns(int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

}  // namespace

std::string render_progress(const ProgressView& v, int width) {
  const double frac =
      v.total > 0 ? std::min(1.0, static_cast<double>(v.done) / static_cast<double>(v.total)) : 0;
  const double rate = v.seconds > 0 ? static_cast<double>(v.done) / v.seconds : 0;
  std::string text = format(" %llu/%llu %3.0f%%", static_cast<unsigned long long>(v.done),
                            static_cast<unsigned long long>(v.total), frac * 100);
  text += "  " + rate_text(rate);
  if (v.done < v.total && rate > 0) {
    text += "  ETA " + clock_text(static_cast<double>(v.total - v.done) / rate);
  } else {
    text += "  ETA --";
  }
  text += format("  nodes %zu/%zu", v.nodes_working, v.nodes_connected);
  if (v.nodes_paused > 0) text += format(" (%zu paused)", v.nodes_paused);
  if (v.failed > 0) text += format("  failed %llu", static_cast<unsigned long long>(v.failed));
  if (v.retried > 0) text += format("  retried %llu", static_cast<unsigned long long>(v.retried));
  // The last column is left free: a line that fills it wraps on some terminals, and then
  // "\r" would no longer reach its start.
  const int room = std::max(0, width - 1);
  const int bar = room - static_cast<int>(text.size()) - 2;
  std::string line;
  if (bar >= 10) {
    const int filled = static_cast<int>(frac * bar);
    line = "[" + std::string(static_cast<size_t>(filled), '=');
    if (filled < bar) line += '>' + std::string(static_cast<size_t>(bar - filled - 1), ' ');
    line += "]";
  }
  line += text;
  if (line.size() > static_cast<size_t>(room)) line.resize(static_cast<size_t>(room));
  return line;
}

ProgressBar::ProgressBar(Snapshots snapshots, std::function<uint64_t()> finished, int fd)
    : snapshots_(std::move(snapshots)), finished_(std::move(finished)), fd_(fd) {}

ProgressBar::~ProgressBar() { stop(); }

void ProgressBar::wait_begins() {
  std::lock_guard lock(mutex_);
  if (stopped_) return;
  const auto now = Clock::now();
  if (blocked_++ > 0) return;
  if (!in_run_ || now - last_end_ > kDelay) {
    in_run_ = true;
    run_start_ = now;
    base_ = finished_();
  }
  if (!thread_.joinable()) {
    thread_ = std::thread([this] { run(); });
  } else if (idle_) {
    wake_.notify_one();   // only then: a loop of short waits wakes it once, not per wait
  }
}

void ProgressBar::wait_ends() {
  std::lock_guard lock(mutex_);
  if (blocked_ == 0 || --blocked_ > 0) return;
  last_end_ = Clock::now();
  clear_locked();
}

// Asleep while no one waits; otherwise a line every kPeriod once the run is kDelay old.
// The snapshot is taken with no lock held (it asks the io thread, which may be echoing
// output through print_above meanwhile).
void ProgressBar::run() {
  std::unique_lock lock(mutex_);
  while (!stopped_) {
    if (blocked_ == 0) {
      idle_ = true;
      wake_.wait(lock, [this] { return stopped_ || blocked_ > 0; });
      idle_ = false;
      continue;
    }
    const auto due = run_start_ + kDelay;
    if (Clock::now() < due) {
      wake_.wait_until(lock, due, [this] { return stopped_; });
      continue;
    }
    const auto run = run_start_;
    const uint64_t base = base_;
    lock.unlock();
    LiveSnapshot s = snapshots_();
    lock.lock();
    if (stopped_ || blocked_ == 0 || run != run_start_) continue;
    ProgressView v;
    v.done = s.jobs.finished() > base ? s.jobs.finished() - base : 0;
    v.total = s.jobs.submitted > base ? s.jobs.submitted - base : 0;
    v.seconds = std::chrono::duration<double>(Clock::now() - run).count();
    v.failed = s.jobs.failed;
    v.retried = s.jobs.retried;
    v.nodes_working = s.nodes_working();
    v.nodes_connected = s.nodes_connected();
    v.nodes_paused = s.nodes_paused();
    draw_locked(render_progress(v, columns(fd_)));
    wake_.wait_for(lock, kPeriod, [this] { return stopped_; });
  }
}

void ProgressBar::write_fd(std::string_view bytes) const {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;   // a closed or full terminal: the bar is not worth blocking for
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

void ProgressBar::draw_locked(const std::string& line) {
  line_ = line;
  write_fd("\r" + line_ + "\033[K");
  shown_ = true;
  ++draws_;
}

void ProgressBar::clear_locked() {
  if (!shown_) return;
  write_fd(kClear);
  shown_ = false;
}

void ProgressBar::print_above(std::string_view text, std::FILE* out) {
  std::lock_guard lock(mutex_);
  if (shown_) write_fd(kClear);
  std::fwrite(text.data(), 1, text.size(), out);
  std::fflush(out);
  if (shown_) write_fd("\r" + line_ + "\033[K");
}

void ProgressBar::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    clear_locked();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

uint64_t ProgressBar::draws() const {
  std::lock_guard lock(mutex_);
  return draws_;
}

}  // namespace pp::client
