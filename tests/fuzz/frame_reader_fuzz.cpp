// libFuzzer harness for pp::proto::FrameReader (core/proto/frame_reader.*).
//
// The input is a byte stream as a peer would send it. Four readers split it,
// fed in three ways (one feed() of everything; feed() in chunks of varying size;
// prepare()/commit() in small reads, as FrameStream reads a socket, taking only
// some of the complete frames between reads) and under three frame-size
// policies (the handshake limit raised to the default after two frames, as a
// Session does after AUTH; a tiny limit that makes "bad" common; the default
// limit). Every reader must agree with a
// one-pass reference split of the whole stream: the same payloads in order,
// then the same end (bad, with a message, or need-more with the right number of
// bytes left over). ASan checks every payload view is still valid when read.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/proto/constants.hpp"
#include "core/proto/frame_reader.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using pp::proto::FrameReader;
using pp::proto::kHeaderSize;

struct Policy {
  size_t first_limit;
  size_t later_limit;
  size_t raise_after;  // frames after which later_limit applies
  size_t limit_after(size_t frames) const {
    return frames >= raise_after ? later_limit : first_limit;
  }
};

struct Split {
  std::vector<std::string_view> frames;
  bool bad = false;
  size_t rest = 0;  // bytes after the last frame, when not bad
};

uint32_t length_at(std::string_view s, size_t pos) {
  const auto* h = reinterpret_cast<const unsigned char*>(s.data() + pos);
  return (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | h[3];
}

// What any correct reader makes of the whole stream.
Split reference(std::string_view s, const Policy& policy) {
  Split out;
  size_t pos = 0;
  for (;;) {
    if (s.size() - pos < kHeaderSize) break;
    const uint32_t len = length_at(s, pos);
    if (len == 0 || len > policy.limit_after(out.frames.size())) {
      out.bad = true;
      return out;
    }
    if (s.size() - pos - kHeaderSize < len) break;
    out.frames.push_back(s.substr(pos + kHeaderSize, len));
    pos += kHeaderSize + len;
  }
  out.rest = s.size() - pos;
  return out;
}

// Chunk sizes from a small generator seeded by the input, so a crash replays.
struct Chunks {
  uint32_t state;
  size_t max;
  size_t next() {
    state = state * 1664525u + 1013904223u;
    return 1 + (state >> 8) % max;
  }
};

enum class Feed { kWhole, kChunks, kReads };

// Splits `s` with one reader fed as `feed` says, checking it against `want`.
void check_reader(std::string_view s, const Policy& policy, Feed feed, uint32_t seed,
                  const Split& want) {
  FrameReader reader(policy.first_limit);
  size_t frames = 0;
  size_t pos = 0;
  Chunks chunks{seed, feed == Feed::kReads ? 7u : 300u};
  // With reads, the caller sometimes takes only 0-2 frames before the next read, so bytes
  // arrive while complete frames are still buffered.
  Chunks takes{seed ^ 0x9e3779b9u, 3};
  // Takes up to `max` complete frames; returns false once the reader said bad.
  auto drain = [&](size_t max) {
    for (size_t taken = 0; taken < max; ++taken) {
      FrameReader::Next n = reader.next();
      if (n.state == FrameReader::kNeedMore) return true;
      if (n.state == FrameReader::kBad) {
        PP_FUZZ_CHECK(want.bad && frames == want.frames.size());
        PP_FUZZ_CHECK(!n.error.empty());
        // Bad stays bad: the header that caused it is still there.
        PP_FUZZ_CHECK(reader.next().state == FrameReader::kBad);
        return false;
      }
      PP_FUZZ_CHECK(frames < want.frames.size());
      PP_FUZZ_CHECK(n.payload == want.frames[frames]);
      ++frames;
      reader.set_max_frame(policy.limit_after(frames));
    }
    return true;
  };
  constexpr size_t kAll = SIZE_MAX;
  while (pos < s.size()) {
    size_t n = feed == Feed::kWhole ? s.size() : std::min(chunks.next(), s.size() - pos);
    if (feed == Feed::kReads) {
      // Like a socket read: ask for more room than arrives.
      auto room = reader.prepare(n + 16);
      PP_FUZZ_CHECK(room.size() == n + 16);
      std::memcpy(room.data(), s.data() + pos, n);
      reader.commit(n);
    } else {
      reader.feed(s.substr(pos, n));
    }
    pos += n;
    if (!drain(feed == Feed::kReads ? takes.next() - 1 : kAll)) return;
  }
  if (!drain(kAll)) return;
  PP_FUZZ_CHECK(!want.bad);
  PP_FUZZ_CHECK(frames == want.frames.size());
  PP_FUZZ_CHECK(reader.buffered() == want.rest);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view s(reinterpret_cast<const char*>(data), size);
  uint32_t seed = 2166136261u;
  for (size_t i = 0; i < size && i < 64; ++i) seed = (seed ^ data[i]) * 16777619u;

  const Policy session{pp::proto::kMaxHandshakeFrame, pp::proto::kDefaultMaxFrame, 2};
  const Policy tiny{16, 16, 0};
  const Policy open{pp::proto::kDefaultMaxFrame, pp::proto::kDefaultMaxFrame, 0};
  const Split want_session = reference(s, session);
  check_reader(s, session, Feed::kChunks, seed, want_session);
  check_reader(s, session, Feed::kWhole, seed, want_session);
  check_reader(s, tiny, Feed::kReads, seed, reference(s, tiny));
  check_reader(s, open, Feed::kReads, seed ^ 0x5bd1e995u, reference(s, open));
  return 0;
}
