#include "ppclient/src/scatter.hpp"

#include "core/proto/data_ref.hpp"

namespace pp::client {

SharedData::~SharedData() {
  if (auto r = registry.lock()) r->released(hash);
}

std::shared_ptr<const SharedData> DataRegistry::make(std::string bytes, bool* fresh) {
  std::string hash = proto::data_hash(bytes);
  std::lock_guard lock(mutex_);
  auto& slot = live_[hash];
  if (auto live = slot.lock()) {
    if (fresh) *fresh = false;
    return live;
  }
  auto d = std::make_shared<SharedData>();
  d->hash = std::move(hash);
  d->bytes = std::make_shared<const std::string>(std::move(bytes));
  d->registry = weak_from_this();
  slot = d;
  if (fresh) *fresh = true;
  return d;
}

// The record of `hash` is gone. Its entry is dropped, and the nodes told, unless a
// record of the same content was made meanwhile (then the nodes' hold is its own).
void DataRegistry::released(const std::string& hash) {
  std::lock_guard lock(mutex_);
  auto it = live_.find(hash);
  if (it == live_.end() || !it->second.expired()) return;
  live_.erase(it);
  if (!closed_ && release_) release_(hash);
}

void DataRegistry::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
}

size_t DataRegistry::live() const {
  std::lock_guard lock(mutex_);
  return live_.size();
}

}  // namespace pp::client
