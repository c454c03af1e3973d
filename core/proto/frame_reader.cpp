#include "core/proto/frame_reader.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "core/proto/constants.hpp"
#include "core/util/byte_count.hpp"

namespace pp::proto {
namespace {

FrameReader::Next bad(std::string error, uint64_t length) {
  FrameReader::Next n;
  n.state = FrameReader::kBad;
  n.error = std::move(error);
  n.length = length;
  return n;
}

}  // namespace

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
  if (in_field()) return {field_.data() + field_got_, std::min(n, field_.size() - field_got_)};
  reserve(n);
  return {buf_.get() + end_, n};
}

void FrameReader::commit(size_t n) {
  if (in_field()) {
    field_got_ += n;
  } else {
    end_ += n;
  }
}

void FrameReader::feed(std::string_view bytes) {
  while (in_field() && !bytes.empty()) {
    size_t n = std::min(bytes.size(), field_.size() - field_got_);
    std::memcpy(field_.data() + field_got_, bytes.data(), n);
    commit(n);
    bytes.remove_prefix(n);
  }
  auto dst = prepare(bytes.size());
  if (!bytes.empty()) std::memcpy(dst.data(), bytes.data(), bytes.size());
  commit(bytes.size());
}

bool FrameReader::start_divert(size_t len, size_t avail) {
  const size_t have = avail - kHeaderSize;   // payload bytes in
  LargeField f = locate_(std::string_view(buf_.get() + begin_ + kHeaderSize,
                                          std::min(have, kLocateBytes)));
  // Only a field that lies inside the frame, starts within what is in, and is worth it;
  // no larger than the room a frame under way may take ahead (kMaxAhead), as its string
  // is made whole now.
  if (f.size < kMinDivert || f.size > kMaxAhead || f.header < 2 || f.at < f.header ||
      f.at > have || f.at + f.size > len) {
    return false;
  }
  char* payload = buf_.get() + begin_ + kHeaderSize;
  // The field's bytes already in move to its string; what came after them closes up.
  const size_t in = std::min(have - f.at, f.size);
  field_.clear();
  const char* first = payload + f.at;
#if defined(__cpp_lib_string_resize_and_overwrite)
  // The rest is left uninitialised: reads fill it before the field is handed over.
  field_.resize_and_overwrite(f.size, [&](char* p, size_t n) {
    std::memcpy(p, first, in);
    return n;
  });
#else
  field_.reserve(f.size);
  field_.append(first, in);
  field_.resize(f.size);
#endif
  field_got_ = in;
  std::memmove(payload + f.at, payload + f.at + in, end_ - (begin_ + kHeaderSize + f.at + in));
  end_ -= in;
  // The payload keeps the field as an empty bin (0xc4 0x00) where its header was: the
  // header and the bytes before it move up by the difference, and the frame's length
  // shrinks by that and the field.
  const size_t shift = f.header - 2;
  std::memmove(buf_.get() + begin_ + shift, buf_.get() + begin_, kHeaderSize + f.at - f.header);
  begin_ += shift;
  payload = buf_.get() + begin_ + kHeaderSize;
  payload[f.at - 2 - shift] = static_cast<char>(0xc4);
  payload[f.at - 1 - shift] = 0;
  const auto n = static_cast<uint32_t>(len - f.size - shift);
  auto* h = reinterpret_cast<unsigned char*>(buf_.get() + begin_);
  h[0] = static_cast<unsigned char>(n >> 24), h[1] = static_cast<unsigned char>(n >> 16);
  h[2] = static_cast<unsigned char>(n >> 8), h[3] = static_cast<unsigned char>(n);
  diverted_ = true;
  return true;
}

FrameReader::Next FrameReader::next() {
  want_ = 0;
  if (in_field()) return {};
  size_t avail = end_ - begin_;
  if (avail < kHeaderSize) {
    if (avail == 0) begin_ = end_ = 0;
    return {};
  }
  const auto* h = reinterpret_cast<const unsigned char*>(buf_.get() + begin_);
  uint32_t len = (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | h[3];
  if (len == 0) return bad("empty frame", 0);
  if (len > max_frame_) {
    return bad("frame of " + with_commas(len) + " bytes exceeds the limit of " +
                   with_commas(max_frame_) + " bytes", len);
  }
  if (avail < kHeaderSize + len) {
    if (locate_ != nullptr && !diverted_ && len >= kMinDivert) {
      // Its large field, once located, is read into a string of its own.
      if (avail - kHeaderSize < std::min<size_t>(len, kLocateBytes)) return {};
      if (start_divert(len, avail)) return next();
    }
    // Make room for the rest of this frame in one go, so reads land in place.
    want_ = kHeaderSize + len - avail;
    reserve(std::min(want_, kMaxAhead));
    return {};
  }
  char* p = buf_.get() + begin_ + kHeaderSize;
  begin_ += kHeaderSize + len;
  Next done;
  done.state = kComplete;
  done.payload = std::string_view(p, len);
  done.bytes = std::span<char>(p, len);
  if (diverted_) {
    diverted_ = false;
    done.diverted = true;
    done.field = std::move(field_);
    field_ = std::string();
    field_got_ = 0;
  }
  return done;
}

}  // namespace pp::proto
