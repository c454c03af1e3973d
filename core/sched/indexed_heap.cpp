#include "core/sched/indexed_heap.hpp"

namespace pp::sched {

void IndexedHeap::set(uint32_t id, double key) {
  if (id >= pos_.size()) {
    pos_.resize(id + 1, kAbsent);
    keys_.resize(id + 1, 0);
  }
  if (pos_[id] == kAbsent) {
    keys_[id] = key;
    heap_.push_back(id);
    pos_[id] = static_cast<uint32_t>(heap_.size() - 1);
    up(heap_.size() - 1);
    return;
  }
  const double old = keys_[id];
  if (old == key) return;
  keys_[id] = key;
  if (key < old) {
    up(pos_[id]);
  } else {
    down(pos_[id]);
  }
}

void IndexedHeap::erase(uint32_t id) {
  if (!contains(id)) return;
  const size_t slot = pos_[id];
  const uint32_t last = heap_.back();
  heap_.pop_back();
  pos_[id] = kAbsent;
  if (last == id) return;
  place(slot, last);
  up(slot);
  down(pos_[last]);
}

void IndexedHeap::up(size_t slot) {
  const uint32_t id = heap_[slot];
  while (slot > 0) {
    const size_t parent = (slot - 1) / 2;
    if (!before(id, heap_[parent])) break;
    place(slot, heap_[parent]);
    slot = parent;
  }
  place(slot, id);
}

void IndexedHeap::down(size_t slot) {
  const uint32_t id = heap_[slot];
  const size_t n = heap_.size();
  for (;;) {
    size_t child = 2 * slot + 1;
    if (child >= n) break;
    if (child + 1 < n && before(heap_[child + 1], heap_[child])) ++child;
    if (!before(heap_[child], id)) break;
    place(slot, heap_[child]);
    slot = child;
  }
  place(slot, id);
}

}  // namespace pp::sched
