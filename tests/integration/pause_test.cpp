// Integration: a paused node (SIGUSR1 pauses, SIGUSR2 resumes; ppserver/node.hpp). Its
// workers and what their jobs started are held with SIGSTOP (seen in /proc), a running
// job's time limit does not run out while it is held, and the node keeps serving.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "pp/cluster.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::test::ServerProcess;

constexpr char kSecret[] = "pause-test-secret";

// 'R', 'S', 'T' (stopped), ... of /proc/PID/stat, or 0 once the pid is gone.
char state_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  auto close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size()) return 0;
  return line[close + 2];
}

bool all_in_state(const std::vector<pid_t>& pids, bool stopped) {
  for (pid_t p : pids) {
    char s = state_of(p);
    if (s == 0 || (s == 'T') != stopped) return false;
  }
  return true;
}

// A scratch directory, removed with everything in it.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/pp-pause-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// Starts a `sleep` beside itself (its pid written to `pid_file`), then spins until
// `release_file` exists; returns the sleep's pid.
const pp::Code kHoldWithChild = pp::Code::lua(R"(function(pid_file, release_file)
  os.execute("sleep 120 & echo $! > " .. pid_file)
  while not io.open(release_file) do end
  return 1
end)");

pid_t read_pid(const std::string& file) {
  pid_t pid = 0;
  pp::test::wait_until(
      [&] {
        std::ifstream in(file);
        return static_cast<bool>(in >> pid) && pid > 0;
      },
      30s);
  return pid;
}

}  // namespace

TEST_CASE("integration.pause.sigusr1_stops_the_workers_and_their_processes" * doctest::timeout(90)) {
  ServerProcess node({"-w", "2"}, kSecret);
  TempDir dir;
  pp::Cluster cluster(pp::test::client_options({node.address()}, kSecret, 30s));
  pp::Job job = cluster.submit(kHoldWithChild, dir.file("pid"), dir.file("go"));
  const pid_t child = read_pid(dir.file("pid"));
  REQUIRE(child > 0);
  std::vector<pid_t> workers = pp::test::children_of(node.pid());
  REQUIRE(workers.size() == 2);
  std::vector<pid_t> all = workers;
  all.push_back(child);
  CHECK(all_in_state(all, false));

  REQUIRE(::kill(node.pid(), SIGUSR1) == 0);
  CHECK(node.wait_for_log("paused: paused by SIGUSR1", 10s));
  CHECK(pp::test::wait_until([&] { return all_in_state(all, true); }, 10s));
  // The node keeps serving: the job's release does nothing while it is held.
  std::ofstream(dir.file("go")) << "go";
  std::this_thread::sleep_for(300ms);
  CHECK(job.status() != pp::JobStatus::kFinished);
  CHECK(all_in_state(all, true));

  REQUIRE(::kill(node.pid(), SIGUSR2) == 0);
  CHECK(node.wait_for_log("resumed after", 10s));
  CHECK(pp::test::wait_until([&] { return state_of(child) != 'T'; }, 10s));
  CHECK(job.get<int>() == 1);
  CHECK(node.alive());
  ::kill(child, SIGKILL);
}

TEST_CASE("integration.pause.time_limit_counts_only_unpaused_time" * doctest::timeout(90)) {
  ServerProcess node({"-w", "1"}, kSecret);
  TempDir dir;
  pp::Cluster cluster(pp::test::client_options({node.address()}, kSecret, 30s));
  // Runs until told, then returns: held for longer than its limit of 2 s meanwhile.
  const pp::Code wait_for_file = pp::Code::lua(R"(function(started, release)
    io.open(started, "w"):close()
    while not io.open(release) do end
    return "done"
  end)");
  pp::Job job = cluster.submit({.timeout = 2s}, wait_for_file, dir.file("started"), dir.file("go"));
  REQUIRE(pp::test::wait_until([&] { return std::filesystem::exists(dir.file("started")); }, 30s));
  REQUIRE(::kill(node.pid(), SIGUSR1) == 0);
  REQUIRE(node.wait_for_log("paused: paused by SIGUSR1", 10s));
  std::ofstream(dir.file("go")) << "go";
  std::this_thread::sleep_for(3s);   // paused for longer than the limit
  REQUIRE(::kill(node.pid(), SIGUSR2) == 0);
  CHECK(job.get<std::string>() == "done");
  CHECK(node.count_in_log("exceeded its time limit") == 0);
}

namespace {

// Spins for `cpu_s` seconds of the worker's CPU time; returns `i`.
const pp::Code kSpin = pp::Code::lua(R"(function(i, cpu_s)
  local t0 = os.clock()
  local x = 0
  while os.clock() - t0 < cpu_s do x = x + 1 end
  return i
end)");

const pp::NodeStats& row_of(const std::vector<pp::NodeStats>& stats, const ServerProcess& node) {
  for (const auto& s : stats)
    if (s.node == node.address()) return s;
  FAIL("no statistics for node " << node.address());
  return stats.front();
}

uint64_t jobs_on(pp::Cluster& cluster, const ServerProcess& node) {
  for (const auto& s : cluster.stats())
    if (s.node == node.address()) return s.jobs;
  return 0;
}

}  // namespace

TEST_CASE("integration.pause.batch_moves_off_a_paused_node_and_comes_back" * doctest::timeout(150)) {
  ServerProcess a({"-w", "2"}, kSecret);
  ServerProcess b({"-w", "2"}, kSecret);
  pp::Cluster cluster(pp::test::client_options({a.address(), b.address()}, kSecret, 30s));
  cluster.wait_for_workers(4);
  constexpr int kJobs = 40;
  std::vector<pp::Job> jobs;
  for (int i = 0; i < kJobs; ++i) jobs.push_back(cluster.submit(kSpin, i, 0.25));
  // Once a has finished some, it holds running and queued jobs of the batch: pause it.
  REQUIRE(pp::test::wait_until([&] { return jobs_on(cluster, a) >= 2; }, 60s));
  REQUIRE(::kill(a.pid(), SIGUSR1) == 0);
  REQUIRE(a.wait_for_log("paused: paused by SIGUSR1", 10s));
  std::vector<pid_t> workers = pp::test::children_of(a.pid());
  REQUIRE(workers.size() == 2);
  CHECK(pp::test::wait_until([&] { return all_in_state(workers, true); }, 10s));
  // The batch completes on b, every job with its own value once.
  for (int i = 0; i < kJobs; ++i) CHECK(jobs[static_cast<size_t>(i)].get<int>() == i);
  auto stats = cluster.stats();
  const pp::NodeStats& on_a = row_of(stats, a);
  const pp::NodeStats& on_b = row_of(stats, b);
  CHECK(on_a.jobs + on_b.jobs == kJobs);
  CHECK(on_a.paused);
  CHECK(on_a.paused_time > 0);
  CHECK(on_a.stolen_from > 0);    // its queued jobs moved
  CHECK(on_b.backups_won > 0);    // its running ones were copied to b, which finished first
  MESSAGE("a: " << on_a.jobs << " jobs, " << on_a.stolen_from << " taken back, paused "
                << on_a.paused_time << " s; b: " << on_b.jobs << " jobs, " << on_b.backups_won
                << " backups won");

  // Resumed, a takes jobs again.
  const uint64_t before = on_a.jobs;
  REQUIRE(::kill(a.pid(), SIGUSR2) == 0);
  REQUIRE(a.wait_for_log("resumed after", 10s));
  CHECK(pp::test::wait_until([&] { return !row_of(cluster.stats(), a).paused; }, 10s));
  std::vector<pp::Job> more;
  for (int i = 0; i < 16; ++i) more.push_back(cluster.submit(kSpin, i, 0.1));
  for (int i = 0; i < 16; ++i) CHECK(more[static_cast<size_t>(i)].get<int>() == i);
  CHECK(jobs_on(cluster, a) > before);
}

TEST_CASE("integration.pause.a_client_sends_nothing_to_a_node_paused_before_it_came" *
          doctest::timeout(90)) {
  ServerProcess a({"-w", "2"}, kSecret);
  ServerProcess b({"-w", "1"}, kSecret);
  REQUIRE(::kill(a.pid(), SIGUSR1) == 0);
  REQUIRE(a.wait_for_log("paused: paused by SIGUSR1", 10s));
  pp::Cluster cluster(pp::test::client_options({a.address(), b.address()}, kSecret, 30s));
  REQUIRE(a.wait_for_log("client 127.0.0.1", 30s));
  std::vector<pp::Job> jobs;
  for (int i = 0; i < 12; ++i) jobs.push_back(cluster.submit(kSpin, i, 0.01));
  for (int i = 0; i < 12; ++i) CHECK(jobs[static_cast<size_t>(i)].get<int>() == i);
  auto stats = cluster.stats();
  CHECK(row_of(stats, b).jobs == 12);
  const pp::NodeStats& on_a = row_of(stats, a);
  CHECK(on_a.jobs == 0);
  CHECK(on_a.stolen_from == 0);   // nothing was ever sent there to take back
  CHECK(on_a.busy_time == 0);
  CHECK(on_a.paused);
}

TEST_CASE("integration.pause.pause_frames_only_to_clients_that_understand_them" *
          doctest::timeout(60)) {
  ServerProcess node({"-w", "1"}, kSecret);
  // The raw clients say they are alive as they go (a silent one is dropped after 5 s).
  // A client with Cap::kPause hears the state at once after AUTH_OK, then each change.
  pp::test::RawConnection modern(node.port());
  pp::proto::Hello hello;
  hello.caps = pp::proto::kOwnCaps;
  REQUIRE(pp::test::handshake(modern, kSecret, hello).has_value());
  auto first = modern.receive(10s);
  REQUIRE(first.has_value());
  auto* p = std::get_if<pp::proto::Pause>(&*first);
  REQUIRE(p != nullptr);
  CHECK_FALSE(p->paused);
  // An old client (no Cap::kPause) is never sent one.
  pp::test::RawConnection old(node.port());
  REQUIRE(pp::test::handshake(old, kSecret).has_value());
  REQUIRE(::kill(node.pid(), SIGUSR1) == 0);
  REQUIRE(node.wait_for_log("paused: paused by SIGUSR1", 10s));
  old.send(pp::proto::Heartbeat{});
  modern.send(pp::proto::Heartbeat{});
  std::optional<pp::proto::Pause> told;
  for (int i = 0; i < 50 && !told; ++i) {
    auto m = modern.receive(10s);
    REQUIRE(m.has_value());
    if (auto* q = std::get_if<pp::proto::Pause>(&*m)) told = *q;
  }
  REQUIRE(told.has_value());
  CHECK(told->paused);
  CHECK(told->reason == "paused by SIGUSR1");
  // A client arriving now is told it is paused, with the time so far on its session (0).
  pp::test::RawConnection late(node.port());
  REQUIRE(pp::test::handshake(late, kSecret, hello).has_value());
  auto late_first = late.receive(10s);
  REQUIRE(late_first.has_value());
  auto* lp = std::get_if<pp::proto::Pause>(&*late_first);
  REQUIRE(lp != nullptr);
  CHECK(lp->paused);
  std::this_thread::sleep_for(300ms);
  old.send(pp::proto::Heartbeat{});
  modern.send(pp::proto::Heartbeat{});
  REQUIRE(::kill(node.pid(), SIGUSR2) == 0);
  REQUIRE(node.wait_for_log("resumed after", 10s));
  std::optional<pp::proto::Pause> resumed;
  for (int i = 0; i < 50 && !resumed; ++i) {
    auto m = modern.receive(10s);
    REQUIRE(m.has_value());
    if (auto* q = std::get_if<pp::proto::Pause>(&*m)) resumed = *q;
  }
  REQUIRE(resumed.has_value());
  CHECK_FALSE(resumed->paused);
  CHECK(resumed->paused_ms >= 300);   // paused for at least the sleep above
  // The old client saw heartbeats only, over the whole pause and resume.
  int heartbeats = 0;
  for (auto m = old.receive(3s); m; m = old.receive(3s)) {
    CHECK_FALSE(std::holds_alternative<pp::proto::Pause>(*m));
    heartbeats += std::holds_alternative<pp::proto::Heartbeat>(*m) ? 1 : 0;
    old.send(pp::proto::Heartbeat{});
    if (heartbeats >= 2) break;
  }
  CHECK(heartbeats >= 2);
}
