// Writes the seed corpus of the fuzz harnesses (tests/fuzz/corpus/<target>/):
// valid frames, messages, beacons and msgpack values of every kind, made with
// the project's own encoders so they stay in step with the code, plus the edge
// cases each decoder must refuse or take at its limits. Deterministic (fixed
// ids, nonces and sequence numbers), so regenerating changes nothing unless an
// encoder changed:
//   build-fuzz/bin/fuzz_make_corpus tests/fuzz/corpus
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <msgpack.hpp>
#include <string>
#include <vector>

#include "core/discovery/beacon.hpp"
#include "core/lua/convert.hpp"
#include "core/proto/codec.hpp"
#include "core/proto/constants.hpp"
#include "core/proto/messages.hpp"
#include "core/proto/msgpack_util.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

namespace fs = std::filesystem;
using namespace pp::proto;
using pp::discovery::Beacon;
using pp::discovery::BeaconKind;
using namespace std::string_literals;

class Corpus {
 public:
  explicit Corpus(fs::path root) : root_(std::move(root)) {}
  void put(const char* target, const std::string& name, const std::string& bytes) {
    const fs::path dir = root_ / target;
    fs::create_directories(dir);
    std::ofstream(dir / name, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
    ++count_;
  }
  int count() const { return count_; }

 private:
  fs::path root_;
  int count_ = 0;
};

// A string of n bytes cycling through every byte value from `first`.
std::string bytes(size_t n, unsigned first = 0) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((first + i) & 0xff);
  return s;
}

std::string be32(uint32_t n) {
  return {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
          static_cast<char>(n)};
}

// msgpack bytes written by a callback with msgpack-c's packer.
template <typename F>
std::string packed(F&& write) {
  std::string out;
  StringSink sink{out};
  StringPacker pk(sink);
  write(pk);
  return out;
}

// ---- messages ------------------------------------------------------------------------------

struct Named {
  const char* name;
  Message m;
};

std::vector<Named> messages() {
  Hello hello;
  hello.luajit = "LuaJIT 2.1.0-beta3";
  hello.kernel_abi = 1;
  hello.role = "node";
  hello.node_id = "0123456789abcdef";
  hello.host = "node-a";
  hello.workers = 4;
  hello.caps = kOwnCaps;
  hello.nonce = bytes(kNonceSize, 7);
  Hello client = hello;
  client.role = "client";
  client.workers = 0;
  const std::string hash = bytes(kHashSize, 0x40);
  const uint64_t max64 = std::numeric_limits<uint64_t>::max();
  const uint32_t max32 = std::numeric_limits<uint32_t>::max();
  ResultMsg ok{42, JobStatus::kOk, "\x91\x2a", "", "", 1500, 2000, 3};
  ResultMsg failed{
      43, JobStatus::kLuaError, "", "job.lua:3: boom", "stack traceback:\n\t[C]: in ?", 10, 20, 1};
  ResultMsg extreme{max64, JobStatus::kLost, bytes(300), bytes(40, 200), "", max64, max64, max32};
  // With RESULT's optional ninth field: what the job printed.
  ResultMsg printed{44, JobStatus::kOk, "\x91\x2a", "", "", 7, 9, 0, "hello\t21\nno newline"};
  return {
      {"hello_node", hello},
      {"hello_client", client},
      {"auth", Auth{bytes(kProofSize, 1)}},
      {"auth_ok", AuthOk{bytes(kProofSize, 2)}},
      {"error", Error{3, "authentication failed: wrong secret"}},
      {"code", CodeMsg{hash, "\x1bLJ\x02" + bytes(60, 9)}},
      {"submit", Submit{1, hash, "\x93\x01\xa1x\xc0", 0}},
      {"submit_max", Submit{max64, hash, bytes(280, 0x90), max32}},
      {"result_ok", ok},
      {"result_error", failed},
      {"result_extreme", extreme},
      {"result_output", printed},
      {"cancel", Cancel{7}},
      {"steal", Steal{{3, 9, max64}}},
      {"stolen", Stolen{{3}, {9, max64}}},
      {"heartbeat", Heartbeat{}},
      {"bye", Bye{"shutting down"}},
      {"worker_ready", WorkerReady{1234, "LuaJIT 2.1.0-beta3", -1}},
      {"worker_code", WorkerCode{hash, "return function(x) return x * 2 end"}},
      {"worker_run", WorkerRun{99, hash, "\x91\xcb\x40\x09\x21\xfb\x54\x44\x2d\x18"}},
      {"worker_reset", WorkerReset{}},
      {"data", DataMsg{hash, "\x93\x01\x02\x03"}},
      {"data_release", DataRelease{hash}},
      {"worker_data", WorkerData{hash, "\x91\xc3"}},
      {"pause", Pause{true, "paused by SIGUSR1", 1500}},
      {"pause_resumed", Pause{false, "", max64}},
      {"keep_fetch", KeepFetch{hash}},
      {"kept", Kept{hash, "\x93\x01\x02\x03"}},
      {"clients", Clients{{{"desk-7", "10.0.0.7:51234", "0123456789abcdef", 12, 4, 93000},
                           {"", "[::1]:60000", "", 0, max64, 0}}}},
      {"clients_none", Clients{}},
      {"clients_ask", ClientsAsk{}},
      {"keep_late", KeepLate{max64}},
  };
}

std::string frame_of(const Message& m) {
  std::string f;
  encode_frame(m, f);
  return f;
}

std::string payload_of(const Message& m) { return frame_of(m).substr(kHeaderSize); }

void codec_corpus(Corpus& c) {
  for (const auto& [name, m] : messages()) c.put("codec", name, payload_of(m));
  const std::string hash = bytes(kHashSize, 0x40);
  c.put("codec", "edge_empty_array", "\x90");
  c.put("codec", "edge_not_array", "\x01");
  c.put("codec", "edge_unknown_type",
        packed([](StringPacker& pk) { pk.pack_array(1), pk.pack(99); }));
  c.put("codec", "edge_trailing", payload_of(Heartbeat{}) + "\xc0");
  c.put("codec", "edge_extra_field",
        packed([](StringPacker& pk) { pk.pack_array(3), pk.pack(13), pk.pack(1), pk.pack(2); }));
  c.put("codec", "edge_missing_field",
        packed([](StringPacker& pk) { pk.pack_array(1), pk.pack(13); }));
  c.put("codec", "edge_negative_id",
        packed([](StringPacker& pk) { pk.pack_array(2), pk.pack(13), pk.pack(-1); }));
  c.put("codec", "edge_short_hash", packed([&](StringPacker& pk) {
          pk.pack_array(3), pk.pack(10), pk.pack_bin(3), pk.pack_bin_body("abc", 3);
          pk.pack_bin(0);
        }));
  c.put("codec", "edge_status_out_of_range", packed([](StringPacker& pk) {
          pk.pack_array(9), pk.pack(12), pk.pack(1), pk.pack(200), pk.pack_bin(0);
          pk.pack_str(0), pk.pack_str(0), pk.pack(0), pk.pack(0), pk.pack(0);
        }));
  // HELLO with an unknown key (skipped) and a nested value where a string belongs.
  c.put("codec", "edge_hello_unknown_key", packed([](StringPacker& pk) {
          pk.pack_array(2), pk.pack(1), pk.pack_map(2);
          pk.pack("future"), pk.pack_array(1), pk.pack_map(0);
          pk.pack("nonce"), pk.pack_bin(kNonceSize),
              pk.pack_bin_body(bytes(kNonceSize).data(), kNonceSize);
        }));
  // Deeper than the codec's nesting limit, and a length that claims far more than is there.
  c.put("codec", "edge_deep", std::string(8, '\x91') + "\xc0");
  c.put("codec", "edge_huge_claim", "\x92\x0b\xdd\xff\xff\xff\xff");
  c.put("codec", "edge_huge_str", "\x92\x10\xdb\x7f\xff\xff\xff");
}

void frame_corpus(Corpus& c) {
  std::string all;
  for (const auto& [name, m] : messages()) {
    c.put("frame_reader", name, frame_of(m));
    all += frame_of(m);
  }
  c.put("frame_reader", "stream_all_types", all);
  // A handshake, then a frame over the handshake limit (allowed once the limit is raised).
  std::string session = frame_of(messages()[1].m) + frame_of(Auth{bytes(kProofSize, 1)});
  session += frame_of(CodeMsg{bytes(kHashSize), bytes(kMaxHandshakeFrame + 100)});
  c.put("frame_reader", "stream_session", session);
  c.put("frame_reader", "edge_oversized_handshake",
        frame_of(CodeMsg{bytes(kHashSize), bytes(kMaxHandshakeFrame + 100)}));
  c.put("frame_reader", "edge_empty_frame", be32(0));
  c.put("frame_reader", "edge_after_frame_empty", frame_of(Heartbeat{}) + be32(0));
  c.put("frame_reader", "edge_over_limit",
        be32(static_cast<uint32_t>(kDefaultMaxFrame) + 1) + "xx");
  c.put("frame_reader", "edge_max_length", be32(0xffffffff));
  c.put("frame_reader", "edge_short_header", "\x00\x00\x01"s);
  c.put("frame_reader", "edge_truncated", frame_of(Bye{"truncated"}).substr(0, 9));
  c.put("frame_reader", "edge_one_byte_frames", be32(1) + "a" + be32(1) + "b" + be32(1));
}

// ---- beacons -------------------------------------------------------------------------------

Beacon announce() {
  Beacon b;
  b.seq = 17;
  auto& f = b.facts;
  f.cluster_id = std::string(pp::fuzz::kClusterId);
  f.node_id = "0123456789abcdef";
  f.host = "node-a";
  f.port = kDefaultPort;
  f.workers = 4;
  f.speed = 1.25;
  f.load = 0.5;
  f.software = kSoftwareVersion;
  f.protocol = kProtocolVersion;
  f.min_protocol = kMinProtocolVersion;
  f.kernel_abi = 1;
  f.luajit = "LuaJIT 2.1.0-beta3";
  f.kernels = {"dot", "axpy", "mandel"};
  f.caps = kOwnCaps;
  f.max_frame = kDefaultMaxFrame;
  return b;
}

// The body inside an encoded beacon: [bin body, bin mac].
std::string body_of(const std::string& datagram) {
  msgpack::object_handle oh = msgpack::unpack(datagram.data(), datagram.size());
  const msgpack::object& body = oh.get().via.array.ptr[0];
  return std::string(body.via.bin.ptr, body.via.bin.size);
}

void beacon_corpus(Corpus& c) {
  const pp::proto::AuthKey key = pp::discovery::beacon_key(pp::fuzz::kBeaconSecret);
  Beacon query;
  query.kind = BeaconKind::kQuery;
  query.seq = 1;
  query.facts.cluster_id = std::string(pp::fuzz::kClusterId);
  query.facts.node_id = "client-1";
  Beacon bye = announce();
  bye.kind = BeaconKind::kBye;
  bye.seq = 18;
  Beacon foreign = announce();
  foreign.facts.cluster_id = "another-cluster";
  Beacon odd = announce();
  odd.facts.speed = -0.0;
  odd.facts.load = std::numeric_limits<double>::infinity();
  odd.facts.kernels.clear();
  odd.facts.host = bytes(40);
  odd.seq = std::numeric_limits<uint64_t>::max();
  odd.facts.kernel_abi = std::numeric_limits<int32_t>::min();
  odd.facts.caps = std::numeric_limits<uint32_t>::max();
  odd.facts.max_frame = std::numeric_limits<uint64_t>::max();
  Beacon loaded = announce();   // own and other load apart, paused
  loaded.facts.load_own = 3.75;
  loaded.facts.load_other = 0.5;
  loaded.facts.paused = true;
  Beacon full = announce();
  for (int i = 0; i < 24; ++i) full.facts.kernels.push_back("kernel_" + std::to_string(i));

  const std::pair<const char*, Beacon> beacons[] = {
      {"announce", announce()},     {"query", query},    {"bye", bye},
      {"foreign_cluster", foreign}, {"odd_values", odd}, {"many_kernels", full},
      {"loads_paused", loaded}};
  for (const auto& [name, b] : beacons) {
    const std::string datagram = pp::discovery::encode_beacon(b, key);
    c.put("beacon", std::string("datagram_") + name, datagram);
    c.put("beacon", std::string("body_") + name, body_of(datagram));
  }
  std::string forged = pp::discovery::encode_beacon(announce(), key);
  forged.back() = static_cast<char>(forged.back() ^ 1);
  c.put("beacon", "edge_forged_mac", forged);
  c.put("beacon", "edge_other_key",
        pp::discovery::encode_beacon(announce(), pp::discovery::beacon_key("another secret")));
  c.put("beacon", "edge_not_array", "\x81\xa1v\x01");
  c.put("beacon", "edge_short_array", "\x91\xc4\x00"s);
  // Bodies that are valid msgpack but not valid beacons (with a good MAC they pass the check).
  c.put("beacon", "edge_body_no_magic",
        packed([](StringPacker& pk) { pk.pack_map(1), pk.pack("id"), pk.pack("x"); }));
  c.put("beacon", "edge_body_bad_kind", packed([](StringPacker& pk) {
          pk.pack_map(3), pk.pack("magic"), pk.pack(pp::discovery::kBeaconMagic);
          pk.pack("id"), pk.pack("x"), pk.pack("kind"), pk.pack(9);
        }));
  c.put("beacon", "edge_body_wrong_types", packed([](StringPacker& pk) {
          pk.pack_map(4), pk.pack("magic"), pk.pack(pp::discovery::kBeaconMagic);
          pk.pack("port"), pk.pack(70000), pk.pack("speed"), pk.pack("fast");
          pk.pack("kernels"), pk.pack_map(0);
        }));
  c.put("beacon", "edge_body_not_map", "\x93\x01\x02\x03");
}

// ---- msgpack for Lua -----------------------------------------------------------------------

void lua_corpus(Corpus& c) {
  auto put = [&](const char* name, const std::string& b) { c.put("lua_convert", name, b); };
  put("nil", "\xc0");
  put("booleans", "\x92\xc2\xc3");
  put("ints_every_width", packed([](StringPacker& pk) {
        pk.pack_array(12);
        pk.pack(0), pk.pack(127), pk.pack(-32), pk.pack(200), pk.pack(-100), pk.pack(60000);
        pk.pack(-30000), pk.pack(4000000000u), pk.pack(-2000000000), pk.pack(uint64_t{1} << 53);
        pk.pack(std::numeric_limits<uint64_t>::max()), pk.pack(std::numeric_limits<int64_t>::min());
      }));
  // 64-bit ints a double cannot hold (they decode to int64_t / uint64_t cdata; as a map
  // key, to the nearest number).
  put("ints_beyond_double", packed([](StringPacker& pk) {
        pk.pack_array(4);
        pk.pack((uint64_t{1} << 53) + 1), pk.pack(-(int64_t{1} << 53) - 1);
        pk.pack(std::numeric_limits<uint64_t>::max() - 1);
        pk.pack_map(1), pk.pack((uint64_t{1} << 62) + 1), pk.pack(true);
      }));
  // Non-minimal integer forms (a valid encoding msgpack-c never writes).
  put("ints_wide_forms",
      "\x94\xcc\x01\xcd\x00\x02\xce\x00\x00\x00\x03\xd3\xff\xff\xff\xff\xff\xff\xff\xff"s);
  put("floats", packed([](StringPacker& pk) {
        pk.pack_array(7);
        pk.pack(3.141592653589793), pk.pack(-0.0), pk.pack(0.5f), pk.pack(1e308);
        pk.pack(std::numeric_limits<double>::infinity()), pk.pack(std::nan(""));
        pk.pack(2.0);
      }));
  put("strings", packed([](StringPacker& pk) {
        pk.pack_array(4);
        pk.pack(""), pk.pack("hello"), pk.pack(bytes(40, 'a')), pk.pack(bytes(300));
      }));
  put("bin", packed([](StringPacker& pk) {
        pk.pack_bin(5), pk.pack_bin_body("\x00\x01\x02\x03\x04", 5);
      }));
  put("job_args", packed([](StringPacker& pk) {
        pk.pack_array(3);
        pk.pack(1000000);
        pk.pack_map(2), pk.pack("seed"), pk.pack(42), pk.pack("name"), pk.pack("pi");
        pk.pack_array(3), pk.pack(1.5), pk.pack(2.5), pk.pack(3.5);
      }));
  put("map_mixed_keys", packed([](StringPacker& pk) {
        pk.pack_map(5);
        pk.pack("x"), pk.pack(1), pk.pack(1), pk.pack("one"), pk.pack(true), pk.pack("yes");
        pk.pack(2.5), pk.pack_array(0), pk.pack(-7), pk.pack_map(0);
      }));
  put("array_with_nils", "\x94\x01\xc0\xc0\x04");
  put("map_nil_value",
      "\x82\xa1"
      "a\xc0\xa1"
      "b\x01");
  put("array16", "\xdc\x00\x03\x01\x02\x03"s);
  put("map16", "\xde\x00\x01\xa1k\xa1v"s);
  put("str8_16_32", "\x93\xd9\x01x\xda\x00\x01y\xdb\x00\x00\x00\x01z"s);
  std::string deep_ok(pp::lua::kMaxDepth, '\x91');
  put("depth_at_limit", deep_ok + "\xc0");
  put("depth_over_limit", deep_ok + "\x91\xc0");
  put("edge_nil_key", "\x81\xc0\x01");
  put("edge_nan_key", "\x81\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00\x01"s);
  put("edge_container_key", "\x81\x90\x01");
  put("edge_ext", "\xd4\x01\x00"s);
  put("edge_reserved_c1", "\xc1");
  put("edge_trailing", "\x01\x02");
  put("edge_truncated_str",
      "\xa5"
      "abc");
  put("edge_huge_array", "\xdd\xff\xff\xff\xff\x00"s);
  put("edge_huge_map", "\xdf\x7f\xff\xff\xff\x00\x00"s);
  put("edge_huge_str", "\xdb\xff\xff\xff\xff");
  put("edge_empty", "");
  // As many values as LuaJIT's C stack limit (LUAI_MAXCSTACK, 8000): push() takes it as one
  // table, push_array_elements() must refuse it cleanly.
  put("edge_stack_limit", "\xdc\x1f\x40"s + std::string(8000, '\xc0'));
  // Thousands of elements on the stack and one nested deep at the end: whatever compares
  // or packs it must leave room for the nesting on top of the elements.
  put("edge_deep_after_many", "\xdc\x0f\x78"s + std::string(3959, '\xc0') +
                                  std::string(60, '\x91') + "\x01");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  Corpus c{fs::path(argv[1])};
  frame_corpus(c);
  codec_corpus(c);
  beacon_corpus(c);
  lua_corpus(c);
  std::printf("wrote %d seed files under %s\n", c.count(), argv[1]);
  return 0;
}
