// IndexedHeap: a binary min-heap over small dense ids (node ids), each with a key; the
// smallest (key, id) is on top, so among equal keys the smallest id wins, as a scan in id
// order keeping the first best would choose. An entry is inserted, moved or removed by id
// in O(log n); top() is O(1). The Scheduler keeps its per-node choices in these instead of
// scanning every node per decision. Not thread-safe; keys must not be NaN.
//
//   IndexedHeap h;
//   h.set(7, 0.5);  h.set(3, 0.5);  h.set(9, 0.1);
//   h.top();        // 9
//   h.erase(9);     // now 3: equal keys, smaller id
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace pp::sched {

class IndexedHeap {
 public:
  // Inserts `id` with `key`, or moves it there if present.
  void set(uint32_t id, double key);
  // Removes `id`; nothing happens if it is absent.
  void erase(uint32_t id);
  bool contains(uint32_t id) const { return id < pos_.size() && pos_[id] != kAbsent; }
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  uint32_t top() const { return heap_.front(); }          // not on an empty heap
  double top_key() const { return keys_[heap_.front()]; }
  double key(uint32_t id) const { return keys_[id]; }     // only for an id it contains
  // Every id it holds, in heap order (not sorted).
  std::span<const uint32_t> ids() const { return heap_; }

 private:
  static constexpr uint32_t kAbsent = UINT32_MAX;
  bool before(uint32_t a, uint32_t b) const {
    return keys_[a] < keys_[b] || (keys_[a] == keys_[b] && a < b);
  }
  void place(size_t slot, uint32_t id) {
    heap_[slot] = id;
    pos_[id] = static_cast<uint32_t>(slot);
  }
  void up(size_t slot);
  void down(size_t slot);

  std::vector<uint32_t> heap_;   // ids, heap-ordered
  std::vector<uint32_t> pos_;    // id -> slot in heap_, kAbsent when not there
  std::vector<double> keys_;     // id -> key (meaningful while present)
};

}  // namespace pp::sched
