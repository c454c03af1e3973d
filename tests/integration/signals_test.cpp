// Integration: signals. SIGHUP ends a node as cleanly as SIGTERM (BYE to its
// clients, workers stopped, a log line, exit status 0); SIGINT stops
// `ppclient run`: the nodes hear BYE and free their workers, the embedded node
// goes too, and the client exits with 130 (at once on a second SIGINT).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/proto/codec.hpp"
#include "pp/cluster.hpp"
#include "tests/integration/harness.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using pp::test::ServerProcess;
using pp::test::wait_until;

constexpr char kSecret[] = "signals-test-secret-0123456789";

// A process the test starts (ppclient), with PP_SECRET set and its stdout and
// stderr in a file; killed and reaped on destruction if still running.
class Child {
 public:
  explicit Child(std::vector<std::string> args) {
    char tmpl[] = "/tmp/pp-test-child-XXXXXX";
    int out = mkstemp(tmpl);
    if (out < 0) throw std::runtime_error("mkstemp failed");
    out_path_ = tmpl;
    std::vector<char*> argv = pp::test::c_strings(args);
    std::vector<std::string> env_s = pp::test::environment_with_secret(kSecret);
    std::vector<char*> envp = pp::test::c_strings(env_s);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out, 1);
    posix_spawn_file_actions_adddup2(&fa, out, 2);
    int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    close(out);
    if (rc != 0) {
      std::remove(out_path_.c_str());
      throw std::runtime_error(std::string("cannot start ") + argv[0] + ": " + strerror(rc));
    }
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    std::remove(out_path_.c_str());
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  // Its exit status, or 128 + the signal that ended it; -1 before it ended.
  int exit_status() const { return status_; }
  bool killed_by_signal() const { return signalled_; }
  std::string output() const {
    std::ifstream in(out_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // Waits up to `limit` for the process to end and reaps it.
  bool wait_exit(std::chrono::milliseconds limit) {
    return wait_until(
        [&] {
          int st = 0;
          if (pid_ <= 0) return true;
          if (waitpid(pid_, &st, WNOHANG) != pid_) return false;
          signalled_ = WIFSIGNALED(st);
          status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
          pid_ = -1;
          return true;
        },
        limit);
  }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  bool signalled_ = false;
  std::string out_path_;
};

// Gone: no such process, or a zombie nobody has reaped yet.
bool process_gone(pid_t pid) {
  if (kill(pid, 0) != 0) return true;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');
  return close == std::string::npos || (close + 2 < stat.size() && stat[close + 2] == 'Z');
}

// Every worker of `node` has used some CPU time: the jobs are running.
bool workers_busy(pid_t node, size_t count) {
  auto workers = pp::test::children_of(node);
  if (workers.size() < count) return false;
  for (pid_t w : workers) {
    if (pp::test::cpu_seconds(w) < 0.2) return false;
  }
  return true;
}

std::string write_script(const std::string& text) {
  char tmpl[] = "/tmp/pp-test-script-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  close(fd);
  std::ofstream(tmpl) << text;
  return tmpl;
}

// Long jobs on the nodes given as arguments (and one local worker), waited in job().
constexpr char kLongBatch[] = R"(
local pp = require "pp"
local servers = {}
for i = 1, select("#", ...) do servers[i] = select(i, ...) end
local js = pp.server{ ppservers = servers, ncpus = 1 }
local function spin(s) local t = os.clock(); while os.clock() - t < s do end; return s end
local jobs = {}
for i = 1, 6 do jobs[i] = js:submit(spin, {60}) end
io.stdout:write("submitted\n"); io.stdout:flush()
for i = 1, 6 do jobs[i]() end
print("finished")
)";

pp::ClusterOptions options_for(std::vector<std::string> servers) {
  return pp::test::client_options(std::move(servers), kSecret, 60s);
}

const pp::Code kSpin = pp::Code::lua(
    "function(s) local t = os.clock(); while os.clock() - t < s do end; return s end");

// The last frame the node sent through `proxy`, if it is a BYE: its reason.
std::string last_bye(const pp::test::RecordingProxy& proxy) {
  auto frames = pp::test::split_frames(proxy.from_server());
  if (frames.empty()) return "";
  auto m = pp::proto::decode_message(std::string_view(frames.back()).substr(4));
  if (!m) return "";
  auto* bye = std::get_if<pp::proto::Bye>(&*m);
  return bye != nullptr ? bye->reason : "";
}

}  // namespace

TEST_CASE("integration.signals.sighup_ends_a_node_like_sigterm" * doctest::timeout(90)) {
  ServerProcess node({"-w", "2"}, kSecret);
  pp::test::RecordingProxy proxy(node.port());
  pp::Cluster cluster(options_for({proxy.address()}));
  std::vector<pp::Job> jobs;
  for (int i = 0; i < 2; ++i) jobs.push_back(cluster.submit(kSpin, 30));
  REQUIRE(wait_until([&] { return workers_busy(node.pid(), 2); }, 20s));
  auto workers = pp::test::children_of(node.pid());

  REQUIRE(kill(node.pid(), SIGHUP) == 0);
  REQUIRE(node.wait_exit(10s));
  CHECK(node.exit_status() == 0);
  CHECK(node.log().find("shutting down: signal Hangup") != std::string::npos);
  for (pid_t w : workers) CHECK(wait_until([&] { return process_gone(w); }, 5s));
  // The client was told why, before the connection closed.
  CHECK(wait_until([&] { return last_bye(proxy).find("signal Hangup") != std::string::npos; }, 5s));
}

TEST_CASE("integration.signals.sigint_stops_ppclient_run_and_frees_the_node" *
          doctest::timeout(120)) {
  ServerProcess node({"-w", "2"}, kSecret);
  std::string script = write_script(kLongBatch);
  Child client({pp::test::bin_dir() + "/ppclient", "run", script, node.address()});
  CHECK(wait_until([&] { return client.output().find("submitted") != std::string::npos; }, 20s));
  REQUIRE(wait_until([&] { return workers_busy(node.pid(), 2); }, 20s));
  auto embedded = pp::test::children_of(client.pid());
  CHECK(embedded.size() == 1);  // the local node (ncpus = 1)

  auto t0 = Clock::now();
  REQUIRE(kill(client.pid(), SIGINT) == 0);
  REQUIRE(client.wait_exit(10s));  // its jobs would run for a minute
  CHECK(client.exit_status() == 130);
  CHECK(!client.killed_by_signal());  // it exited with 130 after stopping the batch
  CHECK(client.output().find("interrupted: stopping the batch") != std::string::npos);
  CHECK(client.output().find("finished") == std::string::npos);
  MESSAGE("ppclient ended " << std::chrono::duration<double>(Clock::now() - t0).count()
                            << " s after SIGINT");
  CHECK(node.wait_for_log("left (client said bye); dropping its queued jobs", 5s));
  for (pid_t p : embedded) CHECK(wait_until([&] { return process_gone(p); }, 5s));

  // The node's workers are free for the next client at once (not after a minute).
  pp::Cluster next(options_for({node.address()}));
  auto t1 = Clock::now();
  CHECK(next.submit(pp::Code::lua("function(x) return x * x end"), 5).get<int>() == 25);
  CHECK(Clock::now() - t1 < 20s);
  std::remove(script.c_str());
}

TEST_CASE("integration.signals.sigint_twice_exits_130_and_the_embedded_node_follows" *
          doctest::timeout(60)) {
  std::string script = write_script(kLongBatch);
  Child client({pp::test::bin_dir() + "/ppclient", "run", script});
  CHECK(wait_until([&] { return client.output().find("submitted") != std::string::npos; }, 20s));
  auto embedded = pp::test::children_of(client.pid());
  REQUIRE(kill(client.pid(), SIGINT) == 0);
  kill(client.pid(), SIGINT);  // may find it gone already
  REQUIRE(client.wait_exit(10s));
  CHECK(client.exit_status() == 130);
  CHECK(!client.killed_by_signal());
  // Its embedded node follows through its lifeline.
  for (pid_t p : embedded) CHECK(wait_until([&] { return process_gone(p); }, 10s));
  std::remove(script.c_str());
}

TEST_CASE("integration.signals.sigterm_stops_ppclient_run_like_sigint" * doctest::timeout(120)) {
  ServerProcess node({"-w", "2"}, kSecret);
  std::string script = write_script(kLongBatch);
  Child client({pp::test::bin_dir() + "/ppclient", "run", script, node.address()});
  CHECK(wait_until([&] { return client.output().find("submitted") != std::string::npos; }, 20s));
  REQUIRE(wait_until([&] { return workers_busy(node.pid(), 2); }, 20s));
  auto embedded = pp::test::children_of(client.pid());

  REQUIRE(kill(client.pid(), SIGTERM) == 0);
  REQUIRE(client.wait_exit(10s));  // its jobs would run for a minute
  CHECK(client.exit_status() == 128 + SIGTERM);
  CHECK(!client.killed_by_signal());  // it stopped the batch, then exited
  CHECK(client.output().find("terminated: stopping the batch") != std::string::npos);
  // The node hears BYE (not a dropped connection) and frees its workers.
  CHECK(node.wait_for_log("left (client said bye); dropping its queued jobs", 5s));
  for (pid_t p : embedded) CHECK(wait_until([&] { return process_gone(p); }, 5s));
  std::remove(script.c_str());
}
