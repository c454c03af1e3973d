// Integration: what jobs print, from the worker to the driver (issue 12, "Output").
// Output of a job on a separate ppserver reaches job.stdout and the driver's echo with
// its "[job N on host:port] " prefix (a script through `ppclient run`, its stdout read);
// output written before a segfault, os.exit, a time limit's kill or a kill -9 of the
// worker is returned with the failure; a job keeps 1 MiB with a note when cut;
// echo_output = false and `ppclient run --no-echo` echo nothing yet keep job.stdout; a
// silent job's stdout is ""; many jobs printing at once interleave by whole lines; a
// client that does not announce the output capability gets RESULTs without it.
#include <doctest/doctest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <msgpack.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/proto/auth.hpp"
#include "core/proto/codec.hpp"
#include "pp/cluster.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::test::bin_dir;
using pp::test::run_command;
using pp::test::ServerProcess;

constexpr char kSecret[] = "output-test-secret-0123456789";

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/pp-output-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name, const std::string& text) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }

 private:
  std::string path_;
};

// `ppclient run [flags] SCRIPT ARGS` with the test's secret; its stdout only (stderr,
// where the driver logs, is dropped so that it cannot split a line under test).
pp::test::CommandResult run_script(const std::string& flags, const std::string& script,
                                   const std::string& args) {
  return run_command("sh -c 'PP_SECRET=" + std::string(kSecret) + " timeout 120 " + bin_dir() +
                     "/ppclient run " + flags + " " + script + " " + args + " 2>/dev/null'");
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool has_line(const std::string& text, const std::string& line) {
  for (const auto& l : lines_of(text)) {
    if (l == line) return true;
  }
  return false;
}

size_t count_echoed(const std::string& text) {
  size_t n = 0;
  for (const auto& l : lines_of(text)) n += l.rfind("[job ", 0) == 0 ? 1 : 0;
  return n;
}

constexpr char kRemoteScript[] = R"(
local pp = require "pp"
local js = pp.server{ ppservers = { arg[1] }, ncpus = 0 }
local j = js:submit(function(x, path)
  print("hello", x, nil, true)
  io.write("a", 1, "\n")
  io.stdout:write("b\n"):write("c\n")
  io.stderr:write("to stderr\n")
  io.output():write("via io.output\n")
  assert(io.type(io.stdout) == "file", "io.type of the captured stdout")
  io.output(path)                -- a file as the default output: not captured
  io.write("into the file")
  io.close()
  io.output(io.stdout)
  io.write("no newline at the end")
  return x * 2
end, { 21, arg[2] })
local q = js:submit(function() return 7 end, {})
print("result " .. j())
print("stdout=" .. (j.stdout:gsub("\t", "<tab>"):gsub("\n", "|")))
local seven = q()
print("quiet=" .. string.format("%q", q.stdout) .. " " .. seven)
local f = io.open(arg[2])
print("file=" .. f:read("*a"))
f:close()
)";

TEST_CASE("integration.output.remote_job_output_reaches_job_stdout_and_the_echo" *
          doctest::timeout(150)) {
  ServerProcess node({"-w", "2"}, kSecret);
  TempDir dir;
  std::string script = dir.file("remote.lua", kRemoteScript);
  auto r = run_script("", script, node.address() + " " + dir.path() + "/out.txt");
  INFO(r.output);
  REQUIRE(r.status == 0);
  const std::string p = "[job 1 on " + node.address() + "] ";
  for (const char* line : {"hello\t21\tnil\ttrue", "a1", "b", "c", "to stderr", "via io.output",
                           "no newline at the end"}) {
    CHECK(has_line(r.output, p + line));
  }
  CHECK(count_echoed(r.output) == 7);   // the silent job echoes nothing
  CHECK(has_line(r.output, "result 42"));
  CHECK(has_line(r.output, "stdout=hello<tab>21<tab>nil<tab>true|a1|b|c|to stderr|via io.output|"
                           "no newline at the end"));
  CHECK(has_line(r.output, "quiet=\"\" 7"));
  CHECK(has_line(r.output, "file=into the file"));
  CHECK(r.output.find("into the file|") == std::string::npos);   // not in job.stdout
}

constexpr char kFailuresScript[] = R"(
local pp = require "pp"
local js = pp.server{ ppservers = { arg[1] }, ncpus = 0, echo_output = false }
local slow = pp.server{ ppservers = { arg[1] }, ncpus = 0, echo_output = false, job_timeout = 1 }
local function report(name, job)
  local ok, err = job:result()
  print(name .. ": " .. (ok and "ok" or err.kind) .. " " .. string.format("%q", job.stdout))
end
report("segfault", js:submit(function()
  print("before the crash")
  local ffi = require "ffi"
  ffi.cast("int *", 0)[0] = 1
end, {}))
report("exit", js:submit(function() io.write("before os.exit\n") os.exit(3) end, {}))
report("timeout", slow:submit(function()
  io.stdout:write("before the time limit\n")
  while true do end
end, {}))
report("error", js:submit(function() print("before the error") error("boom") end, {}))
local big = js:submit(function()
  local line = string.rep("x", 999) .. "\n"
  for i = 1, 2000 do io.write(line) end
  return "done"
end, {})
print("big: " .. big() .. " " .. #big.stdout .. " " .. string.format("%q", big.stdout:sub(-100)))
local exact = js:submit(function() io.write(string.rep("z", 1024 * 1024)) end, {})
exact()
print("exact: " .. #exact.stdout .. " " .. tostring(exact.stdout:find("cut", 1, true)))
)";

TEST_CASE("integration.output.kept_up_to_a_crash_an_exit_a_time_limit_and_the_cut" *
          doctest::timeout(150)) {
  ServerProcess node({"-w", "2"}, kSecret);
  TempDir dir;
  auto r = run_script("", dir.file("failures.lua", kFailuresScript), node.address());
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(has_line(r.output, "segfault: crashed \"before the crash\\"));
  CHECK(has_line(r.output, "exit: crashed \"before os.exit\\"));
  CHECK(has_line(r.output, "timeout: timeout \"before the time limit\\"));
  CHECK(has_line(r.output, "error: lua error \"before the error\\"));
  // 2,000,000 bytes written: 1 MiB kept, then the note saying how much was cut.
  const std::string note =
      "\n[output cut: 951424 more bytes not kept; a job keeps at most 1 MiB of output]\n";
  CHECK(r.output.find("big: done " + std::to_string((1u << 20) + note.size())) !=
        std::string::npos);
  CHECK(r.output.find("[output cut: 951424 more bytes not kept; a job keeps at most 1 MiB of "
                      "output]\\\n\"") != std::string::npos);
  CHECK(has_line(r.output, "exact: 1048576 nil"));   // exactly the limit: nothing cut
  CHECK(count_echoed(r.output) == 0);                 // echo_output = false
}

constexpr char kManyScript[] = R"(
local pp = require "pp"
local js = pp.server{ ppservers = { arg[1] }, ncpus = 0 }
local jobs = {}
for i = 1, 200 do
  jobs[i] = js:submit(function(i)
    for k = 1, 4 do io.write("line ", k, " of job ", i, "\n") end
    print("line 5 of job " .. i)
  end, { i })
end
local kept = 0
for i, job in ipairs(jobs) do
  job()
  local want = ""
  for k = 1, 5 do want = want .. "line " .. k .. " of job " .. i .. "\n" end
  if job.stdout == want then kept = kept + 1 end
end
print("kept " .. kept .. " of 200")
)";

// Lines are whole and carry the prefix of the job that printed them, whichever order
// the results come in (workers run jobs in parallel and in pipelines).
TEST_CASE("integration.output.many_jobs_echo_whole_lines_and_no_echo_prints_none" *
          doctest::timeout(150)) {
  ServerProcess node({"-w", "2"}, kSecret);
  TempDir dir;
  std::string script = dir.file("many.lua", kManyScript);
  auto r = run_script("", script, node.address());
  INFO(r.output.substr(0, 4000));
  REQUIRE(r.status == 0);
  CHECK(has_line(r.output, "kept 200 of 200"));
  const std::regex echoed(R"(\[job (\d+) on ([^\]]+)\] line ([1-5]) of job (\d+))");
  std::map<std::string, int> per_job;
  size_t others = 0;
  for (const auto& line : lines_of(r.output)) {
    std::smatch m;
    if (!std::regex_match(line, m, echoed)) {
      ++others;
      continue;
    }
    CHECK(m[1] == m[4]);   // the driver's job id: jobs are numbered in submission order
    CHECK(m[2] == node.address());
    ++per_job[m[1]];
  }
  CHECK(others == 1);   // "kept 200 of 200"
  CHECK(per_job.size() == 200);
  for (const auto& [job, n] : per_job) CHECK(n == 5);

  auto quiet = run_script("--no-echo", script, node.address());
  INFO(quiet.output);
  CHECK(quiet.status == 0);
  CHECK(has_line(quiet.output, "kept 200 of 200"));
  CHECK(count_echoed(quiet.output) == 0);
}

// The worker writes what its job prints to memory the node reads when the worker
// dies: a kill -9 in the middle of the job loses none of it. The crash is retried
// (the scheduler's crash attempts): each attempt is killed the same way.
TEST_CASE("integration.output.survives_a_kill_9_of_the_worker" * doctest::timeout(120)) {
  ServerProcess node({"-w", "1"}, kSecret);
  TempDir dir;
  pp::ClusterOptions opt = pp::test::client_options({node.address()}, kSecret);
  opt.echo_output = false;
  pp::Cluster cluster(opt);
  const std::string marker = dir.path() + "/running";
  pp::Job job = cluster.submit(pp::Code::lua(R"(function(marker)
    print("started")
    io.stdout:write("a partial line")
    io.open(marker, "w"):close()
    while true do end
  end)"), marker);
  int kills = 0;
  bool done = pp::test::wait_until([&] {
    if (std::filesystem::exists(marker)) {
      std::filesystem::remove(marker);
      for (pid_t w : pp::test::children_of(node.pid())) ::kill(w, SIGKILL);
      ++kills;
    }
    return job.ready();
  }, 90s);
  REQUIRE(done);
  CHECK(kills >= 1);
  CHECK_THROWS_AS(job.get<int>(), pp::RemoteError);
  CHECK(job.stdout_text() == "started\na partial line");

  pp::Job fine = cluster.submit(pp::Code::lua("function() print('fine') return 1 end"));
  pp::Job silent = cluster.submit(pp::Code::lua("function() return 2 end"));
  CHECK(fine.get<int>() == 1);
  CHECK(fine.stdout_text() == "fine\n");
  CHECK(silent.get<int>() == 2);
  CHECK(silent.stdout_text().empty());
}

// A client that does not announce Cap::kOutput (any client older than the field) gets
// RESULTs of protocol 1's eight fields: the node leaves the output out.
TEST_CASE("integration.output.only_clients_with_the_capability_get_it" * doctest::timeout(60)) {
  ServerProcess node({"-w", "1"}, kSecret);
  std::string blob = pp::Code::lua("function() print('printed') return 1 end").blob();
  std::string hash = pp::proto::code_hash(blob);
  msgpack::sbuffer none;
  msgpack::pack(none, std::make_tuple());
  for (bool takes : {false, true}) {
    CAPTURE(takes);
    pp::test::RawConnection c(node.port());
    pp::proto::Hello mine;
    mine.caps = takes ? static_cast<uint32_t>(pp::proto::Cap::kOutput) : 0;
    REQUIRE(pp::test::handshake(c, kSecret, mine).has_value());
    c.send(pp::proto::CodeMsg{hash, blob});
    c.send(pp::proto::Submit{.job_id = 1, .hash = hash, .args = {none.data(), none.size()}});
    std::optional<pp::proto::Message> m;
    do {
      m = c.receive(20s);
    } while (m && std::holds_alternative<pp::proto::Heartbeat>(*m));
    REQUIRE(m.has_value());
    auto* res = std::get_if<pp::proto::ResultMsg>(&*m);
    REQUIRE(res != nullptr);
    CHECK(res->status == pp::proto::JobStatus::kOk);
    CHECK(res->output == (takes ? "printed\n" : ""));
  }
}

}  // namespace
