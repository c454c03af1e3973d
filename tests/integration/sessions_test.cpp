// Integration: what one client's session may do on a node, and what it may not do to another's
// (issue 9). Frames that are valid but wrong after authentication are answered as
// docs/protocol.md ("Valid frames, wrong session") says: a live job id submitted again is
// rejected and the first goes on, CANCEL and STEAL of ids the session does not hold change
// nothing, and node-only frames from a client end its session with an ERROR. Two clients on one
// node: a short batch is not held behind a long one, CANCEL and STEAL of the other's ids touch
// nothing of it, and a client leaving mid-batch leaves the other's results whole. Each case
// checks the node goes on serving. Job ids of raw clients are chosen by hand.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/proto/auth.hpp"
#include "core/proto/codec.hpp"
#include "core/util/status.hpp"
#include "pp/cluster.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::test::RawConnection;
using pp::test::ServerProcess;
using pp::test::wait_until;

constexpr char kSecret[] = "sessions-test-secret";
const pp::Code kSquare = pp::Code::lua("function(x) return x * x end");
// A job that keeps its worker busy for `s` seconds of CPU, then returns x * x.
const pp::Code kBusySquare = pp::Code::lua(
    "function(x, s) local t = os.clock() while os.clock() - t < s do end return x * x end");

pp::ClusterOptions options_for(const ServerProcess& node) {
  return pp::test::client_options({node.address()}, kSecret, 60s);
}

void check_serves(const ServerProcess& node) {
  pp::Cluster cluster(options_for(node));
  std::vector<pp::Job> jobs;
  for (int i = 0; i < 10; ++i) jobs.push_back(cluster.submit(kSquare, i));
  for (int i = 0; i < 10; ++i) CHECK(jobs[static_cast<size_t>(i)].get<int>() == i * i);
  CHECK(node.alive());
}

// An authenticated raw session that ships kBusySquare once and submits it by hand.
class RawClient {
 public:
  explicit RawClient(const ServerProcess& node) : c_(std::make_unique<RawConnection>(node.port())) {
    REQUIRE(pp::test::handshake(*c_, kSecret).has_value());
    blob_ = kBusySquare.blob();
    hash_ = pp::proto::code_hash(blob_);
    c_->send(pp::proto::CodeMsg{hash_, blob_});
  }
  RawConnection& conn() { return *c_; }
  void submit(uint64_t id, int x, double seconds) {
    msgpack::sbuffer b;
    msgpack::pack(b, std::make_tuple(x, seconds));
    c_->send(
        pp::proto::Submit{.job_id = id, .hash = hash_, .args = std::string(b.data(), b.size())});
  }
  // The next frame that is not a heartbeat (nullopt on close or after 30 s). Heartbeats
  // keep the session alive meanwhile: a loaded machine (or a sanitizer build) may take
  // longer than the node's silence limit to answer.
  std::optional<pp::proto::Message> next() {
    for (int waited = 0; waited < 60; ++waited) {
      if (!c_->send(pp::proto::Heartbeat{})) return c_->receive(500ms);
      auto m = c_->receive(500ms);
      if (m && !std::holds_alternative<pp::proto::Heartbeat>(*m)) return m;
    }
    return std::nullopt;
  }
  pp::proto::ResultMsg next_result() {
    auto m = next();
    REQUIRE(m.has_value());
    auto* r = std::get_if<pp::proto::ResultMsg>(&*m);
    const char* type = pp::proto::type_name(pp::proto::type_of(*m));
    REQUIRE_MESSAGE(r != nullptr, "got " << std::string(type));
    return *r;
  }
  // Hangs up at once, mid-batch.
  void drop() { c_.reset(); }

 private:
  std::unique_ptr<RawConnection> c_;
  std::string blob_, hash_;
};

int first_value(const pp::proto::ResultMsg& r) {
  msgpack::object_handle h = msgpack::unpack(r.value.data(), r.value.size());
  REQUIRE(h.get().type == msgpack::type::ARRAY);
  REQUIRE(h.get().via.array.size >= 1);
  return h.get().via.array.ptr[0].as<int>();
}

size_t ready_count(const std::vector<pp::Job>& jobs) {
  size_t n = 0;
  for (const pp::Job& j : jobs) n += j.ready() ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("integration.session.duplicate_job_id_is_rejected_and_the_first_goes_on" *
          doctest::timeout(60)) {
  ServerProcess node({"-w", "1"}, kSecret);
  RawClient c(node);
  c.submit(7, 6, 0.3);
  c.submit(7, 50, 0.0);  // same id while the first is queued or running
  pp::proto::ResultMsg dup = c.next_result();
  CHECK(dup.job_id == 7);
  CHECK(dup.status == pp::proto::JobStatus::kRejected);
  CHECK(dup.error.find("job 7 is already queued or running in this session") != std::string::npos);
  pp::proto::ResultMsg first = c.next_result();
  CHECK(first.job_id == 7);
  REQUIRE(first.status == pp::proto::JobStatus::kOk);
  CHECK(first_value(first) == 36);  // the first SUBMIT's, untouched
  c.submit(7, 5, 0.0);              // after its RESULT the id is free again
  pp::proto::ResultMsg again = c.next_result();
  REQUIRE(again.status == pp::proto::JobStatus::kOk);
  CHECK(first_value(again) == 25);
  CHECK(node.count_in_log("closing session") == 0);
  check_serves(node);
}

TEST_CASE("integration.session.cancel_and_steal_of_unknown_ids_change_nothing" *
          doctest::timeout(60)) {
  ServerProcess node({"-w", "1"}, kSecret);
  RawClient c(node);
  c.conn().send(pp::proto::Cancel{999});  // ignored: no answer
  c.conn().send(pp::proto::Steal{{1001, 1002}});
  auto m = c.next();
  REQUIRE(m.has_value());
  auto* stolen = std::get_if<pp::proto::Stolen>(&*m);
  REQUIRE(stolen != nullptr);
  CHECK(stolen->taken.empty());
  CHECK(stolen->started == std::vector<uint64_t>{1001, 1002});
  c.submit(1, 9, 0.0);  // the session goes on as before
  pp::proto::ResultMsg r = c.next_result();
  REQUIRE(r.status == pp::proto::JobStatus::kOk);
  CHECK(first_value(r) == 81);
  CHECK(node.count_in_log("closing session") == 0);
  check_serves(node);
}

TEST_CASE("integration.session.node_frames_from_a_client_end_its_session" * doctest::timeout(90)) {
  ServerProcess node({"-w", "1"}, kSecret);
  pp::proto::Hello hello;
  hello.role = "client";
  hello.nonce = std::string(pp::proto::kNonceSize, 'n');
  pp::proto::ResultMsg result;
  result.job_id = 1;
  const std::vector<std::pair<pp::proto::Message, std::string>> cases = {
      {result, "unexpected RESULT"},
      {pp::proto::Stolen{{1}, {}}, "unexpected STOLEN"},
      {hello, "unexpected HELLO"},
      {pp::proto::AuthOk{std::string(pp::proto::kProofSize, 'p')}, "unexpected AUTH_OK"},
  };
  for (const auto& [msg, said] : cases) {
    CAPTURE(said);
    RawConnection c(node.port());
    REQUIRE(pp::test::handshake(c, kSecret).has_value());
    c.send(msg);
    std::optional<pp::proto::Message> m;
    do {
      m = c.receive(20s);
    } while (m && std::holds_alternative<pp::proto::Heartbeat>(*m));
    REQUIRE(m.has_value());
    auto* err = std::get_if<pp::proto::Error>(&*m);
    REQUIRE(err != nullptr);
    CHECK(err->code == static_cast<uint32_t>(pp::StatusCode::kInvalid));
    CHECK(err->message.find(said) != std::string::npos);
    CHECK(c.wait_closed(20s));
  }
  {
    // A client's ERROR ends its session without an answer.
    RawConnection c(node.port());
    REQUIRE(pp::test::handshake(c, kSecret).has_value());
    c.send(pp::proto::Error{static_cast<uint32_t>(pp::StatusCode::kInvalid), "test says stop"});
    CHECK(c.wait_closed(20s));
    CHECK(node.wait_for_log("ended the session: test says stop", 10s));
  }
  check_serves(node);
}

TEST_CASE("integration.two_clients.short_batch_is_not_held_behind_a_long_one" *
          doctest::timeout(180)) {
  ServerProcess node({"-w", "2"}, kSecret);
  pp::Cluster a(options_for(node));
  std::vector<pp::Job> long_batch;
  for (int i = 0; i < 1000; ++i) long_batch.push_back(a.submit(kBusySquare, i, 0.004));
  REQUIRE(wait_until([&] { return ready_count(long_batch) >= 20; }, 60s));  // A is under way

  pp::Cluster b(options_for(node));
  std::vector<pp::Job> short_batch;
  for (int i = 0; i < 20; ++i) short_batch.push_back(b.submit(kBusySquare, i, 0.004));
  for (int i = 0; i < 20; ++i) CHECK(short_batch[static_cast<size_t>(i)].get<int>() == i * i);
  size_t a_done = ready_count(long_batch);
  INFO("client A had " << a_done << " of 1000 jobs done when B's 20 were all back");
  CHECK(a_done < 800);
  for (int i = 0; i < 1000; ++i) CHECK(long_batch[static_cast<size_t>(i)].get<int>() == i * i);
}

TEST_CASE("integration.two_clients.cancel_and_steal_of_the_others_ids_do_nothing" *
          doctest::timeout(120)) {
  ServerProcess node({"-w", "2"}, kSecret);
  pp::Cluster a(options_for(node));
  std::vector<pp::Job> jobs;
  for (int i = 0; i < 30; ++i) jobs.push_back(a.submit(kBusySquare, i, 0.1));
  REQUIRE(wait_until([&] { return ready_count(jobs) >= 1; }, 60s));  // A's jobs are on the node

  RawClient b(node);  // B names A's ids: 1..30
  std::vector<uint64_t> ids;
  for (uint64_t id = 1; id <= 30; ++id) {
    ids.push_back(id);
    b.conn().send(pp::proto::Cancel{id});
  }
  b.conn().send(pp::proto::Steal{ids});
  auto m = b.next();
  REQUIRE(m.has_value());
  auto* stolen = std::get_if<pp::proto::Stolen>(&*m);
  REQUIRE(stolen != nullptr);
  CHECK(stolen->taken.empty());  // none of them is B's to take
  CHECK(stolen->started.size() == 30);

  // B stays a live session (the node drops a client silent for 5 s) while A's jobs run.
  REQUIRE(wait_until(
      [&] {
        b.conn().send(pp::proto::Heartbeat{});
        return ready_count(jobs) == jobs.size();
      },
      90s));
  for (int i = 0; i < 30; ++i) CHECK(jobs[static_cast<size_t>(i)].get<int>() == i * i);
  CHECK(node.count_in_log("cancelled by its client") == 0);
  b.submit(1, 4, 0.0);  // B's own job 1 is its own
  pp::proto::ResultMsg r = b.next_result();
  REQUIRE(r.status == pp::proto::JobStatus::kOk);
  CHECK(first_value(r) == 16);
}

TEST_CASE("integration.two_clients.one_leaving_mid_batch_leaves_the_other_whole" *
          doctest::timeout(120)) {
  ServerProcess node({"-w", "2"}, kSecret);
  RawClient b(node);
  for (uint64_t id = 1; id <= 20; ++id) b.submit(id, 1, 0.2);
  pp::Cluster a(options_for(node));
  std::vector<pp::Job> jobs;
  for (int i = 0; i < 60; ++i) jobs.push_back(a.submit(kBusySquare, i, 0.02));
  CHECK(b.next_result().status == pp::proto::JobStatus::kOk);  // B is mid-batch
  b.drop();
  for (int i = 0; i < 60; ++i) CHECK(jobs[static_cast<size_t>(i)].get<int>() == i * i);
  CHECK(node.wait_for_log("left (", 10s));
  check_serves(node);
}
