#include "ppserver/guest/busy_watch.hpp"

#include <cstdio>

#include "core/util/log.hpp"

namespace pp::server::guest {

BusyWatch::BusyWatch(asio::io_context& io, CpuMeter& meter, BusyPolicy::Options options,
                     std::function<void(std::string reason)> hold, std::function<void()> release)
    : options_(options),
      policy_(options),
      meter_(meter),
      timer_(io),
      hold_(std::move(hold)),
      release_(std::move(release)) {}

void BusyWatch::start() {
  PP_INFO("pause when busy: other processes over %.0f %% of the machine for %.1f s pause the "
          "node (at least %.1f s); own CPU read from the %s",
          options_.percent, options_.grace.count() / 1000.0, options_.min_pause.count() / 1000.0,
          meter_.source().c_str());
  meter_.sample();
  tick();
}

void BusyWatch::tick() {
  timer_.expires_after(std::chrono::seconds(1));
  timer_.async_wait([this](const asio::error_code& ec) {
    if (ec) return;
    LoadShares s = meter_.sample();
    double other = s.other * 100;
    // Each sample, for a look at what the policy saw (-d; the tests read it too).
    PP_DEBUG("busy sample: other processes %.0f %%, the node %.0f %% of the machine%s", other,
             s.own * 100, other > options_.percent ? " (over the limit)" : "");
    switch (policy_.update(BusyPolicy::Clock::now(), other)) {
      case BusyPolicy::Change::kPause: {
        char reason[160];
        std::snprintf(reason, sizeof reason,
                      "other processes use %.0f %% of the machine (over %.0f %% for %.1f s)",
                      other, options_.percent, options_.grace.count() / 1000.0);
        hold_(reason);
        break;
      }
      case BusyPolicy::Change::kResume:
        release_();
        break;
      case BusyPolicy::Change::kNone:
        break;
    }
    tick();
  });
}

}  // namespace pp::server::guest
