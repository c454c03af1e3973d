// JobServer's live figures (live_figures.hpp): the snapshot readers on any thread get,
// copied on the io thread at most every 100 ms from the Dispatcher's rows, the node
// table's states, discovery's incompatible nodes and what was counted under sync_->mutex.
#include "ppclient/src/dispatcher.hpp"
#include "ppclient/src/job_server.hpp"
#include "ppclient/src/node_table.hpp"

namespace pp::client {

LiveSnapshot JobServer::live_snapshot() const {
  // Often enough for a bar redrawn ten times a second and a page polling it; a reader
  // in between copies the last one.
  constexpr auto kInterval = std::chrono::milliseconds(100);
  {
    std::lock_guard lock(live_mutex_);
    if (live_serial_ > 0 && std::chrono::steady_clock::now() - live_taken_ < kInterval) {
      return live_last_;
    }
  }
  LiveSnapshot s = on_io([this] { return take_live(); });
  std::lock_guard lock(live_mutex_);
  s.serial = ++live_serial_;
  live_last_ = s;
  live_taken_ = std::chrono::steady_clock::now();
  return s;
}

// io thread: the Dispatcher's rows, the node table's states, discovery's incompatible
// nodes (refused, with why), then what was counted under sync_->mutex.
LiveSnapshot JobServer::take_live() const {
  LiveSnapshot s;
  dispatcher_->live(s);
  nodes_->live(s.nodes);
  for (const auto& [id, seen] : seen_) {
    if (seen.compatible || seen.gone) continue;
    LiveNode& n = s.nodes.emplace_back();
    n.figures.node = seen.facts.address + ":" + std::to_string(seen.facts.port);
    n.figures.host = seen.facts.host;
    n.figures.workers = static_cast<int>(seen.facts.workers);
    n.figures.speed_score = seen.facts.speed;
    n.found = seen.via;
    n.state = NodeState::kRefused;
    n.reason = "incompatible: " + seen.why_not;
    n.load = seen.facts.load;
    n.version = seen.facts.software;
  }
  std::lock_guard lock(sync_->mutex);
  live_.copy_to(s);
  return s;
}

}  // namespace pp::client
