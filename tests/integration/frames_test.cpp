// Integration: frame limits through the real client and node (issue 9, defect 2). The node's
// limit is settled in its HELLO; a job whose arguments or code cannot fit fails alone, before it
// is sent, naming its size and the limit, while every other job completes on the same session;
// a node that ends a session for a protocol reason says why in an ERROR first, and the client
// shows that reason; a job whose node keeps going away is given up after a bounded number of
// losses instead of bouncing between reconnects for ever. The client side of the last two is
// watched against FakeNode, a stand-in that authenticates like a node and then misbehaves.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/proto/auth.hpp"
#include "core/proto/codec.hpp"
#include "core/proto/frame_reader.hpp"
#include "core/util/status.hpp"
#include "pp/cluster.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::test::RawConnection;
using pp::test::ServerProcess;

constexpr char kSecret[] = "frames-test-secret";
const pp::Code kSquare = pp::Code::lua("function(x) return x * x end");
const pp::Code kLength = pp::Code::lua("function(s) return #s end");

pp::ClusterOptions options_for(const std::string& address) {
  return pp::test::client_options({address}, kSecret, 60s);
}

std::string header(uint32_t len) {
  return {static_cast<char>(len >> 24), static_cast<char>(len >> 16), static_cast<char>(len >> 8),
          static_cast<char>(len)};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The job's failure; FAIL when it returned.
pp::RemoteError failure_of(const pp::Job& job) {
  try {
    job.results();
  } catch (const pp::RemoteError& e) {
    return e;
  }
  FAIL("job " << job.id() << " returned; it should have failed");
  return pp::RemoteError("", "", "", "", "", 0);
}

// The ERROR the node sends before it closes the connection (the test fails without one).
pp::proto::Error error_before_close(RawConnection& c) {
  auto m = c.receive(20s);
  REQUIRE(m.has_value());
  auto* err = std::get_if<pp::proto::Error>(&*m);
  REQUIRE(err != nullptr);
  CHECK(c.wait_closed(20s));
  return *err;
}

void check_serves(const ServerProcess& node) {
  pp::Cluster cluster(options_for(node.address()));
  std::vector<pp::Job> jobs;
  for (int i = 0; i < 10; ++i) jobs.push_back(cluster.submit(kSquare, i));
  for (int i = 0; i < 10; ++i) CHECK(jobs[static_cast<size_t>(i)].get<int>() == i * i);
}

// Stands in for a node: answers HELLO and AUTH as a node with `secret` would (its HELLO
// copied from a real node's, so versions match), then ends every session as `mode` says
// with an ERROR carrying `reason`. One connection at a time, on its own thread.
class FakeNode {
 public:
  enum class Mode { kErrorInsteadOfHello, kErrorAfterSubmit };

  FakeNode(pp::proto::Hello like, std::string secret, Mode mode, std::string reason)
      : like_(std::move(like)),
        key_(pp::proto::derive_key(secret)),
        mode_(mode),
        reason_(std::move(reason)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listen_fd_, 8) == 0);
    REQUIRE(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
    REQUIRE(::pipe2(stop_, O_CLOEXEC) == 0);
    thread_ = std::thread([this] { run(); });
  }
  ~FakeNode() {
    ssize_t ignored = ::write(stop_[1], "x", 1);
    (void)ignored;
    thread_.join();
    ::close(listen_fd_);
    ::close(stop_[0]);
    ::close(stop_[1]);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // Sessions it ended the way it was told to.
  int ended() const { return ended_; }

 private:
  void run() {
    for (;;) {
      pollfd p[2] = {{listen_fd_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
      if (::poll(p, 2, -1) < 0) continue;
      if (p[1].revents != 0) return;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      serve(fd);
      ::shutdown(fd, SHUT_WR);
      while (receive(fd, 2000)) {
      }  // until the client hangs up, so the ERROR is not overtaken by a reset
      ::close(fd);
    }
  }

  void serve(int fd) {
    reader_ = pp::proto::FrameReader(1 << 20);
    auto hello = receive(fd, 5000);
    auto* client = hello ? std::get_if<pp::proto::Hello>(&*hello) : nullptr;
    if (client == nullptr) return;
    const uint32_t invalid = static_cast<uint32_t>(pp::StatusCode::kInvalid);
    if (mode_ == Mode::kErrorInsteadOfHello) {
      ++ended_;
      send(fd, pp::proto::Error{invalid, reason_});
      return;
    }
    pp::proto::Hello mine = like_;
    mine.nonce = pp::proto::random_bytes(pp::proto::kNonceSize);
    send(fd, mine);
    if (!receive(fd, 5000)) return;  // AUTH: the client's proof is not this test's subject
    send(fd, pp::proto::AuthOk{pp::proto::server_proof(key_, client->nonce, mine.nonce)});
    // As a real node does: its pause state follows AUTH_OK (the client waits for it).
    if (pp::proto::Caps{mine.caps}.has(pp::proto::Cap::kPause)) send(fd, pp::proto::Pause{});
    while (auto m = receive(fd, 10000)) {
      if (auto* s = std::get_if<pp::proto::Submit>(&*m)) {
        ++ended_;
        send(fd, pp::proto::Error{invalid, reason_ + " (job " + std::to_string(s->job_id) + ")"});
        return;
      }
    }
  }

  void send(int fd, const pp::proto::Message& m) {
    std::string out;
    pp::proto::encode_frame(m, out);
    ssize_t ignored = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
    (void)ignored;
  }

  std::optional<pp::proto::Message> receive(int fd, int timeout_ms) {
    for (;;) {
      auto next = reader_.next();
      if (next.state == pp::proto::FrameReader::kComplete) {
        auto m = pp::proto::decode_message(next.payload);
        if (!m) return std::nullopt;
        return *m;
      }
      if (next.state == pp::proto::FrameReader::kBad) return std::nullopt;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0) return std::nullopt;
      auto buf = reader_.prepare(65536);
      ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n <= 0) return std::nullopt;
      reader_.commit(static_cast<size_t>(n));
    }
  }

  pp::proto::Hello like_;
  pp::proto::AuthKey key_;
  Mode mode_;
  std::string reason_;
  int listen_fd_ = -1;
  int stop_[2] = {-1, -1};
  uint16_t port_ = 0;
  pp::proto::FrameReader reader_{1 << 20};
  std::atomic<int> ended_{0};
  std::thread thread_;
};

// What a real node says of itself, for FakeNode to say the same.
pp::proto::Hello real_node_hello() {
  ServerProcess node({"-w", "1"}, kSecret);
  RawConnection c(node.port());
  auto hello = pp::test::handshake(c, kSecret);
  REQUIRE(hello.has_value());
  hello->workers = 1;
  return *hello;
}

}  // namespace

TEST_CASE("integration.frames.node_hello_settles_the_frame_limit" * doctest::timeout(60)) {
  ServerProcess limited({"-w", "1", "--max-frame", "1000000"}, kSecret);
  RawConnection a(limited.port());
  auto hello = pp::test::handshake(a, kSecret);
  REQUIRE(hello.has_value());
  CHECK(hello->max_frame == 1000000);
  ServerProcess plain({"-w", "1"}, kSecret);
  RawConnection b(plain.port());
  hello = pp::test::handshake(b, kSecret);
  REQUIRE(hello.has_value());
  CHECK(hello->max_frame == pp::proto::kDefaultMaxFrame);
}

TEST_CASE("integration.frames.oversized_argument_fails_alone_without_a_reconnect" *
          doctest::timeout(120)) {
  ServerProcess node({"-w", "2", "--max-frame", "1000000"}, kSecret);
  pp::Cluster cluster(options_for(node.address()));
  std::vector<pp::Job> small;
  for (int i = 0; i < 10; ++i) small.push_back(cluster.submit(kSquare, i));
  pp::Job big_args = cluster.submit(kLength, std::string(2000000, 'x'));
  pp::Job big_code =
      cluster.submit(pp::Code::lua("function() return #'" + std::string(1100000, 'y') + "' end"));
  pp::Job fits = cluster.submit(kLength, std::string(900000, 'z'));  // under the limit: runs
  for (int i = 10; i < 20; ++i) small.push_back(cluster.submit(kSquare, i));

  pp::RemoteError e = failure_of(big_args);
  INFO(e.what());
  CHECK(e.kind() == "rejected");
  CHECK(e.job_id() == big_args.id());
  CHECK(contains(e.message(),
                 "job " + std::to_string(big_args.id()) + ": its arguments are 2,000,0"));
  CHECK(contains(e.message(), "over node " + node.address() +
                                  "'s frame limit of 1,000,000 bytes (ppserver --max-frame)"));
  pp::RemoteError c = failure_of(big_code);
  INFO(c.what());
  CHECK(contains(c.message(), "its code is 1,100,0"));
  CHECK(contains(c.message(), "frame limit of 1,000,000 bytes"));
  CHECK(fits.get<int>() == 900000);
  for (int i = 0; i < 20; ++i) CHECK(small[static_cast<size_t>(i)].get<int>() == i * i);

  // One session all along: nothing oversized reached the node, nothing was re-sent.
  CHECK(node.count_in_log(" connected") == 1);
  CHECK(node.count_in_log("bad frame") == 0);
  CHECK(node.alive());
}

TEST_CASE("integration.frames.oversized_frame_gets_an_error_naming_the_limit" *
          doctest::timeout(120)) {
  ServerProcess node({"-w", "1", "--max-frame", "1000000"}, kSecret);
  {
    RawConnection c(node.port());
    REQUIRE(pp::test::handshake(c, kSecret).has_value());
    REQUIRE(c.send_bytes(header(1000001)));  // the header alone is enough to refuse it
    pp::proto::Error err = error_before_close(c);
    INFO(err.message);
    CHECK(err.code == static_cast<uint32_t>(pp::StatusCode::kTooLarge));
    CHECK(contains(err.message, "frame of 1,000,001 bytes"));
    CHECK(contains(err.message, "frame limit of 1,000,000 bytes (ppserver --max-frame)"));
  }
  {
    RawConnection c(node.port());  // before authentication the limit is 4,096 bytes
    REQUIRE(c.send_bytes(header(5000)));
    pp::proto::Error err = error_before_close(c);
    INFO(err.message);
    CHECK(contains(err.message, "limit of 4,096 bytes before authentication"));
  }
  {
    RawConnection c(node.port());  // a frame that is not a message
    REQUIRE(pp::test::handshake(c, kSecret).has_value());
    REQUIRE(c.send_bytes(header(3) + "\xc1\xc1\xc1"));
    pp::proto::Error err = error_before_close(c);
    INFO(err.message);
    CHECK(err.code == static_cast<uint32_t>(pp::StatusCode::kInvalid));
    CHECK(contains(err.message, "malformed frame"));
  }
  CHECK(node.wait_for_log("frame limit of 1,000,000 bytes", 10s));
  check_serves(node);
}

TEST_CASE("integration.frames.result_over_the_clients_limit_fails_that_job" *
          doctest::timeout(60)) {
  ServerProcess node({"-w", "1"}, kSecret);
  RawConnection c(node.port());
  pp::proto::Hello mine;
  mine.max_frame = 10000;  // this client takes no frame above 10,000 bytes
  REQUIRE(pp::test::handshake(c, kSecret, mine).has_value());
  std::string blob = pp::Code::lua("function(n) return string.rep('r', n) end").blob();
  std::string hash = pp::proto::code_hash(blob);
  c.send(pp::proto::CodeMsg{hash, blob});
  auto args = [](int n) {
    msgpack::sbuffer b;
    msgpack::pack(b, std::make_tuple(n));
    return std::string(b.data(), b.size());
  };
  c.send(pp::proto::Submit{.job_id = 1, .hash = hash, .args = args(20000)});
  c.send(pp::proto::Submit{.job_id = 2, .hash = hash, .args = args(100)});
  for (uint64_t id : {1u, 2u}) {
    std::optional<pp::proto::Message> m;
    do {
      m = c.receive(20s);
    } while (m && std::holds_alternative<pp::proto::Heartbeat>(*m));
    REQUIRE(m.has_value());
    auto* r = std::get_if<pp::proto::ResultMsg>(&*m);
    REQUIRE(r != nullptr);
    CHECK(r->job_id == id);
    if (id == 1) {
      INFO(r->error);
      CHECK(r->status == pp::proto::JobStatus::kRejected);
      CHECK(contains(r->error, "job 1: its return values are 20,0"));
      CHECK(contains(r->error, "over the client's frame limit of 10,000 bytes"));
    } else {
      CHECK(r->status == pp::proto::JobStatus::kOk);  // the session goes on
    }
  }
  CHECK(node.alive());
}

TEST_CASE("integration.frames.client_shows_the_reason_a_node_gives" * doctest::timeout(60)) {
  FakeNode fake(real_node_hello(), kSecret, FakeNode::Mode::kErrorInsteadOfHello,
                "malformed frame: the fake node's own reason");
  pp::ClusterOptions o = options_for(fake.address());
  o.no_node_timeout = 2s;
  pp::Cluster cluster(o);
  pp::RemoteError e = failure_of(cluster.submit(kSquare, 3));
  INFO(e.what());
  CHECK(e.kind() == "lost");
  CHECK(contains(e.message(), fake.address() +
                                  ": node ended the session: malformed frame: the fake node's "
                                  "own reason"));
}

TEST_CASE("integration.frames.job_dropped_by_its_node_is_given_up_after_five_losses" *
          doctest::timeout(120)) {
  FakeNode fake(real_node_hello(), kSecret, FakeNode::Mode::kErrorAfterSubmit,
                "bad frame: the fake node drops it");
  pp::Cluster cluster(options_for(fake.address()));
  pp::Job job = cluster.submit(kSquare, 4);
  pp::RemoteError e = failure_of(job);
  INFO(e.what());
  CHECK(e.kind() == "lost");
  CHECK(contains(e.message(), "was sent 5 times and each time its node went away"));
  CHECK(contains(e.message(), "node ended the session: bad frame: the fake node drops it"));
  CHECK(fake.ended() == 5);
}
