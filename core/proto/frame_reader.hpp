// FrameReader: incremental splitting of a byte stream into frame payloads.
//
// Bytes are appended with prepare()/commit() (read straight into the reader's
// buffer) or feed(); next() then answers complete (with a view of the payload,
// valid until the next call that changes the reader), need-more, or bad (a length
// of 0 or above the limit). Single-threaded; one reader per stream. A frame is read
// where it will be used: once its header is in, want() says how many bytes it still
// lacks, so a large frame lands in place in one buffer sized for it (no doubling, no
// zero fill, no move of its bytes as it grows).
//
//   FrameReader r(kDefaultMaxFrame);
//   auto buf = r.prepare(65536); n = read(fd, buf.data(), buf.size()); r.commit(n);
//   for (;;) { auto f = r.next(); if (f.state != FrameReader::kComplete) break; use(f.payload); }
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace pp::proto {

class FrameReader {
 public:
  enum State { kComplete, kNeedMore, kBad };
  struct Next {
    State state;
    std::string_view payload;   // when kComplete
    std::span<char> bytes;      // when kComplete: the same bytes, to be opened in place
    std::string error;          // when kBad
    uint64_t length = 0;        // when kBad: the length the header announced (0: empty frame)
  };

  explicit FrameReader(size_t max_frame) : max_frame_(max_frame) {}

  void set_max_frame(size_t max_frame) { max_frame_ = max_frame; }
  std::span<char> prepare(size_t n);
  void commit(size_t n) { end_ += n; }
  void feed(std::string_view bytes);
  Next next();
  // Bytes received but not yet returned as frames.
  size_t buffered() const { return end_ - begin_; }
  // Bytes the frame being received still lacks (0 when its header has not come).
  size_t want() const { return want_; }
  // How much the next read should ask for: the rest of a frame under way, so it lands in
  // place, but no more than kMaxAhead (room is made before the bytes come: a header
  // alone must not commit a peer's whole limit); else a chunk that holds many frames.
  static constexpr size_t kChunk = 64 * 1024;
  static constexpr size_t kMaxAhead = 16u << 20;
  size_t next_read() const { return want_ < kChunk ? kChunk : want_ > kMaxAhead ? kMaxAhead : want_; }

 private:
  void compact();
  void reserve(size_t n);   // room for n bytes after end_

  size_t max_frame_;
  std::unique_ptr<char[]> buf_;
  size_t cap_ = 0;
  size_t want_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace pp::proto
