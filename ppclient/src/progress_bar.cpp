#include "ppclient/src/progress_bar.hpp"

#include <algorithm>
#include <cmath>

#include "ppclient/src/progress_line.hpp"

namespace pp::client {
namespace {

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
    : line_(ProgressLine::of(fd)) {
  line_->attach(this, std::move(snapshots), std::move(finished));
}

ProgressBar::~ProgressBar() { stop(); }

void ProgressBar::wait_begins() {
  std::lock_guard lock(mutex_);
  if (line_) line_->wait_begins(this);
}

void ProgressBar::wait_ends() {
  std::lock_guard lock(mutex_);
  if (line_) line_->wait_ends(this);
}

void ProgressBar::print_above(std::string_view text, std::FILE* out) {
  std::shared_ptr<ProgressLine> line;
  {
    std::lock_guard lock(mutex_);
    line = line_;
  }
  if (line) {
    line->print_above(text, out);
  } else {
    std::fwrite(text.data(), 1, text.size(), out);
    std::fflush(out);
  }
}

void ProgressBar::print_above_fd(std::string_view text) {
  std::shared_ptr<ProgressLine> line;
  {
    std::lock_guard lock(mutex_);
    line = line_;
  }
  if (line) line->print_above_fd(text);
}

void ProgressBar::stop() {
  std::shared_ptr<ProgressLine> line;
  {
    std::lock_guard lock(mutex_);
    line = std::move(line_);
  }
  if (!line) return;
  line->detach(this);
  draws_at_stop_ = line->draws();
  ProgressLine::release(line);
}

uint64_t ProgressBar::draws() const {
  std::lock_guard lock(mutex_);
  return line_ ? line_->draws() : draws_at_stop_;
}

}  // namespace pp::client
