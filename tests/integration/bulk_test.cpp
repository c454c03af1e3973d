// Integration: large arguments and results (the bulk path: fields written from where they
// lie, read into their own buffers, in the driver and in the node) arrive whole, each with
// its own job, through a real node over real TCP; a large SUBMIT the node cannot run, or
// whose arguments' header lies, fails that job or that session alone.
#include <doctest/doctest.h>

#include <chrono>
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
using pp::test::ServerProcess;

constexpr char kSecret[] = "integration-test-secret";

pp::ClusterOptions options_for(const ServerProcess& node) {
  return pp::test::client_options({node.address()}, kSecret, 20s);
}

// Bytes that differ from job to job and along the string, so a mix-up or a shifted
// piece cannot pass.
std::string pattern(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7 + i / 4096) & 0xff);
  return s;
}

// Returns the argument, reversed in blocks so the worker's answer is not the bytes it got,
// and one small value after it (a field after the large one).
const pp::Code kFlip = pp::Code::lua(
    "function(s, tag) local n = #s local h = math.floor(n / 2) "
    "return s:sub(h + 1) .. s:sub(1, h), tag end");

std::string flipped(const std::string& s) {
  size_t h = s.size() / 2;
  return s.substr(h) + s.substr(0, h);
}

}  // namespace

TEST_CASE("integration.bulk.large_arguments_and_results_arrive_whole_per_job" *
          doctest::timeout(120)) {
  ServerProcess node({"-w", "2"}, kSecret);
  pp::Cluster cluster(options_for(node));
  // Sizes around the splicing threshold (64 KiB) and well above it, in flight together.
  const std::vector<size_t> sizes = {65535, 65536, 65537, 300000, 2u << 20, (3u << 20) + 5};
  std::vector<std::string> args;
  std::vector<pp::Job> jobs;
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < sizes.size(); ++i) {
      int seed = round * 100 + static_cast<int>(i);
      args.push_back(pattern(sizes[i], seed));
      jobs.push_back(cluster.submit(kFlip, args.back(), seed));
    }
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    auto h = jobs[i].results();
    const msgpack::object& arr = h.get();
    REQUIRE(arr.type == msgpack::type::ARRAY);
    REQUIRE(arr.via.array.size == 2);
    CHECK(arr.via.array.ptr[0].as<std::string>() == flipped(args[i]));
    CHECK(arr.via.array.ptr[1].as<int>() ==
          static_cast<int>((i / sizes.size()) * 100 + i % sizes.size()));
  }
}

TEST_CASE("integration.bulk.results_handle_outlives_its_job" * doctest::timeout(60)) {
  ServerProcess node({"-w", "1"}, kSecret);
  pp::Cluster cluster(options_for(node));
  const std::string arg = pattern(1u << 20, 9);
  msgpack::object_handle h;
  {
    pp::Job job = cluster.submit(kFlip, arg, 9);
    h = job.results();
  }  // the Job is gone; the handle's strings point into the result it keeps alive
  const msgpack::object& arr = h.get();
  REQUIRE(arr.type == msgpack::type::ARRAY);
  REQUIRE(arr.via.array.size == 2);
  CHECK(arr.via.array.ptr[0].as<std::string>() == flipped(arg));
  CHECK(arr.via.array.ptr[1].as<int>() == 9);
}

TEST_CASE("integration.bulk.map_keeps_order_with_large_and_table_results" * doctest::timeout(60)) {
  ServerProcess node({"-w", "2"}, kSecret);
  pp::Cluster cluster(options_for(node));
  std::vector<std::string> items;
  for (int i = 0; i < 40; ++i) items.push_back(pattern(i % 4 == 0 ? 200000 + i : 10 + i, i));
  const pp::Code twice = pp::Code::lua("function(s) return s .. s end");
  std::vector<std::string> out = cluster.map<std::string>(twice, items);
  REQUIRE(out.size() == items.size());
  for (size_t i = 0; i < items.size(); ++i) CHECK(out[i] == items[i] + items[i]);
  // Tables come out of the per-thread scratch space whole, one after another.
  const pp::Code range =
      pp::Code::lua("function(n) local t = {} for i = 1, n do t[i] = i * n end return t end");
  std::vector<int> ns = {0, 1, 5, 300, 2};
  auto tables = cluster.map<std::vector<long long>>(range, ns);
  REQUIRE(tables.size() == ns.size());
  for (size_t k = 0; k < ns.size(); ++k) {
    REQUIRE(tables[k].size() == static_cast<size_t>(ns[k]));
    for (int i = 0; i < ns[k]; ++i) CHECK(tables[k][i] == 1LL * (i + 1) * ns[k]);
  }
  // A failed job still fails its get() (and map) with the node's error.
  pp::Job bad = cluster.submit(pp::Code::lua("function() error('no') end"));
  CHECK_THROWS_AS(bad.packed_results(), pp::RemoteError);
}

// The node reads large SUBMIT arguments and a worker's large RESULT values into the strings
// that keep them (and writes them on from there). What comes around those fields must be
// read as it was sent: a value followed by the job's output (RESULT's ninth field), small
// jobs between large ones in the same reads, and each job's own bytes.
TEST_CASE("integration.bulk.fields_read_apart_by_the_node_keep_what_surrounds_them" *
          doctest::timeout(120)) {
  ServerProcess node({"-w", "2"}, kSecret);
  auto opt = options_for(node);
  opt.echo_output = false;
  pp::Cluster cluster(opt);
  const pp::Code talk = pp::Code::lua(
      "function(s, tag) io.write('got ', #s, ' ', tag, '\\n') "
      "return s:sub(2) .. s:sub(1, 1), tag end");
  std::vector<std::string> args;
  std::vector<pp::Job> jobs;
  for (int i = 0; i < 12; ++i) {
    args.push_back(pattern(i % 3 == 2 ? 20 : (1u << 20) + static_cast<size_t>(i) * 4099, i));
    jobs.push_back(cluster.submit(talk, args.back(), i));
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    auto h = jobs[i].results();
    const msgpack::object& arr = h.get();
    REQUIRE(arr.type == msgpack::type::ARRAY);
    REQUIRE(arr.via.array.size == 2);
    const std::string& a = args[i];
    CHECK(arr.via.array.ptr[0].as<std::string>() == a.substr(1) + a.substr(0, 1));
    CHECK(arr.via.array.ptr[1].as<int>() == static_cast<int>(i));
    CHECK(jobs[i].stdout_text() == "got " + std::to_string(a.size()) + " " + std::to_string(i) + "\n");
  }
}

namespace {

// The next message that is not a heartbeat (nullopt on close or timeout).
std::optional<pp::proto::Message> next_message(pp::test::RawConnection& c) {
  std::optional<pp::proto::Message> m;
  do {
    m = c.receive(20s);
  } while (m && std::holds_alternative<pp::proto::Heartbeat>(*m));
  return m;
}

std::string packed_args(const std::string& s) {
  msgpack::sbuffer b;
  msgpack::pack(b, std::make_tuple(s));
  return std::string(b.data(), b.size());
}

}  // namespace

TEST_CASE("integration.bulk.large_submit_the_node_cannot_run_or_whose_header_lies" *
          doctest::timeout(90)) {
  ServerProcess node({"-w", "1"}, kSecret);
  const std::string blob = pp::Code::lua("function(s) return #s, s:sub(-3) end").blob();
  const std::string hash = pp::proto::code_hash(blob);
  const std::string big = pattern(300000, 5);
  {
    pp::test::RawConnection c(node.port());
    REQUIRE(pp::test::handshake(c, kSecret).has_value());
    // Its code was never sent: rejected, and the session goes on.
    c.send(pp::proto::Submit{.job_id = 1, .hash = hash, .args = packed_args(big)});
    auto m = next_message(c);
    REQUIRE(m.has_value());
    auto* r = std::get_if<pp::proto::ResultMsg>(&*m);
    REQUIRE(r != nullptr);
    CHECK(r->job_id == 1);
    CHECK(r->status == pp::proto::JobStatus::kRejected);
    CHECK(r->error.find("no code with this hash") != std::string::npos);
    c.send(pp::proto::CodeMsg{hash, blob});
    c.send(pp::proto::Submit{.job_id = 2, .hash = hash, .args = packed_args(big)});
    m = next_message(c);
    REQUIRE(m.has_value());
    r = std::get_if<pp::proto::ResultMsg>(&*m);
    REQUIRE(r != nullptr);
    CHECK(r->job_id == 2);
    REQUIRE(r->status == pp::proto::JobStatus::kOk);
    auto h = msgpack::unpack(r->value.data(), r->value.size());
    CHECK(h.get().as<std::tuple<size_t, std::string>>() ==
          std::make_tuple(big.size(), big.substr(big.size() - 3)));
  }
  // Arguments whose header claims fewer bytes than follow them (read apart, then the rest
  // is no SUBMIT), or more than the frame holds: the session ends, saying why.
  for (uint32_t claim : {uint32_t{100000}, uint32_t{300000}}) {
    pp::test::RawConnection c(node.port());
    REQUIRE(pp::test::handshake(c, kSecret).has_value());
    c.send(pp::proto::CodeMsg{hash, blob});
    std::string payload = "\x96\x0b\x03\xc4\x10" + hash + "\xc6";
    for (int shift : {24, 16, 8, 0}) payload += static_cast<char>(claim >> shift);
    payload += std::string(200000 - payload.size(), 'z');
    std::string frame;
    for (int shift : {24, 16, 8, 0}) frame += static_cast<char>(payload.size() >> shift);
    c.send_bytes(frame + payload);
    auto m = next_message(c);
    REQUIRE(m.has_value());
    auto* err = std::get_if<pp::proto::Error>(&*m);
    REQUIRE(err != nullptr);
    CHECK(err->message.find("malformed frame") != std::string::npos);
    CHECK(c.wait_closed(20s));
  }
  pp::Cluster cluster(options_for(node));
  auto h = cluster.submit(kFlip, big, 7).results();
  REQUIRE(h.get().type == msgpack::type::ARRAY);
  REQUIRE(h.get().via.array.size == 2);
  CHECK(h.get().via.array.ptr[0].as<std::string>() == flipped(big));
}
