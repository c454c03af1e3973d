// FrameCipher and the session keys: sealed frames open only once, in order, under the
// right key, unaltered; the encryption flag changes the handshake proofs.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/proto/auth.hpp"
#include "core/proto/codec.hpp"
#include "core/proto/frame_cipher.hpp"
#include "core/proto/frame_reader.hpp"

using namespace pp::proto;
using namespace std::string_literals;

namespace {

struct Pair {
  AuthKey key = derive_key("cipher-test-secret");
  std::string nc = std::string(kNonceSize, 'c');
  std::string ns = std::string(kNonceSize, 's');
  SessionKeys keys = session_keys(key, nc, ns);
  FrameCipher client{keys.client_to_node, keys.node_to_client};
  FrameCipher node{keys.node_to_client, keys.client_to_node};
};

// The payload of the single frame in `bytes` (checks the header).
std::string payload_of_frame(const std::string& bytes) {
  FrameReader r(1u << 30);
  r.feed(bytes);
  auto f = r.next();
  REQUIRE(f.state == FrameReader::kComplete);
  std::string p(f.payload);
  CHECK(r.next().state == FrameReader::kNeedMore);
  return p;
}

}  // namespace

TEST_CASE("proto.cipher.round_trip_both_ways_many_frames") {
  Pair p;
  std::vector<std::string> sent = {""s, "x"s, std::string(70000, '\0'), "hello\0world"s};
  for (int i = 0; i < 200; ++i) sent.push_back(std::string(static_cast<size_t>(i), char(i)));
  for (const auto& m : sent) {
    std::string wire;
    p.client.seal(m, wire);
    std::string sealed = payload_of_frame(wire);
    CHECK(sealed.size() == m.size() + FrameCipher::kOverhead);
    if (m.size() >= 16) CHECK(sealed.find(m) == std::string::npos);  // not in the clear
    auto opened = p.node.open(sealed);
    REQUIRE(opened.has_value());
    CHECK(std::string(*opened) == m);
    std::string back;
    p.node.seal(m, back);
    auto echoed = p.client.open(payload_of_frame(back));
    REQUIRE(echoed.has_value());
    CHECK(std::string(*echoed) == m);
  }
}

TEST_CASE("proto.cipher.whole_messages_through_the_codec") {
  Pair p;
  std::string plain;
  encode_frame(Submit{.job_id = 42, .hash = std::string(kHashSize, 'h'), .args = "\x91\x07"s},
               plain);
  std::string wire;
  p.client.seal(std::string_view(plain).substr(kHeaderSize), wire);
  auto opened = p.node.open(payload_of_frame(wire));
  REQUIRE(opened.has_value());
  auto msg = decode_message(*opened);
  REQUIRE(msg.has_value());
  CHECK(std::get<Submit>(*msg).job_id == 42);
}

TEST_CASE("proto.cipher.altered_frame_fails_and_says_so") {
  Pair p;
  std::string wire;
  p.client.seal("run this job", wire);
  std::string sealed = payload_of_frame(wire);
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    Pair fresh;  // same keys, counter at 0
    auto r = fresh.node.open(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.status().message().find("failed its check") != std::string::npos);
  }
  CHECK_FALSE(p.node.open(sealed.substr(0, sealed.size() - 1)).has_value());
  CHECK_FALSE(Pair{}.node.open("short").has_value());
  CHECK(Pair{}.node.open(sealed).has_value());  // the original still opens
}

TEST_CASE("proto.cipher.replayed_reordered_or_reflected_frames_fail") {
  Pair p;
  std::string w1, w2;
  p.client.seal("first", w1);
  p.client.seal("second", w2);
  std::string f1 = payload_of_frame(w1), f2 = payload_of_frame(w2);
  {
    Pair q;
    CHECK_FALSE(q.node.open(f2).has_value());  // second before first
  }
  REQUIRE(p.node.open(f1).has_value());
  CHECK_FALSE(p.node.open(f1).has_value());     // replayed
  // A frame sent back to its sender does not open either (keys per direction).
  Pair r;
  std::string w;
  r.client.seal("to the node", w);
  CHECK_FALSE(r.client.open(payload_of_frame(w)).has_value());
}

TEST_CASE("proto.cipher.keys_are_per_connection_and_per_direction") {
  AuthKey k = derive_key("s");
  std::string a(kNonceSize, 'a'), b(kNonceSize, 'b');
  SessionKeys k1 = session_keys(k, a, b);
  SessionKeys k2 = session_keys(k, b, a);
  SessionKeys k3 = session_keys(derive_key("other"), a, b);
  CHECK(k1.client_to_node.size() == 32);
  CHECK(k1.client_to_node != k1.node_to_client);
  CHECK(k1.client_to_node != k2.client_to_node);
  CHECK(k1.client_to_node != k3.client_to_node);
  CHECK(session_keys(k, a, b).client_to_node == k1.client_to_node);  // both ends agree
  // Nothing sealed under one connection's keys opens under another's.
  FrameCipher one(k1.client_to_node, k1.node_to_client);
  FrameCipher two(k3.node_to_client, k3.client_to_node);
  std::string w;
  one.seal("x", w);
  CHECK_FALSE(two.open(payload_of_frame(w)).has_value());
}

TEST_CASE("proto.cipher.encryption_flag_changes_the_proofs") {
  AuthKey k = derive_key("s");
  std::string a(kNonceSize, 'a'), b(kNonceSize, 'b');
  CHECK(client_proof(k, a, b, true) != client_proof(k, a, b, false));
  CHECK(server_proof(k, a, b, true) != server_proof(k, a, b, false));
  CHECK(client_proof(k, a, b) == client_proof(k, a, b, false));
  CHECK(client_proof(k, a, b, true) != server_proof(k, a, b, true));
}

// Sealing where the frame was encoded (FrameStream's path) gives the same bytes as
// seal() into a fresh buffer, leaves the frames before it alone, and opens in place.
TEST_CASE("proto.cipher.sealed_and_opened_in_place") {
  Pair a, b;   // same keys: a seals in place, b the old way
  std::string buf = "earlier frames";
  std::string big(300000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  for (const std::string& m : {std::string("small"), big}) {
    size_t start = buf.size();
    buf.append(kHeaderSize, '\0');
    buf += m;
    a.client.seal_frame(buf, start);
    std::string twin;
    b.client.seal(m, twin);
    CHECK(buf.substr(start) == twin);
  }
  CHECK(buf.substr(0, 14) == "earlier frames");
  FrameReader r(1u << 30);
  r.feed(std::string_view(buf).substr(14));
  for (const std::string& m : {std::string("small"), big}) {
    auto f = r.next();
    REQUIRE(f.state == FrameReader::kComplete);
    auto opened = a.node.open_in_place(f.bytes);
    REQUIRE(opened.has_value());
    CHECK(opened->data() == f.bytes.data());   // where it was received
    CHECK(*opened == m);
  }
  std::string wire;
  a.client.seal(big, wire);
  wire[kHeaderSize + 1000] ^= 1;
  std::string sealed = payload_of_frame(wire);
  auto bad = a.node.open_in_place(std::span<char>(sealed.data(), sealed.size()));
  REQUIRE(!bad.has_value());
  CHECK(bad.status().code() == pp::StatusCode::kAuth);
}
