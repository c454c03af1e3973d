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
