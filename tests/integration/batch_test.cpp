// Integration: batching between a node and its workers (issue 11). A worker runs every
// job it was sent before it writes, and answers them in one write; a node pipelines
// into a busy worker only jobs of code known to be short. Checked at the wire, with a
// raw client: a worker that dies in the middle of a batch is blamed for the one job it
// was running, every other job is answered exactly once (the ones before it without
// running again), and jobs of unknown length never wait behind a busy worker while
// another worker of the node could take them.
#include <doctest/doctest.h>

#include <msgpack.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/proto/auth.hpp"
#include "core/proto/codec.hpp"
#include "pp/cluster.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::proto::JobStatus;
using pp::proto::ResultMsg;
using pp::test::RawConnection;
using pp::test::ServerProcess;

constexpr char kSecret[] = "batch-test-secret";

// An authenticated raw session: ships code, submits jobs by hand, reads RESULTs.
class RawClient {
 public:
  explicit RawClient(const ServerProcess& node)
      : c_(std::make_unique<RawConnection>(node.port())) {
    REQUIRE(pp::test::handshake(*c_, kSecret).has_value());
  }
  // Sends the code once; returns its hash for submit().
  std::string code(const std::string& lua_function) {
    std::string blob = pp::Code::lua(lua_function).blob();
    std::string hash = pp::proto::code_hash(blob);
    c_->send(pp::proto::CodeMsg{hash, blob});
    return hash;
  }
  template <typename... Args>
  void submit(uint64_t id, const std::string& hash, const Args&... args) {
    msgpack::sbuffer b;
    msgpack::pack(b, std::make_tuple(args...));
    c_->send(pp::proto::Submit{.job_id = id, .hash = hash, .args = std::string(b.data(), b.size())});
  }
  // The next RESULT, within a minute; heartbeats keep the session alive meanwhile (a
  // loaded machine may take longer than the node's silence limit).
  ResultMsg next_result() {
    for (int waited = 0; waited < 120; ++waited) {
      c_->send(pp::proto::Heartbeat{});
      auto m = c_->receive(500ms);
      if (!m || std::holds_alternative<pp::proto::Heartbeat>(*m)) continue;
      auto* r = std::get_if<ResultMsg>(&*m);
      std::string type = pp::proto::type_name(pp::proto::type_of(*m));
      if (auto* e = std::get_if<pp::proto::Error>(&*m)) type += ": " + e->message;
      REQUIRE_MESSAGE(r != nullptr, "got " << type);
      return *r;
    }
    FAIL("no RESULT within a minute");
    return {};
  }

 private:
  std::unique_ptr<RawConnection> c_;
};

int64_t value_of(const ResultMsg& r) {
  auto oh = msgpack::unpack(r.value.data(), r.value.size());
  return oh.get().via.array.ptr[0].as<int64_t>();
}

// A fresh directory for the test's files, removed at the end.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/pp-batch-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

// Jobs x = 1..n of one function on a one-worker node, which ends its worker at job
// `crash_at` (`how`); each job leaves a mark in `dir` every time it runs. The first
// ones make the code known to be short, so the rest travel to the worker in batches.
void crash_mid_batch(const std::string& how) {
  ServerProcess node({"-w", "1"}, kSecret);
  TempDir dir;
  RawClient client(node);
  const std::string hash = client.code(
      "function(x, crash_at, dir)\n"
      "  local f = io.open(dir .. '/' .. x, 'a'); f:write('.'); f:close()\n"
      "  if x == crash_at then " + how + " end\n"
      "  return x\n"
      "end");
  constexpr int kJobs = 600;
  constexpr int kCrashAt = 400;
  for (int x = 1; x <= 20; ++x) client.submit(x, hash, x, kCrashAt, dir.path.string());
  std::map<uint64_t, ResultMsg> results;
  for (int i = 0; i < 20; ++i) {
    ResultMsg r = client.next_result();
    results.emplace(r.job_id, r);
  }
  // The rest in one go: the node pipelines them into its worker, many to a write.
  for (int x = 21; x <= kJobs; ++x) client.submit(x, hash, x, kCrashAt, dir.path.string());
  for (int i = 20; i < kJobs; ++i) {
    ResultMsg r = client.next_result();
    CHECK_MESSAGE(results.emplace(r.job_id, r).second, "job " << r.job_id << " answered twice");
  }
  REQUIRE(results.size() == static_cast<size_t>(kJobs));
  for (const auto& [id, r] : results) {
    if (id == kCrashAt) {
      CHECK(r.status == JobStatus::kCrashed);
      CHECK(r.error.find("while running the job") != std::string::npos);
      continue;
    }
    CHECK_MESSAGE(r.status == JobStatus::kOk, "job " << id << ": " << r.error);
    if (r.status == JobStatus::kOk) CHECK(value_of(r) == static_cast<int64_t>(id));
  }
  // Each job ran once: those before the crash were not run again (their results left
  // as the worker died), those after it had not started.
  for (int x = 1; x <= kJobs; ++x) {
    std::ifstream marks(dir.path / std::to_string(x));
    std::string s((std::istreambuf_iterator<char>(marks)), std::istreambuf_iterator<char>());
    CHECK_MESSAGE(s == ".", "job " << x << " ran " << s.size() << " times");
  }
  CHECK(node.count_in_log("while running job") == 1);
  CHECK(node.alive());
}

TEST_CASE("integration.batch.os_exit_mid_batch_blames_that_job_alone" * doctest::timeout(120)) {
  crash_mid_batch("os.exit(3)");
}

TEST_CASE("integration.batch.segfault_mid_batch_blames_that_job_alone" * doctest::timeout(120)) {
  crash_mid_batch("local ffi = require 'ffi'; return ffi.cast('int*', 0)[0]");
}

TEST_CASE("integration.batch.crash_through_the_cluster_is_retried_and_fails_alone" *
          doctest::timeout(120)) {
  ServerProcess node({"-w", "1"}, kSecret);
  pp::Cluster cluster(pp::test::client_options({node.address()}, kSecret));
  const pp::Code code = pp::Code::lua("function(x) if x == 700 then os.exit(3) end return x end");
  std::vector<pp::Job> jobs;
  for (int x = 1; x <= 1000; ++x) jobs.push_back(cluster.submit(code, x));
  for (int x = 1; x <= 1000; ++x) {
    if (x == 700) {
      CHECK_THROWS_WITH_AS(jobs[static_cast<size_t>(x - 1)].get<int>(), doctest::Contains("crashed its worker 3 times"),
                           pp::RemoteError);
    } else {
      CHECK(jobs[static_cast<size_t>(x - 1)].get<int>() == x);
    }
  }
  auto stats = cluster.stats();
  REQUIRE(stats.size() == 1);
  CHECK(stats[0].crashes == 3);
  CHECK(stats[0].failures == 1);
}

// Four jobs of unknown length on a two-worker node that has just run short jobs of
// another function (which once made it pipeline every job two deep): the long one
// must not hold a short one behind it while the other worker is free.
TEST_CASE("integration.batch.unknown_jobs_never_wait_behind_a_busy_worker" *
          doctest::timeout(120)) {
  ServerProcess node({"-w", "2"}, kSecret);
  RawClient client(node);
  const std::string quick = client.code("function(x) return x end");
  for (int x = 1; x <= 200; ++x) client.submit(x, quick, x);
  for (int i = 0; i < 200; ++i) CHECK(client.next_result().status == JobStatus::kOk);
  const std::string busy = client.code(
      "function(s) local t = os.clock() while os.clock() - t < s do end return s end");
  const std::vector<double> seconds = {0.6, 0.1, 0.4, 0.2};
  for (size_t i = 0; i < seconds.size(); ++i) client.submit(1000 + i, busy, seconds[i]);
  std::map<double, ResultMsg> by_length;
  for (size_t i = 0; i < seconds.size(); ++i) {
    ResultMsg r = client.next_result();
    REQUIRE(r.status == JobStatus::kOk);
    by_length.emplace(seconds.at(r.job_id - 1000), r);
  }
  // The 0.1 s job did not wait behind the 0.6 s one, nor did the 0.4 s job: it went to
  // the worker the 0.1 s job left free, 0.5 s before the other.
  CHECK(by_length.at(0.1).worker != by_length.at(0.6).worker);
  CHECK(by_length.at(0.4).worker == by_length.at(0.1).worker);
}

}  // namespace
