// Cluster::run: one job placed on each worker of the connected nodes (SubmitExtras'
// node and worker; the Dispatcher sends SUBMIT naming the worker, the node runs it on
// that worker alone), all waited for, by worker id. The Lua twin is lua/pp/run.lua.
#include <algorithm>
#include <set>
#include <stdexcept>

#include "pp/cluster.hpp"
#include "pp/shared.hpp"
#include "ppclient/src/job_server.hpp"
#include "ppclient/src/submit_extras.hpp"

namespace pp {
namespace {

using Places = std::map<std::string, client::NodePlaces>;

// The nodes of `places` that `wanted` names (by the cluster's name or the node's own),
// each once; all of them when `wanted` is empty.
Places chosen(const Places& places, const std::vector<std::string>& wanted) {
  if (wanted.empty()) return places;
  Places out;
  for (const std::string& name : wanted) {
    auto it = places.find(name);
    if (it == places.end()) {
      for (auto p = places.begin(); p != places.end(); ++p) {
        if (p->second.node == name) it = p;
      }
    }
    if (it == places.end()) {
      std::string known;
      for (const auto& [n, p] : places) known += (known.empty() ? "" : ", ") + n;
      throw std::invalid_argument("Cluster::run: node " + name + " is not connected (connected: " +
                                  (known.empty() ? "none" : known) + ")");
    }
    out.insert(*it);
  }
  return out;
}

}  // namespace

std::map<std::string, Job> Cluster::run_packed(const RunOptions& options, const Code& code,
                                               std::string packed_args) {
  detail::JobRefs refs;
  return run_refs(options, code, std::move(packed_args), refs);
}

// Run with the jobs and scattered values its packed arguments name (`refs`): every
// worker's job carries them, as a submit's would.
std::map<std::string, Job> Cluster::run_refs(const RunOptions& options, const Code& code,
                                             std::string packed_args, detail::JobRefs& refs) {
  if (options.timeout.count() < 0 || options.timeout.count() > UINT32_MAX) {
    throw std::invalid_argument("RunOptions::timeout must be between 0 and " +
                                std::to_string(UINT32_MAX) + " ms");
  }
  Places places = server_->node_places();
  if (places.empty()) {   // a cluster just made: its first node is on its way
    Status st = server_->wait_for_workers(1, std::chrono::seconds(60));
    if (!st) throw std::runtime_error("Cluster::run: no node is connected: " + st.message());
    places = server_->node_places();
  }
  std::map<std::string, Job> jobs;
  for (const auto& [name, place] : chosen(places, options.nodes)) {
    for (int k = 1; k <= place.workers; ++k) {
      auto extras = std::make_unique<client::SubmitExtras>();
      extras->node = name;
      extras->worker = static_cast<uint32_t>(k);
      for (const Job& j : refs.jobs) extras->inputs.push_back(j.state());
      for (const Shared& s : refs.shared) {
        if (std::find(extras->data.begin(), extras->data.end(), s.data()) == extras->data.end()) {
          extras->data.push_back(s.data());
        }
      }
      auto state = server_->submit(code.blob(), std::string(packed_args),
                                   static_cast<uint32_t>(options.timeout.count()),
                                   std::move(extras));
      jobs.emplace(place.node + "#" + std::to_string(k), Job(std::move(state), server_));
    }
  }
  std::map<std::string, Job> errors, results;
  for (auto& [id, job] : jobs) {
    job.wait();
    (job.status() == JobStatus::kFinished ? results : errors).emplace(id, job);
  }
  if (errors.empty()) return results;
  std::string first;
  try {
    errors.begin()->second.packed_results();
  } catch (const std::exception& e) {
    first = e.what();
  }
  // Made before the maps move into the error (argument order is unspecified).
  std::string what = "Cluster::run: " + std::to_string(errors.size()) + " of " +
                     std::to_string(jobs.size()) + " workers failed; " + errors.begin()->first +
                     ": " + first;
  throw RunError(std::move(what), std::move(errors), std::move(results));
}

}  // namespace pp
