// JobTimes: the node's running mean of job wall times per code hash, which says
// whether a job is known to be short.
//
// Only a job known to be short may wait in a busy worker's pipeline (worker_pool.cpp):
// a job of unknown length waits in the node's queue, where an idle worker or the
// client (STEAL) can take it, so it is never held behind another job while a worker
// of the node is free. Plain data; single-threaded (the node's io thread).
//
//   JobTimes t;
//   t.add(hash, 0.000004);
//   if (t.known_short(hash)) ...   // mean under kShortSeconds
#pragma once

#include <string>
#include <unordered_map>

namespace pp::server {

class JobTimes {
 public:
  // Below this mean a code's jobs are short: a few of them in a row cost less than a
  // round trip between node and worker.
  static constexpr double kShortSeconds = 0.002;
  // Codes remembered; past this the table starts over (a node serving that many
  // distinct functions learns them again, at the price of one unpipelined job each).
  static constexpr size_t kMaxCodes = 4096;

  // Mean seconds of a job of `hash`, or -1 when none has finished here yet.
  double mean(const std::string& hash) const {
    auto it = mean_.find(hash);
    return it == mean_.end() ? -1 : it->second;
  }
  // The mean when `hash` is known to be short, else -1.
  double short_mean(const std::string& hash) const {
    double m = mean(hash);
    return m >= 0 && m < kShortSeconds ? m : -1;
  }
  bool known_short(const std::string& hash) const { return short_mean(hash) >= 0; }

  // A job of `hash` ran for `seconds` (the newest counts for a fifth).
  void add(const std::string& hash, double seconds) {
    if (mean_.size() >= kMaxCodes && !mean_.contains(hash)) mean_.clear();
    auto [it, fresh] = mean_.try_emplace(hash, seconds);
    if (!fresh) it->second = 0.8 * it->second + 0.2 * seconds;
  }

 private:
  std::unordered_map<std::string, double> mean_;
};

}  // namespace pp::server
