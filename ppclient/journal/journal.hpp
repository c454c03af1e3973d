// Journal: an append-only file of finished jobs, so a batch can resume after its
// driver died. Pure: plain POSIX file calls and libsodium, no Asio, no sockets.
//
// A record maps a job key (Journal::job_key: code hash, packed arguments and the
// job's ordinal in the batch) to the job's outcome. On resume the driver looks each
// job up before submitting it and takes the journalled result instead of running
// it again.
//
//   auto j = Journal::open("batch.ppj", batch_key);       // creates or reopens
//   if (!j) die(j.status().message());
//   std::string key = Journal::job_key(code_hash, packed_args, ordinal);
//   if (auto rec = (*j)->lookup(key)) use(rec->value);     // finished in an earlier run
//   else (*j)->append(key, {proto::JobStatus::kOk, value, "", "", node});
//
// File format (all integers little-endian):
//   header:  "PPJOURNL" | u32 version | u32 key length | batch key | 16-byte checksum
//   record:  u32 body length | u32 length check | body | 16-byte checksum of length + body
//   body:    u16 key length | key | u8 status | u32+value | u32+error | u32+traceback | u16+node
// The header is written to a temporary file and renamed into place, so a journal
// file is never half-created. Checksums are BLAKE2b (crypto_generichash).
//
// Durability. append() hands the record to the kernel with one write(2) before it
// returns, so a driver killed at any moment (kill -9, crash) loses nothing that was
// appended; at worst the record being written when it died is torn, and open()
// drops that torn tail. Only an operating-system crash or power loss can lose
// records, namely those appended since the last fdatasync. fdatasync costs a disk
// flush (milliseconds on many disks), so by default it runs every `sync_every`
// records or when `sync_interval` has passed since the last one, checked at each
// append; sync() and the destructor flush the rest. sync_every = 1 makes every
// record durable before append returns, at that cost per job. Losing records only
// ever means jobs run again on resume, never a wrong result.
//
// Damage. A torn tail is dropped: open() truncates it away and reports the bytes in
// dropped_tail_bytes(). A torn tail is a last record the file ends inside (what a
// killed driver can leave), or what an OS crash can leave: zero bytes after the last
// good record, or a last record whose length checks out and which ends exactly at the
// end of the file but fails its checksum. Anything else that fails a check (a damaged
// length field, a bad record with more bytes after it) is not what a killed driver
// leaves behind: open() fails with kInvalid naming the offset, unless `salvage` is
// set, in which case the records before it are kept and everything from it on is
// dropped (those jobs run again). Damage is never read as a result. A journal of
// another batch (batch key) or format version is refused with kIncompatible:
// batches are never mixed.
//
// Thread-safety: every method may be called from any thread (one internal mutex).
// One process at a time: open() takes an exclusive flock and fails if it is held.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/proto/constants.hpp"
#include "core/util/status.hpp"

namespace pp::client {

struct JournalRecord {
  proto::JobStatus status = proto::JobStatus::kOk;
  std::string value;       // msgpack array of the returned values when ok
  std::string error;       // message when not ok
  std::string traceback;   // Lua traceback of a kLuaError
  std::string node;        // the node that produced it
};

struct JournalOptions {
  // fdatasync after this many appends since the last one (0 = not by count) ...
  uint32_t sync_every = 256;
  // ... or at the first append this long after the last one (0 = not by time).
  std::chrono::milliseconds sync_interval{1000};
  // A corrupted record before the end: keep what precedes it and drop the rest
  // instead of refusing to open.
  bool salvage = false;
  // Keep the keys this process appends in the in-memory index, so lookup() and
  // contains() see them. The job server turns it off: its keys are unique within a
  // run (they include the job's ordinal), so it never looks up what it appended, and
  // an index entry per finished job (about 100 bytes) would grow without bound over a
  // long batch. Off, a key already in the index still points to its newest record.
  bool index_appends = true;
};

class Journal {
 public:
  // Limits, so a damaged length can never ask for a huge allocation.
  static constexpr size_t kMaxBatchKey = 1024;
  static constexpr size_t kMaxKey = 1024;
  static constexpr size_t kMaxNode = 1024;
  static constexpr size_t kMaxRecordBody = size_t{1} << 30;
  static constexpr uint32_t kVersion = 1;

  // Opens `path`, or creates it for `batch_key` (arbitrary bytes, at most
  // kMaxBatchKey). Fails with kIncompatible for another batch key or version,
  // kInvalid for a file that is not a journal or is damaged (see above), kIo for
  // system errors (including another process holding the journal).
  static Result<std::unique_ptr<Journal>> open(const std::string& path,
                                               std::string_view batch_key,
                                               JournalOptions options = {});
  // 32 bytes identifying one job of a batch: BLAKE2b over the code hash, the packed
  // arguments and the ordinal, each length-prefixed so no two inputs collide by framing.
  static std::string job_key(std::string_view code_hash, std::string_view packed_args,
                             uint64_t ordinal);

  ~Journal();   // fdatasyncs what is not yet synced, then closes
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // The latest record appended for `key`, read back from the file and checked
  // again. A record that cannot be read back (I/O error, the file changed under
  // us) counts as absent, so its job simply runs again; read_errors() counts them.
  std::optional<JournalRecord> lookup(std::string_view key) const;
  bool contains(std::string_view key) const;
  // Appends and hands the record to the kernel (see Durability). A key already
  // present is allowed; lookup then returns the newer record (see index_appends). On a failed or short
  // write the file is cut back to its previous end, so it stays well-formed.
  Status append(std::string_view key, const JournalRecord& record);
  // fdatasync now, if anything was appended since the last one.
  Status sync();

  size_t size() const;                    // distinct keys
  uint64_t records() const;               // records in the file, duplicates included
  uint64_t dropped_tail_bytes() const;    // torn tail cut off by open()
  uint64_t salvaged_bytes() const;        // damaged part dropped by open() with salvage
  uint64_t syncs() const;                 // fdatasync calls so far
  uint64_t read_errors() const;
  const std::string& path() const { return path_; }

 private:
  struct Where {
    uint64_t offset = 0;   // of the record's length field
    uint32_t body = 0;     // body length
  };
  Journal(std::string path, int fd, JournalOptions options);
  Status scan(uint64_t data_start, uint64_t file_size);
  Status settle_tail(uint64_t good_end, uint64_t file_size, const char* damage);
  Status sync_locked();
  // A counter read under the mutex (appends from other threads move it).
  uint64_t locked(const uint64_t& counter) const {
    std::lock_guard lock(mutex_);
    return counter;
  }

  std::string path_;
  int fd_ = -1;
  JournalOptions opt_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Where> index_;
  uint64_t end_ = 0;            // where the next record goes
  uint64_t records_ = 0;
  uint64_t dropped_tail_ = 0;
  uint64_t salvaged_ = 0;
  uint64_t syncs_ = 0;
  mutable uint64_t read_errors_ = 0;
  uint32_t unsynced_ = 0;
  std::chrono::steady_clock::time_point last_sync_;
};

}  // namespace pp::client
