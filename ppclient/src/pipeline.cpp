// pp::Pipeline: stages as dependent jobs with a window of items in flight (see
// pp/pipeline.hpp; the Lua twin is lua/pp/pipeline.lua).
#include "pp/pipeline.hpp"

#include <algorithm>

#include "pp/cluster.hpp"
#include "ppclient/src/code_blob.hpp"
#include "ppclient/src/job_server.hpp"

namespace pp {
namespace {

// Every later stage runs this, its own function bound as the dependency __pp_stage.
constexpr char kPassOn[] =
    "function(v) if v == nil then return nil end return __pp_stage(v) end";

std::map<std::string, std::string> string_map(const msgpack::object& o) {
  std::map<std::string, std::string> out;
  if (o.type == msgpack::type::NIL) return out;
  if (o.type != msgpack::type::MAP) throw std::invalid_argument("a code blob map is malformed");
  for (uint32_t i = 0; i < o.via.map.size; ++i) {
    out.emplace(o.via.map.ptr[i].key.as<std::string>(), o.via.map.ptr[i].val.as<std::string>());
  }
  return out;
}

// The blob of stage k > 1: the stage's own source code under kPassOn, so that a dropped
// item (nil) passes through without calling it.
std::string wrapped_blob(const std::string& blob, size_t k) {
  client::CodeBlob code;
  try {
    msgpack::object_handle h = msgpack::unpack(blob.data(), blob.size());
    const msgpack::object& o = h.get();
    if (o.type != msgpack::type::MAP) throw std::invalid_argument("not a map");
    for (uint32_t i = 0; i < o.via.map.size; ++i) {
      const auto key = o.via.map.ptr[i].key.as<std::string>();
      const msgpack::object& v = o.via.map.ptr[i].val;
      if (key == "kind") code.kind = v.as<std::string>();
      if (key == "name") code.name = v.as<std::string>();
      if (key == "main") code.main = v.as<std::string>();
      if (key == "deps") code.deps = string_map(v);
      if (key == "mods") code.mods = string_map(v);
    }
  } catch (const std::exception& e) {
    throw std::invalid_argument("Cluster::pipeline: stage " + std::to_string(k) +
                                "'s code is not a code blob (" + e.what() + ")");
  }
  if (code.kind != "source") {
    throw std::invalid_argument("Cluster::pipeline: stage " + std::to_string(k) +
                                " must be Lua source (pp::Code::lua), its code is " + code.kind);
  }
  code.deps["__pp_stage"] = std::move(code.main);
  code.main = kPassOn;
  return client::encode_code_blob(code);
}

}  // namespace

struct Pipeline::Stage {
  Code code;
};

Pipeline::Pipeline(Cluster& cluster, const std::vector<Code>& stages) : cluster_(cluster) {
  if (stages.empty()) throw std::invalid_argument("Cluster::pipeline: no stages");
  std::vector<std::string> names;
  for (size_t k = 0; k < stages.size(); ++k) {
    Code code = k == 0 ? stages[k] : Code::from_blob(wrapped_blob(stages[k].blob(), k + 1));
    stages_.push_back(std::make_shared<const Stage>(Stage{std::move(code)}));
    names.push_back("stage " + std::to_string(k + 1));
  }
  id_ = cluster_.server_->add_pipeline(std::move(names));
}

Job Pipeline::launch_stage(size_t k, std::string packed, const Job* input) {
  // Every stage but the last keeps its value on the node that made it: the next stage's
  // job prefers that node, and the value is released when this run lets go of the item.
  SubmitOptions options;
  options.keep = k + 1 < stages_.size();
  // Tagged with this pipeline and the stage: the cluster's live figures count it.
  detail::JobRefs refs;   // notes `input` as it is packed
  if (input != nullptr) {
    packed.clear();
    detail::StringSink sink{packed};
    msgpack::pack(sink, std::forward_as_tuple(*input));
  }
  return cluster_.submit_refs(options, stages_[k]->code, std::move(packed), refs, id_,
                              static_cast<uint32_t>(k));
}

size_t Pipeline::cancel() {
  size_t n = 0;
  if (current_ != nullptr) {
    for (const auto& item : current_->queue_) n += item.jobs.back().cancel() ? 1 : 0;
    for (const auto& [id, item] : current_->by_last_) n += item.jobs.back().cancel() ? 1 : 0;
    current_->cancel();
  }
  for (const Job& job : left_) n += job.cancel() ? 1 : 0;
  left_.clear();
  return n;
}

// The cluster's live figures of this pipeline (the report's and the dashboard's too).
PipelineStats Pipeline::stats() const {
  const client::report::Pipeline p = cluster_.server_->pipeline_figures(id_);
  PipelineStats s;
  s.items = p.items;
  s.dropped = p.dropped;
  s.failed = p.failed;
  s.seconds = p.wall_seconds;
  s.items_per_second = s.seconds > 0 ? static_cast<double>(p.items) / s.seconds : 0;
  for (size_t k = 0; k < p.stages.size(); ++k) {
    const client::report::Stage& from = p.stages[k];
    const client::report::StageDerived d = client::report::derive(p, k);
    s.stages.push_back(StageStats{from.runs, d.seconds_per_item, d.workers, from.items_in,
                                  from.items_out, from.dropped, from.failed,
                                  d.items_per_second});
  }
  return s;
}

PipelineRun::PipelineRun(Pipeline& pipeline, Reader reader, MapOptions options)
    : pipeline_(pipeline), reader_(std::move(reader)), options_(options) {
  if (options_.window == 0) throw std::invalid_argument("MapOptions::window must be at least 1");
  pipeline_.current_ = this;
}

PipelineRun::~PipelineRun() {
  if (pipeline_.current_ != this) return;
  pipeline_.current_ = nullptr;
  for (auto& item : queue_) pipeline_.left_.push_back(item.jobs.back());
  for (auto& [id, item] : by_last_) pipeline_.left_.push_back(item.jobs.back());
}

void PipelineRun::cancel() {
  for (auto& item : queue_) {
    for (const Job& job : item.jobs) job.cancel();
  }
  for (auto& [id, item] : by_last_) {
    for (const Job& job : item.jobs) job.cancel();
  }
  queue_.clear();
  by_last_.clear();
  at_.reset();
  watch_.reset();
  ended_ = true;
}

// Reads and launches items until the window is full or the input ends.
bool PipelineRun::top_up() {
  bool launched = false;
  std::string packed;
  while (!ended_ && queue_.size() + by_last_.size() < options_.window) {
    if (!reader_(packed)) {
      ended_ = true;
      break;
    }
    Item item{++read_, {}};
    for (size_t k = 0; k < pipeline_.stages_.size(); ++k) {
      item.jobs.push_back(pipeline_.launch_stage(k, k == 0 ? std::move(packed) : std::string(),
                                                 k == 0 ? nullptr : &item.jobs.back()));
    }
    launched = true;
    if (options_.ordered) {
      queue_.push_back(std::move(item));
    } else {
      uint64_t id = item.jobs.back().id();
      by_last_.emplace(id, std::move(item));
    }
  }
  return launched;
}

std::optional<PipelineRun::Item> PipelineRun::take() {
  if (!options_.ordered) return take_unordered();
  top_up();
  if (queue_.empty()) return std::nullopt;
  Item item = std::move(queue_.front());
  queue_.pop_front();
  item.jobs.back().wait();
  return item;
}

// In finishing order; the watch over the items in flight is made again only once a
// quarter of the window was refilled (a few watch entries per item, not a window's).
std::optional<PipelineRun::Item> PipelineRun::take_unordered() {
  const size_t refill_below = options_.window - std::max<size_t>(1, options_.window / 4);
  while (true) {
    if (!watch_ || (by_last_.size() <= refill_below && !ended_)) {
      if (top_up() || !watch_) {
        at_.reset();
        watch_.reset();
        if (by_last_.empty()) return std::nullopt;
        std::vector<Job> lasts;
        for (const auto& [id, item] : by_last_) lasts.push_back(item.jobs.back());
        watch_ = std::make_unique<AsCompleted>(lasts, std::nullopt);
        at_.emplace(watch_->begin());
        pending_ = true;
      }
    }
    if (!pending_) ++*at_;
    pending_ = false;
    if (*at_ == std::default_sentinel) {
      at_.reset();
      watch_.reset();
      if (by_last_.empty() && ended_) return std::nullopt;
      continue;
    }
    auto it = by_last_.find((**at_).id());
    Item item = std::move(it->second);
    by_last_.erase(it);
    return item;
  }
}

// Makes a finished item's output (its figures are the live figures' count).
// Throws PipelineError for a failed item under OnError::kStop (after cancelling the rest).
void PipelineRun::conclude(Item&& item, PipelineOutput& out) {
  out = PipelineOutput();
  out.index_ = item.index;
  out.last_ = item.jobs.back();
  for (size_t k = 0; k < item.jobs.size(); ++k) {
    const Job& job = item.jobs[k];
    job.wait();
    if (job.status() == JobStatus::kFinished) continue;
    std::string why;
    try {
      job.packed_results();
    } catch (const std::exception& e) {
      why = e.what();
    }
    out.failed_stage_ = static_cast<int>(k + 1);
    out.error_ = "stage " + std::to_string(k + 1) + " of item " + std::to_string(item.index) +
                 ": " + why;
    if (options_.on_error == MapOptions::OnError::kStop) {
      cancel();
      throw PipelineError(out.error_, out.failed_stage_, out.index_);
    }
    return;
  }
}

bool PipelineRun::next(PipelineOutput& out) {
  while (auto item = take()) {
    conclude(std::move(*item), out);
    if (!out.ok()) return true;
    msgpack::object_handle h = out.last_.results();
    const msgpack::object& values = h.get();
    if (values.type == msgpack::type::ARRAY && values.via.array.size > 0 &&
        values.via.array.ptr[0].type != msgpack::type::NIL) {
      return true;
    }
  }
  return false;
}

PipelineRun::iterator& PipelineRun::iterator::operator++() {
  if (run_ != nullptr && !run_->next(current_)) run_ = nullptr;
  return *this;
}

Pipeline Cluster::pipeline(const std::vector<Code>& stages) { return Pipeline(*this, stages); }

}  // namespace pp
