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
//
// Diverting (divert(), for a stream whose large fields have an owner of their own, such
// as a RESULT's value on the client, or a SUBMIT's arguments on the node): once the first bytes of a frame of kMinDivert bytes
// or more are in and the locator finds its large byte field there, the rest of that field
// is read straight into a string of its own (the bytes already buffered are moved into
// it: one read's worth at most). The frame is then returned with that field empty in the
// payload (a zero-length bin) and its bytes in Next::field, so the field reaches its
// owner with no copy of the rest.
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

// A large byte field located in the first bytes of a frame's payload: its bytes start at
// `at` and run `size` bytes, after a msgpack bin header of `header` bytes. size 0: none.
struct LargeField {
  size_t at = 0;
  size_t size = 0;
  size_t header = 0;
};
// Finds the field from the payload's first bytes (at most FrameReader::kLocateBytes).
using LocateField = LargeField (*)(std::string_view prefix);

class FrameReader {
 public:
  enum State { kComplete, kNeedMore, kBad };
  struct Next {
    State state = kNeedMore;
    std::string_view payload;   // when kComplete
    std::span<char> bytes;      // when kComplete: the same bytes, to be opened in place
    std::string error;          // when kBad
    uint64_t length = 0;        // when kBad: the length the header announced (0: empty frame)
    bool diverted = false;      // when kComplete: the payload's large field is in `field`
    std::string field;
  };

  explicit FrameReader(size_t max_frame) : max_frame_(max_frame) {}

  void set_max_frame(size_t max_frame) { max_frame_ = max_frame; }
  // From the next frame on, large fields `locate` finds are read into their own string
  // (nullptr: no more diverting; never while frames are sealed, which open whole).
  void divert(LocateField locate) { locate_ = locate; }
  // Frames of at least this many bytes are looked at for a field to divert, and fields of
  // at least this many are diverted (below, a copy costs less than the extra read).
  static constexpr size_t kMinDivert = 64 * 1024;
  static constexpr size_t kLocateBytes = 48;
  // Where the next read lands: the buffer, or the field being diverted.
  std::span<char> prepare(size_t n);
  void commit(size_t n);
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
  size_t next_read() const {
    if (in_field()) return field_.size() - field_got_;
    return want_ < kChunk ? kChunk : want_ > kMaxAhead ? kMaxAhead : want_;
  }

 private:
  void compact();
  void reserve(size_t n);   // room for n bytes after end_
  bool in_field() const { return field_got_ < field_.size(); }
  // The frame at begin_ (its payload of `len` bytes, `avail` of them in) has its field
  // diverted when the locator finds one worth it; returns whether it did.
  bool start_divert(size_t len, size_t avail);

  size_t max_frame_;
  std::unique_ptr<char[]> buf_;
  size_t cap_ = 0;
  size_t want_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;
  LocateField locate_ = nullptr;
  // The field of the frame at begin_ while it is diverted: filled up to field_got_; kept
  // (field_got_ == size) until that frame is complete and returned.
  std::string field_;
  size_t field_got_ = 0;
  bool diverted_ = false;    // the frame at begin_ has its field in field_
};

}  // namespace pp::proto
