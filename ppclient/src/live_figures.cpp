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
}

}  // namespace pp::client
