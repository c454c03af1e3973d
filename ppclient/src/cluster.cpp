// pp::Cluster and friends: the public C++ API, a thin layer over JobServer.
#include "pp/cluster.hpp"

#include <cstdio>
#include <stdexcept>

#include "core/proto/job_ref.hpp"
#include "core/proto/messages.hpp"
#include "ppclient/src/code_blob.hpp"
#include "ppclient/src/job_server.hpp"

namespace pp {

Code Code::lua(std::string function_expression, std::map<std::string, std::string> depfuncs,
               std::map<std::string, std::string> modules) {
  return Code(client::encode_code_blob({"source", "job", std::move(function_expression),
                                        std::move(depfuncs), std::move(modules)}));
}

Code Code::from_blob(std::string blob) { return Code(std::move(blob)); }

static_assert(detail::kJobRefExt == proto::kJobRefExt);

std::string detail::job_ref_body(const Job& job) {
  if (!job.state_) throw std::invalid_argument("an empty pp::Job cannot be an argument");
  if (JobRefs::current != nullptr) JobRefs::current->jobs.push_back(job);
  return proto::job_ref_body(job.state_->id);
}

uint64_t Job::id() const { return state_ ? state_->id : 0; }

bool Job::ready() const {
  if (!state_) return false;
  std::lock_guard lock(state_->sync->mutex);
  return state_->done;
}

void Job::wait() const {
  if (!state_) throw std::logic_error("wait() on an empty pp::Job");
  std::unique_lock lock(state_->sync->mutex);
  state_->waited = true;
  state_->sync->cv.wait(lock, [&] { return state_->done; });
}

std::string Job::node() const {
  if (!state_) return "";
  std::lock_guard lock(state_->sync->mutex);
  return state_->node;
}

std::string Job::stdout_text() const {
  if (!state_) return "";
  std::lock_guard lock(state_->sync->mutex);
  return state_->output ? *state_->output : std::string();
}

msgpack::object_handle Job::results() const {
  wait();
  const client::JobState& s = *state_;
  if (s.status != proto::JobStatus::kOk) {
    std::string kind = proto::job_status_name(s.status);
    std::string what = "job " + std::to_string(s.id) + " failed" +
                       (s.node.empty() ? "" : " on node " + s.node) + " (" + kind + "): " + s.error();
    if (!s.traceback().empty()) what += "\nremote " + s.traceback();
    // A raised value travels as a msgpack array of that one value (docs/protocol.md).
    std::string value;
    if (s.value.size() > 1 && static_cast<unsigned char>(s.value[0]) == 0x91) {
      value = s.value.substr(1);
    }
    throw RemoteError(what, kind, s.error(), s.traceback(), s.node, s.id, std::move(value));
  }
  return msgpack::unpack(s.value.data(), s.value.size());
}

Cluster::Cluster() : Cluster(ClusterOptions{}) {}

Cluster::Cluster(ClusterOptions options)
    : server_(std::make_unique<client::JobServer>(std::move(options))) {}

Cluster::~Cluster() = default;

Job Cluster::submit_packed(const Code& code, std::string packed_args, std::vector<Job> inputs) {
  std::unique_ptr<client::SubmitExtras> extras;
  if (!inputs.empty()) {
    extras = std::make_unique<client::SubmitExtras>();
    for (Job& j : inputs) extras->inputs.push_back(std::move(j.state_));
  }
  return Job(server_->submit(code.blob(), std::move(packed_args), 0, std::move(extras)));
}

void Cluster::wait() { server_->wait_all(); }
int Cluster::get_ncpus() const { return server_->ncpus(); }
std::map<std::string, int> Cluster::get_active_nodes() const { return server_->active_nodes(); }
std::vector<NodeStats> Cluster::stats() const { return server_->stats(); }
std::string Cluster::stats_table() const { return server_->stats_table(); }
void Cluster::print_stats() const { std::fputs(stats_table().c_str(), stdout); }
std::string Cluster::report_json() const { return client::report::to_json(server_->report()); }
void Cluster::write_report(const std::string& path) const {
  Status st = server_->write_report(path);
  if (!st) throw std::runtime_error(st.message());
}

}  // namespace pp
