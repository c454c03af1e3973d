// Dispatcher: jobs placed on one worker (SubmitExtras::worker: Cluster::run, js:run).
// Such a job runs on that worker or not at all: when its node goes away it fails at
// once with the node's reason, naming the worker, instead of waiting no_node_timeout
// for a node that may come back with other workers (a crash is that worker's error:
// Dispatcher::on_result).
#include <vector>

#include "ppclient/src/dispatcher.hpp"

namespace pp::client {

std::string Dispatcher::worker_name(const Member& m, uint32_t worker) {
  // The node's own name (host:port, as worker.id says it) when the client's has a port.
  const size_t colon = m.name.rfind(':');
  const std::string node = colon == std::string::npos || m.host.empty()
                               ? m.name
                               : m.host + m.name.substr(colon);
  return node + "#" + std::to_string(worker);
}

void Dispatcher::fail_placed(const Member& gone, const std::string& reason) {
  std::vector<std::pair<uint64_t, uint32_t>> ids;
  jobs_.for_each([&](uint64_t id, const Job& job) {
    const SubmitExtras* x = job.sub.extras.get();
    if (x != nullptr && x->worker != 0 && x->node == gone.name) ids.emplace_back(id, x->worker);
  });
  for (auto [id, worker] : ids) {
    give_up(id, proto::JobStatus::kLost,
            "job " + std::to_string(id) + " was placed on worker " + worker_name(gone, worker) +
                ", whose node went away (" + reason + "); a job placed on one worker runs "
                "nowhere else");
  }
}

}  // namespace pp::client
