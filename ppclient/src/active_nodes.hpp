// ActiveNodes: the connected nodes and their worker counts, as user threads see them
// (get_ncpus, get_active_nodes). A snapshot: NodeTable writes it on the io thread when
// a node becomes ready or goes away; any thread reads a copy. Its own mutex, so
// reading it never waits behind result delivery; waiters for a number of workers
// (wait_for_workers) sleep on its condition variable. Thread-safe.
// With each node, what js:run / Cluster::run need to reach each of its workers: the
// node's own "host:port" (its HELLO's host and the port it listens on: a job's
// worker.node there) and whether it takes a job placed on one worker.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>

namespace pp::client {

struct NodePlaces {
  std::string node;        // "host:port" as the node names itself (worker.node)
  int workers = 0;         // its workers are node .. "#" .. k, k = 1..workers
  bool placement = false;  // it takes SUBMIT naming one worker (Cap::kPlacement)
};

class ActiveNodes {
 public:
  void set(const std::string& name, int workers, NodePlaces places = {}) {
    {
      std::lock_guard lock(mutex_);
      workers_[name] = workers;
      places.workers = workers;
      places_[name] = std::move(places);
    }
    changed_.notify_all();
  }
  void erase(const std::string& name) {
    std::lock_guard lock(mutex_);
    workers_.erase(name);
    places_.erase(name);
  }
  // Each connected node by the name the client knows it by.
  std::map<std::string, NodePlaces> places() const {
    std::lock_guard lock(mutex_);
    return places_;
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
  std::map<std::string, NodePlaces> places_;
};

}  // namespace pp::client
