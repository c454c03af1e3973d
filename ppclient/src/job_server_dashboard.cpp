// JobServer's dashboard (ClusterOptions::dashboard): the HTTP server reads live
// snapshots on its own threads, so the io thread only pays for the copies they ask for
// (at most about ten a second, live_snapshot()).
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <thread>

#include "ppclient/src/dashboard.hpp"
#include "ppclient/src/dashboard_json.hpp"
#include "ppclient/src/job_server.hpp"

namespace pp::client {

void JobServer::check_dashboard() const {
  if (opt_.dashboard.empty()) return;
  auto where = parse_dashboard_address(opt_.dashboard);
  if (!where) throw std::invalid_argument("dashboard " + where.status().message());
  if (opt_.dashboard_linger.count() < 0) {
    throw std::invalid_argument("dashboard_linger must be 0 or more seconds");
  }
}

void JobServer::bind_dashboard() {
  if (opt_.dashboard.empty()) return;
  auto where = parse_dashboard_address(opt_.dashboard);   // checked: check_dashboard()
  auto d = Dashboard::bind(*where, [this] { return dashboard_json(live_snapshot(), false); });
  if (!d) throw std::runtime_error("dashboard: " + d.status().message());
  (*d)->set_stream([this](uint64_t since) {
    return dashboard_stream_json(live_snapshot(), since, false);
  });
  dashboard_ = std::move(*d);
}

void JobServer::serve_dashboard() {
  if (!dashboard_) return;
  dashboard_->serve();
  std::fprintf(stderr, "ppclient: dashboard at %s\n", dashboard_->url().c_str());
}

// Before the io thread stops: a snapshot taken now (not live_snapshot()'s copy of up to
// 100 ms ago, which may miss the last results) is the final state.
void JobServer::finish_dashboard() {
  if (!dashboard_) return;
  LiveSnapshot last = on_io([this] { return take_live(); });
  {
    std::lock_guard lock(live_mutex_);
    last.serial = ++live_serial_;
  }
  std::string json = dashboard_json(last, true);
  dashboard_->finish(std::move(json), [last = std::move(last)](uint64_t since) {
    return dashboard_stream_json(last, since, true);
  });
}

// After it stopped (the nodes are released): the final state stays up for a while.
void JobServer::linger_dashboard() {
  if (!dashboard_) return;
  if (opt_.dashboard_linger.count() > 0) {
    std::fflush(nullptr);   // what the script printed shows now, not after the wait
    std::fprintf(stderr, "ppclient: the batch ended; its dashboard stays at %s for %.1f s\n",
                 dashboard_->url().c_str(), opt_.dashboard_linger.count() / 1000.0);
    std::this_thread::sleep_for(opt_.dashboard_linger);
  }
  dashboard_.reset();
}

}  // namespace pp::client
