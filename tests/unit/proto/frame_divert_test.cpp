// Tests of FrameReader's diverting with codec's locators (a RESULT's value, a SUBMIT's
// arguments, read into a string of their own): every message comes out equal to what was sent
// however the bytes arrive, only large fields of the located kind are read apart, and a header
// that lies about its field is never trusted.
#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/proto/codec.hpp"
#include "core/proto/constants.hpp"
#include "core/proto/frame_reader.hpp"

namespace pp::proto {
using namespace std::string_literals;
namespace {

std::string pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7 + i / 4096) & 0xff);
  return s;
}

ResultMsg result(uint64_t id, size_t value_size, unsigned seed) {
  ResultMsg r;
  r.job_id = id;
  r.status = value_size % 2 ? JobStatus::kLuaError : JobStatus::kOk;
  r.value = pattern(value_size, seed);
  r.error = value_size % 2 ? "boom " + std::to_string(seed) : "";
  r.traceback = value_size % 2 ? "stack traceback:\n\t[C]: in ?" : "";
  r.cpu_us = 1000 + id;
  r.wall_us = 2000 + id;
  r.worker = static_cast<uint32_t>(seed);
  return r;
}

Submit submit(uint64_t id, size_t args_size, unsigned seed) {
  Submit s;
  s.job_id = id;
  s.hash = std::string(kHashSize, static_cast<char>('a' + seed % 26));
  s.args = pattern(args_size, seed);
  s.timeout_ms = seed;
  return s;
}

// Around the threshold and well above it; job ids of every integer width.
std::vector<Message> messages() {
  std::vector<Message> ms;
  const size_t sizes[] = {0,
                          100,
                          FrameReader::kMinDivert - 1,
                          FrameReader::kMinDivert,
                          FrameReader::kMinDivert + 1,
                          300001,
                          (2u << 20) + 3};
  const uint64_t ids[] = {1, 200, 70000, 5000000000ULL};
  unsigned seed = 0;
  for (size_t n : sizes) {
    ms.push_back(result(ids[seed % 4], n, seed));
    ++seed;
  }
  ms.push_back(Heartbeat{});
  ms.push_back(submit(9, 200000, 99));
  ms.push_back(result(3, 1u << 20, 77));
  ResultMsg printed = result(4, 300000, 78);   // a ninth field (output) after the value
  printed.output = "line one\nline two\n";
  ms.push_back(printed);
  for (size_t n : {size_t{100}, FrameReader::kMinDivert - 1, FrameReader::kMinDivert,
                   size_t{(2u << 20) + 1}}) {
    ms.push_back(submit(5000000000ULL + n, n, static_cast<unsigned>(n)));
  }
  return ms;
}

struct Out {
  std::vector<Message> got;
  size_t diverted = 0;
};

// Feeds `stream` in chunks from `next_chunk` and decodes every frame the reader gives.
template <typename Chunks>
Out read_all(const std::string& stream, Chunks next_chunk, LocateField locate = &locate_result_value) {
  FrameReader r(64u << 20);
  r.divert(locate);
  Out out;
  size_t pos = 0;
  while (pos < stream.size()) {
    size_t n = std::min(next_chunk(), stream.size() - pos);
    r.feed(std::string_view(stream).substr(pos, n));
    pos += n;
    for (;;) {
      auto f = r.next();
      REQUIRE(f.state != FrameReader::kBad);
      if (f.state == FrameReader::kNeedMore) break;
      auto m =
          f.diverted ? decode_message(f.payload, std::move(f.field)) : decode_message(f.payload);
      REQUIRE(m.has_value());
      out.diverted += f.diverted ? 1 : 0;
      out.got.push_back(std::move(*m));
    }
  }
  CHECK(r.buffered() == 0);
  return out;
}

std::string frames_of(const std::vector<Message>& ms) {
  std::string s;
  for (const auto& m : ms) encode_frame(m, s);
  return s;
}

void check_same(const std::vector<Message>& got, const std::vector<Message>& sent) {
  REQUIRE(got.size() == sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    std::string a, b;
    encode_frame(got[i], a);
    encode_frame(sent[i], b);
    CHECK_MESSAGE(a == b, "message " << i);
  }
}

}  // namespace

TEST_CASE("proto.frame_divert.large_values_read_apart_in_any_chunking") {
  const auto sent = messages();
  const std::string stream = frames_of(sent);
  // Large values that arrive in pieces smaller than they are read apart: the six RESULTs of
  // kMinDivert or more (one with output after its value). (With larger pieces, a frame that
  // comes whole is handed over as it lies.) The node's session reads the three SUBMITs'
  // arguments of kMinDivert or more apart instead.
  for (size_t chunk : {size_t{4096}, size_t{7}, size_t{1} << 16, size_t{1000003}}) {
    Out out = read_all(stream, [&] { return chunk; });
    check_same(out.got, sent);
    if (chunk <= 4096) CHECK(out.diverted == 6);
    if (chunk > 4096) CHECK(out.diverted >= 1);
    Out args = read_all(stream, [&] { return chunk; }, &locate_submit_args);
    check_same(args.got, sent);
    if (chunk <= 4096) CHECK(args.diverted == 3);
  }
  std::mt19937 rng(11);
  for (int round = 0; round < 5; ++round) {
    Out out = read_all(stream, [&] { return size_t{1} + rng() % 200000; });
    check_same(out.got, sent);
  }
  // All at once: complete frames are handed over as they lie (nothing to divert).
  Out whole = read_all(stream, [&] { return stream.size(); });
  check_same(whole.got, sent);
  CHECK(whole.diverted == 0);
  // Without diverting, the same messages.
  check_same(read_all(stream, [] { return size_t{65536}; }, nullptr).got, sent);
}

TEST_CASE("proto.frame_divert.split_at_every_point_of_the_prefix") {
  // The first piece ends at every point of the header and the field's prefix; then pieces
  // of 13 bytes up to 200, then the rest at once.
  for (LocateField locate : {&locate_result_value, &locate_submit_args}) {
    const std::vector<Message> sent = {
        locate == &locate_result_value
            ? Message(result(5000000000ULL, FrameReader::kMinDivert + 10, 3))
            : Message(submit(5000000000ULL, FrameReader::kMinDivert + 10, 4)),
        Heartbeat{}};
    const std::string stream = frames_of(sent);
    for (size_t cut = 1; cut < 80; ++cut) {
      size_t fed = 0;
      Out out = read_all(
          stream,
          [&] {
            size_t n = fed == 0 ? cut : fed < 200 ? 13 : stream.size();
            fed += n;
            return n;
          },
          locate);
      check_same(out.got, sent);
      CHECK(out.diverted == 1);
    }
  }
}

TEST_CASE("proto.frame_divert.locator_finds_only_a_result_value") {
  std::string f;
  encode_frame(result(70000, 1u << 20, 1), f);
  LargeField v = locate_result_value(std::string_view(f).substr(kHeaderSize, 32));
  CHECK(v.size == (1u << 20));
  CHECK(v.header == 5);
  CHECK(f.substr(kHeaderSize + v.at, 16) == pattern(1u << 20, 1).substr(0, 16));
  // Too few bytes, another type, a value in a str, a status that is not an integer: none.
  CHECK(locate_result_value(std::string_view(f).substr(kHeaderSize, 8)).size == 0);
  std::string g;
  encode_frame(Submit{1, std::string(kHashSize, 'h'), std::string(1u << 17, 'a'), 0}, g);
  CHECK(locate_result_value(std::string_view(g).substr(kHeaderSize, 32)).size == 0);
  std::string h = "\x99\x0c\x01\x00\xdb\x00\x10\x00\x00";
  CHECK(locate_result_value(h).size == 0);
  h = "\x99\x0c\x01\xc0\xc6\x00\x10\x00\x00";
  CHECK(locate_result_value(h).size == 0);
  // A field put back into anything but an empty RESULT value is refused.
  std::string hb;
  encode_frame(Heartbeat{}, hb);
  CHECK_FALSE(decode_message(std::string_view(hb).substr(kHeaderSize), "x").has_value());
  std::string small;
  encode_frame(result(1, 10, 1), small);
  CHECK_FALSE(decode_message(std::string_view(small).substr(kHeaderSize), "x").has_value());
}

TEST_CASE("proto.frame_divert.locator_finds_only_submit_arguments") {
  std::string f;
  encode_frame(submit(5000000000ULL, 1u << 20, 4), f);
  const std::string_view payload = std::string_view(f).substr(kHeaderSize);
  LargeField a = locate_submit_args(payload.substr(0, FrameReader::kLocateBytes));
  CHECK(a.size == (1u << 20));
  CHECK(a.header == 5);
  CHECK(f.substr(kHeaderSize + a.at, 16) == pattern(1u << 20, 4).substr(0, 16));
  // The prefix cut before the arguments' header is whole, a RESULT, small arguments (bin8,
  // bin16), a hash that is not a bin8: none.
  CHECK(locate_submit_args(payload.substr(0, a.at - 1)).size == 0);
  std::string r;
  encode_frame(result(1, 1u << 20, 1), r);
  CHECK(locate_submit_args(std::string_view(r).substr(kHeaderSize, 48)).size == 0);
  CHECK(locate_result_value(payload.substr(0, 48)).size == 0);
  for (size_t n : {size_t{100}, size_t{60000}}) {
    std::string g;
    encode_frame(submit(1, n, 1), g);
    CHECK(locate_submit_args(std::string_view(g).substr(kHeaderSize, 48)).size == 0);
  }
  std::string h = "\x96\x0b\x01\xd9\x10"s + std::string(16, 'h') + "\xc6\x00\x10\x00\x00"s;
  CHECK(locate_submit_args(h).size == 0);
  // A SUBMIT with a field appended by a later version: its arguments are where they were.
  h = "\x97\x0b\x01\xc4\x10"s + std::string(16, 'h') + "\xc6\x00\x10\x00\x00"s;
  CHECK(locate_submit_args(h).size == (1u << 20));
  // A field put back into SUBMIT arguments that were not left empty is refused; into empty
  // ones it is moved there.
  std::string small;
  encode_frame(submit(2, 10, 1), small);
  CHECK_FALSE(decode_message(std::string_view(small).substr(kHeaderSize), "x").has_value());
  std::string empty;
  encode_frame(submit(2, 0, 1), empty);
  auto m = decode_message(std::string_view(empty).substr(kHeaderSize), "args");
  REQUIRE(m.has_value());
  CHECK(std::get<Submit>(*m).args == "args");
}

TEST_CASE("proto.frame_divert.lying_field_headers_are_not_trusted") {
  // A RESULT or SUBMIT frame whose large field's header claims more than the frame holds,
  // or more than a frame under way may take ahead: never read apart; the frame is bad as a
  // message.
  struct Kind {
    std::string head;
    LocateField locate;
  };
  const Kind kinds[] = {{"\x99\x0c\x01\x00"s, &locate_result_value},
                        {"\x96\x0b\x01\xc4\x10"s + std::string(kHashSize, 'h'), &locate_submit_args}};
  for (const Kind& kind : kinds)
  for (uint32_t claim : {uint32_t{1u << 20}, uint32_t{(1u << 20) + 1}, uint32_t{0xffffffffu},
                         uint32_t(FrameReader::kMaxAhead + 1)}) {
    std::string payload = kind.head + "\xc6"s;
    payload += static_cast<char>(claim >> 24), payload += static_cast<char>(claim >> 16);
    payload += static_cast<char>(claim >> 8), payload += static_cast<char>(claim);
    payload += std::string((1u << 20) - payload.size(), 'z');  // the frame: 1 MiB
    std::string frame;
    uint32_t len = static_cast<uint32_t>(payload.size());
    frame += static_cast<char>(len >> 24), frame += static_cast<char>(len >> 16);
    frame += static_cast<char>(len >> 8), frame += static_cast<char>(len);
    frame += payload;
    FrameReader r(64u << 20);
    r.divert(kind.locate);
    r.feed(std::string_view(frame).substr(0, 100));
    CHECK(r.next().state == FrameReader::kNeedMore);
    r.feed(std::string_view(frame).substr(100));
    auto f = r.next();
    REQUIRE(f.state == FrameReader::kComplete);
    CHECK_FALSE(f.diverted);
    CHECK(f.payload.size() == payload.size());
    CHECK_FALSE(decode_message(f.payload).has_value());
  }
}

}  // namespace pp::proto
