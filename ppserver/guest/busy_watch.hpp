// BusyWatch: --pause-when-busy on the node's io thread. Each second it samples the CPU of
// other processes (CpuMeter) and feeds BusyPolicy; on a change it calls `hold(reason)` or
// `release()`, which the Node maps to Node::hold / Node::release (PauseCause::kBusy).
// Owned by the Node, as is the CpuMeter it samples (the one meter of the node, which the
// announced facts read too); the meter and the callbacks must outlive it. Reading /proc
// costs a few ms per second at most, small enough for the loop.
#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <functional>
#include <string>

#include "ppserver/guest/busy_policy.hpp"
#include "ppserver/guest/cpu_usage.hpp"

namespace pp::server::guest {

class BusyWatch {
 public:
  BusyWatch(asio::io_context& io, CpuMeter& meter, BusyPolicy::Options options,
            std::function<void(std::string reason)> hold, std::function<void()> release);
  void start();

 private:
  void tick();

  BusyPolicy::Options options_;
  BusyPolicy policy_;
  CpuMeter& meter_;
  asio::steady_timer timer_;
  std::function<void(std::string)> hold_;
  std::function<void()> release_;
};

}  // namespace pp::server::guest
