#include "core/proto/frame_reader.hpp"

#include <algorithm>
#include <cstring>
#include <memory>

#include "core/proto/constants.hpp"
#include "core/util/byte_count.hpp"

namespace pp::proto {

void FrameReader::compact() {
  if (begin_ == 0) return;
  if (begin_ == end_) {
    begin_ = end_ = 0;
    return;
  }
  std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
  end_ -= begin_;
  begin_ = 0;
}

void FrameReader::reserve(size_t n) {
  if (cap_ - end_ >= n) return;
  compact();
  if (cap_ - end_ >= n) return;
  // Left uninitialised: every byte is written by a read before it is looked at.
  size_t cap = std::max(end_ + n, cap_ + cap_ / 2);
  auto bigger = std::make_unique_for_overwrite<char[]>(cap);
  if (end_ > 0) std::memcpy(bigger.get(), buf_.get(), end_);
  buf_ = std::move(bigger);
  cap_ = cap;
}

std::span<char> FrameReader::prepare(size_t n) {
  reserve(n);
  return {buf_.get() + end_, n};
}

void FrameReader::feed(std::string_view bytes) {
  auto dst = prepare(bytes.size());
  if (!bytes.empty()) std::memcpy(dst.data(), bytes.data(), bytes.size());
  commit(bytes.size());
}

FrameReader::Next FrameReader::next() {
  want_ = 0;
  size_t avail = end_ - begin_;
  if (avail < kHeaderSize) {
    if (avail == 0) begin_ = end_ = 0;
    return {kNeedMore, {}, {}, {}};
  }
  const auto* h = reinterpret_cast<const unsigned char*>(buf_.get() + begin_);
  uint32_t len = (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | h[3];
  if (len == 0) return {kBad, {}, {}, "empty frame", 0};
  if (len > max_frame_) {
    return {kBad, {}, {}, "frame of " + with_commas(len) + " bytes exceeds the limit of " +
                          with_commas(max_frame_) + " bytes", len};
  }
  if (avail < kHeaderSize + len) {
    // Make room for the rest of this frame in one go, so reads land in place.
    want_ = kHeaderSize + len - avail;
    reserve(std::min(want_, kMaxAhead));
    return {kNeedMore, {}, {}, {}};
  }
  char* p = buf_.get() + begin_ + kHeaderSize;
  begin_ += kHeaderSize + len;
  return {kComplete, std::string_view(p, len), std::span<char>(p, len), {}};
}

}  // namespace pp::proto
