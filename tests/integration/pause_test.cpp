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
