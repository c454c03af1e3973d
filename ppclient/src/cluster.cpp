// pp::Cluster and friends: the public C++ API, a thin layer over JobServer.
#include "pp/cluster.hpp"

#include <cstdio>
#include <cstdlib>
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

Cluster::Cluster() : Cluster(ClusterOptions{}) {}

Cluster::Cluster(ClusterOptions options)
    : server_(std::make_shared<client::JobServer>(std::move(options))) {}

// Closed here, whoever else still holds the server for a moment (a Job's cancel).
Cluster::~Cluster() { server_->close(); }

Job Cluster::submit_packed(const Code& code, std::string packed_args, std::vector<Job> inputs) {
  return submit_packed(SubmitOptions{}, code, std::move(packed_args), std::move(inputs));
}

Job Cluster::submit_packed(const SubmitOptions& options, const Code& code,
                           std::string packed_args, std::vector<Job> inputs) {
  detail::JobRefs refs;
  refs.jobs = std::move(inputs);
  return submit_refs(options, code, std::move(packed_args), refs);
}

// A submit whose packing noted its job and scattered-value arguments in `refs`.
Job Cluster::submit_refs(const SubmitOptions& options, const Code& code,
                         std::string packed_args, detail::JobRefs& refs, uint32_t pipeline,
                         uint32_t stage) {
  if (options.timeout.count() < 0 || options.timeout.count() > UINT32_MAX) {
    throw std::invalid_argument("SubmitOptions::timeout must be between 0 and " +
                                std::to_string(UINT32_MAX) + " ms");
  }
  std::unique_ptr<client::SubmitExtras> extras;
  if (options.retries > 0 || !options.node.empty() || !options.group.empty() || options.keep ||
      !options.after.empty() || !refs.jobs.empty() || !refs.shared.empty() || pipeline != 0) {
    extras = std::make_unique<client::SubmitExtras>();
    extras->retries = options.retries;
    extras->node = options.node;
    extras->group = options.group;
    extras->keep = options.keep;
    extras->pipeline = pipeline;
    extras->stage = stage;
    for (const Job& j : options.after) {
      if (!j.state()) throw std::invalid_argument("SubmitOptions::after holds an empty pp::Job");
      extras->after.push_back(j.state());
    }
    for (Job& j : refs.jobs) extras->inputs.push_back(j.state());
    for (const Shared& s : refs.shared) {
      bool seen = false;
      for (const auto& d : extras->data) seen = seen || d == s.data();
      if (!seen) extras->data.push_back(s.data());
    }
  }
  auto state = server_->submit(code.blob(), std::move(packed_args),
                               static_cast<uint32_t>(options.timeout.count()), std::move(extras));
  return Job(std::move(state), server_);
}

std::vector<Job> Cluster::submit_all(const Code& code, std::vector<std::string> packed,
                                     std::vector<std::pair<size_t, detail::ArgRefs>> refs) {
  client::CodeRef ref = client::JobServer::code_ref(code.blob());
  std::vector<Job> jobs;
  jobs.reserve(packed.size());
  auto next = refs.begin();
  for (size_t i = 0; i < packed.size(); ++i) {
    if (next != refs.end() && next->first == i) {   // its inputs and values go with it
      detail::JobRefs noted;
      noted.jobs = std::move(next->second.jobs);
      noted.shared = std::move(next->second.shared);
      jobs.push_back(submit_refs(SubmitOptions{}, code, std::move(packed[i]), noted));
      ++next;
      continue;
    }
    jobs.push_back(Job(server_->submit(ref, std::move(packed[i])), server_));
  }
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
