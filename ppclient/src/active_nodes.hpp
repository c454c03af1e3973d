// ActiveNodes: the connected nodes and their worker counts, as user threads see them
// (get_ncpus, get_active_nodes). A snapshot: NodeTable writes it on the io thread when
// a node becomes ready or goes away; any thread reads a copy. Its own mutex, so
// reading it never waits behind result delivery. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>

namespace pp::client {

class ActiveNodes {
 public:
  void set(const std::string& name, int workers) {
    std::lock_guard lock(mutex_);
    workers_[name] = workers;
  }
  void erase(const std::string& name) {
    std::lock_guard lock(mutex_);
    workers_.erase(name);
  }
  std::map<std::string, int> copy() const {
    std::lock_guard lock(mutex_);
    return workers_;
  }
  int workers() const {
    std::lock_guard lock(mutex_);
    int n = 0;
    for (const auto& [name, w] : workers_) n += w;
    return n;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, int> workers_;
};

}  // namespace pp::client
