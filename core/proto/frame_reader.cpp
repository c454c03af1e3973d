#include "core/proto/frame_reader.hpp"

#include <cstring>

#include "core/proto/constants.hpp"
#include "core/util/byte_count.hpp"

namespace pp::proto {

void FrameReader::compact() {
  if (begin_ == 0) return;
  if (begin_ == end_) {
    begin_ = end_ = 0;
    return;
  }
  std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
  end_ -= begin_;
  begin_ = 0;
}

std::span<char> FrameReader::prepare(size_t n) {
  if (buf_.size() - end_ < n) {
    compact();
    if (buf_.size() - end_ < n) buf_.resize(end_ + n);
  }
  return {buf_.data() + end_, n};
}

void FrameReader::feed(std::string_view bytes) {
  auto dst = prepare(bytes.size());
  if (!bytes.empty()) std::memcpy(dst.data(), bytes.data(), bytes.size());
  commit(bytes.size());
}

FrameReader::Next FrameReader::next() {
  size_t avail = end_ - begin_;
  if (avail < kHeaderSize) {
    if (avail == 0) begin_ = end_ = 0;
    return {kNeedMore, {}, {}};
  }
  const auto* h = reinterpret_cast<const unsigned char*>(buf_.data() + begin_);
  uint32_t len = (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | h[3];
  if (len == 0) return {kBad, {}, "empty frame", 0};
  if (len > max_frame_) {
    return {kBad, {}, "frame of " + with_commas(len) + " bytes exceeds the limit of " +
                          with_commas(max_frame_) + " bytes", len};
  }
  if (avail < kHeaderSize + len) {
    // Make room for the rest of this frame in one go, so reads land in place.
    if (begin_ > 0 && buf_.size() - begin_ < kHeaderSize + len) compact();
    return {kNeedMore, {}, {}};
  }
  std::string_view payload(buf_.data() + begin_ + kHeaderSize, len);
  begin_ += kHeaderSize + len;
  return {kComplete, payload, {}};
}

}  // namespace pp::proto
