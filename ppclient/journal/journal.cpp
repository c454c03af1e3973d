#include "ppclient/journal/journal.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "core/proto/auth.hpp"
#include "core/util/log.hpp"

namespace pp::client {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kMagic[8] = {'P', 'P', 'J', 'O', 'U', 'R', 'N', 'L'};
constexpr size_t kSum = 16;                      // checksum bytes (BLAKE2b-128)
constexpr size_t kRecordHead = 8;                // u32 body length + u32 length check
constexpr size_t kHeaderFixed = sizeof kMagic + 4 + 4;
// BLAKE2b keys (16..64 bytes): each checksum kind is independent of the others.
constexpr std::string_view kHeaderLabel = "ppcluster journal header v1";
constexpr std::string_view kLengthLabel = "ppcluster journal length v1";
constexpr std::string_view kRecordLabel = "ppcluster journal record v1";
constexpr std::string_view kJobKeyLabel = "ppcluster journal job key v1";

const unsigned char* u8(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

void ensure_sodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) throw std::runtime_error("libsodium failed to initialise");
}

void put_u16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}
void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// Reads the body's fields in order, bounds-checked: a body is only trusted after
// its checksum matched, but even then a bug must not read out of bounds.
class BodyReader {
 public:
  explicit BodyReader(std::string_view s) : s_(s) {}
  bool bytes(size_t len_size, std::string& out) {
    if (s_.size() - pos_ < len_size) return false;
    size_t len = len_size == 2 ? (static_cast<unsigned char>(s_[pos_]) |
                                  static_cast<size_t>(static_cast<unsigned char>(s_[pos_ + 1])) << 8)
                               : get_u32(s_.data() + pos_);
    pos_ += len_size;
    if (s_.size() - pos_ < len) return false;
    out.assign(s_.substr(pos_, len));
    pos_ += len;
    return true;
  }
  bool byte(uint8_t& out) {
    if (pos_ >= s_.size()) return false;
    out = static_cast<uint8_t>(s_[pos_++]);
    return true;
  }
  bool at_end() const { return pos_ == s_.size(); }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

std::string checksum(std::string_view label, std::string_view data) {
  std::string out(kSum, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), kSum, u8(data), data.size(),
                     u8(label), label.size());
  return out;
}

// A record's checksum covers its length field and its body (not the length check).
std::string record_sum(std::string_view len4, std::string_view body) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, u8(kRecordLabel), kRecordLabel.size(), kSum);
  crypto_generichash_update(&st, u8(len4), len4.size());
  crypto_generichash_update(&st, u8(body), body.size());
  std::string out(kSum, '\0');
  crypto_generichash_final(&st, reinterpret_cast<unsigned char*>(out.data()), kSum);
  return out;
}

// The 4-byte check of a record's length field, so a damaged length is recognised
// as damage instead of sending the reader past the rest of the file.
std::string length_check(std::string_view len4) { return checksum(kLengthLabel, len4).substr(0, 4); }

std::string header_bytes(std::string_view batch_key) {
  std::string h(kMagic, sizeof kMagic);
  put_u32(h, Journal::kVersion);
  put_u32(h, static_cast<uint32_t>(batch_key.size()));
  h.append(batch_key);
  h += checksum(kHeaderLabel, h);
  return h;
}

std::string hex_prefix(std::string_view bytes) {
  std::string hex = proto::to_hex(bytes.substr(0, 16));
  return bytes.size() > 16 ? hex + "..." : hex;
}

std::string errno_text() { return std::strerror(errno); }

Status io_error(const std::string& what, const std::string& path) {
  return {StatusCode::kIo, what + " " + path + ": " + errno_text()};
}

// Exactly `len` bytes at `offset`; false on error or a short file.
bool read_at(int fd, uint64_t offset, char* out, size_t len) {
  while (len > 0) {
    ssize_t n = ::pread(fd, out, len, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    out += n;
    len -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

bool write_at(int fd, uint64_t offset, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

bool sync_dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

// Creates the journal atomically: the header goes to a private temporary file,
// is synced, and is linked into place, which fails if someone else got there first
// (then their file is opened instead). A journal file therefore always has a full header.
Status create_file(const std::string& path, std::string_view batch_key) {
  std::string tmp = path + ".new." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot create journal", path);
  bool ok = write_at(fd, 0, header_bytes(batch_key)) && ::fsync(fd) == 0;
  Status st = ok ? Status::ok() : io_error("cannot write the header of journal", path);
  ::close(fd);
  if (st && ::link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    st = io_error("cannot create journal", path);
  }
  ::unlink(tmp.c_str());
  if (st && !sync_dir_of(path)) st = io_error("cannot sync the directory of", path);
  return st;
}

Status check_header(int fd, const std::string& path, std::string_view batch_key, uint64_t size,
                    uint64_t& data_start) {
  char fixed[kHeaderFixed];
  if (size < kHeaderFixed || !read_at(fd, 0, fixed, sizeof fixed) ||
      std::memcmp(fixed, kMagic, sizeof kMagic) != 0) {
    return {StatusCode::kInvalid, path + " is not a ppcluster journal (no journal header)"};
  }
  uint32_t version = get_u32(fixed + 8);
  if (version != Journal::kVersion) {
    return {StatusCode::kIncompatible,
            "journal " + path + " has format version " + std::to_string(version) +
                ", this build reads version " + std::to_string(Journal::kVersion)};
  }
  uint32_t key_len = get_u32(fixed + 12);
  if (key_len > Journal::kMaxBatchKey || size < kHeaderFixed + key_len + kSum) {
    return {StatusCode::kInvalid, "journal " + path + " has a damaged header"};
  }
  std::string rest(key_len + kSum, '\0');
  if (!read_at(fd, kHeaderFixed, rest.data(), rest.size())) return io_error("cannot read", path);
  std::string signed_part = std::string(fixed, sizeof fixed) + rest.substr(0, key_len);
  if (checksum(kHeaderLabel, signed_part) != rest.substr(key_len)) {
    return {StatusCode::kInvalid, "journal " + path + " has a damaged header (checksum mismatch)"};
  }
  std::string_view stored = std::string_view(rest).substr(0, key_len);
  if (stored != batch_key) {
    return {StatusCode::kIncompatible,
            "journal " + path + " belongs to another batch (batch key " + hex_prefix(stored) +
                ", this batch has " + hex_prefix(batch_key) +
                "); give this batch its own journal file, or remove the old one to start afresh"};
  }
  data_start = kHeaderFixed + key_len + kSum;
  return Status::ok();
}

bool parse_body(std::string_view body, std::string* key, JournalRecord* rec) {
  BodyReader r(body);
  std::string k;
  uint8_t status = 0;
  JournalRecord out;
  if (!r.bytes(2, k) || !r.byte(status) || !r.bytes(4, out.value) || !r.bytes(4, out.error) ||
      !r.bytes(4, out.traceback) || !r.bytes(2, out.node) || !r.at_end() || k.empty()) {
    return false;
  }
  out.status = static_cast<proto::JobStatus>(status);
  if (key) *key = std::move(k);
  if (rec) *rec = std::move(out);
  return true;
}

bool all_zero(int fd, uint64_t from, uint64_t to) {
  char buf[4096];
  while (from < to) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(sizeof buf, to - from));
    if (!read_at(fd, from, buf, n)) return false;
    for (size_t i = 0; i < n; ++i) {
      if (buf[i] != 0) return false;
    }
    from += n;
  }
  return true;
}

}  // namespace

std::string Journal::job_key(std::string_view code_hash, std::string_view packed_args,
                             uint64_t ordinal) {
  ensure_sodium();
  crypto_generichash_state st;
  crypto_generichash_init(&st, u8(kJobKeyLabel), kJobKeyLabel.size(), crypto_generichash_BYTES);
  std::string lengths;
  put_u64(lengths, code_hash.size());
  put_u64(lengths, packed_args.size());
  put_u64(lengths, ordinal);
  crypto_generichash_update(&st, u8(lengths), lengths.size());
  crypto_generichash_update(&st, u8(code_hash), code_hash.size());
  crypto_generichash_update(&st, u8(packed_args), packed_args.size());
  std::string out(crypto_generichash_BYTES, '\0');
  crypto_generichash_final(&st, reinterpret_cast<unsigned char*>(out.data()), out.size());
  return out;
}

Journal::Journal(std::string path, int fd, JournalOptions options)
    : path_(std::move(path)), fd_(fd), opt_(options), last_sync_(Clock::now()) {}

Journal::~Journal() {
  std::lock_guard lock(mutex_);
  Status st = sync_locked();
  if (!st) PP_WARN("journal %s: %s", path_.c_str(), st.message().c_str());
  ::close(fd_);
}

Result<std::unique_ptr<Journal>> Journal::open(const std::string& path,
                                               std::string_view batch_key,
                                               JournalOptions options) {
  ensure_sodium();
  if (batch_key.size() > kMaxBatchKey) {
    return Status(StatusCode::kInvalid, "journal batch key of " +
                                            std::to_string(batch_key.size()) +
                                            " bytes is longer than " + std::to_string(kMaxBatchKey));
  }
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    Status st = create_file(path, batch_key);
    if (!st) return st;
    fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  }
  if (fd < 0) return io_error("cannot open journal", path);
  std::unique_ptr<Journal> j(new Journal(path, fd, options));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Status(StatusCode::kIo, "journal " + path + " is in use by another process");
    }
    return io_error("cannot lock journal", path);
  }
  struct stat sb;
  if (::fstat(fd, &sb) != 0) return io_error("cannot stat journal", path);
  uint64_t size = static_cast<uint64_t>(sb.st_size);
  if (size == 0) {   // an empty file made for us (mktemp): it becomes a new journal
    std::string h = header_bytes(batch_key);
    if (!write_at(fd, 0, h) || ::fdatasync(fd) != 0) return io_error("cannot write journal", path);
    size = h.size();
  }
  uint64_t data_start = 0;
  Status st = check_header(fd, path, batch_key, size, data_start);
  if (!st) return st;
  st = j->scan(data_start, size);
  if (!st) return st;
  return j;
}

// Indexes every record; see the header comment for what counts as a torn tail
// (dropped) and what as damage (refused, or dropped with salvage).
Status Journal::scan(uint64_t off, uint64_t size) {
  std::string buf;
  std::string key;
  const char* damage = nullptr;
  while (off < size && damage == nullptr) {
    uint64_t left = size - off;
    char head[kRecordHead];
    if (left < kRecordHead) break;                               // torn inside the length
    if (!read_at(fd_, off, head, sizeof head)) return io_error("cannot read", path_);
    uint32_t body = get_u32(head);
    if (length_check(std::string_view(head, 4)) != std::string_view(head + 4, 4)) {
      if (all_zero(fd_, off, size)) break;                       // zero-filled tail
      damage = "damaged record length";
      break;
    }
    if (body > kMaxRecordBody) {
      damage = "record length over the limit";
      break;
    }
    uint64_t total = kRecordHead + uint64_t{body} + kSum;
    if (left < total) break;                                     // torn inside the body
    buf.resize(body + kSum);
    if (!read_at(fd_, off + kRecordHead, buf.data(), buf.size())) return io_error("cannot read", path_);
    std::string_view whole(buf);
    bool sum_ok = record_sum(std::string_view(head, 4), whole.substr(0, body)) == whole.substr(body);
    if (!sum_ok && left == total) break;                         // unverifiable last record
    if (!sum_ok || !parse_body(whole.substr(0, body), &key, nullptr)) {
      damage = sum_ok ? "malformed record" : "checksum mismatch";
      break;
    }
    index_[key] = Where{off, body};
    ++records_;
    off += total;
  }
  return settle_tail(off, size, damage);
}

// What follows the last good record: refused as damage (without salvage), or cut off (a torn
// tail, or damage with salvage), so that appends continue from a good record.
Status Journal::settle_tail(uint64_t off, uint64_t size, const char* damage) {
  if (damage != nullptr && !opt_.salvage) {
    return {StatusCode::kInvalid,
            "journal " + path_ + " is damaged at byte " + std::to_string(off) + " (after " +
                std::to_string(records_) + " good records): " + damage +
                ". A driver that was killed can only leave a torn last record, so this is "
                "damage from elsewhere (disk, editing); open it with salvage to keep the " +
                std::to_string(records_) + " records before it (the later jobs run again), " +
                "or move the file away"};
  }
  if (off < size) {
    if (damage != nullptr) {
      salvaged_ = size - off;
      PP_WARN("journal %s: %s at byte %llu; salvage keeps %llu records and drops %llu bytes",
              path_.c_str(), damage, static_cast<unsigned long long>(off),
              static_cast<unsigned long long>(records_), static_cast<unsigned long long>(salvaged_));
    } else {
      dropped_tail_ = size - off;
      PP_INFO("journal %s: dropping a torn last record (%llu bytes)", path_.c_str(),
              static_cast<unsigned long long>(dropped_tail_));
    }
    if (::ftruncate(fd_, static_cast<off_t>(off)) != 0 || ::fdatasync(fd_) != 0) {
      return io_error("cannot truncate journal", path_);
    }
  }
  end_ = off;
  return Status::ok();
}

Status Journal::append(std::string_view key, const JournalRecord& rec) {
  if (key.empty() || key.size() > kMaxKey) {
    return {StatusCode::kInvalid, "journal key must be 1.." + std::to_string(kMaxKey) + " bytes"};
  }
  if (rec.node.size() > kMaxNode) {
    return {StatusCode::kInvalid, "journal node name over " + std::to_string(kMaxNode) + " bytes"};
  }
  uint64_t body_size = 2 + key.size() + 1 + 4 + rec.value.size() + 4 + rec.error.size() + 4 +
                       rec.traceback.size() + 2 + rec.node.size();
  if (body_size > kMaxRecordBody) {
    return {StatusCode::kTooLarge, "journal record of " + std::to_string(body_size) +
                                       " bytes is over the limit of " +
                                       std::to_string(kMaxRecordBody)};
  }
  std::string out;
  out.reserve(kRecordHead + body_size + kSum);
  put_u32(out, static_cast<uint32_t>(body_size));
  out += length_check(out);
  put_u16(out, static_cast<uint16_t>(key.size()));
  out.append(key);
  out.push_back(static_cast<char>(rec.status));
  for (const std::string* s : {&rec.value, &rec.error, &rec.traceback}) {
    put_u32(out, static_cast<uint32_t>(s->size()));
    out += *s;
  }
  put_u16(out, static_cast<uint16_t>(rec.node.size()));
  out += rec.node;
  std::string_view whole(out);
  std::string sum = record_sum(whole.substr(0, 4), whole.substr(kRecordHead));
  out += sum;

  std::lock_guard lock(mutex_);
  if (!write_at(fd_, end_, out)) {
    Status st = io_error("cannot append to journal", path_);
    // Cut a partial record off again, so later appends follow a well-formed file.
    if (::ftruncate(fd_, static_cast<off_t>(end_)) != 0) {
      PP_WARN("journal %s: cannot cut back a failed append: %s", path_.c_str(), errno_text().c_str());
    }
    return st;
  }
  const Where where{end_, static_cast<uint32_t>(body_size)};
  if (opt_.index_appends) {
    index_[std::string(key)] = where;
  } else if (auto it = index_.find(std::string(key)); it != index_.end()) {
    it->second = where;
  }
  end_ += out.size();
  ++records_;
  ++unsynced_;
  bool due = (opt_.sync_every > 0 && unsynced_ >= opt_.sync_every) ||
             (opt_.sync_interval.count() > 0 && Clock::now() - last_sync_ >= opt_.sync_interval);
  return due ? sync_locked() : Status::ok();
}

Status Journal::sync() {
  std::lock_guard lock(mutex_);
  return sync_locked();
}

Status Journal::sync_locked() {
  if (unsynced_ == 0) return Status::ok();
  if (::fdatasync(fd_) != 0) return io_error("cannot sync journal", path_);
  ++syncs_;
  unsynced_ = 0;
  last_sync_ = Clock::now();
  return Status::ok();
}

std::optional<JournalRecord> Journal::lookup(std::string_view key) const {
  std::lock_guard lock(mutex_);
  auto it = index_.find(std::string(key));
  if (it == index_.end()) return std::nullopt;
  const Where& w = it->second;
  std::string buf(kRecordHead + w.body + kSum, '\0');
  std::string stored_key;
  JournalRecord rec;
  bool ok = read_at(fd_, w.offset, buf.data(), buf.size());
  if (ok) {
    std::string_view v(buf);
    ok = get_u32(buf.data()) == w.body &&
         record_sum(v.substr(0, 4), v.substr(kRecordHead, w.body)) == v.substr(kRecordHead + w.body) &&
         parse_body(v.substr(kRecordHead, w.body), &stored_key, &rec) && stored_key == key;
  }
  if (!ok) {
    ++read_errors_;
    PP_WARN("journal %s: the record at byte %llu no longer reads back intact; its job runs again",
            path_.c_str(), static_cast<unsigned long long>(w.offset));
    return std::nullopt;
  }
  return rec;
}

bool Journal::contains(std::string_view key) const {
  std::lock_guard lock(mutex_);
  return index_.count(std::string(key)) != 0;
}

size_t Journal::size() const {
  std::lock_guard lock(mutex_);
  return index_.size();
}
uint64_t Journal::records() const { return locked(records_); }
uint64_t Journal::dropped_tail_bytes() const { return locked(dropped_tail_); }
uint64_t Journal::salvaged_bytes() const { return locked(salvaged_); }
uint64_t Journal::syncs() const { return locked(syncs_); }
uint64_t Journal::read_errors() const { return locked(read_errors_); }

}  // namespace pp::client
