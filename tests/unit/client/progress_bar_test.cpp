// Tests of the progress bar: the line it renders (figures, width, the bar's fill) and the
// bar itself drawing into a pipe from fed snapshots: nothing before the delay, redraws
// while a wait lasts, the line cleared when the wait ends, echoed text above it.
#include "ppclient/src/progress_bar.hpp"

#include "core/util/log.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

namespace pp::client {
namespace {

using namespace std::chrono_literals;

TEST_CASE("client.progress.render") {
  ProgressView v;
  v.done = 350;
  v.total = 1000;
  v.seconds = 10;
  v.failed = 2;
  v.retried = 1;
  v.nodes_working = 3;
  v.nodes_connected = 4;
  std::string line = render_progress(v, 120);
  CHECK(line.size() <= 119);
  CHECK(line.front() == '[');
  CHECK(line.find("] 350/1000  35%") != std::string::npos);
  CHECK(line.find("35.0 jobs/s") != std::string::npos);
  CHECK(line.find("ETA 0:19") != std::string::npos);   // 650 left at 35/s
  CHECK(line.find("nodes 3/4") != std::string::npos);
  CHECK(line.find("failed 2") != std::string::npos);
  CHECK(line.find("retried 1") != std::string::npos);
  CHECK(line.find('\r') == std::string::npos);
  CHECK(line.find('\033') == std::string::npos);
  CHECK(line.find("paused") == std::string::npos);
  v.nodes_paused = 1;   // one of the four connected is paused by its machine
  CHECK(render_progress(v, 120).find("nodes 3/4 (1 paused)") != std::string::npos);

  // Narrow: no bar, cut to the width.
  std::string narrow = render_progress(v, 30);
  CHECK(narrow.size() == 29);
  CHECK(narrow.front() != '[');
  // No failures or retries: not shown; unknown rate: no ETA; all done: a full bar.
  ProgressView all{10, 10, 2, 0, 0, 1, 1};
  std::string full = render_progress(all, 80);
  CHECK(full.find("failed") == std::string::npos);
  CHECK(full.find("ETA --") != std::string::npos);
  CHECK(full.find('>') == std::string::npos);
  CHECK(full.find(" ]") == std::string::npos);
  ProgressView none;
  CHECK(render_progress(none, 80).find("0/0   0%") != std::string::npos);
  ProgressView hours{1, 100000, 10, 0, 0, 0, 0};
  CHECK(render_progress(hours, 120).find("ETA 277:46:30") != std::string::npos);
}

// Reads what is in the pipe now.
std::string drain(int fd) {
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  return out;
}

TEST_CASE("client.progress.draws_while_a_wait_lasts" * doctest::timeout(30)) {
  int p[2];
  REQUIRE(::pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
  std::atomic<uint64_t> finished{5}, snapshots{0};
  {
    ProgressBar bar(
        [&] {
          ++snapshots;
          LiveSnapshot s;
          s.jobs.submitted = 25;
          s.jobs.done = finished.load();
          s.nodes.resize(2);
          s.nodes[0].state = NodeState::kWorking;
          s.nodes[1].state = NodeState::kIdle;
          return s;
        },
        [&] { return finished.load(); }, p[1]);
    // A short wait draws nothing.
    bar.wait_begins();
    bar.wait_ends();
    std::this_thread::sleep_for(ProgressBar::kDelay + 200ms);
    CHECK(bar.draws() == 0);
    CHECK(drain(p[0]).empty());

    // A long one: the line, redrawn; its counts start where the wait began (5 finished).
    bar.wait_begins();
    finished = 15;
    while (bar.draws() < 3) std::this_thread::sleep_for(20ms);
    bar.print_above("[job 7 on n] hello\n", stdout);   // stdout: a terminal or the log
    std::string drawn = drain(p[0]);
    CHECK(drawn.find("\r[") != std::string::npos);
    CHECK(drawn.find("10/20  50%") != std::string::npos);
    CHECK(drawn.find("nodes 1/2") != std::string::npos);
    CHECK(drawn.find("\033[K") != std::string::npos);
    bar.wait_ends();
    std::string cleared = drain(p[0]);
    CHECK(cleared.size() >= 4);
    CHECK(cleared.substr(cleared.size() - 4) == "\r\033[K");
    const uint64_t draws = bar.draws();
    std::this_thread::sleep_for(3 * ProgressBar::kPeriod);
    CHECK(bar.draws() == draws);   // nobody waits: nothing drawn
    CHECK(drain(p[0]).empty());
  }
  ::close(p[0]);
  ::close(p[1]);
}

// The log's lines go above the line while a bar exists: cleared before, drawn after; once
// the bar is gone they go to stderr again (not into its fd).
TEST_CASE("client.progress.warnings_above_the_line" * doctest::timeout(30)) {
  int p[2];
  REQUIRE(::pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
  {
    ProgressBar bar(
        [] {
          LiveSnapshot s;
          s.jobs.submitted = 4;
          return s;
        },
        [] { return uint64_t{0}; }, p[1]);
    bar.wait_begins();
    while (bar.draws() < 1) std::this_thread::sleep_for(20ms);
    PP_WARN("the disk is full");
    std::string out = drain(p[0]);
    const size_t at = out.find("warn: the disk is full\n");
    REQUIRE(at != std::string::npos);
    // The last "\033[K" before it ends a clearing ("\r\033[K"), not a drawn line, and
    // nothing but the warning's own prefix lies between.
    const size_t k = out.rfind("\033[K", at);
    REQUIRE(k != std::string::npos);
    REQUIRE(k >= 1);
    CHECK(out[k - 1] == '\r');
    CHECK(out.substr(k + 3, at - k - 3).find_first_of("\r\n") == std::string::npos);
    CHECK(out.find("\r[", at) != std::string::npos);   // drawn again after it
    bar.wait_ends();
  }
  PP_WARN("after the bar");
  CHECK(drain(p[0]).find("after the bar") == std::string::npos);
  ::close(p[0]);
  ::close(p[1]);
}

// Two servers' bars in one process (two Clusters) draw one line: the sum of those
// waiting, a node two of them use counted once; the line stays while either waits, and
// the log's lines keep going above it until the last bar is gone.
TEST_CASE("client.progress.two_bars_one_line" * doctest::timeout(30)) {
  int p[2];
  REQUIRE(::pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
  auto source = [](uint64_t submitted, uint64_t done, NodeState first, const char* other) {
    return [=] {
      LiveSnapshot s;
      s.jobs.submitted = submitted;
      s.jobs.done = done;
      s.nodes.resize(2);
      s.nodes[0].figures.node = "shared:60000";
      s.nodes[0].state = first;
      s.nodes[1].figures.node = other;
      s.nodes[1].state = NodeState::kWorking;
      return s;
    };
  };
  {
    auto a = std::make_unique<ProgressBar>(source(10, 4, NodeState::kWorking, "a:60000"),
                                           [] { return uint64_t{0}; }, p[1]);
    ProgressBar b(source(30, 6, NodeState::kIdle, "b:60000"), [] { return uint64_t{0}; }, p[1]);
    a->wait_begins();
    b.wait_begins();
    while (b.draws() < 2) std::this_thread::sleep_for(20ms);
    CHECK(a->draws() == b.draws());   // one line
    std::string both = drain(p[0]);
    CHECK(both.find("10/40  25%") != std::string::npos);
    CHECK(both.find("nodes 3/3") != std::string::npos);   // shared, a and b; all working
    a->wait_ends();                  // b still waits: the line stays, with b alone
    std::string after = drain(p[0]);
    CHECK(after.find("\r\033[K", after.size() >= 4 ? after.size() - 4 : 0) == std::string::npos);
    const uint64_t drawn = b.draws();
    while (b.draws() < drawn + 2) std::this_thread::sleep_for(20ms);
    CHECK(drain(p[0]).find("6/30  20%") != std::string::npos);
    a->stop();
    a.reset();
    PP_WARN("still above the line");   // b's line is still the log's sink
    std::string warned = drain(p[0]);
    CHECK(warned.find("warn: still above the line\n") != std::string::npos);
    b.wait_ends();
    std::string cleared = drain(p[0]);
    REQUIRE(cleared.size() >= 4);
    CHECK(cleared.substr(cleared.size() - 4) == "\r\033[K");
  }
  PP_WARN("after both bars");
  CHECK(drain(p[0]).find("after both bars") == std::string::npos);
  ::close(p[0]);
  ::close(p[1]);
}

}  // namespace
}  // namespace pp::client
