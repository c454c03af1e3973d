// ProgressLine: the terminal's last line while drivers wait, one per process (and per
// file descriptor), whatever number of job servers draw on it. Each server's
// ProgressBar (progress_bar.hpp) is a source attached to it; the line's own thread
// draws the figures of every source in a run of waits as one bar, and the line is
// the log's sink while it exists (core/util/log_sink.hpp).
//
// Why one line per process: two Clusters (or two pp.server) in one process, each with
// a bar of its own, would redraw one terminal line in turn, each erasing the other,
// and each would take the log's sink from the other. Why the sum of the sources that
// wait rather than only the latest: a process waiting on two batches at once (two
// threads, one per Cluster) is waiting for all of their jobs, and the sum's done/total,
// rate and ETA answer "how long until I am through"; nodes are counted once by name,
// as two servers may share them. When one source waits, as a Lua script's single
// thread does, the sum is just its figures.
//
// Held by shared_ptr by its sources (ProgressLine::of); the last one to let go ends
// the thread, clears the line and gives the log back to stderr. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "ppclient/src/progress_bar.hpp"

namespace pp::client {

class ProgressLine {
 public:
  // The line on `fd`, made when no source holds one.
  static std::shared_ptr<ProgressLine> of(int fd);
  // Lets go of `line` (this process's holder of it) where no of() runs meanwhile, so a
  // new line never starts while the old one ends.
  static void release(std::shared_ptr<ProgressLine>& line);
  explicit ProgressLine(int fd);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  void attach(const ProgressBar* key, ProgressBar::Snapshots snapshots,
              std::function<uint64_t()> finished);
  // Waits for a snapshot call of `key`'s in progress; clears the line when no other
  // source waits.
  void detach(const ProgressBar* key);
  void wait_begins(const ProgressBar* key);
  void wait_ends(const ProgressBar* key);
  void print_above(std::string_view text, std::FILE* out);
  void print_above_fd(std::string_view text);
  uint64_t draws() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Source {
    ProgressBar::Snapshots snapshots;
    std::function<uint64_t()> finished;
    int blocked = 0;                 // its user threads in a wait now
    Clock::time_point run_start{};   // its run of waits began
    Clock::time_point last_end{};
    bool in_run = false;
    uint64_t base = 0;               // its jobs finished when the run began
  };
  void run();
  // The figures of the sources due now, taken without the lock; false if none.
  bool gather(std::unique_lock<std::mutex>& lock, ProgressView& v);
  bool any_blocked() const;
  void draw_locked(const std::string& line);
  void clear_locked();
  void write_fd(std::string_view bytes) const;

  const int fd_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable call_done_;
  std::thread thread_;
  bool stopped_ = false;
  bool idle_ = false;
  std::unordered_map<const ProgressBar*, Source> sources_;
  const ProgressBar* calling_ = nullptr;   // whose snapshots() runs now, unlocked
  bool shown_ = false;
  std::string line_;
  uint64_t draws_ = 0;
};

}  // namespace pp::client
