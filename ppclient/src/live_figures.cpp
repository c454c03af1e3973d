#include "ppclient/src/live_figures.hpp"

#include <algorithm>

namespace pp::client {
namespace {

// Kept as it was, cut at `limit` bytes (a cut says so).
std::string cut(std::string_view text, size_t limit) {
  if (text.size() <= limit) return std::string(text);
  std::string out(text.substr(0, limit));
  out += " [...]";
  return out;
}

}  // namespace

const char* node_state_name(NodeState s) {
  switch (s) {
    case NodeState::kConnecting: return "connecting";
    case NodeState::kWorking: return "working";
    case NodeState::kIdle: return "idle";
    case NodeState::kLost: return "lost";
    case NodeState::kRefused: return "refused";
    case NodeState::kPaused: return "paused";
  }
  return "?";
}

size_t LiveSnapshot::nodes_connected() const {
  return static_cast<size_t>(std::count_if(nodes.begin(), nodes.end(), [](const LiveNode& n) {
    return n.state == NodeState::kWorking || n.state == NodeState::kIdle ||
           n.state == NodeState::kPaused;
  }));
}

size_t LiveSnapshot::nodes_paused() const {
  return static_cast<size_t>(std::count_if(
      nodes.begin(), nodes.end(), [](const LiveNode& n) { return n.state == NodeState::kPaused; }));
}

size_t LiveSnapshot::nodes_working() const {
  return static_cast<size_t>(std::count_if(
      nodes.begin(), nodes.end(), [](const LiveNode& n) { return n.state == NodeState::kWorking; }));
}

JobCounts& LiveFigures::group(std::string_view name) {
  // Groups are few; a driver that names one per job is counted under "(other)" past the
  // limit, so the figures stay bounded.
  auto it = groups_.find(name);
  if (it != groups_.end()) return it->second;
  std::string key = groups_.size() >= kGroupLimit ? "(other)" : std::string(name);
  return groups_[key];
}

void LiveFigures::submitted(std::string_view group_name) {
  ++jobs_.submitted;
  if (!group_name.empty()) ++group(group_name).submitted;
}

void LiveFigures::finished(proto::JobStatus status, std::string_view group_name) {
  auto count = [status](JobCounts& c) {
    if (status == proto::JobStatus::kOk) {
      ++c.done;
    } else if (status == proto::JobStatus::kCancelled) {
      ++c.cancelled;
    } else {
      ++c.failed;
    }
  };
  count(jobs_);
  if (!group_name.empty()) count(group(group_name));
}

void LiveFigures::failure(uint64_t job, std::string_view node, proto::JobStatus status,
                          std::string_view error, std::string_view traceback, double at) {
  if (failures_.size() >= kFailureLimit) failures_.pop_front();
  failures_.push_back(LiveFailure{job, std::string(node), proto::job_status_name(status),
                                  cut(error, kTextLimit), cut(traceback, kTextLimit), at});
}

void LiveFigures::output(uint64_t job, std::string_view node, std::string_view text) {
  if (text.empty()) return;
  std::string_view body = text;
  if (body.back() == '\n') body.remove_suffix(1);   // the last line's end, not a line
  // Only the last kOutputLimit lines are kept: find where they begin first, so a job
  // that printed a megabyte costs no more than one that printed a line.
  size_t begin = 0;
  size_t pos = body.size();
  for (size_t lines = 0; lines < kOutputLimit; ++lines) {
    size_t nl = pos == 0 ? std::string_view::npos : body.rfind('\n', pos - 1);
    if (nl == std::string_view::npos) {
      begin = 0;
      break;
    }
    begin = nl + 1;
    pos = nl;
  }
  size_t start = begin;
  do {
    size_t end = body.find('\n', start);
    if (end == std::string_view::npos) end = body.size();
    if (output_.size() >= kOutputLimit) output_.pop_front();
    output_.push_back(
        LiveOutput{job, std::string(node), cut(body.substr(start, end - start), kLineLimit)});
    start = end + 1;
  } while (start <= body.size());
}

uint32_t LiveFigures::add_pipeline(std::vector<std::string> stage_names) {
  // A driver that makes pipelines in a loop keeps the figures bounded: the oldest go.
  while (pipelines_.size() >= kPipelineLimit) pipelines_.erase(pipelines_.begin());
  PipelineCounts& p = pipelines_[++next_pipeline_];
  p.stages.resize(stage_names.size());
  for (size_t k = 0; k < stage_names.size(); ++k) p.stages[k].name = std::move(stage_names[k]);
  return next_pipeline_;
}

void LiveFigures::stage_submitted(uint32_t pipeline, uint32_t stage, double now) {
  auto it = pipelines_.find(pipeline);
  if (it == pipelines_.end() || stage >= it->second.stages.size()) return;
  ++it->second.stages[stage].submitted;
  if (it->second.first < 0) it->second.first = now;
}

void LiveFigures::stage_finished(uint32_t pipeline, uint32_t stage, proto::JobStatus status,
                                 bool nil, double run_seconds, double now) {
  auto it = pipelines_.find(pipeline);
  if (it == pipelines_.end() || stage >= it->second.stages.size()) return;
  StageCounts& s = it->second.stages[stage];
  switch (status) {
    case proto::JobStatus::kOk:
      ++s.done;
      s.nil += nil ? 1 : 0;
      s.seconds += run_seconds;
      break;
    case proto::JobStatus::kCancelled: ++s.cancelled; break;
    case proto::JobStatus::kDependency: ++s.upstream; break;
    default:
      ++s.failed;
      s.seconds += run_seconds;
      break;
  }
  it->second.last = std::max(it->second.last, now);
}

// The counts as the report shows them (report.hpp, Stage). An item reaches stage k + 1
// only with a value from stage k, and a stage given nil passes it on without running the
// stage's function: its nil results beyond the earlier stage's are the items it dropped.
report::Pipeline LiveFigures::figures(uint32_t id, const PipelineCounts& p) {
  report::Pipeline out;
  out.name = "pipeline " + std::to_string(id);
  if (p.first >= 0 && p.last >= p.first) out.wall_seconds = p.last - p.first;
  uint64_t nil_before = 0, out_before = 0;
  for (size_t k = 0; k < p.stages.size(); ++k) {
    const StageCounts& c = p.stages[k];
    report::Stage& s = out.stages.emplace_back();
    s.name = c.name;
    s.items_in = k == 0 ? (c.submitted > c.cancelled ? c.submitted - c.cancelled : 0) : out_before;
    s.items_out = c.done - c.nil;
    s.dropped = c.nil > nil_before ? c.nil - nil_before : 0;
    s.failed = c.failed;
    s.runs = c.done + c.failed;
    s.job_seconds = c.seconds;
    nil_before = c.nil;
    out_before = s.items_out;
  }
  if (!p.stages.empty()) {
    const StageCounts& last = p.stages.back();
    out.items = last.done + last.failed + last.upstream;
    out.dropped = last.nil;
    out.failed = last.failed + last.upstream;
  }
  return out;
}

report::Pipeline LiveFigures::pipeline(uint32_t id) const {
  auto it = pipelines_.find(id);
  if (it == pipelines_.end()) return figures(id, PipelineCounts{});
  return figures(id, it->second);
}

std::vector<report::Pipeline> LiveFigures::pipelines() const {
  std::vector<report::Pipeline> out;
  out.reserve(pipelines_.size());
  for (const auto& [id, p] : pipelines_) out.push_back(figures(id, p));
  return out;
}

void LiveFigures::copy_to(LiveSnapshot& out) const {
  const uint64_t retried = out.jobs.retried, held = out.jobs.held;
  out.jobs = jobs_;
  out.jobs.retried = retried;
  out.jobs.held = held;
  out.groups.clear();
  out.groups.reserve(groups_.size());
  for (const auto& [name, counts] : groups_) out.groups.push_back(GroupCounts{name, counts});
  std::sort(out.groups.begin(), out.groups.end(),
            [](const GroupCounts& a, const GroupCounts& b) { return a.name < b.name; });
  out.failures.assign(failures_.begin(), failures_.end());
  out.output.assign(output_.begin(), output_.end());
  out.pipelines = pipelines();
}

}  // namespace pp::client
