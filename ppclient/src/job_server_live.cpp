// JobServer's live figures (live_figures.hpp): the snapshot readers on any thread get,
// copied on the io thread at most every 100 ms from the Dispatcher's rows, the node
// table's states, discovery's incompatible nodes and what was counted under sync_->mutex.
#include "core/proto/job_ref.hpp"
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
  {
    std::lock_guard lock(sync_->mutex);
    live_.copy_to(s);
  }
  dispatcher_->group_figures(s.groups);   // their retried and held (io thread)
  return s;
}

namespace {

// Seconds on the steady clock: when a pipeline's jobs start and end, for its wall time.
double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A result whose first value is nil (or that has none): a stage that dropped its item,
// or passed on a nil. A kept result is a value (its handle stands in its place).
bool returned_nil(const Outcome& o) {
  if (o.status != proto::JobStatus::kOk || o.kept) return false;
  Result<std::string> first = proto::first_element(o.value);
  return !first || *first == "\xc0";
}

}  // namespace

uint32_t JobServer::add_pipeline(std::vector<std::string> stage_names) {
  std::lock_guard lock(sync_->mutex);
  return live_.add_pipeline(std::move(stage_names));
}

report::Pipeline JobServer::pipeline_figures(uint32_t id) const {
  std::lock_guard lock(sync_->mutex);
  return live_.pipeline(id);
}

void JobServer::count_stage_submitted(const SubmitExtras* x) {
  if (x == nullptr || x->pipeline == 0) return;
  live_.stage_submitted(x->pipeline, x->stage, steady_seconds());
}

void JobServer::count_stage_finished(const SubmitExtras* x, proto::JobStatus status,
                                     const Outcome* o) {
  if (x == nullptr || x->pipeline == 0) return;
  live_.stage_finished(x->pipeline, x->stage, status, o != nullptr && returned_nil(*o),
                       o != nullptr ? o->wall_seconds : 0, steady_seconds());
}

}  // namespace pp::client
