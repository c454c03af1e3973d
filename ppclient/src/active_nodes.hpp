// ActiveNodes: the connected nodes and their worker counts, as user threads see them
// (get_ncpus, get_active_nodes). A snapshot: NodeTable writes it on the io thread when
// a node becomes ready or goes away; any thread reads a copy. Its own mutex, so
// reading it never waits behind result delivery; waiters for a number of workers
// (wait_for_workers) sleep on its condition variable. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>

namespace pp::client {

class ActiveNodes {
 public:
  void set(const std::string& name, int workers) {
    {
      std::lock_guard lock(mutex_);
      workers_[name] = workers;
    }
    changed_.notify_all();
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
    return workers_locked();
  }
  // Waits until at least n workers are connected (true) or `timeout` passed (false).
  bool wait_for_workers(int n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return workers_locked() >= n; });
  }

 private:
  int workers_locked() const {
    int n = 0;
    for (const auto& [name, w] : workers_) n += w;
    return n;
  }

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::map<std::string, int> workers_;
};

}  // namespace pp::client
