// ProgressBar: the one line on the terminal that says how a batch is going while the
// driver waits for it (js:wait, js:map, as_completed, job(), pp::Job::wait, Cluster::wait,
// and whatever else blocks on jobs through the same waits: pipelines too).
//
// Who draws: the process's one ProgressLine (progress_line.hpp), of which each bar is a
// source: a small thread started at the first wait, asleep whenever no user thread
// waits. Two servers in one process draw one line (the sum of those waiting, nodes
// counted once), never two lines fighting over the terminal's last one. The waits say when they block and stop blocking (WaitObserver, under
// the jobs' sync->mutex: BlockedWait in job_state.hpp, the hook for any other blocking
// wait); once a run of waits has lasted kDelay, the thread redraws the line at most every
// kPeriod from a LiveSnapshot, and the line is cleared as soon as no thread waits, so
// nothing the script prints afterwards meets it. Waits that follow each other within
// kDelay (an as_completed loop) are one run: its counts start where the run began. No
// work per job: the figures come from the snapshot.
//
// Echoed job output goes through print_above, which clears the line, writes the text and
// draws the line again, so output lines print above the bar; so do log lines, the line
// being the log's sink while any bar exists. Thread-safe.
//
//   ProgressBar bar([&] { return server.live_snapshot(); }, [&] { return finished(); });
//   sync.observer = &bar;                  // under sync.mutex
//   bar.print_above(lines, stdout);        // the echo
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "ppclient/src/job_state.hpp"
#include "ppclient/src/live_figures.hpp"

namespace pp::client {

// What the line shows.
struct ProgressView {
  uint64_t done = 0;        // jobs finished since the run of waits began
  uint64_t total = 0;       // of the jobs unfinished then, and submitted since
  double seconds = 0;       // since the run began
  uint64_t failed = 0;      // the batch's, so far
  uint64_t retried = 0;
  size_t nodes_working = 0;
  size_t nodes_connected = 0;
  size_t nodes_paused = 0;  // of the connected ones, paused by their machines
};

// The line for `v` within `width` columns (plain text, no control characters):
// "[=====>     ] 350/1000  35%  120 jobs/s  ETA 0:05  nodes 3/4  failed 2  retried 1"
// ("nodes 2/4 (1 paused)" while some are paused).
std::string render_progress(const ProgressView& v, int width);

class ProgressLine;

class ProgressBar final : public WaitObserver {
 public:
  static constexpr std::chrono::milliseconds kDelay{500};
  static constexpr std::chrono::milliseconds kPeriod{100};

  using Snapshots = std::function<LiveSnapshot()>;
  // `snapshots` is called on the line's thread, never under a lock of the bar's or of
  // the jobs'; `finished` (jobs finished so far) under the jobs' sync->mutex. `fd` is
  // where the line goes (stderr); bars on one fd share its line.
  ProgressBar(Snapshots snapshots, std::function<uint64_t()> finished, int fd = 2);
  ~ProgressBar() override;   // stop()
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void wait_begins() override;
  void wait_ends() override;
  // Writes `text` to `out` (and flushes it) with the line cleared before and drawn again
  // after, when it is shown.
  void print_above(std::string_view text, std::FILE* out);
  // The same for a log line, written to the bar's fd.
  void print_above_fd(std::string_view text);
  // Leaves the line (cleared unless another bar's wait goes on) and draws nothing
  // afterwards; the last bar to leave ends the line's thread. Idempotent.
  void stop();

  // Lines drawn so far on this bar's line (for tests and the curious).
  uint64_t draws() const;

 private:
  mutable std::mutex mutex_;            // line_ (stop() may race a wait)
  std::shared_ptr<ProgressLine> line_;  // null once stopped
  uint64_t draws_at_stop_ = 0;
};

}  // namespace pp::client
