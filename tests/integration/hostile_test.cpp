// Integration: hostile bytes and protocol violations against a real ppserver.
// Each case checks the node closes that session with a logged reason and keeps
// serving real clients.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "core/proto/auth.hpp"
#include "core/proto/codec.hpp"
#include "core/proto/frame_reader.hpp"
#include "pp/cluster.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::test::ServerProcess;

constexpr char kSecret[] = "hostile-test-secret";

class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawClient() { close(fd_); }
  void send_bytes(const std::string& b) { (void)::send(fd_, b.data(), b.size(), MSG_NOSIGNAL); }
  void send(const pp::proto::Message& m) {
    std::string out;
    pp::proto::encode_frame(m, out);
    send_bytes(out);
  }
  // The next message, or nullopt when the node closed the connection.
  std::optional<pp::proto::Message> receive() {
    for (;;) {
      auto next = reader_.next();
      if (next.state == pp::proto::FrameReader::kComplete) {
        auto m = pp::proto::decode_message(next.payload);
        REQUIRE(m.has_value());
        return *m;
      }
      auto buf = reader_.prepare(4096);
      ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
      if (n <= 0) return std::nullopt;
      reader_.commit(static_cast<size_t>(n));
    }
  }
  bool closed_by_peer() {
    for (;;) {
      auto m = receive();
      if (!m) return true;
    }
  }

 private:
  int fd_ = -1;
  pp::proto::FrameReader reader_{1 << 20};
};

pp::proto::Hello client_hello(const std::string& nonce) {
  pp::proto::Hello h;
  h.role = "client";
  h.nonce = nonce;
  h.luajit = "LuaJIT test";
  return h;
}

void check_node_still_serves(const ServerProcess& node) {
  pp::ClusterOptions o;
  o.servers = {node.address()};
  o.local_workers = 0;
  o.secret = kSecret;
  pp::Cluster cluster(o);
  CHECK(cluster.submit(pp::Code::lua("function(x) return x + 1 end"), 41).get<int>() == 42);
}

}  // namespace

TEST_CASE("integration.hostile.garbage_huge_zero_and_truncated_frames" * doctest::timeout(60)) {
  ServerProcess node({"-w", "1"}, kSecret);
  {
    RawClient c(node.port());
    c.send_bytes(std::string("\x00\x00\x00\x05garbage-garbage", 19));
    CHECK(c.closed_by_peer());
  }
  {
    RawClient c(node.port());
    c.send_bytes(std::string("\xff\xff\xff\xff", 4));
    CHECK(c.closed_by_peer());
  }
  {
    RawClient c(node.port());
    c.send_bytes(std::string("\x00\x00\x00\x00", 4));
    CHECK(c.closed_by_peer());
  }
  {
    RawClient c(node.port());
    c.send_bytes(std::string("\x00\x00\x10\x00\x93\x01", 6));  // then hang up mid-frame
  }
  CHECK(node.wait_for_log("bad frame", 2s));
  CHECK(node.wait_for_log("malformed frame", 2s));
  check_node_still_serves(node);
}

TEST_CASE("integration.hostile.incompatible_version_names_both" * doctest::timeout(30)) {
  ServerProcess node({"-w", "1"}, kSecret);
  RawClient c(node.port());
  auto h = client_hello(pp::proto::random_bytes(pp::proto::kNonceSize));
  h.protocol = 99;
  h.min_protocol = 99;
  c.send(h);
  auto m = c.receive();
  REQUIRE(m.has_value());
  auto* err = std::get_if<pp::proto::Error>(&*m);
  REQUIRE(err != nullptr);
  CHECK(err->message.find("protocol 99") != std::string::npos);
  CHECK(err->message.find("protocol " + std::to_string(pp::proto::kProtocolVersion)) !=
        std::string::npos);
  CHECK(c.closed_by_peer());
  check_node_still_serves(node);
}

TEST_CASE("integration.hostile.no_work_before_authentication" * doctest::timeout(30)) {
  ServerProcess node({"-w", "1"}, kSecret);
  RawClient c(node.port());
  pp::proto::Submit s;
  s.job_id = 1;
  s.hash = std::string(pp::proto::kHashSize, 'h');
  c.send(s);
  CHECK(c.closed_by_peer());
  CHECK(node.wait_for_log("unexpected SUBMIT", 2s));
}

TEST_CASE("integration.hostile.replayed_handshake_is_refused" * doctest::timeout(30)) {
  ServerProcess node({"-w", "1"}, kSecret);
  auto key = pp::proto::derive_key(kSecret);
  std::string nonce = pp::proto::random_bytes(pp::proto::kNonceSize);
  std::string proof;
  {
    RawClient c(node.port());
    c.send(client_hello(nonce));
    auto m = c.receive();
    REQUIRE(m.has_value());
    auto& hello = std::get<pp::proto::Hello>(*m);
    proof = pp::proto::client_proof(key, nonce, hello.nonce);
    c.send(pp::proto::Auth{proof});
    auto ok = c.receive();
    REQUIRE(ok.has_value());
    auto* auth_ok = std::get_if<pp::proto::AuthOk>(&*ok);
    REQUIRE(auth_ok != nullptr);
    CHECK(pp::proto::proof_equal(auth_ok->proof,
                                 pp::proto::server_proof(key, nonce, hello.nonce)));
  }
  RawClient replay(node.port());
  replay.send(client_hello(nonce));
  REQUIRE(replay.receive().has_value());
  replay.send(pp::proto::Auth{proof});  // the node's nonce is fresh: the old proof fails
  auto m = replay.receive();
  REQUIRE(m.has_value());
  auto* err = std::get_if<pp::proto::Error>(&*m);
  REQUIRE(err != nullptr);
  CHECK(err->message.find("authentication failed") != std::string::npos);
  check_node_still_serves(node);
}
