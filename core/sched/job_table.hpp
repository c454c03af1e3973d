// JobTable<T>: one record per unfinished job, indexed by its id. Ids are dense and
// given in order (1, 2, 3, ...), so a record's place is computed, not looked up: the
// records sit in chunks of kChunk, a chunk is made when its first id is added and
// freed as soon as its last record is erased. A batch of a million jobs costs
// sizeof(T) per job plus a bit, with no node or bucket per job (a hash map's node
// and bucket cost more than the Scheduler's whole record), and a stream of any length
// holds only the chunks its unfinished jobs are in (a straggler holds one chunk).
//
// Used alike by the Scheduler (its job states) and the client's Dispatcher (what it
// sends), which both key by the same ids. Not thread-safe: one owner thread.
//
//   JobTable<Rec> t;
//   t.emplace(1, Rec{...});   // ids only grow; ids skipped are simply never present
//   if (Rec* r = t.find(1)) ...;
//   t.erase(1);
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <new>
#include <stdexcept>
#include <utility>

namespace pp::sched {

template <typename T>
class JobTable {
 public:
  static constexpr size_t kChunk = 4096;

  JobTable() = default;
  JobTable(const JobTable&) = delete;
  JobTable& operator=(const JobTable&) = delete;

  // Adds the record of `id`, which must be above every id added before.
  T& emplace(uint64_t id, T value) {
    if (id == 0 || id <= last_) throw std::invalid_argument("job ids must grow from 1");
    last_ = id;
    const uint64_t k = (id - 1) / kChunk;
    if (!chunks_.empty() && first_ + chunks_.size() <= k && chunks_.back() &&
        chunks_.back()->count == 0) {
      // The chunk before emptied while ids could still land in it: no more can.
      chunks_.back().reset();
      drop_leading_gaps(k);
    }
    if (chunks_.empty()) first_ = k;
    while (first_ + chunks_.size() <= k) chunks_.emplace_back();
    auto& c = chunks_[k - first_];
    if (!c) c = std::make_unique<Chunk>();
    const size_t slot = (id - 1) % kChunk;
    T* p = std::construct_at(c->at(slot), std::move(value));
    c->live.set(slot);
    ++c->count;
    ++size_;
    return *p;
  }

  // The record of `id`, or nullptr when it was never added or was erased.
  T* find(uint64_t id) {
    Chunk* c = chunk_of(id);
    const size_t slot = (id - 1) % kChunk;
    return c != nullptr && c->live.test(slot) ? c->at(slot) : nullptr;
  }
  const T* find(uint64_t id) const { return const_cast<JobTable*>(this)->find(id); }

  // Erases the record of `id`; false when there was none.
  bool erase(uint64_t id) {
    Chunk* c = chunk_of(id);
    const size_t slot = (id - 1) % kChunk;
    if (c == nullptr || !c->live.test(slot)) return false;
    std::destroy_at(c->at(slot));
    c->live.reset(slot);
    --size_;
    if (--c->count == 0 && (id - 1) / kChunk < (last_ - 1) / kChunk) {
      // Empty and no later id can land in it: freed now; leading gaps leave the index.
      chunks_[(id - 1) / kChunk - first_].reset();
      drop_leading_gaps((last_ - 1) / kChunk);
    }
    return true;
  }

  size_t size() const { return size_; }
  // Chunks allocated now (each kChunk records): what the table costs beyond its records.
  size_t chunks() const {
    size_t n = 0;
    for (const auto& c : chunks_) n += c ? 1 : 0;
    return n;
  }

  // Calls f(id, record) for every record, in id order (f must not add or erase).
  template <typename F>
  void for_each(F f) {
    for (size_t i = 0; i < chunks_.size(); ++i) {
      Chunk* c = chunks_[i].get();
      if (c == nullptr) continue;
      for (size_t s = 0; s < kChunk; ++s) {
        if (c->live.test(s)) f((first_ + i) * kChunk + s + 1, *c->at(s));
      }
    }
  }

 private:
  struct Chunk {
    alignas(T) std::byte storage[kChunk * sizeof(T)];
    std::bitset<kChunk> live;
    uint32_t count = 0;
    T* at(size_t slot) { return std::launder(reinterpret_cast<T*>(storage + slot * sizeof(T))); }
    Chunk() = default;
    Chunk(const Chunk&) = delete;
    Chunk& operator=(const Chunk&) = delete;
    ~Chunk() {
      for (size_t s = 0; s < kChunk && count > 0; ++s) {
        if (live.test(s)) {
          std::destroy_at(at(s));
          --count;
        }
      }
    }
  };

  // Empty places before chunk `keep` leave the front of the index.
  void drop_leading_gaps(uint64_t keep) {
    while (!chunks_.empty() && !chunks_.front() && first_ < keep) {
      chunks_.pop_front();
      ++first_;
    }
  }
  Chunk* chunk_of(uint64_t id) const {
    if (id == 0 || id > last_) return nullptr;
    const uint64_t k = (id - 1) / kChunk;
    if (k < first_ || k - first_ >= chunks_.size()) return nullptr;
    return chunks_[k - first_].get();
  }

  std::deque<std::unique_ptr<Chunk>> chunks_;   // chunk first_ + i at i; null: empty
  uint64_t first_ = 0;                          // index of chunks_.front()
  uint64_t last_ = 0;                           // the highest id added
  size_t size_ = 0;
};

}  // namespace pp::sched
