#include "ppclient/journal/journal.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using pp::StatusCode;
using pp::client::Journal;
using pp::client::JournalOptions;
using pp::client::JournalRecord;
using pp::proto::JobStatus;

namespace {

// A private directory, removed with everything in it at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "pp-journal-test-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string key_of(uint64_t i) { return Journal::job_key("code-hash-16byte", "args", i); }

// The record a test stores for job i: every field depends on i, so a record read
// back for the wrong job, or torn, cannot pass for the right one.
JournalRecord record_of(uint64_t i, size_t value_size = 0) {
  JournalRecord r;
  r.status = i % 5 == 4 ? JobStatus::kLuaError : JobStatus::kOk;
  r.value = "value of job " + std::to_string(i);
  if (value_size > r.value.size()) {
    r.value.resize(value_size);
    for (size_t k = 0; k < value_size; ++k) r.value[k] = static_cast<char>((i * 31 + k * 7) & 0xff);
  }
  if (r.status != JobStatus::kOk) {
    r.error = "error of job " + std::to_string(i);
    r.traceback = "stack traceback:\n\tjob " + std::to_string(i);
  }
  r.node = "10.0.0." + std::to_string(i % 7) + ":60000";
  return r;
}

bool same(const JournalRecord& a, const JournalRecord& b) {
  return a.status == b.status && a.value == b.value && a.error == b.error &&
         a.traceback == b.traceback && a.node == b.node;
}

std::unique_ptr<Journal> open_ok(const std::string& path, const std::string& batch = "batch-1",
                                 JournalOptions opt = {}) {
  auto j = Journal::open(path, batch, opt);
  INFO(j.status().to_string());
  REQUIRE(j.has_value());
  return std::move(*j);
}

void fill(Journal& j, uint64_t from, uint64_t to, size_t value_size = 0) {
  for (uint64_t i = from; i < to; ++i) REQUIRE(j.append(key_of(i), record_of(i, value_size)));
}

// Every job in [0, n) is present with exactly its own record.
void expect_records(const Journal& j, uint64_t n, size_t value_size = 0) {
  CHECK(j.size() == n);
  for (uint64_t i = 0; i < n; ++i) {
    auto r = j.lookup(key_of(i));
    REQUIRE(r.has_value());
    CHECK(same(*r, record_of(i, value_size)));
  }
}

}  // namespace

TEST_CASE("journal.job_key: stable, 32 bytes, and sensitive to each part and its framing") {
  std::string k = Journal::job_key("hash", "args", 7);
  CHECK(k.size() == 32);
  CHECK(k == Journal::job_key("hash", "args", 7));
  CHECK(k != Journal::job_key("hash", "args", 8));
  CHECK(k != Journal::job_key("hash", "argz", 7));
  CHECK(k != Journal::job_key("hasH", "args", 7));
  // The same bytes split differently between code hash and arguments.
  CHECK(Journal::job_key("ab", "c", 0) != Journal::job_key("a", "bc", 0));
}

TEST_CASE("journal.round_trip: records come back as written, unknown keys are absent") {
  TempDir dir;
  auto j = open_ok(dir.file("j"));
  CHECK(j->size() == 0);
  fill(*j, 0, 20);
  expect_records(*j, 20);
  CHECK_FALSE(j->lookup(key_of(20)).has_value());
  CHECK_FALSE(j->contains(key_of(20)));
  CHECK(j->contains(key_of(3)));
  CHECK(j->records() == 20);
  // Empty fields and binary bytes survive too.
  JournalRecord bin;
  bin.value = std::string("\0\1\2\xff", 4);
  REQUIRE(j->append("k", bin));
  auto r = j->lookup("k");
  REQUIRE(r.has_value());
  CHECK(same(*r, bin));
}

TEST_CASE("journal.reopen: records persist across close and open; appends continue") {
  TempDir dir;
  {
    auto j = open_ok(dir.file("j"));
    fill(*j, 0, 10);
  }
  {
    auto j = open_ok(dir.file("j"));
    expect_records(*j, 10);
    CHECK(j->dropped_tail_bytes() == 0);
    fill(*j, 10, 15);
  }
  auto j = open_ok(dir.file("j"));
  expect_records(*j, 15);
  CHECK(j->records() == 15);
}

TEST_CASE("journal.index_appends: off, appends reach the file but not the memory index") {
  TempDir dir;
  JournalOptions lean;
  lean.index_appends = false;
  {
    auto j = open_ok(dir.file("j"));
    fill(*j, 0, 10);   // an earlier run
  }
  {
    auto j = open_ok(dir.file("j"), "batch-1", lean);
    expect_records(*j, 10);          // what earlier runs left is found
    fill(*j, 10, 1010);              // this run's jobs: on disk only
    CHECK(j->size() == 10);
    CHECK(j->records() == 1010);
    CHECK_FALSE(j->contains(key_of(500)));
    JournalRecord newer = record_of(99);
    REQUIRE(j->append(key_of(3), newer));   // a key already indexed follows its newest record
    auto r = j->lookup(key_of(3));
    REQUIRE(r.has_value());
    CHECK(same(*r, newer));
  }
  auto j = open_ok(dir.file("j"));   // the next run finds every record
  CHECK(j->size() == 1010);
  for (uint64_t i : {0, 10, 500, 1009}) {
    auto r = j->lookup(key_of(i));
    REQUIRE(r.has_value());
    CHECK(same(*r, record_of(i)));
  }
  auto r = j->lookup(key_of(3));
  REQUIRE(r.has_value());
  CHECK(same(*r, record_of(99)));
}

TEST_CASE("journal.duplicate_key: the newer record wins, also after reopening") {
  TempDir dir;
  {
    auto j = open_ok(dir.file("j"));
    JournalRecord failed;
    failed.status = JobStatus::kCrashed;
    failed.error = "worker died";
    REQUIRE(j->append(key_of(1), failed));
    REQUIRE(j->append(key_of(1), record_of(1)));
    CHECK(j->size() == 1);
    CHECK(j->records() == 2);
    CHECK(same(*j->lookup(key_of(1)), record_of(1)));
  }
  auto j = open_ok(dir.file("j"));
  CHECK(same(*j->lookup(key_of(1)), record_of(1)));
}

TEST_CASE("journal.torn_tail: a file cut at any byte of its last record keeps all the others") {
  TempDir dir;
  const std::string path = dir.file("j");
  uint64_t last_start = 0;
  {
    auto j = open_ok(path);
    fill(*j, 0, 5);
    REQUIRE(j->sync());
    last_start = fs::file_size(path);
    fill(*j, 5, 6);
  }
  const std::string full = slurp(path);
  REQUIRE(full.size() > last_start);
  for (uint64_t cut = last_start; cut < full.size(); ++cut) {
    CAPTURE(cut);
    spit(path, full.substr(0, cut));
    {
      auto j = open_ok(path);
      expect_records(*j, 5);
      CHECK_FALSE(j->contains(key_of(5)));
      CHECK(j->dropped_tail_bytes() == cut - last_start);
      CHECK(fs::file_size(path) == last_start);
      // The journal goes on from the last good record.
      REQUIRE(j->append(key_of(5), record_of(5)));
    }
    auto j = open_ok(path);
    expect_records(*j, 6);
    CHECK(j->dropped_tail_bytes() == 0);
  }
}

TEST_CASE("journal.torn_tail: a zero-filled tail (an OS crash) is dropped") {
  TempDir dir;
  const std::string path = dir.file("j");
  { fill(*open_ok(path), 0, 4); }
  const uint64_t good = fs::file_size(path);
  for (size_t zeros : {1, 7, 8, 100, 5000}) {
    CAPTURE(zeros);
    spit(path, slurp(path).substr(0, good) + std::string(zeros, '\0'));
    auto j = open_ok(path);
    expect_records(*j, 4);
    CHECK(j->dropped_tail_bytes() == zeros);
  }
}

TEST_CASE("journal.corruption: a damaged record before the end is refused, or salvaged") {
  TempDir dir;
  const std::string path = dir.file("j");
  std::vector<uint64_t> starts;   // byte offset of each record
  {
    auto j = open_ok(path);
    for (uint64_t i = 0; i < 5; ++i) {
      REQUIRE(j->sync());
      starts.push_back(fs::file_size(path));
      fill(*j, i, i + 1);
    }
  }
  const std::string full = slurp(path);
  starts.push_back(full.size());
  // Flip each byte of record 2 in turn (length, check, body and checksum).
  for (uint64_t at = starts[2]; at < starts[3]; ++at) {
    CAPTURE(at);
    std::string bad = full;
    bad[at] = static_cast<char>(bad[at] ^ 0x41);
    spit(path, bad);
    auto refused = Journal::open(path, "batch-1");
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.status().code() == StatusCode::kInvalid);
    CHECK(refused.status().message().find("damaged at byte " + std::to_string(starts[2])) !=
          std::string::npos);
    JournalOptions salvage;
    salvage.salvage = true;
    auto j = open_ok(path, "batch-1", salvage);
    expect_records(*j, 2);
    CHECK(j->salvaged_bytes() == full.size() - starts[2]);
    for (uint64_t i = 2; i < 5; ++i) CHECK_FALSE(j->contains(key_of(i)));
  }
  // A last record with an intact length whose body or checksum is damaged cannot be
  // told apart from one an OS crash left half-written: it is dropped like a torn tail
  // (its job runs again), never read wrong. A damaged length is damage anywhere.
  for (uint64_t at = starts[4]; at < starts[5]; ++at) {
    CAPTURE(at);
    std::string bad = full;
    bad[at] = static_cast<char>(bad[at] ^ 0x41);
    spit(path, bad);
    if (at < starts[4] + 8) {
      auto refused = Journal::open(path, "batch-1");
      REQUIRE_FALSE(refused.has_value());
      CHECK(refused.status().message().find("damaged record length") != std::string::npos);
      continue;
    }
    auto j = open_ok(path);
    expect_records(*j, 4);
    CHECK_FALSE(j->contains(key_of(4)));
    CHECK(j->dropped_tail_bytes() == starts[5] - starts[4]);
  }
}

TEST_CASE("journal.header: another batch, another version, or not a journal is refused") {
  TempDir dir;
  const std::string path = dir.file("j");
  { fill(*open_ok(path, "batch-A"), 0, 3); }
  const std::string full = slurp(path);

  auto other = Journal::open(path, "batch-B");
  REQUIRE_FALSE(other.has_value());
  CHECK(other.status().code() == StatusCode::kIncompatible);
  CHECK(other.status().message().find("another batch") != std::string::npos);
  CHECK(fs::file_size(path) == full.size());   // untouched

  std::string v2 = full;
  v2[8] = 2;   // the version field follows the 8-byte magic
  spit(path, v2);
  auto version = Journal::open(path, "batch-A");
  REQUIRE_FALSE(version.has_value());
  CHECK(version.status().code() == StatusCode::kIncompatible);
  CHECK(version.status().message().find("format version 2") != std::string::npos);

  std::string header_hit = full;
  header_hit[17] = static_cast<char>(header_hit[17] ^ 1);   // inside the batch key
  spit(path, header_hit);
  auto damaged = Journal::open(path, "batch-A");
  REQUIRE_FALSE(damaged.has_value());
  CHECK(damaged.status().code() == StatusCode::kInvalid);
  CHECK(damaged.status().message().find("damaged header") != std::string::npos);

  for (const std::string& junk : {std::string("PPJ"), std::string(200, 'x')}) {
    spit(path, junk);
    auto r = Journal::open(path, "batch-A");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.status().code() == StatusCode::kInvalid);
    CHECK(r.status().message().find("not a ppcluster journal") != std::string::npos);
  }
}

TEST_CASE("journal.empty_file: an existing empty file (from mktemp) becomes a new journal") {
  TempDir dir;
  spit(dir.file("j"), "");
  { fill(*open_ok(dir.file("j")), 0, 2); }
  expect_records(*open_ok(dir.file("j")), 2);
}

TEST_CASE("journal.misuse: bad keys and sizes are refused with a reason") {
  TempDir dir;
  CHECK(Journal::open(dir.file("j"), std::string(Journal::kMaxBatchKey + 1, 'k')).status().code() ==
        StatusCode::kInvalid);
  auto j = open_ok(dir.file("j"));
  CHECK(j->append("", record_of(0)).code() == StatusCode::kInvalid);
  CHECK(j->append(std::string(Journal::kMaxKey + 1, 'k'), record_of(0)).code() ==
        StatusCode::kInvalid);
  JournalRecord long_node = record_of(0);
  long_node.node.assign(Journal::kMaxNode + 1, 'n');
  CHECK(j->append("k", long_node).code() == StatusCode::kInvalid);
  CHECK(j->size() == 0);
  auto missing = Journal::open(dir.file("no/such/dir/j"), "b");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.status().code() == StatusCode::kIo);
}

TEST_CASE("journal.lock: a second opener of the same journal is refused while it is open") {
  TempDir dir;
  auto j = open_ok(dir.file("j"));
  auto second = Journal::open(dir.file("j"), "batch-1");
  REQUIRE_FALSE(second.has_value());
  CHECK(second.status().message().find("in use") != std::string::npos);
  j.reset();
  open_ok(dir.file("j"));
}

TEST_CASE("journal.large_values: values of megabytes round-trip and survive reopening") {
  TempDir dir;
  const size_t big = 3u << 20;
  {
    auto j = open_ok(dir.file("j"));
    fill(*j, 0, 4, big);
    JournalRecord huge = record_of(9, 16u << 20);
    REQUIRE(j->append(key_of(9), huge));
    CHECK(same(*j->lookup(key_of(9)), huge));
  }
  auto j = open_ok(dir.file("j"));
  for (uint64_t i = 0; i < 4; ++i) CHECK(same(*j->lookup(key_of(i)), record_of(i, big)));
  CHECK(same(*j->lookup(key_of(9)), record_of(9, 16u << 20)));
}

TEST_CASE("journal.sync_policy: fdatasync every N records, on demand, and never twice for nothing") {
  TempDir dir;
  JournalOptions every10;
  every10.sync_every = 10;
  every10.sync_interval = std::chrono::milliseconds(0);
  auto j = open_ok(dir.file("a"), "b", every10);
  fill(*j, 0, 95);
  CHECK(j->syncs() == 9);
  REQUIRE(j->sync());
  CHECK(j->syncs() == 10);
  REQUIRE(j->sync());
  CHECK(j->syncs() == 10);

  JournalOptions never;
  never.sync_every = 0;
  never.sync_interval = std::chrono::milliseconds(0);
  auto k = open_ok(dir.file("b"), "b", never);
  fill(*k, 0, 50);
  CHECK(k->syncs() == 0);

  JournalOptions each;
  each.sync_every = 1;
  auto e = open_ok(dir.file("c"), "b", each);
  fill(*e, 0, 5);
  CHECK(e->syncs() == 5);
}

TEST_CASE("journal.many_records: 100k records append, reopen and look up") {
  TempDir dir;
  const uint64_t n = 100000;
  auto t0 = std::chrono::steady_clock::now();
  {
    auto j = open_ok(dir.file("j"));
    fill(*j, 0, n);
  }
  auto t1 = std::chrono::steady_clock::now();
  auto j = open_ok(dir.file("j"));
  auto t2 = std::chrono::steady_clock::now();
  expect_records(*j, n);
  auto t3 = std::chrono::steady_clock::now();
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  MESSAGE("100k records: append " << ms(t1 - t0) << " ms, reopen " << ms(t2 - t1)
                                  << " ms, look up all " << ms(t3 - t2) << " ms, file "
                                  << fs::file_size(dir.file("j")) << " bytes");
}

TEST_CASE("journal.killed_writer: a writer killed with SIGKILL mid-batch leaves a readable journal") {
  TempDir dir;
  const std::string path = dir.file("j");
  { open_ok(path); }   // created by the parent, so the child only appends
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto j = Journal::open(path, "batch-1");
    if (!j) ::_exit(2);
    for (uint64_t i = 0;; ++i) {
      if (!(*j)->append(key_of(i), record_of(i, 1000 + i % 3000))) ::_exit(3);
    }
  }
  // Kill it once it has written a few hundred kilobytes (or after 10 s at most).
  for (int t = 0; t < 1000 && fs::file_size(path) < 300000; ++t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(child, SIGKILL);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  auto j = open_ok(path);
  uint64_t n = j->size();
  MESSAGE("the killed writer left " << n << " records, a torn tail of " << j->dropped_tail_bytes()
                                    << " bytes");
  CHECK(n > 0);
  // Appends are in order: jobs 0..n-1 are there, each with its own record.
  for (uint64_t i = 0; i < n; ++i) {
    auto r = j->lookup(key_of(i));
    REQUIRE(r.has_value());
    CHECK(same(*r, record_of(i, 1000 + i % 3000)));
  }
}
