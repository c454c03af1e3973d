// Integration: jobs that start processes (os.execute, io.popen). A time limit, a
// cancel or a crash must be reported on time while such a process still runs,
// the worker's slot must be free at once, and nothing a job starts may outlive
// it: no process, no descriptor. The processes are `sleep` with a duration no
// other process on the machine uses, so a scan of /proc finds exactly them.
// Also: a result over the node's frame limit, and running out of memory with no
// limit set, fail that one job with a message that says so.
#include <dirent.h>
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <msgpack.hpp>
#include <string>
#include <vector>

#include "core/proto/auth.hpp"
#include "core/proto/codec.hpp"
#include "pp/cluster.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using pp::test::RawConnection;
using pp::test::ServerProcess;
using pp::test::wait_until;

constexpr char kSecret[] = "spawn-test-secret";
const pp::Code kSquare = pp::Code::lua("function(x) return x * x end");

pp::ClusterOptions options_for(const ServerProcess& node) {
  return pp::test::client_options({node.address()}, kSecret, 20s);
}

// PIDs of the processes one of whose arguments is exactly `arg`.
std::vector<pid_t> processes_with_arg(const std::string& arg) {
  std::vector<pid_t> out;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* e = readdir(proc)) {
    pid_t pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    std::ifstream in(std::string("/proc/") + e->d_name + "/cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t at = 0;
    while (at < cmdline.size()) {
      size_t end = cmdline.find('\0', at);
      if (end == std::string::npos) end = cmdline.size();
      if (cmdline.compare(at, end - at, arg) == 0) {
        out.push_back(pid);
        break;
      }
      at = end + 1;
    }
  }
  closedir(proc);
  return out;
}

// A `sleep` argument no other process uses (12 s and a bit), and the cleanup of
// whatever runs with it when the test ends, passed or not.
class Sleeper {
 public:
  Sleeper() {
    static int serial = 0;
    arg_ = "12." + std::to_string(getpid()) + std::to_string(++serial);
  }
  ~Sleeper() {
    for (pid_t pid : processes_with_arg(arg_)) ::kill(pid, SIGKILL);
  }
  const std::string& arg() const { return arg_; }
  bool running(std::chrono::milliseconds limit) const {
    return wait_until([&] { return !processes_with_arg(arg_).empty(); }, limit);
  }
  bool gone(std::chrono::milliseconds limit) const {
    return wait_until([&] { return processes_with_arg(arg_).empty(); }, limit);
  }

 private:
  std::string arg_;
};

// Jobs that start a `sleep` (the argument) and then spin, or end their worker.
const pp::Code kSpawnAndSpin = pp::Code::lua(
    "function(arg) os.execute('sleep ' .. arg .. ' &') while true do end end");
const pp::Code kPopenAndSpin = pp::Code::lua(
    "function(arg) local f = io.popen('sleep ' .. arg) while true do end end");
const pp::Code kSpawnAndExit = pp::Code::lua(
    "function(arg) os.execute('sleep ' .. arg .. ' &') os.exit(3) end");

// Waits for the job and returns its error; fails the test if it succeeded.
pp::RemoteError failure_of(const pp::Job& job) {
  try {
    job.get<int>();
  } catch (const pp::RemoteError& e) {
    return e;
  }
  FAIL("the job succeeded");
  return pp::RemoteError("", "", "", "", "", 0);
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The one worker of a node started with -w 1.
pid_t only_worker(const ServerProcess& node) {
  pid_t pid = -1;
  wait_until([&] { return pp::test::children_of(node.pid()).size() == 1; }, 10s);
  auto children = pp::test::children_of(node.pid());
  if (children.size() == 1) pid = children[0];
  return pid;
}

// A time-limited job whose background process outlives it: `spinner` is one of
// the spinning jobs above. With --job-timeout 2 the answer comes well before the
// 12 s sleep ends, and a job queued behind it runs at once.
void check_time_limit(const pp::Code& spinner) {
  ServerProcess node({"-w", "1", "--job-timeout", "2"}, kSecret);
  pp::Cluster cluster(options_for(node));
  Sleeper sleeper;
  auto t0 = Clock::now();
  auto spinning = cluster.submit(spinner, sleeper.arg());
  auto after = cluster.submit(kSquare, 6);
  auto e = failure_of(spinning);
  CHECK(e.kind() == "timeout");
  CHECK(seconds_since(t0) < 8.0);   // not held until the sleep ends (12 s)
  CHECK(after.get<int>() == 36);
  CHECK(seconds_since(t0) < 8.0);
  CHECK(sleeper.gone(3s));
  CHECK(node.alive());
}

// Full handshake by hand; true when the node answered AUTH_OK.
bool authenticate(RawConnection& c) {
  auto key = pp::proto::derive_key(kSecret);
  pp::proto::Hello h;
  h.role = "client";
  h.nonce = pp::proto::random_bytes(pp::proto::kNonceSize);
  h.luajit = "LuaJIT spawn-test";
  if (!c.send(h)) return false;
  auto m = c.receive(10s);
  auto* hello = m ? std::get_if<pp::proto::Hello>(&*m) : nullptr;
  if (hello == nullptr) return false;
  c.send(pp::proto::Auth{pp::proto::client_proof(key, h.nonce, hello->nonce)});
  auto ok = c.receive(10s);
  return ok && std::holds_alternative<pp::proto::AuthOk>(*ok);
}

// The RESULT of `job_id` within `limit`, sending heartbeats while waiting.
std::optional<pp::proto::ResultMsg> result_of(RawConnection& c, uint64_t job_id,
                                              std::chrono::milliseconds limit) {
  auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    c.send(pp::proto::Heartbeat{});
    auto m = c.receive(200ms);
    if (!m) continue;
    auto* r = std::get_if<pp::proto::ResultMsg>(&*m);
    if (r != nullptr && r->job_id == job_id) return *r;
  }
  return std::nullopt;
}

// SUBMIT of `code` with one string argument, CODE first.
void submit(RawConnection& c, const pp::Code& code, uint64_t job_id, const std::string& arg) {
  std::string hash = pp::proto::code_hash(code.blob());
  c.send(pp::proto::CodeMsg{hash, code.blob()});
  msgpack::sbuffer args;
  msgpack::pack(args, std::make_tuple(arg));
  c.send(pp::proto::Submit{job_id, hash, std::string(args.data(), args.size()), 0});
}

}  // namespace

TEST_CASE("integration.spawn.time_limit_with_a_background_process" * doctest::timeout(60)) {
  check_time_limit(kSpawnAndSpin);
}

TEST_CASE("integration.spawn.time_limit_with_an_open_popen" * doctest::timeout(60)) {
  check_time_limit(kPopenAndSpin);
}

TEST_CASE("integration.spawn.cancel_with_a_background_process" * doctest::timeout(60)) {
  ServerProcess node({"-w", "1"}, kSecret);
  RawConnection c(node.port());
  REQUIRE(authenticate(c));
  Sleeper sleeper;
  submit(c, kSpawnAndSpin, 1, sleeper.arg());
  REQUIRE(sleeper.running(10s));   // the job is running and has started its process
  c.send(pp::proto::Cancel{1});
  auto cancelled = result_of(c, 1, 5s);   // not held until the sleep ends (12 s)
  REQUIRE(cancelled.has_value());
  CHECK(cancelled->status == pp::proto::JobStatus::kCancelled);
  submit(c, pp::Code::lua("function(s) return #s end"), 2, "next");
  auto next = result_of(c, 2, 5s);   // the slot is free at once
  REQUIRE(next.has_value());
  CHECK(next->status == pp::proto::JobStatus::kOk);
  CHECK(sleeper.gone(3s));
}

TEST_CASE("integration.spawn.crash_with_a_background_process" * doctest::timeout(90)) {
  ServerProcess node({"-w", "1"}, kSecret);
  pp::Cluster cluster(options_for(node));
  Sleeper sleeper;
  auto t0 = Clock::now();
  auto e = failure_of(cluster.submit(kSpawnAndExit, sleeper.arg()));
  CHECK(e.kind() == "crashed");
  // Status 3, or under a sanitizer whatever its runtime's exit makes of it.
  CHECK(e.message().find("exited with status") != std::string::npos);
  // Three attempts, each a crash seen at once rather than when its sleep ends.
  CHECK(seconds_since(t0) < 10.0);
  CHECK(cluster.submit(kSquare, 4).get<int>() == 16);
  CHECK(sleeper.gone(3s));
}

TEST_CASE("integration.spawn.node_shutdown_stops_what_running_jobs_started" *
          doctest::timeout(60)) {
  ServerProcess node({"-w", "1"}, kSecret);
  pp::Cluster cluster(options_for(node));
  Sleeper sleeper;
  auto spinning = cluster.submit(kSpawnAndSpin, sleeper.arg());
  REQUIRE(sleeper.running(10s));
  node.terminate();
  CHECK(sleeper.gone(3s));
}

TEST_CASE("integration.spawn.finished_jobs_leave_no_process_or_descriptor" *
          doctest::timeout(90)) {
  ServerProcess node({"-w", "1"}, kSecret);
  pp::Cluster cluster(options_for(node));
  REQUIRE(cluster.submit(kSquare, 2).get<int>() == 4);
  pid_t worker = only_worker(node);
  REQUIRE(worker > 0);
  int fds_before = pp::test::open_fds(worker);
  REQUIRE(fds_before > 0);
  Sleeper background, piped;
  auto spawn = pp::Code::lua("function(arg) os.execute('sleep ' .. arg .. ' &') return 1 end");
  auto popen = pp::Code::lua("function(arg) local f = io.popen('sleep ' .. arg) return 2 end");
  for (int i = 0; i < 20; ++i) {
    CHECK(cluster.submit(spawn, background.arg()).get<int>() == 1);
    CHECK(cluster.submit(popen, piped.arg()).get<int>() == 2);
  }
  CHECK(background.gone(3s));
  CHECK(piped.gone(3s));
  CHECK(pp::test::children_of(node.pid()) == std::vector<pid_t>{worker});   // not restarted
  // (The worker stops what a job left right after sending its result.)
  CHECK(wait_until([&] { return pp::test::open_fds(worker) <= fds_before; }, 3s));
  // Forgotten io.popen handles of jobs still running are closed with their process.
  auto t0 = Clock::now();
  CHECK(cluster.submit(kSquare, 3).get<int>() == 9);
  CHECK(seconds_since(t0) < 5.0);
}

TEST_CASE("integration.spawn.result_over_the_frame_limit_fails_that_job" * doctest::timeout(60)) {
  ServerProcess node({"-w", "1", "--max-frame", "1000000"}, kSecret);
  pp::Cluster cluster(options_for(node));
  auto big = cluster.submit(pp::Code::lua("function(n) return string.rep('x', n) end"), 2000000);
  auto e = failure_of(big);
  CHECK(e.kind() == "rejected");
  CHECK(e.message().find("2,000,006 bytes") != std::string::npos);   // the packed result
  CHECK(e.message().find("1,000,000 bytes") != std::string::npos);   // the limit
  CHECK(e.message().find("--max-frame") != std::string::npos);
  CHECK(cluster.submit(kSquare, 5).get<int>() == 25);
  auto stats = cluster.stats();
  REQUIRE(stats.size() == 1);
  CHECK(stats[0].crashes == 0);   // failed once, not retried as a crash
  CHECK(node.count_in_log("restarting it") == 0);
}

TEST_CASE("integration.spawn.out_of_memory_without_a_limit_says_so" * doctest::timeout(60)) {
  ServerProcess node({"-w", "1"}, kSecret);
  pp::Cluster cluster(options_for(node));
  // LuaJIT refuses a string this long with "not enough memory" before allocating it.
  auto e = failure_of(cluster.submit(pp::Code::lua("function() return ('xy'):rep(2^30 + 10) end")));
  CHECK(e.kind() == "out of memory");
  CHECK(e.message().find("no memory limit") != std::string::npos);
  CHECK(e.message().find("0 MB") == std::string::npos);
  CHECK(cluster.submit(kSquare, 5).get<int>() == 25);
}

// A job that moves its worker out of the worker's own process group (into the
// node's) and closes the worker's socket, then waits: the node's kill of the
// group misses it, and it lingers. The node must not stall on it (it once polled
// waitpid on its event loop for about a second per such worker, then left the
// worker running), and must kill and reap it.
const pp::Code kLeaveGroupAndLinger = pp::Code::lua(R"(function()
  local ffi = require 'ffi'
  pcall(ffi.cdef, [[
    int getppid(void); int getpgid(int pid); int setpgid(int pid, int pgid);
    int close(int fd); int pause(void);
  ]])
  ffi.C.setpgid(0, ffi.C.getpgid(ffi.C.getppid()))
  ffi.C.close(3)   -- the worker's socket to the node
  while true do ffi.C.pause() end
end)");

TEST_CASE("integration.spawn.lingering_workers_are_killed_without_stalling_the_node" *
          doctest::timeout(90)) {
  ServerProcess node({"-w", "4"}, kSecret);
  REQUIRE(wait_until([&] { return pp::test::children_of(node.pid()).size() == 4; }, 10s));
  pp::Cluster cluster(options_for(node));
  auto t0 = Clock::now();
  std::vector<pp::Job> lingering;
  for (int i = 0; i < 4; ++i) lingering.push_back(cluster.submit(kLeaveGroupAndLinger));
  for (auto& job : lingering) {
    auto e = failure_of(job);
    CHECK(e.kind() == "crashed");
    CHECK(e.message().find("signal 9") != std::string::npos);
  }
  // Twelve lingering workers (three attempts of each job): within 6 s, not 12 s or more.
  CHECK(seconds_since(t0) < 6.0);
  CHECK(cluster.submit(kSquare, 7).get<int>() == 49);
  // Every lingering worker was killed and reaped: only the four respawned ones are left.
  CHECK(wait_until([&] { return pp::test::children_of(node.pid()).size() == 4; }, 5s));
  CHECK(node.alive());
}
