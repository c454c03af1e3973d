// pp::Cluster and friends: the public C++ API, a thin layer over JobServer.
#include "pp/cluster.hpp"

#include <cstdio>
#include <stdexcept>

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

msgpack::object_handle Job::results() const {
  const std::string& value = packed_results();
  // Strings and binaries refer to the value where the job keeps it (filled once, never
  // changed after): the zone holds the job's state, so the handle stays valid on its own.
  auto zone = std::make_unique<msgpack::zone>();
  zone->allocate<std::shared_ptr<client::JobState>>(state_);
  size_t off = 0;
  msgpack::object obj = msgpack::unpack(
      *zone, value.data(), value.size(), off,
      [](msgpack::type::object_type, size_t, void*) { return true; }, nullptr);
  return msgpack::object_handle(obj, std::move(zone));
}

const std::string& Job::packed_results() const {
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
  return s.value;
}

Cluster::Cluster() : Cluster(ClusterOptions{}) {}

Cluster::Cluster(ClusterOptions options)
    : server_(std::make_unique<client::JobServer>(std::move(options))) {}

Cluster::~Cluster() = default;

Job Cluster::submit_packed(const Code& code, std::string packed_args) {
  return Job(server_->submit(code.blob(), std::move(packed_args)));
}

std::vector<Job> Cluster::submit_all(const Code& code, std::vector<std::string> packed) {
  client::CodeRef ref = client::JobServer::code_ref(code.blob());
  std::vector<Job> jobs;
  jobs.reserve(packed.size());
  for (std::string& args : packed) jobs.push_back(Job(server_->submit(ref, std::move(args))));
  return jobs;
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
