// Tests of FrameStream over a real Unix socketpair: a burst of frames whose large byte fields
// are spliced (a message given by value, arguments held by the caller and let go at once) and
// small ones copied, all arriving whole, in order and byte for byte; the same sealed with a
// FrameCipher on each side (encoded once, sealed and opened in place).
#include "core/net/frame_stream.hpp"

#include <doctest/doctest.h>

#include <asio.hpp>
#include <memory>
#include <string>
#include <vector>

#include "core/proto/auth.hpp"
#include "core/proto/codec.hpp"
#include "core/proto/frame_cipher.hpp"

namespace {

using Socket = asio::local::stream_protocol::socket;
using Stream = pp::net::FrameStream<Socket>;
using namespace pp::proto;

std::string pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed) >> 3);
  return s;
}

// Sends a burst through one end and returns the messages the other end received; with
// `divert`, the receiver reads a RESULT's large value apart (counted in `diverted`).
std::vector<Message> burst(bool encrypt, bool divert = false, int* diverted = nullptr) {
  asio::io_context io;
  Socket a(io), b(io);
  asio::local::connect_pair(a, b);
  auto tx = std::make_shared<Stream>(std::move(a), 64u << 20);
  auto rx = std::make_shared<Stream>(std::move(b), 64u << 20);
  if (encrypt) {
    auto keys = session_keys(derive_key("net-test"), std::string(kNonceSize, 'c'),
                             std::string(kNonceSize, 'n'));
    tx->encrypt(std::make_unique<FrameCipher>(keys.client_to_node, keys.node_to_client));
    rx->encrypt(std::make_unique<FrameCipher>(keys.node_to_client, keys.client_to_node));
  }
  std::vector<Message> got;
  std::string closed;
  tx->start([](std::string_view) {}, [](const std::string&) {});
  rx->start(
      [&](std::string_view p) {
        auto m = decode_message(p);
        REQUIRE(m.has_value());
        got.push_back(std::move(*m));
        if (got.size() == 6) rx->close("done");
      },
      [&](const std::string& why) { closed = why; });
  if (divert) {
    rx->divert_fields(&locate_result_value, [&](std::string_view p, std::string&& field) {
      auto m = decode_message(p, std::move(field));
      REQUIRE(m.has_value());
      got.push_back(std::move(*m));
      ++*diverted;
    });
  }

  const std::string hash(kHashSize, 'h');
  tx->send(Heartbeat{});
  ResultMsg result;
  result.job_id = 1;
  result.value = pattern(3u << 20, 1);
  result.worker = 2;
  tx->send(Message(std::move(result)));
  {
    auto args = std::make_shared<const std::string>(pattern(2u << 20, 2));
    tx->send_encoded([&](FrameOut out) { encode_worker_run(5, hash, *args, out); }, args);
  }   // the stream alone holds the arguments now
  const std::string copied = pattern(1u << 20, 3);
  tx->send_encoded([&](FrameOut out) { encode_submit(6, hash, copied, 7, out); }, nullptr);
  tx->send(Submit{.job_id = 8, .hash = hash, .args = pattern(100, 4)});
  tx->send(Bye{"end"});
  CHECK(tx->pending_bytes() > (6u << 20));
  io.run();
  CHECK(closed == "done");
  return got;
}

void check_burst(const std::vector<Message>& got) {
  REQUIRE(got.size() == 6);
  CHECK(std::holds_alternative<Heartbeat>(got[0]));
  const auto& r = std::get<ResultMsg>(got[1]);
  CHECK(r.job_id == 1);
  CHECK(r.worker == 2);
  CHECK(r.value == pattern(3u << 20, 1));
  const auto& w = std::get<WorkerRun>(got[2]);
  CHECK(w.key == 5);
  CHECK(w.args == pattern(2u << 20, 2));
  const auto& s = std::get<Submit>(got[3]);
  CHECK(s.job_id == 6);
  CHECK(s.timeout_ms == 7);
  CHECK(s.args == pattern(1u << 20, 3));
  CHECK(std::get<Submit>(got[4]).args == pattern(100, 4));
  CHECK(std::get<Bye>(got[5]).reason == "end");
}

TEST_CASE("net.frame_stream.large_fields_spliced_arrive_whole_and_in_order") {
  check_burst(burst(false));
}

TEST_CASE("net.frame_stream.sealed_in_place_arrive_whole_and_in_order") {
  check_burst(burst(true));
}

}  // namespace

TEST_CASE("net.frame_stream.large_value_read_apart_arrives_whole_and_in_order") {
  int diverted = 0;
  check_burst(burst(false, true, &diverted));
  CHECK(diverted == 1);   // the RESULT's 3 MiB value; the other large fields are not values
}

TEST_CASE("net.frame_stream.sealed_frames_are_never_read_apart") {
  int diverted = 0;
  check_burst(burst(true, true, &diverted));
  CHECK(diverted == 0);
}

namespace {

// Sends `count` SUBMITs whose arguments of `size` bytes are spliced, all in one turn of the
// event loop, and returns what the other end decoded (its arguments read apart with the
// node's locator when `divert`).
std::vector<Submit> many_spliced(int count, size_t size, bool divert) {
  asio::io_context io;
  Socket a(io), b(io);
  asio::local::connect_pair(a, b);
  auto tx = std::make_shared<Stream>(std::move(a), 64u << 20);
  auto rx = std::make_shared<Stream>(std::move(b), 64u << 20);
  std::vector<Submit> got;
  auto take = [&](pp::Result<Message> m) {
    REQUIRE(m.has_value());
    got.push_back(std::get<Submit>(std::move(*m)));
    if (got.size() == static_cast<size_t>(count)) rx->close("done");
  };
  tx->start([](std::string_view) {}, [](const std::string&) {});
  rx->start([&](std::string_view p) { take(decode_message(p)); }, [](const std::string&) {});
  if (divert) {
    rx->divert_fields(&locate_submit_args, [&](std::string_view p, std::string&& field) {
      take(decode_message(p, std::move(field)));
    });
  }
  const std::string hash(kHashSize, 'h');
  for (int i = 0; i < count; ++i) {
    auto args = std::make_shared<const std::string>(pattern(size, static_cast<unsigned>(i)));
    tx->send_encoded([&](FrameOut out) { encode_submit(static_cast<uint64_t>(i), hash, *args, 0, out); },
                     args);
  }
  io.run();
  return got;
}

}  // namespace

// One flush of more pieces than one write system call takes (two per spliced field; a
// write takes 64), and more bytes than the socket buffers: the first write goes at once,
// the rest asynchronously, all in order and byte for byte, read apart or not.
TEST_CASE("net.frame_stream.a_flush_larger_than_one_write_arrives_whole_and_in_order") {
  for (bool divert : {false, true}) {
    const int count = 80;
    const size_t size = 70000;
    auto got = many_spliced(count, size, divert);
    REQUIRE(got.size() == static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
      CHECK(got[i].job_id == static_cast<uint64_t>(i));
      CHECK(got[i].args == pattern(size, static_cast<unsigned>(i)));
    }
  }
}

// A write the peer can no longer take (it has gone) fails at once, and the stream closes
// once, saying why.
TEST_CASE("net.frame_stream.write_to_a_peer_that_has_gone_closes_once") {
  asio::io_context io;
  Socket a(io), b(io);
  asio::local::connect_pair(a, b);
  auto tx = std::make_shared<Stream>(std::move(a), 64u << 20);
  b.close();
  int closes = 0;
  std::string why;
  tx->start([](std::string_view) {},
            [&](const std::string& reason) {
              ++closes;
              why = reason;
            });
  tx->send(Heartbeat{});
  tx->send(Bye{"end"});
  io.run();
  CHECK(closes == 1);
  CHECK_FALSE(tx->is_open());
  CHECK((why.find("write failed") == 0 || why == "connection closed by peer"));
}
