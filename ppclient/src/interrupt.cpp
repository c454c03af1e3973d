// JobServer's interrupt half: `ppclient run` on SIGINT ends every live
// JobServer's batch from its signal thread (see sigint.hpp). The registry is the
// one piece of process-wide state here: a signal is process-wide, and the Lua
// clusters that own the JobServers are out of the signal thread's reach.
#include <mutex>
#include <set>

#include "core/discovery/discovery.hpp"
#include "ppclient/src/job_server.hpp"
#include "ppclient/src/progress_bar.hpp"
#include "ppclient/src/local_node.hpp"
#include "ppclient/src/node_table.hpp"

namespace pp::client {
namespace {

// Guards the set and keeps a server alive while it is being interrupted: its
// destructor unlists it first, under the same mutex.
std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

std::set<JobServer*>& registry() {
  static std::set<JobServer*> servers;
  return servers;
}

// How long the BYE frames get to leave before the embedded node is stopped.
constexpr auto kByeFlush = std::chrono::milliseconds(100);

}  // namespace

void JobServer::enlist(JobServer* server) {
  std::lock_guard lock(registry_mutex());
  registry().insert(server);
}

void JobServer::unlist(JobServer* server) {
  std::lock_guard lock(registry_mutex());
  registry().erase(server);
}

void JobServer::interrupt(std::chrono::milliseconds limit) {
  if (progress_) progress_->stop();   // the bar's line goes before the process does
  auto said_bye = std::make_shared<std::promise<void>>();
  auto done = said_bye->get_future();
  asio::post(io_, [this, said_bye] {
    housekeeping_.cancel();
    if (discovery_) discovery_->stop();
    nodes_->close_all("the client was interrupted (SIGINT)", true);
    auto t = std::make_shared<asio::steady_timer>(io_, kByeFlush);
    t->async_wait([t, said_bye](const asio::error_code&) { said_bye->set_value(); });
  });
  done.wait_for(limit);
  if (local_) local_->stop(limit);
}

void JobServer::interrupt_all(std::chrono::milliseconds limit) {
  std::lock_guard lock(registry_mutex());
  for (JobServer* s : registry()) s->interrupt(limit);
}

}  // namespace pp::client
