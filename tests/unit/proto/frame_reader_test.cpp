// Tests of FrameReader: frames split out of a byte stream however the bytes arrive (all at once,
// at every split point, one byte at a time, in random chunks), hostile length headers refused at
// the header, the size limit inclusive, and a buffer that stays small while frames stream past.
#include "core/proto/frame_reader.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/proto/codec.hpp"
#include "core/proto/constants.hpp"
#include "core/util/byte_count.hpp"

namespace pp::proto {
namespace {

using namespace std::string_literals;

std::string header(uint32_t len) {
  return {static_cast<char>(len >> 24), static_cast<char>(len >> 16), static_cast<char>(len >> 8),
          static_cast<char>(len)};
}

// A frame whose payload is `n` recognisable bytes (NULs included); not a message.
std::string raw_frame(size_t n, unsigned seed = 0) {
  std::string f = header(static_cast<uint32_t>(n));
  for (size_t i = 0; i < n; ++i) f += static_cast<char>((seed * 31 + i) & 0xff);
  return f;
}

std::string payload(std::string_view frame) { return std::string(frame.substr(kHeaderSize)); }

// A few real messages, framed back to back.
std::vector<std::string> message_frames() {
  std::vector<Message> ms = {
      Heartbeat{},
      Submit{.job_id = UINT64_MAX,
             .hash = std::string(kHashSize, '\0'),
             .args = "\0\x91"s,
             .timeout_ms = 0},
      Bye{"done"},
      CodeMsg{std::string(kHashSize, 'h'), std::string(3000, '\0')},
      Cancel{7},
  };
  std::vector<std::string> frames;
  for (const Message& m : ms) {
    frames.emplace_back();
    encode_frame(m, frames.back());
  }
  return frames;
}

std::string joined(const std::vector<std::string>& frames) {
  std::string s;
  for (const std::string& f : frames) s += f;
  return s;
}

// Takes every complete frame the reader has; fails the test on kBad.
void drain(FrameReader& r, std::vector<std::string>& out) {
  for (;;) {
    FrameReader::Next n = r.next();
    REQUIRE_MESSAGE(n.state != FrameReader::kBad, n.error);
    if (n.state == FrameReader::kNeedMore) return;
    out.emplace_back(n.payload);
  }
}

void check_payloads(const std::vector<std::string>& got, const std::vector<std::string>& frames) {
  REQUIRE(got.size() == frames.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CHECK(got[i] == payload(frames[i]));
  }
}

TEST_CASE("proto.frame_reader.single_frame") {
  FrameReader r(kDefaultMaxFrame);
  CHECK(r.next().state == FrameReader::kNeedMore);  // nothing yet
  std::string f = raw_frame(10);
  r.feed(f);
  CHECK(r.buffered() == f.size());
  FrameReader::Next n = r.next();
  REQUIRE(n.state == FrameReader::kComplete);
  CHECK(n.payload == payload(f));
  CHECK(n.error.empty());
  CHECK(r.buffered() == 0);
  CHECK(r.next().state == FrameReader::kNeedMore);
  r.feed("");
  CHECK(r.next().state == FrameReader::kNeedMore);
}

TEST_CASE("proto.frame_reader.concatenated_frames_in_order") {
  std::vector<std::string> frames = message_frames();
  for (unsigned i = 0; i < 40; ++i) frames.push_back(raw_frame(1 + i * 7, i));
  FrameReader r(kDefaultMaxFrame);
  r.feed(joined(frames));
  std::vector<std::string> got;
  drain(r, got);
  check_payloads(got, frames);
  CHECK(r.buffered() == 0);
  // The real messages among them decode as what was sent.
  REQUIRE(decode_message(got[1]).has_value());
  CHECK(std::get<Submit>(*decode_message(got[1])).job_id == UINT64_MAX);
  CHECK(std::get<Cancel>(*decode_message(got[4])).job_id == 7);
}

TEST_CASE("proto.frame_reader.every_split_point") {
  std::vector<std::string> frames = message_frames();
  const std::string stream = joined(frames);
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    CAPTURE(cut);
    FrameReader r(kDefaultMaxFrame);
    std::vector<std::string> got;
    r.feed(std::string_view(stream).substr(0, cut));
    drain(r, got);
    r.feed(std::string_view(stream).substr(cut));
    drain(r, got);
    check_payloads(got, frames);
  }
}

TEST_CASE("proto.frame_reader.truncated_prefixes_need_more") {
  const std::string f = message_frames()[1];
  for (size_t n = 0; n < f.size(); ++n) {
    CAPTURE(n);
    FrameReader r(kDefaultMaxFrame);
    r.feed(std::string_view(f).substr(0, n));
    CHECK(r.next().state == FrameReader::kNeedMore);
    CHECK(r.next().state == FrameReader::kNeedMore);  // asking again changes nothing
    CHECK(r.buffered() == n);
    r.feed(std::string_view(f).substr(n));
    FrameReader::Next done = r.next();
    REQUIRE(done.state == FrameReader::kComplete);
    CHECK(done.payload == payload(f));
  }
}

TEST_CASE("proto.frame_reader.one_byte_steps_prepare_commit") {
  std::vector<std::string> frames = message_frames();
  frames.push_back(raw_frame(1));
  const std::string stream = joined(frames);
  FrameReader r(kDefaultMaxFrame);
  std::vector<std::string> got;
  for (char c : stream) {
    std::span<char> dst = r.prepare(1);
    REQUIRE(dst.size() == 1);
    dst[0] = c;
    r.commit(1);
    size_t before = got.size();
    drain(r, got);
    CHECK(got.size() - before <= 1);  // a single byte completes at most one frame
  }
  check_payloads(got, frames);
  CHECK(r.buffered() == 0);
}

TEST_CASE("proto.frame_reader.prepare_more_commit_less") {
  // The way a socket read uses it: offer a big buffer, receive whatever arrived.
  std::vector<std::string> frames = message_frames();
  for (unsigned i = 0; i < 200; ++i) frames.push_back(raw_frame(i % 50 + 1, i));
  const std::string stream = joined(frames);
  std::mt19937 rng(5);
  FrameReader r(kDefaultMaxFrame);
  std::vector<std::string> got;
  size_t off = 0;
  while (off < stream.size()) {
    std::span<char> dst = r.prepare(4096);
    REQUIRE(dst.size() == 4096);
    size_t n = std::min<size_t>(1 + rng() % 700, stream.size() - off);
    std::copy_n(stream.data() + off, n, dst.data());
    r.commit(n);
    off += n;
    drain(r, got);
  }
  check_payloads(got, frames);
}

TEST_CASE("proto.frame_reader.zero_length_is_bad") {
  FrameReader r(kDefaultMaxFrame);
  r.feed(header(0));
  FrameReader::Next n = r.next();
  CHECK(n.state == FrameReader::kBad);
  CHECK_FALSE(n.error.empty());
  CHECK(n.payload.empty());
  CHECK(n.length == 0);  // bad, but not for its size
  CHECK(r.next().state == FrameReader::kBad);  // stays bad: the stream is unusable
}

TEST_CASE("proto.frame_reader.length_ffffffff_is_bad") {
  for (size_t limit : {kMaxHandshakeFrame, kDefaultMaxFrame}) {
    CAPTURE(limit);
    FrameReader r(limit);
    r.feed(header(0xFFFFFFFFu));  // the header alone is enough to refuse it
    FrameReader::Next n = r.next();
    CHECK(n.state == FrameReader::kBad);
    CHECK(n.error.find("4,294,967,295") != std::string::npos);
    CHECK(n.length == 0xFFFFFFFFu);
    r.feed("more bytes");
    CHECK(r.next().state == FrameReader::kBad);
  }
}

TEST_CASE("proto.frame_reader.just_above_limit_is_bad") {
  for (size_t limit : {size_t{1}, size_t{10}, kMaxHandshakeFrame, kDefaultMaxFrame}) {
    CAPTURE(limit);
    FrameReader r(limit);
    r.feed(header(static_cast<uint32_t>(limit + 1)));
    FrameReader::Next n = r.next();
    CHECK(n.state == FrameReader::kBad);
    CHECK(n.error.find("of " + with_commas(limit + 1) + " bytes") != std::string::npos);
    CHECK(n.error.find("limit of " + with_commas(limit) + " bytes") != std::string::npos);
    CHECK(n.length == limit + 1);
  }
}

TEST_CASE("proto.frame_reader.bad_header_after_good_frames") {
  FrameReader r(kMaxHandshakeFrame);
  std::string f = raw_frame(20);
  r.feed(f + f + header(kMaxHandshakeFrame + 1) + "xyz");
  for (int i = 0; i < 2; ++i) {
    FrameReader::Next n = r.next();
    REQUIRE(n.state == FrameReader::kComplete);
    CHECK(n.payload == payload(f));
  }
  CHECK(r.next().state == FrameReader::kBad);
}

TEST_CASE("proto.frame_reader.exactly_at_limit_accepted") {
  for (size_t limit : {size_t{1}, size_t{10}, kMaxHandshakeFrame}) {
    CAPTURE(limit);
    FrameReader r(limit);
    std::string f = raw_frame(limit, 3);
    r.feed(f);
    FrameReader::Next n = r.next();
    REQUIRE(n.state == FrameReader::kComplete);
    CHECK(n.payload == payload(f));
  }
  // The default limit, fed in socket-sized reads.
  FrameReader r(kDefaultMaxFrame);
  r.feed(header(static_cast<uint32_t>(kDefaultMaxFrame)));
  CHECK(r.next().state == FrameReader::kNeedMore);
  const size_t kChunk = 1 << 20;
  for (size_t done = 0; done < kDefaultMaxFrame; done += kChunk) {
    std::span<char> dst = r.prepare(kChunk);
    std::fill(dst.begin(), dst.end(), static_cast<char>(done / kChunk));
    r.commit(kChunk);
    if (done + kChunk < kDefaultMaxFrame) REQUIRE(r.next().state == FrameReader::kNeedMore);
  }
  FrameReader::Next n = r.next();
  REQUIRE(n.state == FrameReader::kComplete);
  REQUIRE(n.payload.size() == kDefaultMaxFrame);
  CHECK(n.payload.front() == 0);
  CHECK(n.payload.back() == static_cast<char>(kDefaultMaxFrame / kChunk - 1));
}

TEST_CASE("proto.frame_reader.set_max_frame_after_handshake") {
  // Small frames before authentication, the full limit after: the same buffered header is
  // refused under the first limit and accepted under the second.
  FrameReader r(kMaxHandshakeFrame);
  std::string f = raw_frame(5000);
  r.feed(std::string_view(f).substr(0, 100));
  CHECK(r.next().state == FrameReader::kBad);
  r.set_max_frame(kDefaultMaxFrame);
  CHECK(r.next().state == FrameReader::kNeedMore);
  r.feed(std::string_view(f).substr(100));
  FrameReader::Next n = r.next();
  REQUIRE(n.state == FrameReader::kComplete);
  CHECK(n.payload == payload(f));
}

TEST_CASE("proto.frame_reader.random_chunks") {
  std::mt19937 rng(11);
  std::vector<std::string> frames;
  for (unsigned i = 0; i < 2000; ++i) frames.push_back(raw_frame(1 + rng() % 600, i));
  const std::string stream = joined(frames);
  FrameReader r(kMaxHandshakeFrame);
  std::vector<std::string> got;
  for (size_t off = 0; off < stream.size();) {
    size_t n = std::min<size_t>(rng() % 1500, stream.size() - off);
    r.feed(std::string_view(stream).substr(off, n));
    off += n;
    drain(r, got);
  }
  check_payloads(got, frames);
  CHECK(r.buffered() == 0);
}

TEST_CASE("proto.frame_reader.compaction_keeps_buffer_small") {
  // 100,000 frames (10 MB) stream through 64-byte reads. Frame sizes (104 or 105 bytes) are
  // chosen so that no read ends on a frame boundary: the reader always holds part of a frame
  // and never simply empties. Consumed bytes must still be reclaimed: once warm, every read
  // lands in the same small region of one buffer.
  const size_t kRead = 64;
  const size_t kFrames = 100000;
  std::string stream;
  std::vector<std::string> frames;
  for (size_t i = 0; i < kFrames; ++i) {
    size_t n = (stream.size() + kHeaderSize + 100) % kRead == 0 ? 101 : 100;
    frames.push_back(raw_frame(n, static_cast<unsigned>(i)));
    stream += frames.back();
  }
  stream += header(100) + std::string(kRead, 'x');  // a next frame's start: the last read is whole

  FrameReader r(kMaxHandshakeFrame);
  uintptr_t lo = UINTPTR_MAX;
  uintptr_t hi = 0;
  size_t got = 0;
  size_t max_buffered = 0;
  for (size_t off = 0; got < kFrames; off += kRead) {
    REQUIRE(off + kRead <= stream.size());
    std::span<char> dst = r.prepare(kRead);
    std::copy_n(stream.data() + off, kRead, dst.data());
    r.commit(kRead);
    if (got > 100) {
      auto at = reinterpret_cast<uintptr_t>(dst.data());
      lo = std::min(lo, at);
      hi = std::max(hi, at);
    }
    max_buffered = std::max(max_buffered, r.buffered());
    for (;;) {
      FrameReader::Next n = r.next();
      REQUIRE(n.state != FrameReader::kBad);
      if (n.state == FrameReader::kNeedMore) break;
      REQUIRE(got < kFrames);
      REQUIRE(n.payload == payload(frames[got]));
      ++got;
    }
    REQUIRE(r.buffered() > 0);  // never empty between reads
  }
  CHECK(max_buffered <= 105 + kRead);
  CHECK(hi - lo < 1024);
}

TEST_CASE("proto.frame_reader.large_frame_lands_in_place") {
  // A 2 MB frame after a small one, arriving as a socket would give it: once its header
  // is in, want() asks for the rest, and every read of it lands where its bytes sit in
  // the completed payload (no growth by doubling, no move of what came before).
  const std::string small = raw_frame(10, 1);
  const std::string big = raw_frame(2u << 20, 2);
  const std::string stream = small + big + small;
  const size_t kChunk = 300000;
  FrameReader r(kDefaultMaxFrame);
  size_t off = 0;
  auto read = [&](size_t n) {
    n = std::min(n, stream.size() - off);
    std::span<char> dst = r.prepare(n);
    std::copy_n(stream.data() + off, n, dst.data());
    r.commit(n);
    off += n;
    return dst.data();
  };
  read(100);   // the small frame and the big one's start
  auto f = r.next();
  REQUIRE(f.state == FrameReader::kComplete);
  CHECK(f.payload == payload(small));
  REQUIRE(r.next().state == FrameReader::kNeedMore);
  CHECK(r.want() == big.size() - (100 - small.size()));
  std::vector<const char*> landed;
  FrameReader::Next done{};
  for (;;) {
    REQUIRE(r.want() > 0);
    landed.push_back(read(std::min(r.want(), kChunk)));
    done = r.next();
    if (done.state == FrameReader::kComplete) break;
    REQUIRE(done.state == FrameReader::kNeedMore);
  }
  CHECK(off == small.size() + big.size());
  CHECK(done.payload == payload(big));
  const size_t first = 100 - small.size() - kHeaderSize;   // payload bytes of the first read
  REQUIRE(landed.size() == (big.size() - kHeaderSize - first + kChunk - 1) / kChunk);
  for (size_t i = 0; i < landed.size(); ++i) {
    CHECK(landed[i] == done.payload.data() + first + i * kChunk);
  }
  read(stream.size());
  auto last = r.next();
  REQUIRE(last.state == FrameReader::kComplete);
  CHECK(last.payload == payload(small));
  CHECK(r.want() == 0);
}

TEST_CASE("proto.frame_reader.read_ahead_is_bounded") {
  // A header announcing 40 MB makes room for 16 MB at most before the bytes come; the
  // frame still arrives whole, read as the stream asks.
  const std::string big = raw_frame(40u << 20, 3);
  FrameReader r(kDefaultMaxFrame);
  r.feed(std::string_view(big).substr(0, 10));
  REQUIRE(r.next().state == FrameReader::kNeedMore);
  CHECK(r.want() == big.size() - 10);
  CHECK(r.next_read() == FrameReader::kMaxAhead);
  size_t off = 10;
  FrameReader::Next f{};
  while ((f = r.next()).state == FrameReader::kNeedMore) {
    size_t n = std::min(r.next_read(), big.size() - off);
    REQUIRE(n > 0);
    std::span<char> dst = r.prepare(n);
    std::copy_n(big.data() + off, n, dst.data());
    r.commit(n);
    off += n;
  }
  REQUIRE(f.state == FrameReader::kComplete);
  CHECK(f.payload == payload(big));
  CHECK(r.next_read() == FrameReader::kChunk);
}

}  // namespace
}  // namespace pp::proto
