#include "core/proto/job_ref.hpp"

#include <algorithm>

#include "core/proto/data_ref.hpp"

namespace pp::proto {
namespace {

uint64_t read_be(std::string_view b, size_t at, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

Status malformed(const std::string& what) {
  return Status(StatusCode::kInvalid, "malformed msgpack: " + what);
}

// One pass over msgpack values. A flat count of values still to read stands in for a
// stack (a container's header adds its elements), so nesting costs no recursion.
// Job references are listed in `refs`; scattered values' handles (data_ref.hpp) are
// checked and, when `data` is given, listed there.
class Walker {
 public:
  Walker(std::string_view b, std::vector<JobRefAt>& refs, std::vector<DataRef>* data = nullptr)
      : b_(b), refs_(refs), data_(data) {}

  // Walks `values` values; with `whole`, they must be all of the bytes.
  Status run(uint64_t values, bool whole = true) {
    uint64_t pending = values;
    while (pending > 0) {
      // Every value takes a byte at least: a count beyond what is left is a lie.
      if (pending > b_.size() - pos_) return malformed("truncated");
      --pending;
      uint64_t more = 0;
      if (Status s = one(more); !s) return s;
      pending += more;
    }
    if (whole && pos_ != b_.size()) return malformed("trailing bytes");
    return Status::ok();
  }
  size_t pos() const { return pos_; }

 private:
  // Skips the value at pos_; `children` gets the number of values its header announces.
  Status one(uint64_t& children) {
    const auto tag = static_cast<unsigned char>(b_[pos_]);
    if (tag <= 0x7f || tag >= 0xe0 || tag == 0xc0 || tag == 0xc2 || tag == 0xc3) {
      return skip(1);
    }
    if (tag <= 0x8f) return header(1, 0, 2 * uint64_t(tag & 0x0f), children);
    if (tag <= 0x9f) return header(1, 0, tag & 0x0f, children);
    if (tag <= 0xbf) return skip(1 + (tag & 0x1f));
    switch (tag) {
      case 0xc4: return sized(1);
      case 0xc5: return sized(2);
      case 0xc6: return sized(4);
      case 0xc7: return ext(1);
      case 0xc8: return ext(2);
      case 0xc9: return ext(4);
      case 0xca: return skip(5);
      case 0xcb: return skip(9);
      case 0xcc: case 0xd0: return skip(2);
      case 0xcd: case 0xd1: return skip(3);
      case 0xce: case 0xd2: return skip(5);
      case 0xcf: case 0xd3: return skip(9);
      case 0xd4: return fixext(1);
      case 0xd5: return fixext(2);
      case 0xd6: return fixext(4);
      case 0xd7: return fixext(8);
      case 0xd8: return fixext(16);
      case 0xd9: return sized(1);
      case 0xda: return sized(2);
      case 0xdb: return sized(4);
      case 0xdc: return header(3, 2, 1, children);
      case 0xdd: return header(5, 4, 1, children);
      case 0xde: return header(3, 2, 2, children);
      case 0xdf: return header(5, 4, 2, children);
      default: return malformed("the reserved byte 0xc1");
    }
  }

  Status skip(uint64_t n) {
    if (n > b_.size() - pos_) return malformed("truncated");
    pos_ += n;
    return Status::ok();
  }
  bool have(uint64_t n) const { return n <= b_.size() - pos_; }

  // A container header of `size` bytes whose count is `len_bytes` wide (or, with 0,
  // in the tag itself: `per` is then the count) times `per` values.
  Status header(size_t size, size_t len_bytes, uint64_t per, uint64_t& children) {
    if (!have(size)) return malformed("truncated");
    children = len_bytes == 0 ? per : per * read_be(b_, pos_ + 1, len_bytes);
    pos_ += size;
    return Status::ok();
  }
  // str/bin: a length of `len_bytes`, then that many bytes.
  Status sized(size_t len_bytes) {
    if (!have(1 + len_bytes)) return malformed("truncated");
    return skip(1 + len_bytes + read_be(b_, pos_ + 1, len_bytes));
  }
  Status ext(size_t len_bytes) {
    if (!have(2 + len_bytes)) return malformed("truncated");
    return ext_body(1 + len_bytes, read_be(b_, pos_ + 1, len_bytes));
  }
  Status fixext(uint64_t len) { return ext_body(1, len); }
  // The ext whose type byte is at pos_ + type_at and whose data is `len` bytes after it.
  Status ext_body(size_t type_at, uint64_t len) {
    if (!have(type_at + 1) || !have(type_at + 1 + len)) return malformed("truncated");
    const auto type = static_cast<int8_t>(b_[pos_ + type_at]);
    const size_t size = type_at + 1 + len;
    if (type == kDataRefExt && len == kDataRefBodySize) {
      if (data_ != nullptr) add_data(b_.substr(pos_ + type_at + 1, len));
      pos_ += size;
      return Status::ok();
    }
    if (type != kJobRefExt || len != kJobRefBodySize) {
      return malformed("an ext value of type " + std::to_string(type) + " (" +
                       std::to_string(len) + " bytes), which is neither a job reference nor "
                       "a scattered value's handle");
    }
    refs_.push_back({pos_, size, read_be(b_, pos_ + type_at + 1, kJobRefBodySize)});
    pos_ += size;
    return Status::ok();
  }
  void add_data(std::string_view body) {
    auto ref = parse_data_ref_body(body);   // (cannot fail: the size was checked)
    for (const DataRef& d : *data_) {
      if (d.hash == ref->hash) return;
    }
    data_->push_back(std::move(*ref));
  }

  std::string_view b_;
  size_t pos_ = 0;
  std::vector<JobRefAt>& refs_;
  std::vector<DataRef>* data_;
};

}  // namespace

void put_job_ref(std::string& out, uint64_t id) {
  out.push_back(static_cast<char>(0xd7));
  out.push_back(static_cast<char>(kJobRefExt));
  out += job_ref_body(id);
}

std::string job_ref_body(uint64_t id) {
  std::string b(kJobRefBodySize, '\0');
  for (size_t i = 0; i < kJobRefBodySize; ++i) {
    b[i] = static_cast<char>(id >> (8 * (kJobRefBodySize - 1 - i)));
  }
  return b;
}

Status find_job_refs(std::string_view bytes, std::vector<JobRefAt>& out, uint64_t values) {
  return Walker(bytes, out).run(values);
}

Status find_data_refs(std::string_view bytes, std::vector<DataRef>& out, uint64_t values) {
  std::vector<JobRefAt> jobs;
  return Walker(bytes, jobs, &out).run(values);
}

Result<std::string> substitute_job_refs(
    std::string_view bytes, const std::vector<std::pair<uint64_t, std::string>>& values) {
  std::vector<JobRefAt> refs;
  if (Status s = find_job_refs(bytes, refs); !s) return s;
  std::string out;
  size_t from = 0;
  for (const JobRefAt& r : refs) {
    auto it = std::lower_bound(values.begin(), values.end(), r.id,
                               [](const auto& v, uint64_t id) { return v.first < id; });
    if (it == values.end() || it->first != r.id) {
      return Status(StatusCode::kInvalid, "the arguments refer to job " + std::to_string(r.id) +
                                              ", which is not among the job's inputs");
    }
    out.append(bytes, from, r.offset - from);
    out += it->second;
    from = r.offset + r.size;
  }
  out.append(bytes, from, bytes.size() - from);
  return out;
}

Result<std::string> first_element(std::string_view array) {
  Result<std::pair<size_t, size_t>> span = first_element_span(array);
  if (!span) return span.status();
  if (span->second == 0) return std::string("\xc0", 1);
  return std::string(array.substr(span->first, span->second));
}

Result<std::pair<size_t, size_t>> first_element_span(std::string_view array) {
  if (array.empty()) return std::pair<size_t, size_t>{0, 0};
  const auto tag = static_cast<unsigned char>(array[0]);
  size_t header = 0;
  uint64_t n = 0;
  if (tag >= 0x90 && tag <= 0x9f) {
    header = 1, n = tag & 0x0f;
  } else if (tag == 0xdc && array.size() >= 3) {
    header = 3, n = read_be(array, 1, 2);
  } else if (tag == 0xdd && array.size() >= 5) {
    header = 5, n = read_be(array, 1, 4);
  } else {
    return malformed("a job's values are not an array");
  }
  if (n == 0) return std::pair<size_t, size_t>{header, 0};
  std::string_view rest = array.substr(header);
  std::vector<JobRefAt> refs;
  Walker first(rest, refs);
  if (Status s = first.run(1, /*whole=*/false); !s) return s;
  return std::pair<size_t, size_t>{header, first.pos()};
}

}  // namespace pp::proto
